"""The hostile-input corpus: harmless generated files, pages and strings built to break the stage they target.

Every item is made at test time from shapes, noise or flat colour (nothing is downloaded, nothing depicts anyone),
and carries what the stage must answer: the outcome it records and the reason code. ``tests/hostile/test_*.py``
runs each item through its stage; ``docs/RELIABILITY.md`` counts them.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import av
from PIL import Image, ImageDraw

if TYPE_CHECKING:
    from collections.abc import Callable

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def scene(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """Coloured rectangles and ellipses on a coloured ground (harmless, and detailed enough to hash)."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(16):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        w, h = rng.randrange(8, max(9, size[0] // 2)), rng.randrange(8, max(9, size[1] // 2))
        fill = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x, y, x + w, y + h), fill=fill)
    return image


def encode(image: Image.Image, file_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, file_format, **options)
    return buffer.getvalue()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_declaring(width: int, height: int, *, idat: bytes = b"", colour_type: int = 0) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` 8-bit pixels, with the given (compressed) IDAT."""
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def png_zip_bomb(side: int, inflated_bytes: int) -> bytes:
    """A ``side`` x ``side`` greyscale PNG whose IDAT inflates to ``inflated_bytes`` (far more than the picture
    needs): a few KB on the wire, megabytes once decompressed."""
    return png_declaring(side, side, idat=zlib.compress(bytes(inflated_bytes), 9))


def flat_png(side: int) -> bytes:
    """A flat grey ``side`` x ``side`` PNG: a ratio of about 1000:1 between pixels and file bytes."""
    row = b"\x00" + bytes([128]) * side
    return png_declaring(side, side, idat=zlib.compress(row * side, 9))


def gif_declaring_canvas(width: int, height: int) -> bytes:
    """A one-frame GIF whose logical screen is ``width`` x ``height`` (the frame itself is 1x1)."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return screen + frame + b"\x3b"


def many_frame_gif(frames: int, side: int = 16) -> bytes:
    """An animated GIF with ``frames`` frames (each a different flat colour band), 20 ms apart."""
    images = []
    for index in range(frames):
        image = Image.new("P", (side, side), index % 256)
        ImageDraw.Draw(image).rectangle((0, 0, side // 2, index % side), fill=(index * 7) % 256)
        images.append(image)
    buffer = io.BytesIO()
    images[0].save(
        buffer, "GIF", save_all=True, append_images=images[1:], duration=20, loop=0, optimize=False
    )
    return buffer.getvalue()


def small_mp4(seconds: float = 1.0, *, fps: int = 12, size: tuple[int, int] = (160, 96)) -> bytes:
    """A short H.264 MP4 of drifting shapes, index (moov) at the end as most encoders write it."""
    output = io.BytesIO()
    with av.open(output, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "veryfast"})
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame.from_image(scene(7 + index // fps, size))  # type: ignore[no-untyped-call]
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return output.getvalue()


def flip_bytes(data: bytes, *, start: int, count: int, seed: int) -> bytes:
    """``data`` with ``count`` bytes from ``start`` on replaced by noise (a corrupt stretch)."""
    rng = random.Random(seed)
    damaged = bytearray(data)
    for position in range(start, min(len(damaged), start + count)):
        damaged[position] = rng.randrange(256)
    return bytes(damaged)


def idat_offset(data: bytes) -> int:
    return data.index(b"IDAT") + 4


@dataclass(frozen=True)
class HostileMedia:
    """A file for the hashing stage and what it must end in: ``outcome`` (REJECTED / NO_MATCH) and ``reason``
    (the recorded reason code; "" for NO_MATCH)."""

    name: str
    build: Callable[[], bytes]
    media_type: str
    outcome: str
    reason: str = ""


def _truncated(build: Callable[[], bytes], share: float) -> Callable[[], bytes]:
    def cut() -> bytes:
        data = build()
        return data[: int(len(data) * share)]

    return cut


def hostile_media() -> list[HostileMedia]:
    """The files the hashing functions are fed (images under ``media/``, videos under ``video/``)."""
    photo = scene(11, (640, 480))
    return [
        HostileMedia("empty file", lambda: b"", "image/png", "REJECTED", "decode:failed"),
        HostileMedia(
            "truncated PNG",
            _truncated(lambda: encode(photo, "PNG"), 0.5),
            "image/png",
            "REJECTED",
            "decode:failed",
        ),
        HostileMedia(
            "truncated JPEG",
            _truncated(lambda: encode(photo, "JPEG", quality=90), 0.4),
            "image/jpeg",
            "REJECTED",
            "decode:failed",
        ),
        HostileMedia(
            "PNG with a corrupt IDAT",
            lambda: flip_bytes(
                encode(photo, "PNG"), start=idat_offset(encode(photo, "PNG")) + 8, count=64, seed=3
            ),
            "image/png",
            "REJECTED",
            "decode:failed",
        ),
        HostileMedia(
            "truncated WebP",
            _truncated(lambda: encode(photo, "WEBP"), 0.5),
            "image/webp",
            "REJECTED",
            "decode:failed",
        ),
        HostileMedia(
            "PNG declaring 100000 x 100000 pixels",
            lambda: png_declaring(100_000, 100_000),
            "image/png",
            "REJECTED",
            "pixels:exceeded",
        ),
        HostileMedia(
            "PNG declaring 8000 x 8000 pixels (under Pillow's own bomb limit, over ours)",
            lambda: png_declaring(8000, 8000),
            "image/png",
            "REJECTED",
            "pixels:exceeded",
        ),
        HostileMedia(
            "PNG whose IDAT inflates to 64 MB for a 64 x 64 picture",
            lambda: png_zip_bomb(64, 64 * 1024 * 1024),
            "image/png",
            "NO_MATCH",
        ),
        HostileMedia(
            "flat 4000 x 4000 PNG (1000:1 pixel to byte ratio)",
            lambda: flat_png(4000),
            "image/png",
            "NO_MATCH",
        ),
        HostileMedia(
            "GIF declaring a 65535 x 65535 canvas",
            lambda: gif_declaring_canvas(65535, 65535),
            "image/gif",
            "REJECTED",
            "pixels:exceeded",
        ),
        HostileMedia("GIF with 3000 frames", lambda: many_frame_gif(3000), "image/gif", "NO_MATCH"),
        HostileMedia(
            "3 x 3 image", lambda: encode(scene(2, (3, 3)), "PNG"), "image/png", "REJECTED", "image:too-small"
        ),
        HostileMedia(
            "HTML served as a GIF",
            lambda: b"<!doctype html><title>x</title>" * 40,
            "image/gif",
            "REJECTED",
            "decode:failed",
        ),
        HostileMedia("JPEG labelled PNG", lambda: encode(photo, "JPEG"), "image/png", "NO_MATCH"),
        HostileMedia(
            "truncated MP4 (index at the end)",
            _truncated(small_mp4, 0.6),
            "video/mp4",
            "REJECTED",
            "decode:failed",
        ),
        HostileMedia(
            "MP4 header followed by noise",
            lambda: small_mp4()[:32] + random.Random(5).randbytes(4096),
            "video/mp4",
            "REJECTED",
            "decode:failed",
        ),
        HostileMedia(
            "PNG labelled MP4", lambda: encode(photo, "PNG"), "video/mp4", "REJECTED", "decode:failed"
        ),
    ]
