from __future__ import annotations

from datetime import UTC, datetime

import pytest

from takedown.cases.record import CaseRecord, CaseTransitionError, case_id_for, execution_name_for
from takedown.model import CaseStatus, MatchEvidence, Sighting


def _sighting(page: str = "https://board.example/p/1") -> Sighting:
    return Sighting(
        media_key="media/abc/def",
        sha256="ab" * 32,
        md5="cd" * 16,
        page_url=page,
        media_url="https://board.example/m/1.jpg",
        fetched_at="2026-11-28T07:00:00.000000Z",
        content_type="image/jpeg",
        source_id="demo",
        size_bytes=1234,
    )


def test_case_id_is_stable_per_media_and_page() -> None:
    # GIVEN the same media on the same page twice, and on another page
    first = case_id_for("AB" * 32, "https://board.example/p/1")
    again = case_id_for("ab" * 32, "https://board.example/p/1")
    other_page = case_id_for("ab" * 32, "https://board.example/p/2")
    # THEN the duplicate collapses and the other page is another case
    assert first == again
    assert first != other_page
    assert execution_name_for(first) == f"case-{first}"
    assert len(execution_name_for(first)) <= 80


def test_open_then_advance_records_each_step_with_utc_time() -> None:
    # GIVEN a new case
    record, opened = CaseRecord.open(_sighting(), now=datetime(2026, 11, 28, 7, 1, tzinfo=UTC))
    assert record.status is CaseStatus.SIGHTED and opened.at == "2026-11-28T07:01:00.000000Z"
    match = MatchEvidence("phash", 3, 10, "centre", "item-1", "REF-1", "0" * 16, "1" * 16)
    # WHEN it is matched
    matched, event = record.advance(
        CaseStatus.MATCHED, "score", now=datetime(2026, 11, 28, 7, 2, tzinfo=UTC), matches=[match]
    )
    # THEN the record carries the match, a bumped version, and the event says when
    assert matched.matches == [match] and matched.version == record.version + 1
    assert event.status == "MATCHED" and event.at.endswith("Z")


def test_transitions_outside_the_workflow_are_refused() -> None:
    record, _ = CaseRecord.open(_sighting())
    # WHEN a step tries to jump from SIGHTED straight to SENT
    # THEN it is refused
    with pytest.raises(CaseTransitionError):
        record.advance(CaseStatus.SENT, "send")
    # AND a failure may close any open case, but never a closed one
    failed, _ = record.advance(CaseStatus.FAILED, "close")
    with pytest.raises(CaseTransitionError):
        failed.advance(CaseStatus.MATCHED, "score")


def test_record_round_trips_through_json_dict() -> None:
    record, _ = CaseRecord.open(_sighting())
    assert CaseRecord.from_dict(record.to_dict()) == record


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        CaseRecord.open(_sighting(), now=datetime(2026, 1, 1))
