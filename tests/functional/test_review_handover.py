"""Hand-over: the review moves to another configured reviewer with a link of their own; the old link stops."""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from takedown.aws.case_store import REVIEW_HANDED_OVER, REVIEW_PENDING
from takedown.model import CaseStatus

from .review_cases import (
    SECOND_REVIEWER,
    add_reviewer,
    case_awaiting_review,
    links_in,
    mail_to,
    notices_sent,
    open_review,
    reviewers_of,
)

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment


def test_a_review_handed_over_is_decided_by_the_new_reviewer_only(local: LocalEnvironment) -> None:
    # GIVEN a case waiting for review and a second configured reviewer
    add_reviewer(local)
    case_id, cases = case_awaiting_review(local)
    first_reviewer = reviewers_of(local)[0]
    [first_link] = links_in(mail_to(first_reviewer))
    first_review = cases.get_review(cases.require(case_id).review_id)
    assert first_review is not None

    with requests.Session() as browser:
        page, post_url, fields = open_review(browser, first_link)
        assert page.status_code == 200 and SECOND_REVIEWER in page.text
        # WHEN the first reviewer hands it over to someone who is not a reviewer, or without a reason
        stranger = browser.post(
            post_url,
            data={**fields, "decision": "HANDED_OVER", "handover_to": "friend@else.example", "reason": "x"},
            timeout=10,
        )
        reasonless = browser.post(
            post_url, data={**fields, "decision": "HANDED_OVER", "handover_to": SECOND_REVIEWER}, timeout=10
        )
        # THEN both are refused and nothing changed
        assert (stranger.status_code, reasonless.status_code) == (400, 400)
        assert 'data-message="handover_unknown"' in stranger.text
        assert 'data-message="handover_reason"' in reasonless.text
        assert cases.get_review(first_review.review_id).status == REVIEW_PENDING  # type: ignore[union-attr]
        assert mail_to(SECOND_REVIEWER) == []

        # WHEN they hand it over to the second reviewer with a reason
        handed = browser.post(
            post_url,
            data={**fields, "decision": "HANDED_OVER", "handover_to": SECOND_REVIEWER, "reason": "on leave"},
            timeout=10,
        )
        # THEN they are told so, and the old link now shows the hand-over, for GET and POST alike
        assert handed.status_code == 200 and 'data-message="handover_done"' in handed.text
        old_get = browser.get(first_link, timeout=10)
        old_post = browser.post(post_url, data={**fields, "decision": "APPROVED"}, timeout=10)
        assert (old_get.status_code, old_post.status_code) == (410, 410)
        assert 'data-message="handed_over"' in old_get.text and SECOND_REVIEWER in old_get.text

    # AND the old review is closed as handed over, the case still waits, with a new review for the new reviewer
    record = cases.require(case_id)
    assert record.status is CaseStatus.AWAITING_REVIEW and record.review_id != first_review.review_id
    old, new = cases.get_review(first_review.review_id), cases.get_review(record.review_id)
    assert old is not None and new is not None
    assert (old.status, old.handed_over_to) == (REVIEW_HANDED_OVER, SECOND_REVIEWER)
    assert (new.status, new.reviewer, new.handed_over_from) == (
        REVIEW_PENDING,
        SECOND_REVIEWER,
        first_reviewer,
    )
    assert new.task_token == first_review.task_token and new.due_at == first_review.due_at
    # AND the timeline says who handed to whom and why
    [event] = [e for e in cases.events(case_id) if e.stage == "hand-over"]
    assert (event.detail["reviewer"], event.detail["handed_to"], event.detail["reason"]) == (
        first_reviewer,
        SECOND_REVIEWER,
        "on leave",
    )
    # AND the new reviewer got an email with their own link, which carries no task token
    [handover_mail] = mail_to(SECOND_REVIEWER)
    assert first_review.task_token not in handover_mail.raw
    assert first_reviewer in handover_mail.body("plain")
    [new_link] = links_in([handover_mail])
    assert new_link != first_link

    # WHEN the new reviewer approves through their link
    with requests.Session() as browser:
        page, post_url, fields = open_review(browser, new_link)
        assert page.status_code == 200 and SECOND_REVIEWER in page.text
        approved = browser.post(post_url, data={**fields, "decision": "APPROVED"}, timeout=10)
        assert approved.status_code == 200
    # THEN the workflow (waiting on the same task token) sends the notice once
    assert local.wait_for(lambda: cases.require(case_id).status is CaseStatus.SENT, timeout=60)
    assert len(notices_sent(local)) == 1
    assert cases.require(case_id).decision.reviewer == SECOND_REVIEWER  # type: ignore[union-attr]
