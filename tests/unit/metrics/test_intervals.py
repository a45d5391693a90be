"""Intervals from a case's milestones, and the percentiles that summarise them (hand-computed expectations)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from takedown.cases.intervals import (
    INTERVALS,
    IntervalError,
    case_intervals,
    intervals_ending_at,
    percentile,
    summarise,
)
from takedown.cases.record import CaseRecord
from takedown.model import iso_utc

from .conftest import at, sighting


def _record(**milestone_minutes: float) -> CaseRecord:
    record, _ = CaseRecord.open(sighting(), now=at(1))
    return replace(record, milestones={name: iso_utc(at(m)) for name, m in milestone_minutes.items()})


def test_each_interval_runs_from_its_start_milestone_to_its_end() -> None:
    # GIVEN a case first seen at 07:00, drafted 07:05, approved 09:05, sent 09:05:30, removed a day later
    record = _record(SIGHTED=1, DRAFTED=5, APPROVED=125, SENT=125.5, REMOVED=125.5 + 24 * 60)
    # WHEN its intervals are computed
    measured = case_intervals(record)
    # THEN each is the difference of its two times, in seconds; the first starts at the crawl's fetch time
    assert measured == {
        "sighting_to_drafted": 300.0,
        "drafted_to_approved": 7200.0,
        "approved_to_sent": 30.0,
        "sent_to_removed": 86400.0,
    }


def test_an_interval_whose_end_is_not_reached_is_not_measured() -> None:
    # GIVEN a case drafted but not yet approved, and one approved without a recorded draft time (an old record)
    waiting = _record(DRAFTED=5)
    old = _record(APPROVED=125, SENT=126)
    # THEN only the completed intervals are there
    assert case_intervals(waiting) == {"sighting_to_drafted": 300.0}
    assert case_intervals(old) == {"approved_to_sent": 60.0}


def test_an_interval_running_backwards_is_refused_with_the_case_and_the_reason() -> None:
    # GIVEN a case whose approval time precedes its draft time
    record = _record(DRAFTED=10, APPROVED=5)
    # WHEN it is measured THEN a named error says which milestone is wrong
    with pytest.raises(IntervalError, match=r"APPROVED .* is before DRAFTED") as raised:
        case_intervals(record)
    assert raised.value.case_id == record.case_id


def test_an_unreadable_time_is_refused() -> None:
    record = replace(_record(), milestones={"DRAFTED": "yesterday"})
    with pytest.raises(IntervalError, match="milestone DRAFTED has an unreadable time 'yesterday'"):
        case_intervals(record)


def test_the_interval_a_status_completes() -> None:
    # THEN each status of the chain ends exactly one interval, and other statuses none
    assert [i.key for i in intervals_ending_at("DRAFTED")] == ["sighting_to_drafted"]
    assert [i.key for i in intervals_ending_at("REMOVED")] == ["sent_to_removed"]
    assert intervals_ending_at("MATCHED") == ()
    assert [(i.start, i.end) for i in INTERVALS] == [
        ("FIRST_SIGHTING", "DRAFTED"),
        ("DRAFTED", "APPROVED"),
        ("APPROVED", "SENT"),
        ("SENT", "REMOVED"),
    ]


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        # rank = q/100 * (n - 1), interpolated between the neighbours of the sorted values
        ([10.0, 20.0, 30.0, 40.0], 50, 25.0),  # rank 1.5: 20 + 0.5 * 10
        ([10.0, 20.0, 30.0, 40.0], 95, 38.5),  # rank 2.85: 30 + 0.85 * 10
        ([40.0, 10.0, 30.0, 20.0], 95, 38.5),  # order does not matter
        ([7.0], 95, 7.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0], 50, 6.0),  # rank 5 exactly
        ([0.0, 100.0], 0, 0.0),
        ([0.0, 100.0], 100, 100.0),
    ],
)
def test_percentile_by_linear_interpolation(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_refuses_nothing_and_impossible_ranks() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


def test_summary_counts_and_percentiles() -> None:
    # 60, 120, 180, 600: p50 at rank 1.5 = 150; p95 at rank 2.85 = 180 + 0.85 * 420 = 537
    summary = summarise([600.0, 60.0, 180.0, 120.0])
    assert (summary.count, summary.p50, summary.p95) == (4, 150.0, pytest.approx(537.0))
    assert summarise([]).to_dict() == {"count": 0, "p50_seconds": None, "p95_seconds": None}
