"""The headline figure: from a matching media object landing in the bucket to the reviewer's email.

For each size N (100 and 1,000 by default), in a fresh worker process with a fresh local stack:

1. a bank of N + k originals is registered and its index published (:mod:`bench.pipeline_media`);
2. **one at a time**: k matching media are dropped singly, each after the previous case's reviewer email,
   which gives the latency of a case that does not queue behind others;
3. **burst**: N matching media (altered copies, each of its own original, each on its own page) are
   dropped as fast as ``droppers`` threads can put them, the way a crawl cycle hands over what it found.

A media object is dropped as the crawl worker stores it (sighting record, then media object); moto runs
the hashing function inside the put, so a dropper thread is also a hashing worker. Each case's latency runs
from just before its media object's put to its ``AWAITING_REVIEW`` milestone, which the approval function
writes right after SES accepted the reviewer's email. The share of each state comes from the executions'
histories (:mod:`bench.case_timing`).

Everything runs in one process on moto: S3, DynamoDB, SQS, SES, Lambda and Step Functions are Python in
this interpreter, every function runs in-process, and the executions run in moto's threads, all under one
interpreter lock on a 2-core machine. A burst therefore measures how fast one core clears a backlog, not
the latency AWS would give N concurrent Lambdas.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import boto3

from bench.aws_calls import AwsCallCounter
from bench.case_timing import add_segments, percentile, segments_from_history
from bench.local_worker import bench_local_stack
from bench.pipeline_media import (
    Dropped,
    drop_media,
    page_url_for,
    prepare_bank,
    register_bank,
)
from bench.process_memory import current_rss_mib, peak_rss_mib, run_in_fresh_process

if TYPE_CHECKING:
    from takedown.config import Settings
    from takedown.local.environment import LocalEnvironment

DEFAULT_SIZES: Final = (100, 1000)
_POLL_S: Final = 0.5


class PipelineBenchmarkError(RuntimeError):
    """The pipeline benchmark could not run as planned. ``reason``: ``plan:invalid``, ``setup:failed``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class PipelinePlan:
    """Sizes of the bursts, cases run one at a time first, dropper threads, and bounds.

    ``own_process``: each size in a fresh worker process (the full run); False runs in this process (the
    smoke test). ``time_limit_s``: the most a size waits for its last email after the last drop.
    """

    sizes: tuple[int, ...] = DEFAULT_SIZES
    one_at_a_time: int = 10
    droppers: int = 2
    own_process: bool = True
    time_limit_s: float = 1200.0

    def __post_init__(self) -> None:
        if not self.sizes or any(size < 1 for size in self.sizes):
            raise PipelineBenchmarkError("plan:invalid", f"sizes must be >= 1, got {self.sizes}")
        if self.droppers < 1 or self.one_at_a_time < 0:
            raise PipelineBenchmarkError("plan:invalid", "droppers must be >= 1 and one_at_a_time >= 0")

    @classmethod
    def full(cls, sizes: tuple[int, ...] = DEFAULT_SIZES) -> PipelinePlan:
        return cls(sizes=sizes)

    @classmethod
    def smoke(cls) -> PipelinePlan:
        return cls(sizes=(3,), one_at_a_time=1, droppers=1, own_process=False, time_limit_s=120.0)


@dataclass(frozen=True)
class PipelineRun:
    """One size: what went through, how long each case took, and where the time went."""

    size: int
    droppers: int
    bank_originals: int
    cases_opened: int
    outcomes: dict[str, int]  # media outcome (CANDIDATE, NO_MATCH, REJECTED) -> count, burst and singles
    statuses: dict[str, int]  # case status -> count
    reviewer_emails: int
    single_latencies_s: list[float]
    burst_latencies_s: list[float]
    single_segments_s: dict[str, float]  # segment -> seconds summed over the one-at-a-time cases
    burst_segments_s: dict[str, float]
    drop_s: float  # putting the N media objects (hashing included)
    burst_wall_s: float  # first put to last reviewer email
    burst_cpu_s: float
    aws_calls: dict[str, int]  # during the burst
    peak_rss_mib: float
    rss_before_burst_mib: float
    setup_s: float
    timed_out: bool

    @property
    def emailed_in_burst(self) -> int:
        return len(self.burst_latencies_s)

    @property
    def cases_per_minute(self) -> float:
        return 60 * self.emailed_in_burst / self.burst_wall_s if self.burst_wall_s else 0.0

    def burst_percentile(self, fraction: float) -> float:
        return percentile(self.burst_latencies_s, fraction) if self.burst_latencies_s else float("nan")

    def single_percentile(self, fraction: float) -> float:
        return percentile(self.single_latencies_s, fraction) if self.single_latencies_s else float("nan")


