"""Load: 10,000 media through the local pipeline with bounded memory, and where every one of them ended.

One fresh worker process, one fresh local stack. The media are a deterministic mix (:func:`media_kind`):

- **matching** (3% by default): an altered copy of its own bank original; it opens a case and its workflow
  runs to the review step (the reviewer's email), like the pipeline benchmark's cases;
- **corrupt** (1%): a truncated JPEG; hashing must refuse it with a recorded reason;
- **unrelated** (the rest): a picture that matches nothing; hashing records ``NO_MATCH`` and deletes it.

Each is dropped as the crawl worker stores it (:func:`bench.pipeline_media.drop_media`) from ``droppers``
threads; moto runs the hashing function inside each put. So all 10,000 go through hashing and matching, and
the matching share through the whole workflow to the review step.

At each checkpoint (1,000, 5,000 and 10,000 media by default) the droppers stop, the workflows started so
far are given time to reach review, and the process's memory is read: resident now (``VmRSS``), its
high-water mark (``VmHWM``), and the bytes put into S3 so far, all of which moto keeps (the bucket is
versioned, so an unrelated file's deleted bytes stay as a noncurrent version, as they would in S3 until a
lifecycle rule removes them). They are counted from the calls, not by listing the bucket: moto builds every
version of the bucket for each page of ``ListObjectVersions``, which at 20,000 versions took gigabytes. The last ``traced`` media before each checkpoint are dropped one at a time under
``tracemalloc``: the largest Python allocation peak of one drop (hashing, and opening a case on a match)
shows whether the work per media grows with what came before.
"""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from bench.aws_calls import AwsCallCounter
from bench.local_worker import bench_local_stack
from bench.pipeline_media import (
    PICTURE_SIZE,
    UNRELATED_SEED_BASE,
    altered_copy,
    corrupt_media,
    drop_media,
    max_bank_size,
    max_unrelated,
    page_url_for,
    prepare_bank,
    register_bank,
)
from bench.process_memory import current_rss_mib, peak_rss_mib, run_in_fresh_process
from takedown.demo.synthetic import make_image
from takedown.model import iso_utc, utc_now

if TYPE_CHECKING:
    from PIL import Image

    from takedown.aws.evidence_store import EvidenceStore
    from takedown.config import Settings
    from takedown.local.environment import LocalEnvironment

MATCHING: Final = "matching"
UNRELATED: Final = "unrelated"
CORRUPT: Final = "corrupt"
_BYTES_PER_MIB: Final = 2**20
# Format and the encoder options that keep making a picture to a few milliseconds (fast PNG and WebP modes:
# the files decode like any other).
_UNRELATED_FORMATS: Final = (
    ("JPEG", "image/jpeg", {"quality": 80}),
    ("PNG", "image/png", {"compress_level": 1}),
    ("WEBP", "image/webp", {"quality": 80, "method": 0}),
)
_POLL_S: Final = 1.0


class LoadBenchmarkError(RuntimeError):
    """The load benchmark cannot run as planned. ``reason``: ``plan:invalid``."""

    def __init__(self, message: str) -> None:
        super().__init__(f"plan:invalid: {message}")
        self.reason = "plan:invalid"


