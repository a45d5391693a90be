"""Speed and memory on one core: JPEG decoding, fingerprinting, and bank matching at 1M and 10M hashes.

Every case runs in a fresh worker process pinned to CPU 0 with BLAS/OpenMP threads set to 1, so one
case's memory does not inflate another's peak and no library quietly uses the second core. Peak memory
is the worker's resident high-water mark (``VmHWM``) at the end of the case: everything it held at its
worst moment, including the interpreter and numpy (the baseline row says how much that is alone).

Times are medians over repeated calls after one warm-up call, with a 95th percentile beside them.
"""

from __future__ import annotations

import io
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import TYPE_CHECKING, Final

import numpy as np
from PIL import Image

from bench.corpus import CorpusEntry, render_at, render_video_mp4
from bench.hamming_search import MultiIndexHashTable, PrefixFilteredScan
from takedown.hashing.bank_index import BankIndex
from takedown.hashing.fingerprint import (
    DRAFT_MIN_SIZE,
    ImageFingerprint,
    fingerprint_image_bytes,
)
from takedown.hashing.hamming import hamming_distances, nearest_within
from takedown.hashing.media_frames import extract_frames
from takedown.hashing.pdq import DIHEDRAL_TRANSPOSES
from takedown.hashing.video_match import dedupe_consecutive, hash_frames
from takedown.model import BankItem

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import NDArray

PDQ_THRESHOLD: Final = 31
SINGLE_THREAD_ENV: Final = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}
BENCH_CPU: Final = 0
_JPEG_QUALITY: Final = 90
_QUERIES: Final = 100  # half near copies of bank rows (a hit), half unrelated hashes (a miss)
_KIB_PER_MIB: Final = 1024


