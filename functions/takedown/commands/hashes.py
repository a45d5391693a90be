"""``takedown hash`` and ``takedown match``: JSON lines, one per file, for people and scripts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from takedown.commands.media_files import LocalMediaError, read_media
from takedown.hashing.refusals import MediaRejected

if TYPE_CHECKING:
    from pathlib import Path

    from takedown.commands.media_files import LocalMedia


def _emit(document: dict[str, Any]) -> None:
    print(json.dumps(document, ensure_ascii=False), flush=True)


def hashes_of(media: LocalMedia) -> dict[str, Any]:
    """Every hash of one file: a still image's fingerprint, or the frame hashes of a video or animation."""
    document: dict[str, Any] = {
        "path": str(media.path),
        "media_type": media.media_type,
        "sha256": media.sha256,
        "md5": media.md5,
    }
    if media.is_video or media.is_animated:
        from takedown.hashing.media_frames import extract_frames
        from takedown.hashing.video_match import hash_frames

        frame_set = extract_frames(media.data, media.media_type)
        frames = hash_frames(frame_set)
        document |= {
            "kind": "video" if media.is_video else "animation",
            "duration_s": round(frame_set.duration_s, 3),
            "truncated": frame_set.truncated,
            "reason": frame_set.reason,
            "flat_frames_dropped": frames.low_quality_frames,
            "frames": [
                {"index": f.index, "t": round(f.timestamp_s, 3), "pdq": f.pdq, "quality": f.quality}
                for f in frames
            ],
        }
        return document
    from takedown.hashing.fingerprint import fingerprint_image_bytes

    fingerprint = fingerprint_image_bytes(media.data)
    return document | {
        "kind": "image",
        "pdq": fingerprint.pdq,
        "pdq_quality": fingerprint.pdq_quality,
        "phash": fingerprint.phash,
        "width": fingerprint.width,
        "height": fingerprint.height,
    }


def hash_files(paths: list[Path]) -> int:
    """Print the hashes of each file (nothing leaves this machine)."""
    failures = 0
    for path in paths:
        try:
            _emit(hashes_of(read_media(path)))
        except (LocalMediaError, MediaRejected, OSError) as error:
            failures += 1
            _emit({"path": str(path), "error": str(error), "reason": getattr(error, "reason", "file")})
    return 1 if failures else 0


def match_files(paths: list[Path], *, stack: str | None) -> int:
    """Match each file against the deployment's published bank index; print the candidates with their evidence."""
    from takedown.aws.bank_index_store import BankIndexCache
    from takedown.deployment_target import resolve_target
    from takedown.hashing.detect import detect_media

    target = resolve_target(stack)
    index = BankIndexCache().get(target.evidence_bucket, target.bank_table)
    failures = 0
    for path in paths:
        try:
            media = read_media(path)
            detection = detect_media(media.data, media.media_type, index)
        except (LocalMediaError, MediaRejected, OSError) as error:
            failures += 1
            _emit({"path": str(path), "error": str(error), "reason": getattr(error, "reason", "file")})
            continue
        _emit(
            {
                "path": str(path),
                "media_type": media.media_type,
                "kind": detection.kind,
                "sha256": detection.sha256,
                "candidate": bool(detection.matches),
                "matches": [m.to_dict() for m in detection.matches],
                "truncated": detection.truncated,
            }
        )
    return 1 if failures else 0
