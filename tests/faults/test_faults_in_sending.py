"""Faults around sending: SES throttling and refusals, a send whose record write fails, a reviewer deciding twice,
everything delivered again after a notice went out. No notice is ever sent twice, and every case ends in a state
a person can see (SENT, or FAILED with the error on its timeline).

The send ledger (``takedown.aws.send_ledger``) claims (case, recipient, notice version) before SES is called and
releases the claim only when SES refused the message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import requests

from takedown.aws.case_store import CaseStore
from takedown.model import CaseStatus
from tests.faults.flow import (
    case_of,
    decide,
    ledger_items,
    notices,
    review_link,
    review_mails,
    s3_event_for,
    sight_a_match,
    wait_for_status,
)

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment
    from tests.faults.conftest import FaultInjector


def last_error(local: LocalEnvironment, case_id: str) -> str:
    """The error recorded on the case's timeline when it was closed as FAILED."""
    events = CaseStore(local.settings().cases_table).events(case_id)
    closing = [e for e in events if e.status == CaseStatus.FAILED.value]
    assert closing, [(e.stage, e.status) for e in events]
    return f"{closing[-1].detail.get('error', '')} {closing[-1].detail.get('cause', '')}"


@pytest.mark.parametrize("code", ["TooManyRequestsException", "MessageRejected"])
def test_ses_refusing_the_notice_fails_the_case_visibly_and_frees_the_claim(
    local: LocalEnvironment, faults: FaultInjector, code: str
) -> None:
    # GIVEN a case waiting for review
    case_id = case_of(local, sight_a_match(local, 3))
    wait_for_status(local, case_id, CaseStatus.AWAITING_REVIEW)
    # AND SES refusing every message from now on (after botocore's own retries)
    fault = faults.fail("sesv2", "SendEmail", code, times=None)
    # WHEN the reviewer approves
    assert decide(review_link(local)) == 200
    # THEN the case ends FAILED with SES's error on its timeline, nothing was sent, and the claim is freed so a
    # resend after the fault can go out
    assert wait_for_status(local, case_id, CaseStatus.FAILED, CaseStatus.SENT) is CaseStatus.FAILED
    assert code in last_error(local, case_id)
    assert fault.injected >= 1
    assert notices(local) == []
    assert ledger_items(local, case_id) == []


def test_ses_refusing_the_review_email_fails_the_case_before_anyone_is_asked(
    local: LocalEnvironment, faults: FaultInjector
) -> None:
    # GIVEN SES throttling every message
    faults.fail("sesv2", "SendEmail", "TooManyRequestsException", times=None)
    # WHEN a match opens a case
    case_id = case_of(local, sight_a_match(local, 7))
    # THEN the approval request fails, the case ends FAILED with the error, and no mail of any kind went out
    assert wait_for_status(local, case_id, CaseStatus.FAILED, CaseStatus.AWAITING_REVIEW) is CaseStatus.FAILED
    assert "TooManyRequestsException" in last_error(local, case_id)
    assert review_mails(local) == [] and notices(local) == []


def test_a_notice_ses_accepted_whose_record_write_failed_is_never_sent_again(
    local: LocalEnvironment, faults: FaultInjector
) -> None:
    # GIVEN a case waiting for review, and DynamoDB failing the one write that confirms a send in the ledger
    # (what a function timing out right after SES accepted the message leaves behind)
    case_id = case_of(local, sight_a_match(local, 5))
    wait_for_status(local, case_id, CaseStatus.AWAITING_REVIEW)
    fault = faults.fail(
        "dynamodb",
        "UpdateItem",
        "InternalServerError",
        times=1,
        http_status=500,
        matching=lambda request: '"SEND#' in request,
    )
    # WHEN the reviewer approves, the step fails after sending, and the step is then run again (a retry or redrive)
    assert decide(review_link(local)) == 200
    final = wait_for_status(local, case_id, CaseStatus.FAILED, CaseStatus.SENT)
    try:
        local.invoke("handle_send_notice", {"case_id": case_id})
    except RuntimeError as refused:  # a closed case refuses to send at all: also fine
        assert "NotApproved" in str(refused) or "not approved" in str(refused).lower()
    # THEN the notice went out exactly once, and the case shows how it ended
    assert fault.injected == 1
    assert len(notices(local)) == 1
    assert final in {CaseStatus.FAILED, CaseStatus.SENT}
    if final is CaseStatus.FAILED:
        assert "InternalServerError" in last_error(local, case_id)


def test_everything_delivered_again_after_a_notice_went_out_changes_nothing(local: LocalEnvironment) -> None:
    # GIVEN a notice approved and sent
    sighting = sight_a_match(local, 6)
    case_id = case_of(local, sighting)
    wait_for_status(local, case_id, CaseStatus.AWAITING_REVIEW)
    link = review_link(local)
    with requests.Session() as first_device:
        assert decide(link, session=first_device) == 200
        wait_for_status(local, case_id, CaseStatus.SENT)
        # WHEN the reviewer approves again on the same device and on another one, and rejects after approving
        again = decide(link, session=first_device)
    with requests.Session() as second_device:
        other_device = decide(link, session=second_device)
        rejected_after = decide(link, "REJECTED", session=second_device)
    # AND the S3 event for the media arrives again, and the send step runs again
    hashed = local.invoke("handle_hash_media", s3_event_for(local, sighting.media_key))
    resent = local.invoke("handle_send_notice", {"case_id": case_id})
    # THEN each later decision is refused or finds the review closed (no form: the page says it is decided) ...
    assert {again, other_device, rejected_after} <= {200, 409}
    # ... the duplicate event starts nothing, the repeated send sends nothing ...
    assert hashed["results"][0].get("new_case") is False
    assert len(local.executions()) == 1
    assert resent.get("sent", 0) == 0
    # ... and exactly one review mail and one notice exist, the case still SENT
    assert len(review_mails(local)) == 1
    assert len(notices(local)) == 1
    assert CaseStore(local.settings().cases_table).require(case_id).status is CaseStatus.SENT
