from __future__ import annotations

import pytest

from takedown.approval.edits import edited_primary_draft, recipient_choice_detail
from takedown.approval.links import latest_issued_expiry, reissued_link_expiry
from takedown.approval.reminders import PendingState, classify_pending
from takedown.model import NoticeDraft, Recipient

HOUR = 3600
NOW = 1_800_000_000


@pytest.mark.parametrize(
    ("due_in_hours", "reminded_at", "waiting", "expected"),
    [
        (11, "", True, PendingState.REMIND),
        (12, "", True, PendingState.REMIND),  # the window's edge is inside
        (11, "2026-11-28T07:00:00Z", True, PendingState.REMINDED),
        (13, "", True, PendingState.NOT_YET),
        (0, "", True, PendingState.STALE),  # the deadline is now: too late to remind
        (-1, "", True, PendingState.STALE),
        (5, "", False, PendingState.STALE),  # the case no longer waits (it expired or closed)
    ],
)
def test_a_pending_review_is_reminded_once_inside_the_window(
    due_in_hours: int, reminded_at: str, waiting: bool, expected: PendingState
) -> None:
    state = classify_pending(
        due_at=NOW + due_in_hours * HOUR,
        reminded_at=reminded_at,
        now=NOW,
        window_hours=12,
        case_waiting=waiting,
    )
    assert state is expected


def test_a_window_under_an_hour_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one hour"):
        classify_pending(due_at=NOW + HOUR, reminded_at="", now=NOW, window_hours=0, case_waiting=True)


def test_a_reissued_link_lives_until_the_deadline_but_not_beyond() -> None:
    # GIVEN a deadline in 5 hours and a 72-hour link lifetime THEN the new link ends at the deadline
    assert (
        reissued_link_expiry(now=NOW, ttl_hours=72, due_at=NOW + 5 * HOUR, first_expiry=NOW) == NOW + 5 * HOUR
    )
    # GIVEN a short link lifetime THEN a full lifetime from now
    assert (
        reissued_link_expiry(now=NOW, ttl_hours=1, due_at=NOW + 5 * HOUR, first_expiry=NOW - HOUR)
        == NOW + HOUR
    )
    # GIVEN a first link that outlives both THEN never earlier than it
    assert reissued_link_expiry(now=NOW, ttl_hours=1, due_at=NOW + 5 * HOUR, first_expiry=NOW + 9 * HOUR) == (
        NOW + 9 * HOUR
    )
    assert latest_issued_expiry(first_expiry=NOW + 9 * HOUR, due_at=NOW + 5 * HOUR) == NOW + 9 * HOUR


def _draft() -> NoticeDraft:
    return NoticeDraft(
        locale="ko", subject="Subject", body_text="Line one.\nLine two.\n", body_html="<p>x</p>"
    )


def test_an_unchanged_draft_is_no_edit() -> None:
    assert edited_primary_draft([_draft()], "Subject", "Line one.\nLine two.\n") is None
    assert edited_primary_draft([_draft()], None, None) is None
    assert edited_primary_draft([], "x", "y") is None


def test_an_edit_becomes_the_sent_draft_with_its_diff() -> None:
    edited, diff = edited_primary_draft([_draft()], "New <subject>", "Line one.\nLine 2 & more.\n") or (
        None,
        "",
    )
    assert edited is not None
    assert (edited.subject, edited.body_text) == ("New <subject>", "Line one.\nLine 2 & more.\n")
    assert "Line 2 &amp; more." in edited.body_html and "<subject>" not in edited.body_html
    assert "-Subject: Subject" in diff and "+Subject: New <subject>" in diff
    assert "-Line two." in diff and "+Line 2 & more." in diff


def test_an_empty_subject_keeps_the_drafted_one() -> None:
    edited, _ = edited_primary_draft([_draft()], "", "changed\n") or (None, "")
    assert edited is not None and edited.subject == "Subject"


def test_the_recipient_choice_is_recorded_beside_who_was_left_out() -> None:
    site = Recipient(address="a@site.example", role="site", found_at="page", confidence=0.9)
    host = Recipient(address="b@host.example", role="host", found_at="RDAP", confidence=0.7)
    form = Recipient(
        address="", role="platform", found_at="c", confidence=0.5, contact_form_url="https://f.example"
    )
    detail = recipient_choice_detail([site, host, form], [host])
    assert detail == {
        "chosen": ["b@host.example"],
        "left_out": [{"address": "a@site.example", "role": "site", "found_at": "page"}],
        "contact_forms": ["https://f.example"],
    }
