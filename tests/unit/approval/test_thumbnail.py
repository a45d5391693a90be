from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from takedown.approval.thumbnail import (
    THUMBNAIL_SIZE,
    ThumbnailError,
    make_thumbnail,
    thumbnail_data_uri,
    thumbnail_key,
)


def _picture(size: tuple[int, int], fmt: str) -> bytes:
    """A harmless generated picture: coloured shapes on a gradient-free ground."""
    image = Image.new("RGB", size, (200, 40, 40))
    draw = ImageDraw.Draw(image)
    draw.ellipse((size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4), fill=(20, 90, 220))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("size", "fmt", "media_type"), [((640, 480), "PNG", "image/png"), ((300, 900), "JPEG", "image/jpeg")]
)
def test_a_thumbnail_is_a_small_greyscale_jpeg(size: tuple[int, int], fmt: str, media_type: str) -> None:
    # WHEN a thumbnail is made of a picture
    jpeg = make_thumbnail(_picture(size, fmt), media_type)
    # THEN it is a JPEG, greyscale, no side longer than the thumbnail size, the shape kept
    with Image.open(io.BytesIO(jpeg)) as thumbnail:
        assert thumbnail.format == "JPEG" and thumbnail.mode == "L"
        assert max(thumbnail.size) == THUMBNAIL_SIZE
        assert abs(thumbnail.size[0] / thumbnail.size[1] - size[0] / size[1]) < 0.05
    assert len(jpeg) < 16 * 1024


def test_bytes_that_are_no_picture_are_refused_with_a_reason() -> None:
    with pytest.raises(ThumbnailError) as refused:
        make_thumbnail(b"\x89PNG\r\n\x1a\n not really", "image/png")
    assert refused.value.reason == "thumbnail:decode"


def test_the_key_is_derived_from_the_media_digest_only() -> None:
    assert thumbnail_key("0f" * 32) == f"thumbnails/{'0f' * 32}.jpg"
    for bad in ("../../evidence/x", "AB" * 32, "ab" * 31):
        with pytest.raises(ThumbnailError):
            thumbnail_key(bad)


def test_only_a_small_jpeg_becomes_a_data_uri() -> None:
    jpeg = make_thumbnail(_picture((200, 200), "PNG"), "image/png")
    assert thumbnail_data_uri(jpeg).startswith("data:image/jpeg;base64,/9j/")
    with pytest.raises(ThumbnailError, match="not a JPEG"):
        thumbnail_data_uri(b"<svg onload=alert(1)>")
    with pytest.raises(ThumbnailError, match="bytes"):
        thumbnail_data_uri(b"\xff\xd8\xff" + b"\0" * 70_000)


def test_a_video_thumbnail_is_made_from_its_first_frame() -> None:
    # GIVEN a one-second generated clip (colour fields only), encoded as H.264
    from tests.unit.video.conftest import encode_frames

    frames = [Image.new("RGB", (320, 180), (10 * n, 120, 200)) for n in range(12)]
    video = encode_frames(frames, fps=12, size=(320, 180))
    # WHEN its thumbnail is made THEN it is the usual small greyscale JPEG
    with Image.open(io.BytesIO(make_thumbnail(video, "video/mp4"))) as thumbnail:
        assert thumbnail.mode == "L" and thumbnail.size == (THUMBNAIL_SIZE, 90)