@dataclass(frozen=True)
class PipelineReport:
    plan: PipelinePlan
    runs: list[PipelineRun] = field(default_factory=list)


def run_pipeline_benchmark(plan: PipelinePlan) -> PipelineReport:
    """Run every size of the plan, each in a fresh local stack (and process, when the plan says so)."""
    runs = [
        run_in_fresh_process(_run_size, plan, size) if plan.own_process else _run_size(plan, size)
        for size in plan.sizes
    ]
    return PipelineReport(plan=plan, runs=runs)


@dataclass
class _Case:
    dropped: Dropped
    case_id: str


def _run_size(plan: PipelinePlan, size: int) -> PipelineRun:
    started = time.perf_counter()
    singles, burst_size = plan.one_at_a_time, size
    with bench_local_stack(own_process=plan.own_process) as local:
        settings = local.settings()
        from takedown.model import iso_utc, utc_now

        items, copies = prepare_bank(range(singles + burst_size), added_at=iso_utc(utc_now()))
        register_bank(settings.bank_table, settings.evidence_bucket, items)
        setup_s = time.perf_counter() - started
        from takedown.local.mailbox import sent_mail

        single_cases: list[_Case] = []
        for index in range(singles):
            before = len(sent_mail())
            single_cases.append(_drop(settings, copies[index], index))
            local.wait_for(lambda before=before: len(sent_mail()) > before, timeout=120, interval=0.01)
        rss_before = current_rss_mib()
        mails_before = len(sent_mail())
        from takedown.local.seam import cold_start

        with AwsCallCounter() as calls:
            # A cold start, so the functions' boto3 clients are made again, with the counter listening.
            cold_start()
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            burst_cases = _drop_burst(settings, copies, range(singles, singles + burst_size), plan.droppers)
            drop_s = time.perf_counter() - wall_start
            with calls.not_counting():
                opened = _opened(settings, burst_cases)
                timed_out = not _wait_for_reviews(local, mails_before + len(opened), plan.time_limit_s)
            burst_cpu_s = time.process_time() - cpu_start
            aws_calls = calls.snapshot()
        single_latencies, single_segments = _timings(settings, single_cases)
        burst_latencies, burst_segments, last_email = _timings(settings, burst_cases, with_last=True)
        first_put = min((c.dropped.created_at for c in burst_cases), default=0.0)
        outcomes, statuses = _tallies(settings)
        reviewers = set(local.settings("handle_request_approval").reviewers)
        emails = sum(1 for mail in sent_mail() if reviewers & set(mail.destinations))
    return PipelineRun(
        size=size,
        droppers=plan.droppers,
        bank_originals=singles + burst_size,
        cases_opened=sum(statuses.values()),
        outcomes=outcomes,
        statuses=statuses,
        reviewer_emails=emails,
        single_latencies_s=single_latencies,
        burst_latencies_s=burst_latencies,
        single_segments_s=single_segments,
        burst_segments_s=burst_segments,
        drop_s=drop_s,
        burst_wall_s=max(0.0, last_email - first_put),
        burst_cpu_s=burst_cpu_s,
        aws_calls=aws_calls,
        peak_rss_mib=peak_rss_mib(),
        rss_before_burst_mib=rss_before,
        setup_s=setup_s,
        timed_out=timed_out,
    )


def _drop(settings: Settings, data: bytes, index: int) -> _Case:
    from takedown.aws.evidence_store import EvidenceStore
    from takedown.cases.record import case_id_for

    dropped = drop_media(EvidenceStore(settings.evidence_bucket), data, "image/jpeg", page_url_for(index))
    return _Case(dropped, case_id_for(dropped.sha256, dropped.page_url))


