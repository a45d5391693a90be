"""The follow-up record: checks and the run of removed ones, notice versions, and what a follow-up quotes."""

from __future__ import annotations

import pytest

from takedown.cases.follow_up import (
    MAX_CHECKS_KEPT,
    Approval,
    CheckRecord,
    FollowUp,
    NoticeState,
    NoticeVersion,
    Verdict,
    follow_up_facts,
)
from takedown.model import iso_utc

from .follow_up_samples import HOST, SITE, at, follow_up_with, sent_notice


def _check(hours: float, verdict: Verdict) -> CheckRecord:
    return CheckRecord(
        at=iso_utc(at(hours)), verdict=verdict, reason=f"media:{verdict.value}", page_status=200
    )


def _requested(version: int, recipients: list, hours: float, rung: int = 0) -> NoticeVersion:
    return NoticeVersion(
        version, recipients, rung, NoticeState.REQUESTED, Approval.REVIEWER, iso_utc(at(hours))
    )


def test_two_consecutive_removed_checks_confirm_removal_and_anything_else_breaks_the_run() -> None:
    # GIVEN a notified case
    follow_up = follow_up_with(sent_notice(1, [SITE]))
    # WHEN one removed check, then an unknown one, then two removed ones are recorded
    once = follow_up.with_check(_check(24, Verdict.REMOVED))
    broken = once.with_check(_check(48, Verdict.UNKNOWN))
    again = broken.with_check(_check(72, Verdict.REMOVED))
    confirmed = again.with_check(_check(96, Verdict.REMOVED))
    # THEN only the last pair confirms it, and the removal time is the first check of that pair
    assert (once.consecutive_removed, once.removal_confirmed) == (1, False)
    assert (broken.consecutive_removed, broken.first_removed_at) == (0, "")
    assert confirmed.removal_confirmed and confirmed.first_removed_at == iso_utc(at(72))
    assert confirmed.checks_total == 4


def test_the_record_keeps_the_latest_checks_and_counts_them_all() -> None:
    follow_up = follow_up_with(sent_notice(1, [SITE]))
    for hour in range(MAX_CHECKS_KEPT + 5):
        follow_up = follow_up.with_check(_check(hour, Verdict.PRESENT))
    assert len(follow_up.checks) == MAX_CHECKS_KEPT and follow_up.checks_total == MAX_CHECKS_KEPT + 5
    assert follow_up.checks[0].at == iso_utc(at(5))


def test_a_requested_notice_is_in_flight_until_sent_or_closed() -> None:
    # GIVEN a request for notice v2
    follow_up = follow_up_with(sent_notice(1, [SITE])).with_request(_requested(2, [SITE], 24), now=at(24))
    # THEN it is pending, comes due again in an hour (a start to retry), and no second request is accepted
    assert follow_up.pending is not None and follow_up.pending.version == 2
    assert follow_up.next_check_at == iso_utc(at(25))
    with pytest.raises(ValueError, match="still in flight"):
        follow_up.with_request(_requested(3, [HOST], 25, rung=1), now=at(25))
    # WHEN it is sent THEN it is recorded with its message ids and the next check
    sent = follow_up.with_sent(
        2, sent_at=at(26), message_ids=["m-2"], approved_by="reviewer@centre.example", next_check_at=at(50)
    )
    assert sent.pending is None
    assert (sent.notice(2).state, sent.notice(2).message_ids, sent.next_check_at) == (
        NoticeState.SENT,
        ["m-2"],
        iso_utc(at(50)),
    )
    # AND one that was declined is recorded as such
    declined = follow_up.with_not_sent(2, NoticeState.DECLINED, "rejected too soon", next_check_at=at(48))
    assert declined.pending is None and declined.notice(2).state is NoticeState.DECLINED
    with pytest.raises(ValueError, match="not a state"):
        follow_up.with_not_sent(2, NoticeState.SENT, "", next_check_at=at(48))


def test_a_request_must_be_the_next_version() -> None:
    follow_up = follow_up_with(sent_notice(1, [SITE]))
    with pytest.raises(ValueError, match="expected a requested notice version 2"):
        follow_up.with_request(_requested(5, [SITE], 24), now=at(24))


def test_the_record_round_trips_through_json() -> None:
    follow_up = (
        follow_up_with(sent_notice(1, [SITE]), sent_notice(2, [SITE], hours=24, approval=Approval.POLICY))
        .with_check(_check(48, Verdict.REMOVED))
        .with_request(_requested(3, [HOST], 72, rung=1), now=at(72))
    )
    assert FollowUp.from_dict(follow_up.to_dict()) == follow_up
    with pytest.raises(ValueError, match="without its first notice"):
        FollowUp.from_dict({"notices": []})


def test_a_reminder_quotes_the_first_notice_its_recipient_got() -> None:
    # GIVEN the site was notified at T0, then the host at 72 h, and a reminder to the host is in flight
    follow_up = (
        follow_up_with(sent_notice(1, [SITE]), sent_notice(2, [HOST], rung=1, hours=72))
        .with_check(_check(95, Verdict.PRESENT))
        .with_request(_requested(3, [HOST], 96, rung=1), now=at(96))
    )
    assert follow_up.pending is not None
    facts = follow_up_facts(follow_up, follow_up.pending)
    # THEN it quotes the host's own first notice and the last check that saw the content up
    assert facts.to_same_recipient
    assert (facts.first_sent_at, facts.first_message_id) == (iso_utc(at(72)), "msg-2-0")
    assert facts.still_online_at == iso_utc(at(95)) and facts.version == 3


def test_a_notice_to_someone_new_quotes_the_case_first_notice() -> None:
    follow_up = follow_up_with(sent_notice(1, [SITE])).with_request(
        _requested(2, [HOST], 72, rung=1), now=at(72)
    )
    assert follow_up.pending is not None
    facts = follow_up_facts(follow_up, follow_up.pending)
    assert not facts.to_same_recipient
    assert (facts.first_sent_at, facts.first_message_id) == (iso_utc(at(0)), "msg-1-0")
    # with no "still up" check recorded, the request time stands for it
    assert facts.still_online_at == iso_utc(at(72))
