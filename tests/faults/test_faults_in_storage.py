"""S3 and DynamoDB failing under the hashing function and the workflow: transient errors are retried into one
case (by Lambda's retry of an S3 event, or by the state machine's retry of a step that raised TransientAwsError),
conditional failures are re-read and retried, errors that remain fail the S3 event by name (kept by the hashing
dead-letter queue in AWS) or close the case as FAILED with the error on its timeline.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ReadTimeoutError

from takedown.aws.case_store import CaseStore
from takedown.aws.crawl_state import CrawlState
from takedown.model import CaseStatus
from tests.faults.flow import (
    case_of,
    s3_event_for,
    saves_a_case,
    sight_a_match,
    task_failures,
    wait_for_status,
)

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment
    from takedown.model import Sighting
    from tests.faults.conftest import Fault, FaultInjector

CASE_KEY = re.compile(r'"sk":\s*\{"S":\s*"CASE"\}')
# A cancelled transaction whose condition failed: what a concurrent save of the same case looks like.
CONDITION_FAILED = {"CancellationReasons": [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]}


def outcomes_of(local: LocalEnvironment, sighting: Sighting) -> list[str]:
    return [
        o["outcome"]
        for o in CrawlState(local.settings().crawl_table).media_outcomes()
        if o["sha256"] == sighting.sha256
    ]


def reads_a_case(request: str) -> bool:
    """A read of a case record by a workflow step: steps run in moto's execution threads, the test in the main
    thread (whose own reads must not take the fault)."""
    return bool(CASE_KEY.search(request)) and threading.current_thread() is not threading.main_thread()


def test_an_s3_read_failing_once_under_hashing_is_retried_into_exactly_one_case(
    local: LocalEnvironment, faults: FaultInjector
) -> None:
    # GIVEN S3 failing the next read (the sighting record) with a server error
    fault = faults.fail("s3", "GetObject", "InternalError", times=1, http_status=500)
    # WHEN a matching copy is stored: the notified hashing function fails on it
    sighting = sight_a_match(local, 8)
    assert fault.injected == 1
    assert outcomes_of(local, sighting) == []
    # AND Lambda delivers the event again (its asynchronous retry), and once more (a duplicate)
    first = local.invoke("handle_hash_media", s3_event_for(local, sighting.media_key))
    second = local.invoke("handle_hash_media", s3_event_for(local, sighting.media_key))
    # THEN the retry opened the case, the duplicate found it, and one execution runs it to review
    assert [first["results"][0]["new_case"], second["results"][0]["new_case"]] == [True, False]
    case_id = case_of(local, sighting)
    assert len(local.executions()) == 1
    wait_for_status(local, case_id, CaseStatus.AWAITING_REVIEW)


def test_an_s3_read_that_keeps_failing_fails_the_event_naming_the_file(
    local: LocalEnvironment, faults: FaultInjector
) -> None:
    # GIVEN a stored match, and S3 failing every read of it from now on
    sighting = sight_a_match(local, 9)
    faults.fail(
        "s3", "GetObject", "SlowDown", times=None, http_status=503, matching=lambda r: sighting.sha256 in r
    )
    # WHEN its event is delivered again
    with pytest.raises(RuntimeError) as failed:
        local.invoke("handle_hash_media", s3_event_for(local, sighting.media_key))
    # THEN the invocation fails naming the file and the error, so Lambda retries it and then keeps it, with that
    # message, in the hashing dead-letter queue (tests/infra/test_infra_security.py asserts the queue)
    assert "MediaEventFailed" in str(failed.value)
    assert sighting.media_key in str(failed.value) and "ClientError" in str(failed.value)


def test_a_concurrent_save_of_a_case_is_re_read_and_retried(
    local: LocalEnvironment, faults: FaultInjector
) -> None:
    # GIVEN the next two case saves lose to a concurrent writer (their version condition fails)
    fault = faults.fail(
        "dynamodb",
        "TransactWriteItems",
        "TransactionCanceledException",
        times=2,
        matching=saves_a_case,
        response=CONDITION_FAILED,
    )
    # WHEN a match runs through the workflow
    case_id = case_of(local, sight_a_match(local, 10))
    # THEN each save re-read the case and applied its step again, and the case reached review as usual
    assert (
        wait_for_status(local, case_id, CaseStatus.AWAITING_REVIEW, CaseStatus.FAILED)
        is CaseStatus.AWAITING_REVIEW
    )
    assert fault.injected == 2
    stages = [e.stage for e in CaseStore(local.settings().cases_table).events(case_id)]
    once = ("score", "resolve-recipients", "build-report", "draft-notice", "request-approval")
    assert {stage: stages.count(stage) for stage in once} == dict.fromkeys(once, 1)  # no step recorded twice


# A DynamoDB error botocore would raise once its own retries are spent: a throttle, and a read timeout.
TRANSIENT_DYNAMODB_ERRORS = pytest.mark.parametrize(
    ("operation", "code", "exception"),
    [
        ("TransactWriteItems", "ProvisionedThroughputExceededException", None),
        (
            "GetItem",
            "ReadTimeout",
            lambda: ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
        ),
    ],
    ids=["throughput exceeded after botocore's retries", "read timeout"],
)
# The state machine's tries of a step on TransientAwsError: the first and its three retries.
STEP_TRIES = 4


def fail_the_first_step(
    faults: FaultInjector, operation: str, code: str, exception: object, times: int
) -> Fault:
    """DynamoDB failing the next ``times`` saves (or reads) of a case by a workflow step."""
    return faults.fail(
        "dynamodb",
        operation,
        code,
        times=times,
        matching=saves_a_case if operation == "TransactWriteItems" else reads_a_case,
        exception=exception,  # type: ignore[arg-type]
    )


@TRANSIENT_DYNAMODB_ERRORS
def test_a_transient_dynamodb_error_in_a_step_is_retried_by_the_workflow(
    local: LocalEnvironment, faults: FaultInjector, operation: str, code: str, exception: object
) -> None:
    # GIVEN DynamoDB failing, once, the first read or save of a case in the workflow (the first step, Score)
    fault = fail_the_first_step(faults, operation, code, exception, times=1)
    # WHEN a match opens a case
    case_id = case_of(local, sight_a_match(local, 11))
    # THEN Score failed once as TransientAwsError, the state machine ran it again, and the case reached review with
    # each step recorded once
    assert (
        wait_for_status(local, case_id, CaseStatus.FAILED, CaseStatus.AWAITING_REVIEW)
        is CaseStatus.AWAITING_REVIEW
    )
    assert fault.injected == 1
    assert task_failures(local) == ["TransientAwsError"]
    stages = [e.stage for e in CaseStore(local.settings().cases_table).events(case_id)]
    assert stages.count("score") == 1


@TRANSIENT_DYNAMODB_ERRORS
def test_a_dynamodb_error_that_outlasts_retries_closes_the_case_as_failed_with_the_error(
    local: LocalEnvironment, faults: FaultInjector, operation: str, code: str, exception: object
) -> None:
    # GIVEN DynamoDB failing the first step's read or save of a case on every try the state machine makes
    fault = fail_the_first_step(faults, operation, code, exception, times=STEP_TRIES)
    # WHEN a match opens a case
    case_id = case_of(local, sight_a_match(local, 15))
    # THEN after those tries the case ends FAILED with the error on its timeline (not stuck half-way)
    assert wait_for_status(local, case_id, CaseStatus.FAILED, CaseStatus.AWAITING_REVIEW) is CaseStatus.FAILED
    assert fault.injected == STEP_TRIES
    assert task_failures(local) == ["TransientAwsError"] * STEP_TRIES
    closing = [e for e in CaseStore(local.settings().cases_table).events(case_id) if e.status == "FAILED"]
    assert closing and closing[-1].detail.get("error") == "TransientAwsError"
    assert code in closing[-1].detail.get("cause", "")