def _drop_burst(settings: Settings, copies: list[bytes], indexes: range, droppers: int) -> list[_Case]:
    """Drop ``copies[i]`` for each index from ``droppers`` threads (thread t takes every t-th index)."""
    results: dict[int, _Case] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(share: range) -> None:
        try:
            for index in share:
                case = _drop(settings, copies[index], index)
                with lock:
                    results[index] = case
        except BaseException as error:  # reported after the join, not lost in the thread
            errors.append(error)

    threads = [
        threading.Thread(target=work, args=(indexes[t::droppers],), name=f"dropper-{t}")
        for t in range(droppers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [results[index] for index in indexes]


def _opened(settings: Settings, cases: list[_Case]) -> list[_Case]:
    """The cases that hashing opened (a drop that did not match opens none)."""
    from takedown.aws.case_store import CaseStore

    store = CaseStore(settings.cases_table)
    return [case for case in cases if store.get(case.case_id) is not None]


def _wait_for_reviews(local: LocalEnvironment, expected: int, time_limit_s: float) -> bool:
    """Wait until ``expected`` review emails were sent or every execution stopped running; True when done."""
    from takedown.local.mailbox import sent_mail

    sfn = boto3.client("stepfunctions")
    deadline = time.monotonic() + time_limit_s
    last_check = 0.0
    while time.monotonic() < deadline:
        if len(sent_mail()) >= expected:
            return True
        if time.monotonic() - last_check > 5:
            last_check = time.monotonic()
            stopped = sum(
                len(page["executions"])
                for status in ("FAILED", "SUCCEEDED", "ABORTED", "TIMED_OUT")
                for machine in sfn.list_state_machines()["stateMachines"]
                for page in sfn.get_paginator("list_executions").paginate(
                    stateMachineArn=machine["stateMachineArn"], statusFilter=status
                )
            )
            if len(sent_mail()) + stopped >= expected:
                return True
        time.sleep(_POLL_S)
    return False


def _execution_arn(settings: Settings, case_id: str) -> str:
    from takedown.cases.record import execution_name_for

    return (
        settings.state_machine_arn.replace(":stateMachine:", ":execution:")
        + ":"
        + execution_name_for(case_id)
    )


def _timings(settings: Settings, cases: list[_Case], *, with_last: bool = False) -> Any:
    """Latency of each emailed case and the segments summed over them (see :mod:`bench.case_timing`);
    with ``with_last``, also when the last of them was emailed (epoch seconds)."""
    from takedown.aws.case_store import CaseStore
    from takedown.model import CaseStatus, parse_iso_utc

    store = CaseStore(settings.cases_table)
    sfn = boto3.client("stepfunctions")
    latencies: list[float] = []
    totals: dict[str, float] = {}
    last = 0.0
    for case in cases:
        record = store.get(case.case_id)
        reached = record.milestones.get(CaseStatus.AWAITING_REVIEW.value) if record else None
        if reached is None:
            continue
        emailed = parse_iso_utc(reached).timestamp()
        last = max(last, emailed)
        latencies.append(emailed - case.dropped.created_at)
        events: list[dict[str, Any]] = []
        for page in sfn.get_paginator("get_execution_history").paginate(
            executionArn=_execution_arn(settings, case.case_id)
        ):
            events.extend(dict(event) for event in page["events"])
        add_segments(totals, segments_from_history(events, case.dropped.created_at))
    return (latencies, totals, last) if with_last else (latencies, totals)


def _tallies(settings: Settings) -> tuple[dict[str, int], dict[str, int]]:
    """Media outcomes recorded by hashing, and case statuses, each counted."""
    from takedown.aws.case_store import CaseStore
    from takedown.aws.crawl_state import CrawlState

    outcomes: dict[str, int] = {}
    for outcome in CrawlState(settings.crawl_table).media_outcomes():
        outcomes[outcome["outcome"]] = outcomes.get(outcome["outcome"], 0) + 1
    statuses: dict[str, int] = {}
    for record in CaseStore(settings.cases_table).case_documents():
        status = str(record.get("status", "?"))
        statuses[status] = statuses.get(status, 0) + 1
    return outcomes, statuses
