"""What ``takedown report`` says about the stored cases: interval percentiles, recipients' response times, and the
distribution of the time to notice. Pure: records in, a :class:`CaseReport` out; printing and drawing are the
command's.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from takedown.cases.breakdown import notice_recipient, recipient_domain
from takedown.cases.intervals import (
    INTERVALS,
    RESPONSE_TIME,
    TIME_TO_NOTICE,
    IntervalError,
    IntervalSummary,
    case_intervals,
    summarise,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from takedown.cases.record import CaseRecord

SENT = "SENT"
REMOVED = "REMOVED"
HISTOGRAM_BINS = 12


@dataclass(frozen=True)
class RecipientResponse:
    """One recipient domain: notices sent to it, how many were removed, and how long removal took."""

    domain: str
    sent: int
    removed: int
    response: IntervalSummary

    def to_dict(self) -> dict[str, Any]:
        return {"domain": self.domain, "sent": self.sent, "removed": self.removed, **self.response.to_dict()}


@dataclass(frozen=True)
class SkippedCase:
    """A stored case the report could not measure, and why (it is listed, never silently left out)."""

    case_id: str
    reason: str


@dataclass(frozen=True)
class HistogramBin:
    """Values ``low <= v < high`` (the last bin also holds ``high``)."""

    low: float
    high: float
    count: int


@dataclass(frozen=True)
class CaseReport:
    """Everything ``takedown report`` prints, as data."""

    cases: int
    by_status: dict[str, int]
    intervals: dict[str, IntervalSummary]  # interval key -> summary, in the order of ``INTERVALS``
    recipients: list[RecipientResponse]
    time_to_notice: list[float]  # seconds, one per case that has been drafted, ascending
    skipped: list[SkippedCase] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document."""
        return {
            "cases": self.cases,
            "by_status": dict(sorted(self.by_status.items())),
            "intervals": [
                {"interval": i.key, "label": i.label, **self.intervals[i.key].to_dict()} for i in INTERVALS
            ],
            "recipients": [r.to_dict() for r in self.recipients],
            "time_to_notice_seconds": list(self.time_to_notice),
            "skipped": [{"case_id": s.case_id, "reason": s.reason} for s in self.skipped],
        }


def build_report(records: Iterable[CaseRecord], skipped: Sequence[SkippedCase] = ()) -> CaseReport:
    """Summarise ``records``; ``skipped`` are cases the caller could not load, carried into the report.

    A case whose times cannot be measured (see :class:`IntervalError`) is added to the skipped list with its
    reason and counted nowhere else but in ``cases`` and ``by_status``.
    """
    all_skipped = list(skipped)
    by_status: Counter[str] = Counter()
    values: dict[str, list[float]] = {interval.key: [] for interval in INTERVALS}
    sent_to: Counter[str] = Counter()
    removed_by: defaultdict[str, list[float]] = defaultdict(list)
    count = 0
    for record in records:
        count += 1
        by_status[record.status.value] += 1
        try:
            measured = case_intervals(record)
        except IntervalError as error:
            all_skipped.append(SkippedCase(record.case_id, error.reason))
            continue
        for key, seconds in measured.items():
            values[key].append(seconds)
        if SENT in record.milestones:
            domain = recipient_domain(notice_recipient(record))
            sent_to[domain] += 1
            if RESPONSE_TIME.key in measured:
                removed_by[domain].append(measured[RESPONSE_TIME.key])
    recipients = [
        RecipientResponse(domain, sent, len(removed_by[domain]), summarise(removed_by[domain]))
        for domain, sent in sorted(sent_to.items(), key=lambda item: (-item[1], item[0]))
    ]
    return CaseReport(
        cases=count + len(skipped),
        by_status=dict(by_status),
        intervals={key: summarise(found) for key, found in values.items()},
        recipients=recipients,
        time_to_notice=sorted(values[TIME_TO_NOTICE.key]),
        skipped=all_skipped,
    )


def histogram(values: Sequence[float], bins: int = HISTOGRAM_BINS) -> list[HistogramBin]:
    """``bins`` equal bins from 0, each 1, 2 or 5 times a power of ten wide (so sub-second times spread over the
    bins too), the last holding the largest value; [] if there are no values.

    >>> [(b.low, b.high, b.count) for b in histogram([30, 90, 100, 300], bins=3)]
    [(0.0, 100.0, 2), (100.0, 200.0, 1), (200.0, 300.0, 1)]
    >>> [(b.low, b.high, b.count) for b in histogram([0.12, 0.31, 0.38], bins=4)]
    [(0.0, 0.1, 0), (0.1, 0.2, 1), (0.2, 0.3, 0), (0.3, 0.4, 2)]
    """
    if not values:
        return []
    if bins < 1:
        raise ValueError(f"a histogram needs at least one bin, got {bins}")
    top = max(values)
    width = _round_width(top / bins) if top > 0 else 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int(value // width), bins - 1)] += 1
    return [
        HistogramBin(round(index * width, 12), round((index + 1) * width, 12), n)
        for index, n in enumerate(counts)
    ]


def _round_width(raw: float) -> float:
    """The smallest of 1, 2 or 5 times a power of ten that is at least ``raw``."""
    exponent = math.floor(math.log10(raw))
    for step in (1, 2, 5, 10):
        width = round(step * 10.0**exponent, 12)
        if width >= raw:
            return width
    return round(10.0 ** (exponent + 1), 12)


def format_duration(seconds: float | None) -> str:
    """A duration for people: ``45s``, ``12m 05s``, ``3h 20m``, ``2d 04h``; ``-`` for none.

    >>> [format_duration(s) for s in (None, 45, 725, 12000, 187200)]
    ['-', '45s', '12m 05s', '3h 20m', '2d 04h']
    """
    if seconds is None:
        return "-"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    # The first column is text (left-aligned); the others are figures (right-aligned).
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def format_report(report: CaseReport) -> str:
    """The report as plain-text tables."""
    statuses = ", ".join(f"{status} {n}" for status, n in sorted(report.by_status.items()))
    lines = [f"{report.cases} cases" + (f" ({statuses})" if statuses else ""), ""]
    interval_rows = [
        [i.label, str(s.count), format_duration(s.p50), format_duration(s.p95)]
        for i in INTERVALS
        for s in [report.intervals[i.key]]
    ]
    lines += _table(["interval", "cases", "p50", "p95"], interval_rows)
    lines.append("")
    if report.recipients:
        recipient_rows = [
            [
                r.domain,
                str(r.sent),
                str(r.removed),
                format_duration(r.response.p50),
                format_duration(r.response.p95),
            ]
            for r in report.recipients
        ]
        lines += _table(["recipient (sent -> removed)", "sent", "removed", "p50", "p95"], recipient_rows)
    else:
        lines.append("no notice has been sent yet")
    for skipped in report.skipped:
        lines.append(f"skipped case {skipped.case_id}: {skipped.reason}")
    return "\n".join(lines)
