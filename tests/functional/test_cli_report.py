"""``takedown report`` on the local stack running as a server: cases driven through the case store with known
times, then the command's table, JSON and chart."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from takedown.aws.case_store import CaseStore
from takedown.cases.record import CaseRecord
from takedown.cli import main
from takedown.config import OUTPUT_CASES_TABLE
from takedown.local import server
from takedown.model import CaseStatus, Recipient, ReviewDecision, Sighting, iso_utc

from .conftest import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from takedown.model import CaseEvent

FIRST_SEEN = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
HOST = Recipient("abuse@noc.hoster.com", "host", "RDAP abuse contact", 0.8, country="KR")
SITE = Recipient("admin@board.example", "site", "mailto link", 0.7)


@pytest.fixture
def local_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("TAKEDOWN_LOCAL_STATE_DIR", str(tmp_path / "state"))
    state = server.up(port=free_port(), timeout=240)
    # The CLI and the case store below talk to the server; monkeypatch undoes that after the test.
    monkeypatch.setenv("AWS_ENDPOINT_URL", str(state["endpoint"]))
    try:
        yield state
    finally:
        server.down()


def _at(minutes: float) -> datetime:
    return FIRST_SEEN + timedelta(minutes=minutes)


def _drive(store: CaseStore, page: int, recipient: Recipient, steps: list[tuple[CaseStatus, float]]) -> str:
    """A case first seen at 07:00, opened a minute later, then moved through ``steps`` (status, minute)."""
    sighting = Sighting(
        media_key=f"media/{page:02x}/{page}",
        sha256=f"{page:02x}" * 32,
        md5="cd" * 16,
        page_url=f"https://board.example/p/{page}",
        media_url=f"https://board.example/m/{page}.png",
        fetched_at=iso_utc(FIRST_SEEN),
        content_type="image/png",
        source_id="example-community",
        size_bytes=100,
    )
    record, event = CaseRecord.open(sighting, now=_at(1))
    assert store.create(record, event)
    for status, minute in steps:
        changes: dict[str, Any] = {}
        if status is CaseStatus.RECIPIENTS_RESOLVED:
            changes["recipients"] = [recipient]
        if status is CaseStatus.APPROVED:
            changes["decision"] = ReviewDecision("APPROVED", "reviewer@example.org", iso_utc(_at(minute)))
        store.update(record.case_id, _advance(status, _at(minute), changes))
    return record.case_id


def _advance(status: CaseStatus, now: datetime, changes: dict[str, Any]) -> Any:
    def change(current: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        return current.advance(status, status.value.lower(), now=now, **changes)

    return change


def _through(drafted: float, approved: float | None = None, sent: float | None = None) -> list[Any]:
    steps: list[tuple[CaseStatus, float]] = [
        (CaseStatus.MATCHED, 1.5),
        (CaseStatus.RECIPIENTS_RESOLVED, 2),
        (CaseStatus.REPORT_BUILT, 2.5),
        (CaseStatus.DRAFTED, drafted),
        (CaseStatus.AWAITING_REVIEW, drafted + 0.5),
    ]
    if approved is not None:
        steps.append((CaseStatus.APPROVED, approved))
    if sent is not None:
        steps.append((CaseStatus.SENT, sent))
    return steps


def test_report_prints_interval_percentiles_and_response_times_and_writes_the_chart(
    local_server: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN four cases on the local stack's case store, first seen at 07:00:
    #   A drafted 07:04, approved 08:04, sent 08:05, removed a day after sending (to a hosting provider)
    #   B drafted 07:08, approved 07:38, sent 07:40, removed two days after sending (same provider)
    #   C drafted 07:12, still awaiting review; D drafted 07:20, approved 07:50, sent 07:51 (to the site)
    store = CaseStore(str(local_server["outputs"][OUTPUT_CASES_TABLE]))
    a = _drive(store, 1, HOST, [*_through(4, 64, 65), (CaseStatus.REMOVED, 65 + 24 * 60)])
    _drive(store, 2, HOST, [*_through(8, 38, 40), (CaseStatus.REMOVED, 40 + 2 * 24 * 60)])
    _drive(store, 3, SITE, _through(12))
    _drive(store, 4, SITE, _through(20, 50, 51))
    assert store.require(a).status is CaseStatus.REMOVED

    # WHEN the report runs as a table
    chart = tmp_path / "out" / "time-to-notice.png"
    assert main(["report", "--chart", str(chart)]) == 0
    text = capsys.readouterr().out
    rows = [[cell for cell in line.strip().split("  ") if cell] for line in text.splitlines()]
    rows = [[cell.strip() for cell in row] for row in rows]

    # THEN each interval has its count, p50 and p95 (linear interpolation between ranks, by hand):
    #   to notice 240, 480, 720, 1200 s -> p50 600 s, p95 720 + 0.85 * 480 = 1128 s
    #   drafted -> approved 3600, 1800, 1800 s -> p50 1800 s, p95 1800 + 0.9 * 1800 = 3420 s
    #   approved -> sent 60, 120, 60 s -> p50 60 s, p95 60 + 0.9 * 60 = 114 s
    #   sent -> removed 1 d, 2 d -> p50 1.5 d, p95 1 d + 0.95 d
    assert "deployment: local" in text
    assert "4 cases (AWAITING_REVIEW 1, REMOVED 2, SENT 1)" in text
    assert ["first sighting -> notice drafted", "4", "10m 00s", "18m 48s"] in rows
    assert ["drafted -> approved", "3", "30m 00s", "57m 00s"] in rows
    assert ["approved -> sent", "3", "1m 00s", "1m 54s"] in rows
    assert ["sent -> removed", "2", "1d 12h", "1d 22h"] in rows
    # AND each recipient domain's response time
    assert ["hoster.com", "2", "2", "1d 12h", "1d 22h"] in rows
    assert ["board.example", "1", "0", "-", "-"] in rows
    # AND the chart is a valid PNG image
    assert f"time-to-notice chart: {chart}" in text
    with Image.open(chart) as image:
        image.verify()
    with Image.open(chart) as image:
        assert image.format == "PNG" and image.size[0] > 0

    # WHEN it runs with --json THEN the same figures come as one document, in seconds
    assert main(["report", "--json", "--chart", str(chart)]) == 0
    document = json.loads(capsys.readouterr().out)
    intervals = {i["interval"]: i for i in document["intervals"]}
    assert intervals["sighting_to_drafted"]["count"] == 4
    assert intervals["sighting_to_drafted"]["p50_seconds"] == pytest.approx(600.0)
    assert intervals["sighting_to_drafted"]["p95_seconds"] == pytest.approx(1128.0)
    assert intervals["sent_to_removed"]["p50_seconds"] == pytest.approx(1.5 * 86400)
    assert document["time_to_notice_seconds"] == [240.0, 480.0, 720.0, 1200.0]
    assert document["recipients"][0]["domain"] == "hoster.com"
    assert document["skipped"] == [] and document["chart"] == str(chart)


def test_report_without_a_running_stack_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAKEDOWN_LOCAL_STATE_DIR", str(tmp_path / "no-state"))
    assert main(["report", "--chart", str(tmp_path / "c.png")]) == 1
    assert "no local stack is running" in capsys.readouterr().err
    assert not (tmp_path / "c.png").exists()
