"""Match a video against a bank video frame by frame, the way Meta's vPDQ does.

Each video becomes a list of PDQ hashes of its sampled frames (:func:`hash_frames`, frames from
:func:`takedown.hashing.media_frames.extract_frames`). Flat frames (PDQ quality under 50: black, fades, solid
colour) are left out, because they match every other flat frame; runs of near-identical frames collapse
to one (:func:`dedupe_consecutive`). Two videos are then compared on their *unique* frame hashes
(distinct hex): a query frame "matches" when some bank frame is within ``pdq_max`` bits (31, the PDQ
threshold vPDQ uses), and the other way round for bank frames.

Which share decides
-------------------
:func:`compare_videos` reports both shares, as vPDQ does:

* ``query_share``: the share of the query's unique frames found in the bank video. A trimmed, re-encoded or
  re-sized re-upload of a known video scores high here, however much of the original it left out.
* ``bank_share``: the share of the bank video's unique frames found in the query. A long compilation that
  contains the whole known video scores high here, however much unrelated footage surrounds it.

Both are the abuse this system exists to find, so :func:`is_video_match` decides on **either** share
reaching the threshold (0.8 by default, where the issue starts), and the reviewer is shown both numbers:
"41/48 query frames (85%), 12/60 bank frames (20%)" reads as "a cut from the known video". Requiring the
query side only would miss compilations; requiring both would miss trims. The price of "either" is that a
very short bank video (a few unique frames) matches any long video that happens to contain those frames,
which is the same evidence as an image match on one of them and goes to the same human review.

Sampling rate
-------------
Frames are sampled on a one-second grid anchored at 0 s, so a re-encode lines up with the bank video sample
for sample. A copy trimmed *between* grid points does not: each of its samples falls up to half a second
from the nearest bank sample, and in fast-moving footage half a second is more than 31 bits of PDQ. Hashing
bank videos four times a second (``FrameLimits(sample_every_s=0.25)`` at registration) brings every query
sample within an eighth of a second of a bank sample and restores the query share; the bank share of a
one-sample-per-second query against such a bank is then lower by design (the query cannot contain the
in-between frames), so judge compilations on a bank hashed at the query's rate.

Distances are vectorised: both sides are packed into ``uint64`` words and compared block by block, so a
one-hour video sampled every second against a bank video is a few million 64-bit XOR-and-popcounts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, overload

import numpy as np
from PIL import Image

from takedown.hashing.hamming import HashFormatError, hamming_distances, pack_hex_hashes, parse_hex_hash
from takedown.hashing.pdq import (
    DEFAULT_MIN_QUALITY,
    PDQ_BITS,
    PdqHash,
    PdqInputError,
    PdqRefused,
    pdq_hash_image,
    validate_pdq,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from numpy.typing import NDArray

    from takedown.hashing.media_frames import FrameSet

PDQ_MATCH_DISTANCE: Final = 31  # vPDQ's default frame threshold
DEFAULT_MATCH_SHARE: Final = 0.8
DEFAULT_DEDUPE_DISTANCE: Final = 4
MATCH_SIDES: Final = ("either", "query", "bank", "both")
# Distance blocks hold at most this many 64-bit words (32 MiB), whatever the videos' lengths.
_BLOCK_WORDS: Final = 1 << 22
_WORDS_PER_HASH: Final = PDQ_BITS // 64


class VideoMatchError(ValueError):
    """An argument to the video matcher is unusable. ``reason``: ``side:unknown``, ``share:range``,
    ``distance:range``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


# Frames are hashed at the size stills are (takedown.hashing.fingerprint.HASHED_SIZE): PDQ then barely moves with
# the copy's resolution, and a frame compares with a bank image as an image would.
FRAME_HASHED_SIZE: Final = (320, 320)


@dataclass(frozen=True)
class FrameHash:
    """The PDQ hash of one kept frame: ``index`` and ``timestamp_s`` locate it in its video."""

    index: int
    timestamp_s: float
    pdq: str
    quality: int


@dataclass(frozen=True)
class FrameHashes(Sequence[FrameHash]):
    """The usable frame hashes of one video, in time order, and what was left out.

    Behaves as a read-only sequence of :class:`FrameHash`. ``low_quality_frames`` counts the frames dropped
    as flat or featureless (quality under ``min_quality``, or a degenerate all-zero/all-one hash), so the
    report can say "12 of 60 frames too flat to hash".
    """

    hashes: tuple[FrameHash, ...]
    low_quality_frames: int
    min_quality: int = DEFAULT_MIN_QUALITY

    @overload
    def __getitem__(self, index: int) -> FrameHash: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[FrameHash]: ...
    def __getitem__(self, index: int | slice) -> FrameHash | Sequence[FrameHash]:
        return self.hashes[index]

    def __len__(self) -> int:
        return len(self.hashes)

    def __iter__(self) -> Iterator[FrameHash]:
        return iter(self.hashes)


