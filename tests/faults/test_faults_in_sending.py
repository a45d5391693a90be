"""Faults around sending: SES throttling and refusals, a send whose record write fails, a reviewer deciding twice,
everything delivered again after a notice went out. No notice is ever sent twice, and every case ends in a state
a person can see (SENT, or FAILED with the error on its timeline).

The send ledger (``takedown.aws.send_ledger``) claims (case, recipient, notice version) before SES is called and
releases the claim only when SES refused the message.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
import requests
from botocore.exceptions import ReadTimeoutError

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
    saves_a_case,
    sight_a_match,
    task_failures,
    wait_for_status,
)

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment
    from tests.faults.conftest import FaultInjector


SENT_STATUS = re.compile(r'"status":\s*\{"S":\s*"SENT"\}')


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


def writes_the_sent_case(request: str) -> bool:
    """The case save that records a notice as SENT (not the creation of its event or any other save)."""
    return saves_a_case(request) and bool(SENT_STATUS.search(request))


def ledger_message_ids(local: LocalEnvironment, case_id: str) -> list[str]:
    return [item["message_id"]["S"] for item in ledger_items(local, case_id) if "message_id" in item]


@pytest.mark.parametrize("times", [2, None], ids=["fails twice", "keeps failing"])
def test_a_notice_whose_ledger_confirmation_fails_is_still_recorded_sent_once(
    local: LocalEnvironment, faults: FaultInjector, times: int | None
) -> None:
    # GIVEN a case waiting for review, and DynamoDB failing the write that confirms a send in the ledger (twice,
    # or every time)
    case_id = case_of(local, sight_a_match(local, 5))
    wait_for_status(local, case_id, CaseStatus.AWAITING_REVIEW)
    fault = faults.fail(
        "dynamodb",
        "UpdateItem",
        "InternalServerError",
        times=times,
        http_status=500,
        matching=lambda request: '"SEND#' in request,
    )
    # WHEN the reviewer approves, and later the send step is run again (a redrive)
    assert decide(review_link(local)) == 200
    final = wait_for_status(local, case_id, CaseStatus.FAILED, CaseStatus.SENT)
    again = local.invoke("handle_send_notice", {"case_id": case_id})
    # THEN the case is SENT with the message id SES gave, the notice went out exactly once, and the step run again
    # sent nothing
    record = CaseStore(local.settings().cases_table).require(case_id)
    assert final is CaseStatus.SENT
    assert fault.injected == (2 if times else 4)  # the in-step retries: 4 tries in all
    assert len(notices(local)) == 1
    assert len(record.sent_message_ids) == 1 and record.sent_message_ids[0]
    # (the ledger has the id when a retry got through; when none did, the case record alone carries it)
    assert ledger_message_ids(local, case_id) == (record.sent_message_ids if times else [])
    assert again.get("sent", 0) == 0 and again.get("already_sent") is True


def test_a_notice_whose_case_update_keeps_failing_is_recorded_sent_by_the_workflows_retry(
    local: LocalEnvironment, faults: FaultInjector
) -> None:
    # GIVEN a case waiting for review, and DynamoDB throttling the save that records SENT four times: every try
    # the send step makes within one invocation
    case_id = case_of(local, sight_a_match(local, 12))
    wait_for_status(local, case_id, CaseStatus.AWAITING_REVIEW)
    fault = faults.fail(
        "dynamodb",
        "TransactWriteItems",
        "ProvisionedThroughputExceededException",
        times=4,
        matching=writes_the_sent_case,
    )
    # WHEN the reviewer approves
    assert decide(review_link(local)) == 200
    # THEN the send step failed once as TransientAwsError after SES accepted, the state machine ran it again, and
    # that run found the message id in the ledger and recorded SENT without sending again
    assert wait_for_status(local, case_id, CaseStatus.FAILED, CaseStatus.SENT) is CaseStatus.SENT
    assert fault.injected == 4
    assert task_failures(local) == ["TransientAwsError"]
    assert len(notices(local)) == 1
    record = CaseStore(local.settings().cases_table).require(case_id)
    assert record.sent_message_ids == ledger_message_ids(local, case_id) != []


def test_ses_throttling_the_notice_once_is_retried_by_the_workflow_and_sent_once(
    local: LocalEnvironment, faults: FaultInjector
) -> None:
    # GIVEN a case waiting for review, and SES throttling the next message (after botocore's own retries)
    case_id = case_of(local, sight_a_match(local, 13))
    wait_for_status(local, case_id, CaseStatus.AWAITING_REVIEW)
    fault = faults.fail("sesv2", "SendEmail", "TooManyRequestsException", times=1, http_status=429)
    # WHEN the reviewer approves
    assert decide(review_link(local)) == 200
    # THEN the claim was freed, the state machine ran the step again, and the notice went out once
    assert wait_for_status(local, case_id, CaseStatus.FAILED, CaseStatus.SENT) is CaseStatus.SENT
    assert fault.injected == 1
    assert task_failures(local) == ["TransientAwsError"]
    assert len(notices(local)) == 1
    assert len(ledger_message_ids(local, case_id)) == 1


def test_a_send_whose_outcome_was_lost_is_never_retried_and_the_case_says_why(
    local: LocalEnvironment, faults: FaultInjector
) -> None:
    # GIVEN a case waiting for review, and SES's answer to the notice lost in a read timeout (SES may have sent it)
    case_id = case_of(local, sight_a_match(local, 14))
    wait_for_status(local, case_id, CaseStatus.AWAITING_REVIEW)
    fault = faults.fail(
        "sesv2",
        "SendEmail",
        "ReadTimeout",
        times=1,
        exception=lambda: ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com"),
    )
    # WHEN the reviewer approves: the step fails as transient, and the state machine runs it again
    assert decide(review_link(local)) == 200
    # THEN the retry finds the claim without a message id and sends nothing: the case ends FAILED saying the notice
    # may have gone out, and the claim stays so that no later run sends it either
    assert wait_for_status(local, case_id, CaseStatus.FAILED, CaseStatus.SENT) is CaseStatus.FAILED
    assert fault.injected == 1
    assert task_failures(local) == ["TransientAwsError", "SendOutcomeUnknown"]
    assert "SendOutcomeUnknown" in last_error(local, case_id) and "may have gone out" in last_error(
        local, case_id
    )
    assert notices(local) == []
    assert len(ledger_items(local, case_id)) == 1 and ledger_message_ids(local, case_id) == []


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
