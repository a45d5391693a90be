"""Video recall and false matches: known clips re-encoded, trimmed, at another frame rate or resolution.

Bank videos are generated (:func:`bench.corpus.render_video_mp4`, a different set of scenes per seed).
Each is transcoded four ways with PyAV, the way a re-upload is: decoded, edited, encoded again. Every
query (the transcodes, plus distractor videos with scenes of their own) goes through the production video
path: ``media_frames.extract_frames``, ``video_match.hash_frames``, ``dedupe_consecutive``, then
``compare_videos`` against every bank video and ``is_video_match`` with its defaults (either side's share
of unique frames at 80% or more, frames within 31 bits).
"""

from __future__ import annotations

import io
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from multiprocessing import get_context
from typing import TYPE_CHECKING, Final

import numpy as np

from bench.corpus import render_video_mp4

if TYPE_CHECKING:
    from takedown.hashing.video_match import FrameHash

_VIDEO_TYPE: Final = "video/mp4"
DISTRACTOR_VIDEO_SEED_BASE: Final = 1000


class VideoBenchError(ValueError):
    """A video benchmark setting is unusable. ``reason``: ``transform:unknown``, ``plan:invalid``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class VideoPlan:
    """Bank and query sizes. ``full()`` is the ``make bench`` plan."""

    bank_videos: int = 8
    distractor_videos: int = 8
    seconds: float = 16.0
    width: int = 640
    height: int = 360
    scene_seconds: float = 4.0
    workers: int = 2

    @classmethod
    def full(cls) -> VideoPlan:
        return cls()


@dataclass(frozen=True)
class VideoTransform:
    """One re-upload edit: a name for the tables and the transcode settings."""

    name: str
    description: str
    crf: int = 23
    start_fraction: float = 0.0
    end_fraction: float = 1.0
    keep_every: int = 1
    scale: float = 1.0


VIDEO_TRANSFORMS: Final = (
    VideoTransform("re-encode", "decoded and encoded again at CRF 35 (heavier compression)", crf=35),
    VideoTransform("trim", "only the middle half kept (25% to 75% of the running time)", start_fraction=0.25, end_fraction=0.75),
    VideoTransform("frame rate", "every other frame dropped: 30 fps to 15 fps", keep_every=2),
    VideoTransform("resolution", "scaled to two thirds of the width and height (360p to 240p)", scale=2 / 3),
)  # fmt: skip


@dataclass
class VideoRecall:
    found: int = 0
    total: int = 0
    query_shares: list[float] = field(default_factory=list)


@dataclass
class VideoReport:
    plan: VideoPlan
    recall: dict[str, VideoRecall]
    false_matches: int
    comparisons: int
    false_match_examples: list[str]
    frames_per_bank_video: float
    elapsed_s: float


def transcode(data: bytes, transform: VideoTransform) -> bytes:
    """Decode an MP4, apply ``transform`` (time range, frame dropping, scaling) and encode it again.

    Examples
    --------
    >>> clip = render_video_mp4(1.0, 64, 48)
    >>> len(transcode(clip, VIDEO_TRANSFORMS[2])) > 0
    True
    """
    import av

    source = av.open(io.BytesIO(data), "r")
    stream = source.streams.video[0]
    duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
    rate = Fraction(stream.average_rate or 30) / transform.keep_every
    width = 2 * round(stream.codec_context.width * transform.scale / 2)
    height = 2 * round(stream.codec_context.height * transform.scale / 2)
    output = io.BytesIO()
    with source, av.open(output, "w", format="mp4") as target:
        encoder = target.add_stream("libx264", rate=rate)
        encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
        encoder.options = {"preset": "ultrafast", "crf": str(transform.crf)}
        written = 0
        for number, frame in enumerate(source.decode(stream)):
            moment = float(frame.time or 0.0)
            if (
                duration
                and not transform.start_fraction * duration <= moment < transform.end_fraction * duration
            ):
                continue
            if number % transform.keep_every:
                continue
            scaled = frame.reformat(width=width, height=height, format="yuv420p")
            # Renumber the kept frames at the new rate: a trimmed copy starts at 0 s, as a re-upload does.
            scaled.pts, scaled.time_base = written, 1 / rate
            written += 1
            for packet in encoder.encode(scaled):
                target.mux(packet)
        for packet in encoder.encode():
            target.mux(packet)
    return output.getvalue()


def frame_hashes(data: bytes) -> list[FrameHash]:
    """The production video path up to matching: frames, PDQ per frame, near-repeats collapsed."""
    from takedown.hashing.media_frames import extract_frames
    from takedown.hashing.video_match import dedupe_consecutive, hash_frames

    return dedupe_consecutive(list(hash_frames(extract_frames(data, _VIDEO_TYPE))))


def _bank_video(seed: int, plan: VideoPlan) -> bytes:
    return render_video_mp4(
        plan.seconds, plan.width, plan.height, seed=seed, scene_seconds=plan.scene_seconds
    )


def _hash_video(task: tuple[int, VideoPlan]) -> list[FrameHash]:
    seed, plan = task
    return frame_hashes(_bank_video(seed, plan))


def _hash_original_and_transcodes(
    task: tuple[int, VideoPlan],
) -> tuple[list[FrameHash], list[tuple[str, list[FrameHash]]]]:
    """Bank video ``seed`` hashed, and its four transcodes hashed (rendered once for both)."""
    seed, plan = task
    original = _bank_video(seed, plan)
    transcodes = [
        (transform.name, frame_hashes(transcode(original, transform))) for transform in VIDEO_TRANSFORMS
    ]
    return frame_hashes(original), transcodes


def run_video_benchmark(plan: VideoPlan) -> VideoReport:
    """Build and hash the bank videos, their transcodes and the distractors, then compare all pairs."""
    from takedown.hashing.video_match import compare_videos, is_video_match

    if plan.bank_videos < 1 or plan.seconds <= 0:
        raise VideoBenchError(
            "plan:invalid", "a video benchmark needs at least one bank video of some length"
        )
    started = time.perf_counter()
    bank_tasks = [(seed, plan) for seed in range(plan.bank_videos)]
    distractor_tasks = [(DISTRACTOR_VIDEO_SEED_BASE + seed, plan) for seed in range(plan.distractor_videos)]
    with ProcessPoolExecutor(max_workers=plan.workers, mp_context=get_context("spawn")) as pool:
        hashed = list(pool.map(_hash_original_and_transcodes, bank_tasks))
        distractors = list(pool.map(_hash_video, distractor_tasks))
    bank = [original for original, _ in hashed]
    transformed = [transcodes for _, transcodes in hashed]
    recall = {transform.name: VideoRecall() for transform in VIDEO_TRANSFORMS}
    false_matches, comparisons, examples = 0, 0, []
    queries = [(source, name, hashes) for source, batch in enumerate(transformed) for name, hashes in batch]
    queries += [(-1, f"distractor {index}", hashes) for index, hashes in enumerate(distractors)]
    for source, name, hashes in queries:
        for bank_index, bank_hashes in enumerate(bank):
            comparison = compare_videos(hashes, bank_hashes)
            matched = is_video_match(comparison)
            if bank_index == source:
                cell = recall[name]
                cell.total += 1
                cell.found += matched
                cell.query_shares.append(comparison.query_share)
                continue
            comparisons += 1
            if matched:
                false_matches += 1
                examples.append(f"{name} of video {source} matched bank video {bank_index}")
    return VideoReport(
        plan=plan,
        recall=recall,
        false_matches=false_matches,
        comparisons=comparisons,
        false_match_examples=examples[:10],
        frames_per_bank_video=float(np.mean([len(hashes) for hashes in bank])),
        elapsed_s=time.perf_counter() - started,
    )