@dataclass(frozen=True)
class LoadPlan:
    """How many media, which share of them match or are corrupt, where to measure, and bounds.

    ``settle_limit_s`` bounds each wait for the workflows to reach review; ``own_process`` False runs in
    this process (the smoke test).
    """

    media: int = 10_000
    matching_every: int = 33  # one in 33 (3%) matches
    corrupt_every: int = 100  # one in 100 (1%) is corrupt
    checkpoints: tuple[int, ...] = (1_000, 5_000, 10_000)
    traced: int = 20
    unrelated_pool: int = 120  # distinct unrelated pictures; each media adds its number to one of them
    droppers: int = 2
    own_process: bool = True
    settle_limit_s: float = 300.0

    def __post_init__(self) -> None:
        if self.media < 1 or self.matching_every < 2 or self.corrupt_every < 2 or self.droppers < 1:
            raise LoadBenchmarkError("media, droppers >= 1; matching_every, corrupt_every >= 2")
        if not self.checkpoints or sorted(self.checkpoints) != list(self.checkpoints):
            raise LoadBenchmarkError(f"checkpoints must be increasing, got {self.checkpoints}")
        if self.checkpoints[-1] != self.media:
            raise LoadBenchmarkError("the last checkpoint must be the number of media")
        if self.traced < 0 or self.traced >= self.checkpoints[0]:
            raise LoadBenchmarkError("traced must be >= 0 and below the first checkpoint")
        if not 1 <= self.unrelated_pool <= max_unrelated():
            raise LoadBenchmarkError(f"unrelated_pool must be 1..{max_unrelated()}")
        if self.matching_count > max_bank_size():
            raise LoadBenchmarkError(f"at most {max_bank_size()} matching media (one bank original each)")

    @property
    def matching_count(self) -> int:
        return sum(1 for index in range(self.media) if media_kind(index, self) == MATCHING)

    @classmethod
    def full(cls) -> LoadPlan:
        return cls()

    @classmethod
    def smoke(cls) -> LoadPlan:
        return cls(
            media=40,
            matching_every=10,
            corrupt_every=15,
            checkpoints=(20, 40),
            traced=3,
            unrelated_pool=4,
            droppers=2,
            own_process=False,
            settle_limit_s=60.0,
        )


def media_kind(index: int, plan: LoadPlan) -> str:
    """What media number ``index`` is: matching, corrupt or unrelated (a fixed, interleaved pattern).

    >>> plan = LoadPlan()
    >>> [media_kind(i, plan) for i in (0, 1, 33, 99, 100)]
    ['unrelated', 'unrelated', 'matching', 'matching', 'corrupt']
    """
    if index % plan.corrupt_every == 0 and index:
        return CORRUPT
    if index % plan.matching_every == 0 and index:
        return MATCHING
    return UNRELATED


@dataclass(frozen=True)
class Checkpoint:
    """The process after ``media`` media (and the workflows they started) went through."""

    media: int
    elapsed_s: float
    rss_mib: float
    peak_rss_mib: float
    s3_bytes_put: int
    traced_peak_mib: float  # largest Python allocation peak of one drop, over the traced drops
    cases_awaiting_review: int


@dataclass(frozen=True)
class LoadReport:
    plan: LoadPlan
    kinds: dict[str, int]  # media kind -> dropped
    outcomes_by_kind: dict[str, dict[str, int]]  # kind -> recorded outcome (REJECTED:<reason> ...) -> count
    without_outcome: int  # dropped media with no recorded outcome
    statuses: dict[str, int]  # case status -> count
    reviewer_emails: int
    checkpoints: list[Checkpoint] = field(default_factory=list)
    setup_s: float = 0.0
    drop_s: float = 0.0  # dropper time, checkpoints' waits excluded
    making_s: float = 0.0  # of which making the media (summed over dropper threads)
    settle_s: float = 0.0  # waiting for workflows at checkpoints
    total_s: float = 0.0
    cpu_s: float = 0.0
    aws_calls: dict[str, int] = field(default_factory=dict)
    settled: bool = True

    @property
    def media(self) -> int:
        return sum(self.kinds.values())


class _UnrelatedPictures:
    """A pool of unrelated pictures made once; each media gets one with its number drawn in a corner."""

    def __init__(self, size: int) -> None:
        self._pool: list[Image.Image] = [
            make_image(UNRELATED_SEED_BASE + n, size=PICTURE_SIZE) for n in range(size)
        ]

    def media(self, index: int) -> tuple[bytes, str]:
        import io

        from PIL import ImageDraw

        picture = self._pool[index % len(self._pool)].copy()
        ImageDraw.Draw(picture).text((4, 4), f"#{index:05d}", fill=(255, 255, 255))
        fmt, media_type, options = _UNRELATED_FORMATS[index % len(_UNRELATED_FORMATS)]
        buffer = io.BytesIO()
        picture.save(buffer, fmt, **options)
        return buffer.getvalue(), media_type