class BenchmarkError(RuntimeError):
    """A benchmark cannot give a trustworthy number. ``reason``: ``search:mismatch`` (a fast search
    disagreed with the plain scan), ``plan:invalid``, ``memory:unreadable``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class Timing:
    """Repeated wall-clock timings of one operation."""

    runs: int
    median_s: float
    p95_s: float

    @property
    def per_second(self) -> float:
        return 1.0 / self.median_s if self.median_s > 0 else float("inf")


@dataclass(frozen=True)
class SpeedRow:
    """One line of a speed table. ``goal_met`` is None where the issue sets no goal."""

    group: str
    case: str
    timing: Timing | None
    peak_rss_mib: float
    detail: str = ""
    goal: str = ""
    goal_met: bool | None = None


@dataclass(frozen=True)
class SpeedPlan:
    """What to measure: picture sizes, bank sizes, and how long to spend per timing loop.

    ``full()`` is the ``make bench`` plan; ``smoke()`` runs every code path in seconds.
    """

    image_sizes: tuple[tuple[str, int, int], ...]
    video: tuple[str, float, int, int] | None  # label, seconds, width, height
    scan_bank_sizes: tuple[int, ...]
    multi_index_bank_sizes: tuple[int, ...]
    bank_index_sizes: tuple[int, ...]
    budget_s: float
    min_runs: int
    fingerprint_goals: dict[str, float] = field(default_factory=dict)  # label -> images per second
    match_goal_ms: float = 2.0
    match_goal_bank: int = 1_000_000

    @classmethod
    def full(cls) -> SpeedPlan:
        return cls(
            image_sizes=(("1080p", 1920, 1080), ("12 MP", 4000, 3000)),
            video=("720p", 60.0, 1280, 720),
            scan_bank_sizes=(1_000_000, 10_000_000),
            multi_index_bank_sizes=(1_000_000, 10_000_000),
            bank_index_sizes=(1_000_000,),
            budget_s=3.0,
            min_runs=5,
            fingerprint_goals={"1080p": 100.0, "12 MP": 30.0},
        )

    @classmethod
    def smoke(cls) -> SpeedPlan:
        return cls(
            image_sizes=(("tiny", 160, 120),),
            video=("tiny", 2.0, 160, 96),
            scan_bank_sizes=(5_000,),
            multi_index_bank_sizes=(5_000,),
            bank_index_sizes=(5_000,),
            budget_s=0.05,
            min_runs=2,
            fingerprint_goals={"tiny": 1.0},
            match_goal_bank=5_000,
        )


def time_call(operation: Callable[[], object], *, budget_s: float, min_runs: int) -> Timing:
    """Time ``operation`` after one warm-up call: at least ``min_runs`` calls, more while under budget.

    Examples
    --------
    >>> time_call(lambda: sum(range(100)), budget_s=0.01, min_runs=3).runs >= 3
    True
    """
    if min_runs < 1:
        raise BenchmarkError("plan:invalid", f"min_runs must be >= 1, got {min_runs}")
    operation()
    durations: list[float] = []
    started = time.perf_counter()
    while len(durations) < min_runs or time.perf_counter() - started < budget_s:
        begin = time.perf_counter()
        operation()
        durations.append(time.perf_counter() - begin)
    samples = np.array(durations)
    return Timing(
        runs=len(durations), median_s=float(np.median(samples)), p95_s=float(np.percentile(samples, 95))
    )


def run_speed_benchmarks(plan: SpeedPlan) -> list[SpeedRow]:
    """Run every case of ``plan``, each in its own single-core worker process, in order."""
    rows: list[SpeedRow] = []
    rows += _isolated(_baseline_case)
    for label, width, height in plan.image_sizes:
        # Rendered here, before the workers start: drawing a 12 MP picture would dominate their peak memory.
        data = photo_like_jpeg(width, height)
        rows += _isolated(_decode_case, label, data, plan)
        rows += _isolated(_fingerprint_case, label, data, plan)
    if plan.video is not None:
        label, seconds, width, height = plan.video
        # Encoded here, on both cores, before the single-core worker starts: setup, not measurement.
        rows += _isolated(_video_case, label, seconds, render_video_mp4(seconds, width, height), plan)
    for bank_size in plan.bank_index_sizes:
        rows += _isolated(_bank_index_case, bank_size, plan)
    for bank_size in plan.scan_bank_sizes:
        rows += _isolated(_plain_scan_case, bank_size, plan)
        rows += _isolated(_prefix_scan_case, bank_size, plan)
    for bank_size in plan.multi_index_bank_sizes:
        rows += _isolated(_multi_index_case, bank_size, plan)
    return rows


# ----------------------------------------------------------------------------------------------------------
# Process isolation


def _pin_to_one_core() -> None:
    os.sched_setaffinity(0, {BENCH_CPU})


def _isolated(case: Callable[..., list[SpeedRow]], *args: object) -> list[SpeedRow]:
    # The environment is read by numpy's BLAS when the fresh ("spawn") worker imports it.
    os.environ.update(SINGLE_THREAD_ENV)
    with ProcessPoolExecutor(
        max_workers=1, mp_context=get_context("spawn"), initializer=_pin_to_one_core
    ) as pool:
        return pool.submit(case, *args).result()


def _peak_rss_mib() -> float:
    """The worker's resident high-water mark (``VmHWM``).

    Not ``getrusage``'s ``ru_maxrss``: on Linux that survives fork and exec, so a worker would report its
    parent's peak whenever the parent's was higher.
    """
    with open("/proc/self/status", encoding="ascii") as status:  # noqa: PTH123 - a pseudo-file, read once
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / _KIB_PER_MIB  # reported in kB
    raise BenchmarkError("memory:unreadable", "/proc/self/status has no VmHWM line")


# ----------------------------------------------------------------------------------------------------------
# Cases (run inside the worker)


def _baseline_case() -> list[SpeedRow]:
    return [
        SpeedRow(
            "baseline", "worker process: Python, numpy, Pillow, imagehash imported", None, _peak_rss_mib()
        )
    ]


def photo_like_jpeg(width: int, height: int) -> bytes:
    """A camera-sized JPEG (quality 90) with photo-like detail: fractal texture plus sensor-like grain."""
    picture = np.asarray(render_at(CorpusEntry("noise", 42), width, height), dtype=np.int16)
    grain = np.random.default_rng(7).normal(0.0, 6.0, picture.shape).astype(np.int16)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(picture + grain, 0, 255).astype(np.uint8), "RGB").save(
        buffer, "JPEG", quality=_JPEG_QUALITY
    )
    return buffer.getvalue()


def _decode_full(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _decode_draft(data: bytes) -> Image.Image:
    """Decode as the fingerprinter does: libjpeg scales by 1/2, 1/4 or 1/8 in the DCT domain, to the
    smallest size still at least ``DRAFT_MIN_SIZE``."""
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", DRAFT_MIN_SIZE)
    image.load()
    return image


def _decode_case(label: str, data: bytes, plan: SpeedPlan) -> list[SpeedRow]:
    width, height = Image.open(io.BytesIO(data)).size
    size_note = f"{width}x{height}, JPEG q{_JPEG_QUALITY}, {len(data) / 1e6:.1f} MB"
    full = time_call(lambda: _decode_full(data), budget_s=plan.budget_s, min_runs=plan.min_runs)
    drafted = _decode_draft(data)
    draft = time_call(lambda: _decode_draft(data), budget_s=plan.budget_s, min_runs=plan.min_runs)
    peak = _peak_rss_mib()
    return [
        SpeedRow("decode", f"JPEG decode, full size, {label}", full, peak, size_note),
        SpeedRow(
            "decode",
            f"JPEG decode, draft mode, {label}",
            draft,
            peak,
            f"{size_note}; decoded at {drafted.width}x{drafted.height}",
        ),
    ]


def _fingerprint_case(label: str, data: bytes, plan: SpeedPlan) -> list[SpeedRow]:
    timing = time_call(lambda: fingerprint_image_bytes(data), budget_s=plan.budget_s, min_runs=plan.min_runs)
    # Say what the production fingerprint computed, so the row stays true when the fingerprint grows.
    band = getattr(fingerprint_image_bytes(data), "band", None) is not None
    goal = plan.fingerprint_goals.get(label)
    return [
        SpeedRow(
            "fingerprint",
            f"fingerprint_image_bytes, {label}",
            timing,
            _peak_rss_mib(),
            "draft decode, SHA-256, MD5, PDQ and pHash in 8 orientations"
            + (", for the whole picture and its middle band" if band else ""),
            goal=f">= {goal:g} images/s" if goal else "",
            goal_met=None if goal is None else timing.per_second >= goal,
        )
    ]


def _video_case(label: str, seconds: float, data: bytes, plan: SpeedPlan) -> list[SpeedRow]:
    """The production video path up to matching: frames chosen and decoded, one PDQ each, repeats merged."""
    kept: list[int] = []

    def decode_and_hash() -> None:
        frames = extract_frames(data, "video/mp4")
        kept.append(len(dedupe_consecutive(list(hash_frames(frames)))))

    # A whole minute per call: the minimum of runs, not the time budget, bounds this loop.
    timing = time_call(decode_and_hash, budget_s=0.0, min_runs=max(1, min(plan.min_runs, 3)))
    per_minute = Timing(timing.runs, timing.median_s * 60 / seconds, timing.p95_s * 60 / seconds)
    return [
        SpeedRow(
            "video",
            f"video decode + hash, {label}, per minute of video",
            per_minute,
            _peak_rss_mib(),
            f"{seconds:g} s of H.264 at 30 fps, {len(data) / 1e6:.1f} MB: media_frames.extract_frames (default "
            f"limits), video_match.hash_frames and dedupe_consecutive; {kept[-1]} frame hashes kept",
        )
    ]


def _random_bank(bank_size: int) -> NDArray[np.uint64]:
    # Uniform random hashes: PDQ sets half its bits by construction (median threshold), so a scan costs
    # the same on real hashes; the multi-index table's candidate counts are the optimistic case.
    return np.random.default_rng(2024).integers(0, 2**64, size=(bank_size, 4), dtype=np.uint64)


def _queries(bank: NDArray[np.uint64], count: int = _QUERIES) -> list[NDArray[np.uint64]]:
    """Half near copies of bank rows (0-31 bits flipped, so each has a hit), half unrelated hashes."""
    rng = np.random.default_rng(99)
    queries: list[NDArray[np.uint64]] = []
    for index in range(count):
        if index % 2:
            queries.append(rng.integers(0, 2**64, size=4, dtype=np.uint64))
            continue
        bits = np.unpackbits(bank[int(rng.integers(len(bank)))].view(np.uint8))
        flipped = rng.choice(256, size=int(rng.integers(0, PDQ_THRESHOLD + 1)), replace=False)
        bits[flipped] ^= 1
        queries.append(np.packbits(bits).view(np.uint64).copy())
    return queries


def _time_queries(
    search: Callable[[NDArray[np.uint64]], object], queries: list[NDArray[np.uint64]], budget_s: float
) -> Timing:
    search(queries[0])  # warm-up
    durations: list[float] = []
    started = time.perf_counter()
    for query in queries:
        begin = time.perf_counter()
        search(query)
        durations.append(time.perf_counter() - begin)
        if time.perf_counter() - started > budget_s and len(durations) >= 10:
            break
    samples = np.array(durations)
    return Timing(
        runs=len(durations), median_s=float(np.median(samples)), p95_s=float(np.percentile(samples, 95))
    )


def _check_exact(
    search: Callable[[NDArray[np.uint64], int], list[tuple[int, int]]],
    bank: NDArray[np.uint64],
    queries: list[NDArray[np.uint64]],
    name: str,
) -> None:
    """A fast search must return exactly what the plain scan returns, or its timing means nothing."""
    for query in queries[:4]:
        expected = nearest_within(bank, query, PDQ_THRESHOLD)
        actual = search(query, PDQ_THRESHOLD)
        if sorted(actual) != sorted(expected):
            raise BenchmarkError(
                "search:mismatch", f"{name} found {len(actual)} rows, the plain scan {len(expected)}"
            )


def _match_goal(plan: SpeedPlan, bank_size: int, timing: Timing) -> tuple[str, bool | None]:
    if bank_size != plan.match_goal_bank:
        return "", None
    return f"<= {plan.match_goal_ms:g} ms/query", timing.median_s * 1e3 <= plan.match_goal_ms


def _bank_label(bank_size: int) -> str:
    return f"{bank_size // 1_000_000}M" if bank_size >= 1_000_000 else f"{bank_size:,}"


def _resident_mib() -> float:
    """Memory resident now (not the peak): what a warm process keeps after building."""
    with open("/proc/self/statm", encoding="ascii") as statm:  # noqa: PTH123 - a pseudo-file, read once
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _hex_rows(bank: NDArray[np.uint64]) -> list[str]:
    # Words are stored big-endian in the hex text (hamming.pack_hex_hashes): swap before reading bytes.
    return [row.tobytes().hex() for row in bank.byteswap()]


def _bank_index_case(bank_size: int, plan: SpeedPlan) -> list[SpeedRow]:
    """The production index, built from BankItems as the hashing function builds it from the bank."""
    bank = _random_bank(bank_size)
    hexes = _hex_rows(bank)
    items = [
        BankItem(
            item_id=f"item-{row:08d}",
            bank="bench",
            algorithm="pdq",
            hash_hex=text,
            quality=90,
            group_id=f"g{row}",
        )
        for row, text in enumerate(hexes)
    ]
    began = time.perf_counter()
    index = BankIndex.build(items)
    build_s = time.perf_counter() - began
    del items
    resident = _resident_mib()
    query_hexes = _hex_rows(np.stack(_queries(bank)))
    expected = [len(nearest_within(bank, query, PDQ_THRESHOLD)) for query in _queries(bank)[:4]]
    found = [len(index.nearest("pdq", text, PDQ_THRESHOLD)) for text in query_hexes[:4]]
    if found != expected:
        raise BenchmarkError(
            "search:mismatch", f"BankIndex.nearest found {found} rows, the plain scan {expected}"
        )
    hex_by_query = dict(zip((q.tobytes() for q in _queries(bank)), query_hexes, strict=True))
    nearest = _time_queries(
        lambda query: index.nearest("pdq", hex_by_query[query.tobytes()], PDQ_THRESHOLD),
        _queries(bank),
        plan.budget_s,
    )
    fingerprints = {text: _fingerprint_with_pdq(text) for text in query_hexes}
    fused = _time_queries(
        lambda query: index.match_fingerprint(fingerprints[hex_by_query[query.tobytes()]]),
        _queries(bank),
        plan.budget_s,
    )
    peak = _peak_rss_mib()
    label = _bank_label(bank_size)
    goal, met = _match_goal(plan, bank_size, nearest)
    note = (
        f"built from {bank_size:,} BankItems in {build_s:.1f} s; {resident:,.0f} MiB resident after the items "
        "were freed (the peak includes them)"
    )
    return [
        SpeedRow(
            "match",
            f"BankIndex.nearest (production, multi-index), {label} PDQ",
            nearest,
            peak,
            note,
            goal,
            met,
        ),
        SpeedRow(
            "match",
            f"BankIndex.match_fingerprint: 8 orientations + fusion, {label} PDQ",
            fused,
            peak,
            "per image: the query's 8 dihedral PDQs searched at once, then fused",
        ),
    ]


def _fingerprint_with_pdq(pdq_hex: str) -> ImageFingerprint:
    """A query fingerprint around one PDQ: the other orientations are unrelated random hashes."""
    rng = np.random.default_rng(int(pdq_hex[:8], 16))
    dihedral = {
        name: rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex() for name in DIHEDRAL_TRANSPOSES
    }
    dihedral["original"] = pdq_hex
    phash = rng.integers(0, 256, 8, dtype=np.uint8).tobytes().hex()
    return ImageFingerprint(
        sha256="0" * 64,
        md5="0" * 32,
        pdq=pdq_hex,
        pdq_quality=90,
        pdq_dihedral=dihedral,
        phash=phash,
        width=640,
        height=480,
        phash_dihedral=dict.fromkeys(dihedral, phash),
    )


def _plain_scan_case(bank_size: int, plan: SpeedPlan) -> list[SpeedRow]:
    bank = _random_bank(bank_size)
    queries = _queries(bank)

    def plain_scan(query: NDArray[np.uint64]) -> NDArray[np.intp]:
        return np.flatnonzero(hamming_distances(bank, query) <= PDQ_THRESHOLD)

    timing = _time_queries(plain_scan, queries, plan.budget_s)
    goal, met = _match_goal(plan, bank_size, timing)
    return [
        SpeedRow(
            "match",
            f"plain vectorised scan (hamming.hamming_distances), {_bank_label(bank_size)} PDQ",
            timing,
            _peak_rss_mib(),
            f"bank {bank.nbytes / 2**20:.0f} MiB",
            goal,
            met,
        )
    ]


def _prefix_scan_case(bank_size: int, plan: SpeedPlan) -> list[SpeedRow]:
    bank = _random_bank(bank_size)
    queries = _queries(bank)
    scan = PrefixFilteredScan(bank)
    _check_exact(scan.within, bank, queries, "PrefixFilteredScan")
    timing = _time_queries(lambda query: scan.within(query, PDQ_THRESHOLD), queries, plan.budget_s)
    goal, met = _match_goal(plan, bank_size, timing)
    return [
        SpeedRow(
            "match",
            f"prefix-filtered blocked scan (bench.hamming_search), {_bank_label(bank_size)} PDQ",
            timing,
            _peak_rss_mib(),
            f"bank + column copy {scan.nbytes / 2**20:.0f} MiB; exact (checked against the plain scan)",
            goal,
            met,
        )
    ]


def _multi_index_case(bank_size: int, plan: SpeedPlan) -> list[SpeedRow]:
    bank = _random_bank(bank_size)
    queries = _queries(bank)
    began = time.perf_counter()
    table = MultiIndexHashTable(bank)
    build_s = time.perf_counter() - began
    _check_exact(table.within, bank, queries, "MultiIndexHashTable")
    candidates = int(np.median([table.candidates(query).size for query in queries]))
    timing = _time_queries(lambda query: table.within(query, PDQ_THRESHOLD), queries, plan.budget_s)
    goal, met = _match_goal(plan, bank_size, timing)
    return [
        SpeedRow(
            "match",
            f"multi-index hash, 16 x 16-bit tables (bench.hamming_search), {_bank_label(bank_size)} PDQ",
            timing,
            _peak_rss_mib(),
            f"index {table.nbytes / 2**20:.0f} MiB, built in {build_s:.1f} s; median {candidates:,} candidates "
            "a query; exact (checked against the plain scan)",
            goal,
            met,
        )
    ]
