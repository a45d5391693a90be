"""Why a media file is not hashed: the refusal every decoder raises, and the pixel limit they share."""

from __future__ import annotations

# A decoded image (or video frame) larger than this is refused: a small file can declare a huge canvas (a
# decompression bomb).
MAX_PIXELS = 40_000_000


class MediaRejected(ValueError):
    """The file could not be hashed safely. ``reason`` is a short code recorded on the sighting.

    Examples
    --------
    >>> MediaRejected("decode:failed", "not a decodable image").reason
    'decode:failed'
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
