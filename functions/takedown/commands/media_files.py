"""Reading local media files for the CLI: what kind each is, by its magic bytes."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from takedown.crawl.media_types import SNIFF_BYTES, sniff_media_type

if TYPE_CHECKING:
    from pathlib import Path

# A file larger than this is not read by `takedown hash/match/bank add` (a video of hours is still far below).
MAX_LOCAL_FILE_BYTES = 4 * 1024**3


class LocalMediaError(ValueError):
    """A path that is not a readable media file."""


@dataclass(frozen=True)
class LocalMedia:
    path: Path
    media_type: str
    data: bytes

    @property
    def is_video(self) -> bool:
        return self.media_type.startswith("video/")

    @property
    def is_animated(self) -> bool:
        """An image with more than one frame (animated GIF, WebP or PNG)."""
        if self.media_type not in {"image/gif", "image/webp", "image/png"}:
            return False
        from PIL import Image

        with Image.open(io.BytesIO(self.data)) as image:
            return bool(getattr(image, "is_animated", False))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def md5(self) -> str:
        return hashlib.md5(self.data, usedforsecurity=False).hexdigest()


def read_media(path: Path) -> LocalMedia:
    """Read ``path`` and decide its media type from its first bytes, not its name."""
    if not path.is_file():
        raise LocalMediaError(f"{path}: not a file")
    size = path.stat().st_size
    if size > MAX_LOCAL_FILE_BYTES:
        raise LocalMediaError(f"{path}: {size} bytes is over the {MAX_LOCAL_FILE_BYTES}-byte limit")
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    media_type = sniff_media_type(head)
    if media_type is None:
        raise LocalMediaError(f"{path}: not an image or video this system reads")
    return LocalMedia(path=path, media_type=media_type, data=path.read_bytes())
