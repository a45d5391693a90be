from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from takedown.cases.follow_up import Approval, FollowUp, NoticeState, NoticeVersion
from takedown.cases.record import CaseRecord, CaseTransitionError, case_id_for, execution_name_for
from takedown.model import CaseStatus, MatchEvidence, RelatedCase, Sighting

from .follow_up_samples import SITE, sent_notice


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


# --- after the notice ------------------------------------------------------------------------------------------


def _notified(now: datetime) -> CaseRecord:
    record, _ = CaseRecord.open(_sighting(), now=now)
    for status in (
        CaseStatus.MATCHED,
        CaseStatus.RECIPIENTS_RESOLVED,
        CaseStatus.REPORT_BUILT,
        CaseStatus.DRAFTED,
        CaseStatus.AWAITING_REVIEW,
        CaseStatus.APPROVED,
    ):
        record, _ = record.advance(status, "step", now=now)
    first = sent_notice(1, [SITE])
    record, _ = record.advance(
        CaseStatus.SENT, "send-notice", now=now, follow_up=FollowUp.start(first, next_check_at=now)
    )
    return record


def test_a_notified_case_is_due_for_its_recheck_until_it_is_closed() -> None:
    now = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    record = _notified(now)
    assert record.is_monitored and record.recheck_due_at == "2026-11-28T08:00:00.000000Z"
    removed, _ = record.advance(CaseStatus.REMOVED, "recheck", now=now)
    assert not removed.is_monitored and removed.recheck_due_at == ""
    with pytest.raises(CaseTransitionError):
        removed.advance(CaseStatus.DRAFTED, "draft-notice")


def test_follow_up_transitions_need_a_follow_up_notice_in_flight() -> None:
    now = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    record = _notified(now)
    assert record.follow_up is not None
    # WHEN nothing was requested THEN no follow-up may be drafted, and there is nothing to return from
    with pytest.raises(CaseTransitionError, match="no follow-up notice was requested"):
        record.advance(CaseStatus.DRAFTED, "draft-notice")
    with pytest.raises(CaseTransitionError, match="no follow-up notice in flight"):
        record.advance(CaseStatus.MONITORING, "close-follow-up")
    # WHEN a reviewed follow-up is drafted THEN it may not skip the review
    reviewed = NoticeVersion(2, [SITE], 0, NoticeState.REQUESTED, Approval.REVIEWER, "2026-11-29T08:00:00Z")
    requesting = record.follow_up.with_request(reviewed, now=now)
    drafted, _ = record.advance(CaseStatus.SENT, "recheck", follow_up=requesting)
    drafted, _ = drafted.advance(CaseStatus.DRAFTED, "draft-notice")
    with pytest.raises(CaseTransitionError, match="skips the review"):
        drafted.advance(CaseStatus.APPROVED, "policy-approval")
    # AND one requested under the policy may
    by_policy = replace(reviewed, approval=Approval.POLICY)
    policy_record, _ = record.advance(
        CaseStatus.SENT, "recheck", follow_up=record.follow_up.with_request(by_policy, now=now)
    )
    policy_drafted, _ = policy_record.advance(CaseStatus.DRAFTED, "draft-notice")
    approved, _ = policy_drafted.advance(CaseStatus.APPROVED, "policy-approval")
    assert approved.status is CaseStatus.APPROVED
    # AND a rejected follow-up returns to monitoring
    rejected, _ = drafted.advance(CaseStatus.AWAITING_REVIEW, "request-approval")
    rejected, _ = rejected.advance(CaseStatus.REJECTED, "review")
    back, _ = rejected.advance(CaseStatus.MONITORING, "close-follow-up")
    assert back.status is CaseStatus.MONITORING


def test_the_record_with_its_follow_up_and_related_cases_round_trips() -> None:
    record = _notified(datetime(2026, 11, 28, 8, 0, tzinfo=UTC))
    record = replace(record, related_cases=[RelatedCase("c1", "https://a.example/", "t", earlier=True)])
    assert CaseRecord.from_dict(record.to_dict()) == record
    assert execution_name_for(record.case_id, 3) == f"case-{record.case_id}-v3"
