"""Perceptual and exact hashes of one image file."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image

# A decoded image larger than this is refused: a small file can declare a huge canvas (a decompression bomb).
MAX_PIXELS = 40_000_000


class MediaRejected(ValueError):
    """The file could not be hashed safely. ``reason`` is a short code recorded on the sighting."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ImageHashes:
    sha256: str
    md5: str
    phash: str  # 16 hex characters, imagehash's 64-bit pHash
    width: int
    height: int


def hash_image_bytes(data: bytes, *, max_pixels: int = MAX_PIXELS) -> ImageHashes:
    """Hash an encoded image.

    >>> from PIL import Image; import io
    >>> buf = io.BytesIO(); Image.new("RGB", (32, 32), "white").save(buf, "PNG")
    >>> len(hash_image_bytes(buf.getvalue()).phash)
    16
    """
    import imagehash  # the imaging layer's; the video function imports this module for MediaRejected only

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise MediaRejected(
                    "pixels:exceeded", f"{width}x{height} is over the {max_pixels}-pixel limit"
                )
            image.draft("RGB", (256, 256))  # JPEG: decode at reduced scale, pHash works on 32x32 anyway
            image.load()
    except MediaRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise MediaRejected("pixels:bomb", str(error)) from error
    except (OSError, ValueError, SyntaxError) as error:
        raise MediaRejected("decode:failed", f"not a decodable image: {error}") from error
    return ImageHashes(
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        phash=str(imagehash.phash(image.convert("RGB"))),
        width=width,
        height=height,
    )