def run_load_benchmark(plan: LoadPlan) -> LoadReport:
    """Run the load (see the module docstring), in a fresh process when the plan says so."""
    return run_in_fresh_process(_run, plan) if plan.own_process else _run(plan)


@dataclass
class _Progress:
    kinds: Counter[str] = field(default_factory=Counter)
    pages: dict[str, str] = field(default_factory=dict)  # page URL -> kind
    making_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Dropper:
    """Makes media number ``index`` and drops it, keeping count of kinds and pages."""

    plan: LoadPlan
    store: EvidenceStore
    bank_seed: dict[int, int]  # media index -> bank seed, for the matching ones
    pictures: _UnrelatedPictures
    progress: _Progress = field(default_factory=_Progress)

    def make(self, index: int) -> tuple[bytes, str, str]:
        """(file bytes, media type, kind) of media number ``index``."""
        kind = media_kind(index, self.plan)
        if kind == MATCHING:
            picture = make_image(self.bank_seed[index], size=PICTURE_SIZE)
            return altered_copy(picture, variant=str(index)), "image/jpeg", kind
        if kind == CORRUPT:
            data, media_type = corrupt_media(index)
            return data, media_type, kind
        data, media_type = self.pictures.media(index)
        return data, media_type, kind

    def drop_one(self, index: int) -> None:
        making = time.perf_counter()
        data, media_type, kind = self.make(index)
        made = time.perf_counter() - making
        page = page_url_for(index)
        with self.progress.lock:
            self.progress.kinds[kind] += 1
            self.progress.pages[page] = kind
            self.progress.making_s += made
        drop_media(self.store, data, media_type, page)

    def drop_range(self, indexes: range) -> None:
        """Drop ``indexes`` from the plan's dropper threads (thread t takes every t-th index)."""
        errors: list[BaseException] = []

        def work(share: range) -> None:
            try:
                for index in share:
                    self.drop_one(index)
            except BaseException as error:  # re-raised after the join
                errors.append(error)

        droppers = self.plan.droppers
        threads = [threading.Thread(target=work, args=(indexes[t::droppers],)) for t in range(droppers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def traced_drops(self, indexes: range) -> float:
        """Drop ``indexes`` one by one under tracemalloc; the largest peak of one drop, in MiB."""
        if not indexes:
            return 0.0
        largest = 0
        tracemalloc.start()
        try:
            for index in indexes:
                tracemalloc.reset_peak()
                baseline = tracemalloc.get_traced_memory()[0]
                self.drop_one(index)
                largest = max(largest, tracemalloc.get_traced_memory()[1] - baseline)
        finally:
            tracemalloc.stop()
        return largest / _BYTES_PER_MIB


def _run(plan: LoadPlan) -> LoadReport:
    started = time.perf_counter()
    with bench_local_stack(own_process=plan.own_process) as local:
        settings = local.settings()
        matching = [i for i in range(plan.media) if media_kind(i, plan) == MATCHING]
        bank_seed = {index: seed for seed, index in enumerate(matching)}
        items, _ = prepare_bank(range(len(matching)), added_at=iso_utc(utc_now()))
        register_bank(settings.bank_table, settings.evidence_bucket, items)
        pictures = _UnrelatedPictures(plan.unrelated_pool)
        from takedown.aws.evidence_store import EvidenceStore
        from takedown.local.seam import cold_start

        dropper = _Dropper(plan, EvidenceStore(settings.evidence_bucket), bank_seed, pictures)
        progress = dropper.progress
        setup_s = time.perf_counter() - started
        checkpoints: list[Checkpoint] = []
        drop_s = settle_s = 0.0
        settled = True
        with AwsCallCounter() as calls:
            cold_start()  # the functions' boto3 clients are made again, with the counter listening
            run_start, cpu_start = time.perf_counter(), time.process_time()
            done = 0
            for checkpoint in plan.checkpoints:
                moment = time.perf_counter()
                untraced_end = checkpoint - plan.traced
                dropper.drop_range(range(done, untraced_end))
                drop_s += time.perf_counter() - moment
                moment = time.perf_counter()
                with calls.not_counting():
                    settled = _settle(local, settings, plan.settle_limit_s) and settled
                settle_s += time.perf_counter() - moment
                moment = time.perf_counter()
                traced_peak = dropper.traced_drops(range(untraced_end, checkpoint))
                drop_s += time.perf_counter() - moment
                moment = time.perf_counter()
                with calls.not_counting():
                    settled = _settle(local, settings, plan.settle_limit_s) and settled
                settle_s += time.perf_counter() - moment
                done = checkpoint
                checkpoints.append(
                    _checkpoint(settings, checkpoint, time.perf_counter() - run_start, traced_peak, calls)
                )
            total_s = time.perf_counter() - run_start
            cpu_s = time.process_time() - cpu_start
            aws_calls = calls.snapshot()
        outcomes_by_kind, without = _outcomes(settings, progress)
        statuses = _statuses(settings)
        from takedown.local.mailbox import sent_mail

        reviewers = set(local.settings("handle_request_approval").reviewers)
        emails = sum(1 for mail in sent_mail() if reviewers & set(mail.destinations))
    return LoadReport(
        plan=plan,
        kinds=dict(progress.kinds),
        outcomes_by_kind=outcomes_by_kind,
        without_outcome=without,
        statuses=statuses,
        reviewer_emails=emails,
        checkpoints=checkpoints,
        setup_s=setup_s,
        drop_s=drop_s,
        making_s=progress.making_s,
        settle_s=settle_s,
        total_s=total_s,
        cpu_s=cpu_s,
        aws_calls=aws_calls,
        settled=settled,
    )


def _settle(local: LocalEnvironment, settings: Settings, limit_s: float) -> bool:
    """Wait until every opened case has left the workflow's working states (True), or ``limit_s`` passed."""
    del local
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if not _working_cases(settings):
            return True
        time.sleep(_POLL_S)
    return not _working_cases(settings)


_WORKING: Final = frozenset({"SIGHTED", "MATCHED", "RECIPIENTS_RESOLVED", "REPORT_BUILT", "DRAFTED"})


def _working_cases(settings: Settings) -> int:
    return sum(count for status, count in _statuses(settings).items() if status in _WORKING)


def _statuses(settings: Settings) -> dict[str, int]:
    from takedown.aws.case_store import CaseStore

    statuses: Counter[str] = Counter()
    for document in CaseStore(settings.cases_table).case_documents():
        statuses[str(document.get("status", "?"))] += 1
    return dict(statuses)


def _checkpoint(
    settings: Settings, media: int, elapsed_s: float, traced_peak_mib: float, calls: AwsCallCounter
) -> Checkpoint:
    with calls.not_counting():
        statuses = _statuses(settings)
    return Checkpoint(
        media=media,
        elapsed_s=elapsed_s,
        rss_mib=current_rss_mib(),
        peak_rss_mib=peak_rss_mib(),
        s3_bytes_put=calls.s3_bytes_put(),
        traced_peak_mib=traced_peak_mib,
        cases_awaiting_review=statuses.get("AWAITING_REVIEW", 0),
    )


def _outcomes(settings: Settings, progress: _Progress) -> tuple[dict[str, dict[str, int]], int]:
    """Recorded outcomes per media kind (a refusal with its reason), and how many media have none."""
    from takedown.aws.crawl_state import CrawlState

    by_kind: dict[str, Counter[str]] = {}
    seen: set[str] = set()
    for outcome in CrawlState(settings.crawl_table).media_outcomes():
        kind = progress.pages.get(outcome["page_url"], "other")
        seen.add(outcome["page_url"])
        label = outcome["outcome"] + (f":{outcome['reason']}" if outcome["outcome"] == "REJECTED" else "")
        by_kind.setdefault(kind, Counter())[label] += 1
    without = sum(1 for page in progress.pages if page not in seen)
    return {kind: dict(counts) for kind, counts in by_kind.items()}, without
