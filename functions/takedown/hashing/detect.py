"""Detect known media in one file: hash it the way its kind needs, match it against the bank index, and say why.

- A still image: its fingerprint (exact digests, PDQ with its eight dihedral variants, pHash) through the index's
  fusion rule (:meth:`BankIndex.match_fingerprint`).
- An animated image or a video: its frames (key frames, one per second, scene cuts; bounded), each PDQ-hashed.
  A bank **video** matches when the share of matched unique frames reaches its bank's ``video_frame_share``
  (80% by default) on either side - the query's frames found in the bank video (a re-upload or a trimmed copy) or
  the bank video's frames found in the query (a compilation that contains it). A frame within the strict PDQ
  distance of a bank **image** is reported as such ("frame 12 at 3.00 s matches a bank image").

Imports are by kind: the image path needs imagehash (the imaging layer), the video path needs PyAV (the video
layer); neither function ships both.
"""

from __future__ import annotations

import hashlib
import struct
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from takedown.hashing.fusion import thresholds_for

if TYPE_CHECKING:
    from takedown.hashing.bank_index import BankIndex
    from takedown.hashing.fingerprint import ImageFingerprint
    from takedown.hashing.media_frames import FrameLimits
    from takedown.hashing.video_match import FrameHash
    from takedown.model import MatchEvidence

_ANIMATABLE = frozenset({"image/gif", "image/webp", "image/png"})
# What Pillow's format plugins raise on malformed input (fuzzed files reach past OSError; as fingerprint.py).
_MALFORMED_INPUT_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
)


@dataclass(frozen=True)
class Detection:
    """What one file is and what it matched. ``matches`` are candidates, each with its evidence."""

    media_type: str
    kind: str  # "image" | "animation" | "video"
    sha256: str
    md5: str
    matches: list[MatchEvidence] = field(default_factory=list)
    fingerprint: ImageFingerprint | None = None
    frames: list[FrameHash] = field(default_factory=list)
    truncated: bool = False
    reason: str = ""  # why frame extraction stopped early, if it did

    @property
    def phash(self) -> str:
        return self.fingerprint.phash if self.fingerprint else ""

    @property
    def pdq(self) -> str:
        if self.fingerprint:
            return self.fingerprint.pdq
        return self.frames[0].pdq if self.frames else ""


def is_animated(data: bytes, media_type: str) -> bool:
    """True for a GIF, WebP or PNG with more than one frame."""
    if media_type not in _ANIMATABLE:
        return False
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return bool(getattr(image, "is_animated", False))
    except (*_MALFORMED_INPUT_ERRORS, Image.DecompressionBombError):
        # Not readable as an animation: the still-image path refuses it with its reason (a canvas past Pillow's
        # own bomb limit as ``pixels:exceeded``, damaged bytes as ``decode:failed``).
        return False


def detect_media(
    data: bytes, media_type: str, index: BankIndex, *, limits: FrameLimits | None = None
) -> Detection:
    """Hash ``data`` and match it. Raises ``MediaRejected`` (with a reason code) for files that cannot be read."""
    sha256 = hashlib.sha256(data).hexdigest()
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    if media_type.startswith("video/") or is_animated(data, media_type):
        return _detect_frames(data, media_type, index, sha256=sha256, md5=md5, limits=limits)
    from takedown.hashing.fingerprint import fingerprint_image_bytes

    fingerprint = fingerprint_image_bytes(data)
    return Detection(
        media_type=media_type,
        kind="image",
        sha256=sha256,
        md5=md5,
        matches=index.match_fingerprint(fingerprint),
        fingerprint=fingerprint,
    )


def _detect_frames(
    data: bytes, media_type: str, index: BankIndex, *, sha256: str, md5: str, limits: FrameLimits | None
) -> Detection:
    from takedown.hashing.media_frames import DEFAULT_LIMITS, extract_frames
    from takedown.hashing.video_match import hash_frames

    frame_set = extract_frames(data, media_type, limits or DEFAULT_LIMITS)
    frames = list(hash_frames(frame_set))
    matches = [*index.nearest("sha256", sha256, 0), *_frame_matches(frames, index)]
    return Detection(
        media_type=media_type,
        kind="video" if media_type.startswith("video/") else "animation",
        sha256=sha256,
        md5=md5,
        matches=[replace(m, rule=m.rule or "exact") for m in matches],
        frames=frames,
        truncated=frame_set.truncated,
        reason=frame_set.reason,
    )


def _frame_matches(frames: list[FrameHash], index: BankIndex) -> list[MatchEvidence]:
    """Video-level matches against bank videos, and single frames that match bank images."""
    if not frames:
        return []
    radius = index.pdq_search_radius
    hits_by_group: dict[str, list[tuple[FrameHash, MatchEvidence]]] = defaultdict(list)
    for frame in frames:
        for hit in index.nearest("pdq", frame.pdq, radius, query_quality=frame.quality):
            hits_by_group[hit.group_id or hit.bank_item_id].append((frame, hit))
    found: list[MatchEvidence] = []
    for group, hits in hits_by_group.items():
        limits = thresholds_for(hits[0][1].bank, index.thresholds)
        within = [(frame, hit) for frame, hit in hits if hit.distance <= limits.pdq_max]
        if not within:
            continue
        best_frame, best = min(within, key=lambda pair: pair[1].distance)
        bank_frames = index.group_size(group, "pdq")
        if index.group_kind(group) == "video" and bank_frames:
            query_share = len({f.index for f, _ in within}) / len(frames)
            bank_share = len({h.bank_item_id for _, h in within}) / bank_frames
            if max(query_share, bank_share) >= limits.video_frame_share:
                found.append(
                    replace(
                        best,
                        rule="video",
                        variant=(
                            f"frames: {query_share:.0%} of the query's found in the bank video, "
                            f"{bank_share:.0%} of the bank video's found in the query"
                        ),
                    )
                )
            continue
        if best.distance <= limits.pdq_strict:
            found.append(
                replace(
                    best,
                    rule="frame-of-media",
                    variant=f"frame {best_frame.index} at {best_frame.timestamp_s:.2f} s",
                )
            )
    return sorted(found, key=lambda m: (m.distance, m.bank_item_id))