@dataclass(frozen=True)
class VideoComparison:
    """How much of two videos' unique frames match, seen from each side.

    ``query_share = matched_query_frames / query_frames`` and ``bank_share = matched_bank_frames /
    bank_frames``, both 0.0 when a side has no usable frame.
    """

    query_share: float
    bank_share: float
    matched_query_frames: int
    query_frames: int
    matched_bank_frames: int
    bank_frames: int


@dataclass(frozen=True)
class FrameMatch:
    """A bank video frame near a query hash, with the Hamming distance between them."""

    frame: FrameHash
    distance: int


def hash_frames(frames: FrameSet, *, min_quality: int = DEFAULT_MIN_QUALITY) -> FrameHashes:
    """PDQ-hash every frame and keep the ones fit for matching.

    Parameters
    ----------
    frames
        Frames from :func:`takedown.hashing.media_frames.extract_frames`.
    min_quality
        Frames whose PDQ quality is below this are dropped and counted in ``low_quality_frames``.

    Returns
    -------
    FrameHashes
        A sequence of :class:`FrameHash`, in the frames' order.

    Examples
    --------
    >>> from PIL import Image
    >>> from takedown.hashing.media_frames import Frame, FrameSet
    >>> flat = Frame(index=0, timestamp_s=0.0, keyframe=True, image=Image.new("RGB", (64, 64), "black"))
    >>> hashes = hash_frames(FrameSet([flat], duration_s=1.0, truncated=False, reason="", media_type="video/mp4"))
    >>> len(hashes), hashes.low_quality_frames
    (0, 1)
    """
    kept: list[FrameHash] = []
    dropped = 0
    for frame in frames.frames:
        try:
            pdq = pdq_hash_image(
                frame.image.convert("RGB").resize(FRAME_HASHED_SIZE, Image.Resampling.BILINEAR)
            )
            validate_pdq(pdq, min_quality)
        except (PdqRefused, PdqInputError):
            dropped += 1  # flat, featureless or tiny: it would match every other such frame
            continue
        kept.append(FrameHash(frame.index, frame.timestamp_s, pdq.hex, pdq.quality))
    return FrameHashes(hashes=tuple(kept), low_quality_frames=dropped, min_quality=min_quality)


def dedupe_consecutive(
    hashes: Sequence[FrameHash], max_distance: int = DEFAULT_DEDUPE_DISTANCE
) -> list[FrameHash]:
    """Drop each frame within ``max_distance`` bits of the last frame kept (a static shot hashed many times).

    Comparing with the last *kept* frame, not the previous one, means a slow pan still yields a new frame
    once it has drifted far enough.

    Examples
    --------
    >>> a, b = "0" * 64, "0" * 63 + "f"
    >>> frames = [FrameHash(0, 0.0, a, 90), FrameHash(1, 1.0, a, 90), FrameHash(2, 2.0, b, 90)]
    >>> [frame.index for frame in dedupe_consecutive(frames, max_distance=3)]
    [0, 2]
    """
    _check_distance(max_distance)
    kept: list[FrameHash] = []
    last_bits = 0
    for frame in hashes:
        bits = int.from_bytes(parse_hex_hash(frame.pdq, PDQ_BITS), "big")
        if not kept or (bits ^ last_bits).bit_count() > max_distance:
            kept.append(frame)
            last_bits = bits
    return kept


def compare_videos(
    query: Sequence[FrameHash], bank: Sequence[FrameHash], *, pdq_max: int = PDQ_MATCH_DISTANCE
) -> VideoComparison:
    """Share of each video's unique frame hashes found in the other (vPDQ's two match percentages).

    Parameters
    ----------
    query, bank
        Frame hashes of the two videos (usually after :func:`dedupe_consecutive`); frames with the same
        hex count once.
    pdq_max
        Largest Hamming distance at which two frames match.

    Raises
    ------
    HashFormatError
        A frame's ``pdq`` is not 64 hex characters.

    Examples
    --------
    >>> a, b, c = "0f" * 32, "f0" * 32, "3c" * 32
    >>> query = [FrameHash(0, 0.0, a, 90), FrameHash(1, 1.0, b, 90)]
    >>> bank = [FrameHash(0, 0.0, a, 90), FrameHash(1, 1.0, c, 90), FrameHash(2, 2.0, "cc" * 32, 90)]
    >>> result = compare_videos(query, bank)
    >>> result.query_share, result.matched_bank_frames, result.bank_frames
    (0.5, 1, 3)
    """
    _check_distance(pdq_max)
    query_unique = _unique_hex(query)
    bank_unique = _unique_hex(bank)
    if not query_unique or not bank_unique:
        return VideoComparison(0.0, 0.0, 0, len(query_unique), 0, len(bank_unique))
    query_words = pack_hex_hashes(query_unique, PDQ_BITS)
    bank_words = pack_hex_hashes(bank_unique, PDQ_BITS)
    query_matched, bank_matched = _matched_rows(query_words, bank_words, pdq_max)
    matched_query, matched_bank = int(query_matched.sum()), int(bank_matched.sum())
    return VideoComparison(
        query_share=matched_query / len(query_unique),
        bank_share=matched_bank / len(bank_unique),
        matched_query_frames=matched_query,
        query_frames=len(query_unique),
        matched_bank_frames=matched_bank,
        bank_frames=len(bank_unique),
    )


