"""The case keeps the first time it reached each status: the intervals the metrics and reports measure."""

from __future__ import annotations

from datetime import UTC, datetime

from takedown.cases.record import CaseRecord
from takedown.model import CaseStatus, Sighting


def _sighting() -> Sighting:
    return Sighting(
        media_key="media/abc/def",
        sha256="ab" * 32,
        md5="cd" * 16,
        page_url="https://board.example/p/1",
        media_url="https://board.example/m/1.jpg",
        fetched_at="2026-11-28T07:00:00.000000Z",
        content_type="image/jpeg",
        source_id="demo",
        size_bytes=1234,
    )


def _at(minute: int) -> datetime:
    return datetime(2026, 11, 28, 8, minute, tzinfo=UTC)


def test_milestones_keep_the_first_time_each_status_was_reached() -> None:
    # GIVEN a case that is matched, then saved again in the same status later (a retried step)
    record, _ = CaseRecord.open(_sighting(), now=_at(0))
    record, _ = record.advance(CaseStatus.MATCHED, "score", now=_at(1))
    record, _ = record.advance(CaseStatus.MATCHED, "score", now=_at(5))
    record, _ = record.advance(CaseStatus.RECIPIENTS_RESOLVED, "resolve", now=_at(7))

    # THEN each status keeps its first time, and the record round-trips through JSON with them
    assert record.milestones == {
        "SIGHTED": "2026-11-28T08:00:00.000000Z",
        "MATCHED": "2026-11-28T08:01:00.000000Z",
        "RECIPIENTS_RESOLVED": "2026-11-28T08:07:00.000000Z",
    }
    assert CaseRecord.from_dict(record.to_dict()).milestones == record.milestones


def test_a_record_stored_before_milestones_existed_still_loads() -> None:
    # GIVEN a stored record without the field
    record, _ = CaseRecord.open(_sighting(), now=_at(0))
    stored = record.to_dict()
    del stored["milestones"]
    # WHEN it is read back and advanced
    loaded = CaseRecord.from_dict(stored)
    advanced, _ = loaded.advance(CaseStatus.MATCHED, "score", now=_at(2))
    # THEN the next status is recorded
    assert loaded.milestones == {}
    assert advanced.milestones == {"MATCHED": "2026-11-28T08:02:00.000000Z"}
