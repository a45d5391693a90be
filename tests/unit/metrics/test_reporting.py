"""``takedown report``'s figures from stored cases: percentiles, recipients' response times, the histogram, the
chart (hand-computed expectations)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from PIL import Image
from pytest import approx

from takedown.cases.record import CaseRecord
from takedown.cases.reporting import build_report, format_report, histogram
from takedown.commands.report import load_records
from takedown.commands.report_chart import draw_time_to_notice_chart
from takedown.model import CaseStatus, iso_utc

from .conftest import HOST, SITE, at, sighting

if TYPE_CHECKING:
    from pathlib import Path

    from takedown.cases.reporting import SkippedCase
    from takedown.model import Recipient

DAY = 24 * 60


def _case(
    page: int, status: CaseStatus, recipient: Recipient | None = None, **milestone_minutes: float
) -> CaseRecord:
    record, _ = CaseRecord.open(sighting(page), now=at(1))
    return replace(
        record,
        status=status,
        recipients=[recipient] if recipient else [],
        milestones={name: iso_utc(at(m)) for name, m in milestone_minutes.items()},
    )


def _cases() -> list[CaseRecord]:
    """Five cases, all first seen at 07:00 (minute 0)."""
    return [
        _case(1, CaseStatus.SENT, HOST, DRAFTED=5, APPROVED=125, SENT=125.5, REMOVED=125.5 + DAY),
        _case(2, CaseStatus.SENT, HOST, DRAFTED=10, APPROVED=70, SENT=71, REMOVED=71 + 2 * DAY),
        _case(3, CaseStatus.AWAITING_REVIEW, SITE, DRAFTED=3),
        _case(4, CaseStatus.SENT, SITE, DRAFTED=20, APPROVED=40, SENT=41),
        _case(5, CaseStatus.APPROVED, SITE, DRAFTED=10, APPROVED=5),  # approval before its draft: corrupt
    ]


def test_interval_percentiles_over_the_stored_cases() -> None:
    # WHEN the report is built over the five cases
    report = build_report(_cases())
    # THEN each interval has its count, p50 and p95 (linear interpolation, worked out by hand):
    summaries = {key: (s.count, s.p50, s.p95) for key, s in report.intervals.items()}
    assert summaries == {key: (n, approx(p50), approx(p95)) for key, (n, p50, p95) in EXPECTED.items()}
    assert report.time_to_notice == [180.0, 300.0, 600.0, 1200.0]
    # AND the corrupt case is listed with its reason, and counted among the cases
    assert report.cases == 5
    assert [(s.case_id, "APPROVED" in s.reason) for s in report.skipped] == [(_cases()[4].case_id, True)]
    assert report.by_status == {"SENT": 3, "AWAITING_REVIEW": 1, "APPROVED": 1}


EXPECTED = {
    # 180, 300, 600, 1200 s: p50 at rank 1.5 = 450; p95 at rank 2.85 = 600 + 0.85 * 600 = 1110
    "sighting_to_drafted": (4, 450.0, 1110.0),
    # 1200, 3600, 7200 s: p50 = 3600; p95 at rank 1.9 = 3600 + 0.9 * 3600 = 6840
    "drafted_to_approved": (3, 3600.0, 6840.0),
    # 30, 60, 60 s
    "approved_to_sent": (3, 60.0, 60.0),
    # 1 day, 2 days: p50 = 1.5 days; p95 at rank 0.95 = 86400 + 0.95 * 86400 = 168480
    "sent_to_removed": (2, 129600.0, 168480.0),
}


def test_each_recipient_domains_response_time() -> None:
    report = build_report(_cases())
    assert [r.to_dict() for r in report.recipients] == [
        {
            "domain": "hoster.com",
            "sent": 2,
            "removed": 2,
            "count": 2,
            "p50_seconds": approx(129600.0),
            "p95_seconds": approx(168480.0),
        },
        {
            "domain": "board.example",
            "sent": 1,
            "removed": 0,
            "count": 0,
            "p50_seconds": None,
            "p95_seconds": None,
        },
    ]


def test_the_text_report_is_a_table_of_people_readable_durations() -> None:
    text = format_report(build_report(_cases()))
    rows = [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]
    assert ["first sighting -> notice drafted", "4", "7m 30s", "18m 30s"] in rows
    assert ["drafted -> approved", "3", "1h 00m", "1h 54m"] in rows
    assert ["sent -> removed", "2", "1d 12h", "1d 22h"] in rows
    assert ["hoster.com", "2", "2", "1d 12h", "1d 22h"] in rows
    assert ["board.example", "1", "0", "-", "-"] in rows
    assert any(line.startswith(f"skipped case {_cases()[4].case_id}: ") for line in text.splitlines())


def test_a_store_without_cases_still_reports() -> None:
    report = build_report([])
    text = format_report(report)
    assert text.splitlines()[0] == "0 cases"
    assert "no notice has been sent yet" in text
    assert all(s.count == 0 for s in report.intervals.values())


def test_unreadable_stored_records_are_listed_not_dropped() -> None:
    # GIVEN one good stored record and two that do not load
    good = _cases()[0].to_dict()
    skipped: list[SkippedCase] = []
    documents = [good, {"case_id": "broken-1", "status": "NO_SUCH_STATUS"}, {"status": "SENT"}]
    # WHEN they are loaded
    records = list(load_records(documents, skipped))
    # THEN the good one loads and the others are skipped with a reason naming the problem
    assert [r.case_id for r in records] == [good["case_id"]]
    assert [s.case_id for s in skipped] == ["broken-1", "?"]
    assert all(s.reason.startswith("unreadable record: ") for s in skipped)
    assert build_report(records, skipped).cases == 3


def test_histogram_bins_are_equal_and_hold_every_value() -> None:
    # 12 bins up to 1200 -> width 100; the largest value goes in the last bin
    bins = histogram([180.0, 300.0, 600.0, 1200.0])
    assert [(b.low, b.high) for b in bins[:2]] == [(0.0, 100.0), (100.0, 200.0)]
    assert {b.low: b.count for b in bins if b.count} == {100.0: 1, 300.0: 1, 600.0: 1, 1100.0: 1}
    assert histogram([]) == []


def test_the_chart_is_a_png_of_the_distribution(tmp_path: Path) -> None:
    # WHEN the chart is drawn for four cases, and for none
    drawn = draw_time_to_notice_chart([180.0, 300.0, 600.0, 1200.0], tmp_path / "chart.png")
    empty = draw_time_to_notice_chart([], tmp_path / "empty.png")
    # THEN both are valid PNG images, and the one with data has bars in the bar colour
    for path in (drawn, empty):
        with Image.open(path) as image:
            image.verify()
    with Image.open(drawn) as image:
        assert image.format == "PNG" and image.size == (900, 520)
        colours = {colour for _, colour in image.convert("RGB").getcolors(maxcolors=1 << 16) or []}
        assert (70, 110, 170) in colours
    with Image.open(empty) as image:
        colours = {colour for _, colour in image.convert("RGB").getcolors(maxcolors=1 << 16) or []}
        assert (70, 110, 170) not in colours
