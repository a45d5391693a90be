"""The intervals a case is measured by, computed from its milestones, and the percentiles that summarise them.

A case records the first time it reached each status (``CaseRecord.milestones``). The first sighting is the
crawl's fetch time (``Sighting.fetched_at``), which is earlier than the case itself: the case opens only once the
media has been hashed and matched. Four intervals follow a notice from the first sighting to the content's
removal::

    first sighting -> DRAFTED -> APPROVED -> SENT -> REMOVED

The metrics (``takedown.aws.case_metrics``) publish an interval when a case reaches its end status; ``takedown
report`` summarises them over every stored case. Both read the same definitions here, so they cannot drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from takedown.model import parse_iso_utc

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime

    from takedown.cases.record import CaseRecord

# Not a status: the name under which the sighting's fetch time joins the milestones.
FIRST_SIGHTING = "FIRST_SIGHTING"
# Status values, spelled out: REMOVED belongs to the follow-up work and may not be a CaseStatus member yet.
DRAFTED = "DRAFTED"
APPROVED = "APPROVED"
SENT = "SENT"
REMOVED = "REMOVED"


class IntervalError(ValueError):
    """A case whose times cannot be measured: a time that does not parse, or an interval that runs backwards."""

    def __init__(self, case_id: str, reason: str) -> None:
        super().__init__(f"case {case_id}: {reason}")
        self.case_id = case_id
        self.reason = reason


@dataclass(frozen=True)
class Interval:
    """One measured stretch of a case's life.

    Attributes
    ----------
    key
        Stable snake-case name, used in ``takedown report --json``.
    label
        What a reader of the report table sees.
    metric_name
        The CloudWatch metric (unit Seconds) published when a case reaches ``end``.
    start, end
        Milestone names: status values, or :data:`FIRST_SIGHTING`.
    """

    key: str
    label: str
    metric_name: str
    start: str
    end: str


TIME_TO_NOTICE = Interval(
    "sighting_to_drafted",
    "first sighting -> notice drafted",
    "TimeSightingToDrafted",
    FIRST_SIGHTING,
    DRAFTED,
)
REVIEW_TIME = Interval(
    "drafted_to_approved", "drafted -> approved", "TimeDraftedToApproved", DRAFTED, APPROVED
)
SEND_TIME = Interval("approved_to_sent", "approved -> sent", "TimeApprovedToSent", APPROVED, SENT)
RESPONSE_TIME = Interval("sent_to_removed", "sent -> removed", "TimeSentToRemoved", SENT, REMOVED)
INTERVALS: tuple[Interval, ...] = (TIME_TO_NOTICE, REVIEW_TIME, SEND_TIME, RESPONSE_TIME)


def milestone_times(record: CaseRecord) -> dict[str, datetime]:
    """The case's milestones as UTC times, with the first sighting (the sighting's fetch time) added.

    Raises
    ------
    IntervalError
        When a stored time does not parse as an ISO 8601 time with an offset.
    """
    texts = {FIRST_SIGHTING: record.sighting.fetched_at, **record.milestones}
    times: dict[str, datetime] = {}
    for name, text in texts.items():
        if not text:
            continue
        try:
            times[name] = parse_iso_utc(text)
        except ValueError as error:
            raise IntervalError(
                record.case_id, f"milestone {name} has an unreadable time {text[:40]!r}"
            ) from error
    return times


def interval_seconds(record: CaseRecord, interval: Interval) -> float | None:
    """The length of ``interval`` in ``record``, in seconds; None while either end has not been reached.

    Raises
    ------
    IntervalError
        When a time does not parse, or the end comes before the start (a corrupt record, never a clock
        drift of real steps that are seconds apart).
    """
    times = milestone_times(record)
    start, end = times.get(interval.start), times.get(interval.end)
    if start is None or end is None:
        return None
    seconds = (end - start).total_seconds()
    if seconds < 0:
        raise IntervalError(
            record.case_id,
            f"{interval.end} ({record.milestones.get(interval.end)}) is before {interval.start}",
        )
    return seconds


def case_intervals(record: CaseRecord) -> dict[str, float]:
    """Every interval the case has completed: interval key -> seconds.

    >>> from takedown.cases.record import CaseRecord
    >>> from takedown.model import Sighting
    >>> sighting = Sighting("media/a/b", "ab" * 32, "cd" * 16, "https://s.example/p", "https://s.example/m.png",
    ...                     "2026-01-01T00:00:00Z", "image/png", "demo", 10)
    >>> record, _ = CaseRecord.open(sighting)
    >>> case_intervals(CaseRecord.from_dict({**record.to_dict(),
    ...     "milestones": {"DRAFTED": "2026-01-01T00:02:00Z", "APPROVED": "2026-01-01T01:02:00Z"}}))
    {'sighting_to_drafted': 120.0, 'drafted_to_approved': 3600.0}
    """
    measured: dict[str, float] = {}
    for interval in INTERVALS:
        seconds = interval_seconds(record, interval)
        if seconds is not None:
            measured[interval.key] = seconds
    return measured


def intervals_ending_at(status: str) -> tuple[Interval, ...]:
    """The intervals a case completes when it first reaches ``status`` (a status value)."""
    return tuple(interval for interval in INTERVALS if interval.end == status)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile of ``values`` by linear interpolation between the closest ranks.

    The same definition as numpy's default and Excel's PERCENTILE.INC: the value at rank ``q/100 * (n-1)``
    of the sorted values, interpolated.

    >>> percentile([10, 20, 30, 40], 50), percentile([10, 20, 30, 40], 95)
    (25.0, 38.5)

    Raises
    ------
    ValueError
        When ``values`` is empty or ``q`` is outside 0..100.
    """
    if not values:
        raise ValueError("no values: a percentile of nothing is undefined")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be between 0 and 100, got {q}")
    ordered = sorted(float(v) for v in values)
    rank = q / 100 * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class IntervalSummary:
    """How many cases completed an interval, and its median and 95th percentile in seconds (None if none)."""

    count: int
    p50: float | None
    p95: float | None

    def to_dict(self) -> dict[str, float | int | None]:
        return {"count": self.count, "p50_seconds": self.p50, "p95_seconds": self.p95}


def summarise(values: Iterable[float]) -> IntervalSummary:
    """Count, p50 and p95 of ``values``.

    >>> summarise([60.0, 120.0, 180.0])
    IntervalSummary(count=3, p50=120.0, p95=174.0)
    >>> summarise([])
    IntervalSummary(count=0, p50=None, p95=None)
    """
    collected = list(values)
    if not collected:
        return IntervalSummary(0, None, None)
    return IntervalSummary(len(collected), percentile(collected, 50), percentile(collected, 95))
