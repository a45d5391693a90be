"""Media sniffing from magic bytes, on real files written by Pillow and minimal video headers."""

from __future__ import annotations

import pytest

from takedown.crawl.media_types import sniff_media_type
from tests.unit.crawl.samples import ebml_header, image_bytes, mp4_header


@pytest.mark.parametrize(
    ("pillow_format", "expected"),
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("GIF", "image/gif"),
        ("WEBP", "image/webp"),
        ("BMP", "image/bmp"),
        ("TIFF", "image/tiff"),
    ],
)
def test_sniffs_images_written_by_pillow(pillow_format: str, expected: str) -> None:
    # GIVEN a real image file in the format
    data = image_bytes(pillow_format)
    # WHEN its first bytes are sniffed
    media_type = sniff_media_type(data[:4096])
    # THEN the type is recognised from the bytes
    assert media_type == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (mp4_header(b"isom"), "video/mp4"),
        (mp4_header(b"mp42", (b"mp42", b"isom")), "video/mp4"),
        (mp4_header(b"avc1", (b"avc1",)), "video/mp4"),
        (mp4_header(b"3gp5", (b"3gp5", b"isom")), "video/mp4"),
        (mp4_header(b"qt  ", (b"qt  ",)), "video/quicktime"),
        (mp4_header(b"avif", (b"avif", b"mif1")), "image/avif"),
        (ebml_header(b"webm"), "video/webm"),
        (ebml_header(b"matroska"), "video/x-matroska"),
        (ebml_header(None), "video/x-matroska"),
        (b"RIFF" + (100).to_bytes(4, "little") + b"AVI LIST", "video/x-msvideo"),
    ],
)
def test_sniffs_video_containers(header: bytes, expected: str) -> None:
    # GIVEN a minimal container header
    # WHEN it is sniffed
    media_type = sniff_media_type(header)
    # THEN the container type follows the brand or DocType
    assert media_type == expected


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<!doctype html><html><body>not media</body></html>",
        b'{"json": true}',
        b"BM but only text, not a bitmap header at all",
        b"RIFF\x00\x00\x00\x00WAVEfmt ",
        mp4_header(b"M4A ", (b"M4A ", b"isom")),
        b"<svg xmlns='http://www.w3.org/2000/svg'></svg>",
        b"GIF8",
    ],
)
def test_does_not_sniff_non_media(data: bytes) -> None:
    # GIVEN bytes that are not an image or video (HTML, JSON, audio, SVG, truncated magic)
    # WHEN they are sniffed
    media_type = sniff_media_type(data)
    # THEN no media type is claimed
    assert media_type is None


def test_sniffing_ignores_the_file_name_and_claimed_type() -> None:
    # GIVEN PNG bytes that a server would call image/jpeg under a .jpg name, and HTML named .png
    png = image_bytes("PNG")
    # WHEN both are sniffed
    # THEN only the bytes count
    assert sniff_media_type(png) == "image/png"
    assert sniff_media_type(b"<html>x.png</html>") is None