def is_video_match(
    comparison: VideoComparison, *, share: float = DEFAULT_MATCH_SHARE, side: str = "either"
) -> bool:
    """Whether a comparison is a candidate match.

    ``side`` is ``"either"`` (default: query or bank share reaches ``share``; see the module docstring for
    why), ``"query"``, ``"bank"`` or ``"both"``.

    Examples
    --------
    >>> trimmed = VideoComparison(0.95, 0.3, 19, 20, 18, 60)
    >>> is_video_match(trimmed), is_video_match(trimmed, side="bank")
    (True, False)
    """
    if not 0 < share <= 1:
        raise VideoMatchError("share:range", f"share must be in (0, 1], got {share!r}")
    if side not in MATCH_SIDES:
        raise VideoMatchError("side:unknown", f"side must be one of {', '.join(MATCH_SIDES)}, got {side!r}")
    query_ok = comparison.query_frames > 0 and comparison.query_share >= share
    bank_ok = comparison.bank_frames > 0 and comparison.bank_share >= share
    if side == "query":
        return query_ok
    if side == "bank":
        return bank_ok
    if side == "both":
        return query_ok and bank_ok
    return query_ok or bank_ok


def find_frames_matching(
    pdq: PdqHash | str, bank: Sequence[FrameHash], *, pdq_max: int = PDQ_MATCH_DISTANCE
) -> list[FrameMatch]:
    """Frames of a bank video within ``pdq_max`` bits of one image hash, nearest first.

    Lets the image path report "this picture is frame 12 (0:03) of a known video".

    Examples
    --------
    >>> bank = [FrameHash(0, 0.0, "0f" * 32, 90), FrameHash(1, 1.0, "f0" * 32, 90)]
    >>> [(m.frame.timestamp_s, m.distance) for m in find_frames_matching("0f" * 31 + "0e", bank)]
    [(0.0, 1)]
    """
    _check_distance(pdq_max)
    if not bank:
        return []
    query_hex = pdq.hex if isinstance(pdq, PdqHash) else pdq
    query_row = pack_hex_hashes([query_hex], PDQ_BITS)[0]
    distances = hamming_distances(pack_hex_hashes((frame.pdq for frame in bank), PDQ_BITS), query_row)
    hits = np.flatnonzero(distances <= pdq_max)
    ordered = hits[np.argsort(distances[hits], kind="stable")]
    return [FrameMatch(bank[int(row)], int(distances[row])) for row in ordered]


def _unique_hex(hashes: Sequence[FrameHash]) -> list[str]:
    unique: dict[str, None] = {}
    for frame in hashes:
        if not isinstance(frame.pdq, str):
            raise HashFormatError("hex:type", f"frame {frame.index}: pdq must be a hex string")
        unique.setdefault(frame.pdq.lower(), None)
    return list(unique)


def _matched_rows(
    query: NDArray[np.uint64], bank: NDArray[np.uint64], pdq_max: int
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """For each query row, whether any bank row is within ``pdq_max``; and the same for each bank row."""
    query_matched = np.zeros(len(query), dtype=bool)
    bank_matched = np.zeros(len(bank), dtype=bool)
    rows_per_block = max(1, _BLOCK_WORDS // (len(bank) * _WORDS_PER_HASH))
    for start in range(0, len(query), rows_per_block):
        close = hamming_distances(bank, query[start : start + rows_per_block]) <= pdq_max
        query_matched[start : start + rows_per_block] = close.any(axis=1)
        bank_matched |= close.any(axis=0)
    return query_matched, bank_matched


def _check_distance(distance: int) -> None:
    if isinstance(distance, bool) or not isinstance(distance, int) or not 0 <= distance <= PDQ_BITS:
        raise VideoMatchError("distance:range", f"distance must be an int in 0..{PDQ_BITS}, got {distance!r}")
