"""The reviewer's thumbnail: a small greyscale JPEG of a candidate, shown only when the reviewer asks for it.

The hashing functions (which have Pillow) make it beside the media, at ``thumbnails/<sha256>.jpg``; the review
function (which has no Pillow) only reads it and embeds it as a ``data:`` URI, so the page still loads nothing from
anywhere. Small and greyscale keeps exposure to the minimum a reviewer needs to confirm a match; the page blurs it
until it is clicked.
"""

from __future__ import annotations

import base64
import io
import re
from typing import Any

__all__ = [
    "THUMBNAIL_PREFIX",
    "THUMBNAIL_SIZE",
    "ThumbnailError",
    "make_thumbnail",
    "thumbnail_data_uri",
    "thumbnail_key",
]

THUMBNAIL_PREFIX = "thumbnails/"
THUMBNAIL_SIZE = 160  # pixels, the longer side
THUMBNAIL_QUALITY = 70
# A 160 px greyscale JPEG is a few kilobytes; anything much larger under this key is not one of ours.
MAX_THUMBNAIL_BYTES = 64 * 1024
_JPEG_MAGIC = b"\xff\xd8\xff"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ThumbnailError(ValueError):
    """No thumbnail can be made or shown from these bytes. ``reason`` is short and safe to log."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def thumbnail_key(sha256: str) -> str:
    """The object key of the thumbnail of the media with this SHA-256.

    >>> thumbnail_key("ab" * 32)[:14]
    'thumbnails/aba'
    """
    if not _SHA256.fullmatch(sha256):
        raise ThumbnailError("thumbnail:key", f"not a lowercase SHA-256 hex digest: {sha256[:80]!r}")
    return f"{THUMBNAIL_PREFIX}{sha256}.jpg"


def _first_picture(data: bytes, media_type: str) -> Any:
    """The first frame of a video, or the (first frame of the) image, as a Pillow image."""
    if media_type.startswith("video/"):
        from takedown.hashing.media_frames import FrameLimits, extract_frames

        frames = extract_frames(data, media_type, FrameLimits(max_frames=1, deadline_s=10.0)).frames
        if not frames:
            raise ThumbnailError("thumbnail:no-frame", "the video has no frame to show")
        return frames[0].image
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    # Decode no more than a thumbnail needs (JPEG draft mode scales while decoding).
    image.draft("L", (THUMBNAIL_SIZE * 2, THUMBNAIL_SIZE * 2))
    return image


def make_thumbnail(data: bytes, media_type: str, *, size: int = THUMBNAIL_SIZE) -> bytes:
    """A greyscale JPEG of at most ``size`` pixels on its longer side.

    Raises :class:`ThumbnailError` when the bytes cannot be decoded (the media already passed hashing, so this
    is rare; the review page then says there is no thumbnail).
    """
    from PIL import Image, UnidentifiedImageError

    try:
        picture = _first_picture(data, media_type)
        grey = picture.convert("L")
        grey.thumbnail((size, size), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        grey.save(buffer, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    except ThumbnailError:
        raise
    except (OSError, ValueError, SyntaxError, UnidentifiedImageError, Image.DecompressionBombError) as error:
        raise ThumbnailError(
            "thumbnail:decode", f"cannot make a thumbnail: {type(error).__name__}"
        ) from error
    return buffer.getvalue()


def thumbnail_data_uri(jpeg: bytes) -> str:
    """The thumbnail as a ``data:image/jpeg;base64,...`` URI; refuses anything that is not a small JPEG."""
    if not jpeg.startswith(_JPEG_MAGIC):
        raise ThumbnailError("thumbnail:not-jpeg", "the stored thumbnail is not a JPEG")
    if len(jpeg) > MAX_THUMBNAIL_BYTES:
        raise ThumbnailError("thumbnail:too-large", f"the stored thumbnail is {len(jpeg)} bytes")
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
