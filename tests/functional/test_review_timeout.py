"""A review nobody decides: the approval task times out, the real ``States.Timeout`` branch closes the case as
EXPIRED, nothing is sent, and the link then says the review expired. And a rejection ends without sending.

moto runs waitForTaskToken tasks for real and does enforce ``TimeoutSeconds``, in wall-clock time: the callback
endpoint waits ``TimeoutSeconds`` for an outcome and, when none came, reports ``CallbackOutcomeTimedOut``, which the
task raises as a ``TimeoutError`` and turns into ``States.Timeout`` (history event ``TaskTimedOut``). The deployed
timeout is hours long, so the test delivers that same timed-out outcome to the waiting task's endpoint, the exact
path moto takes when the wait runs out. ``SendTaskFailure(error="States.Timeout")`` would not be the same: it is a
task *failure* whose error merely has that name (history ``TaskFailed``), not a timeout.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import requests

from takedown.handlers.handle_remind_reviewers import remind_reviewers
from takedown.local.stack import ACCOUNT, REGION
from takedown.model import CaseStatus

from .review_cases import case_awaiting_review, links_in, mail_to, notices_sent, open_review, reviewers_of

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment


def time_out_approval(task_token: str) -> None:
    """Let the approval task waiting on ``task_token`` time out, as moto does when ``TimeoutSeconds`` passes."""
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackOutcomeTimedOut
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    backend = stepfunctions_parser_backends[ACCOUNT][REGION]
    for execution in backend._get_executions(ExecutionStatus.RUNNING):
        pool = execution.exec_worker.env.callback_pool_manager
        if pool.notify(callback_id=task_token, outcome=CallbackOutcomeTimedOut(callback_id=task_token)):
            return
    raise AssertionError("no running execution waits on this task token")


def _history(execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = boto3.client("stepfunctions", region_name=REGION).get_execution_history(
        executionArn=execution_arn, maxResults=1000
    )["events"]
    return events


def _entered_states(execution_arn: str) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in _history(execution_arn)
        if "stateEnteredEventDetails" in e
    ]


def test_an_undecided_review_expires_through_the_timeout_branch(local: LocalEnvironment) -> None:
    # GIVEN a case waiting for review, its link opened once
    case_id, cases = case_awaiting_review(local)
    [link] = links_in(mail_to(reviewers_of(local)[0]))
    with requests.Session() as browser:
        page, post_url, fields = open_review(browser, link)
        assert page.status_code == 200
        review = cases.get_review(cases.require(case_id).review_id)
        assert review is not None

        # WHEN the approval task's timeout passes
        time_out_approval(review.task_token)

        # THEN the execution takes the timeout branch: CloseExpired, then Expired, and succeeds
        [execution] = local.executions()
        sfn = boto3.client("stepfunctions", region_name=REGION)
        assert local.wait_for(
            lambda: sfn.describe_execution(executionArn=execution["executionArn"])["status"] != "RUNNING",
            timeout=60,
        )
        assert sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "SUCCEEDED"
        history = _history(execution["executionArn"])
        assert [e["type"] for e in history if e["type"].startswith("Task") and "Timed" in e["type"]] == [
            "TaskTimedOut"
        ]
        assert _entered_states(execution["executionArn"])[-3:] == [
            "RequestApproval",
            "CloseExpired",
            "Expired",
        ]
        # AND the case says EXPIRED and nothing went to any operator
        assert cases.require(case_id).status is CaseStatus.EXPIRED
        assert notices_sent(local) == []

        # WHEN the reviewer opens the link, or submits the form they still have open
        late_get = browser.get(link, timeout=10)
        late_post = browser.post(post_url, data={**fields, "decision": "APPROVED"}, timeout=10)
    # THEN both get the clear "expired" page, and still nothing is sent
    for answer in (late_get, late_post):
        assert answer.status_code == 410 and 'data-message="review_expired"' in answer.text
    assert notices_sent(local) == [] and cases.require(case_id).status is CaseStatus.EXPIRED
    # AND the reminder round, once the entry's deadline is within its window, takes the stale entry out of the
    # pending index instead of reminding anyone
    settings = local.settings("handle_remind_reviewers")
    assert [p.review_id for p in cases.pending_reviews()] == [review.review_id]
    counts = remind_reviewers(settings, now=datetime.fromtimestamp(review.due_at - 3600, UTC))
    assert counts["stale"] == 1 and counts["reminded"] == 0
    assert cases.pending_reviews() == []


def test_a_rejection_ends_the_execution_without_sending(local: LocalEnvironment) -> None:
    # GIVEN a case waiting for review
    case_id, cases = case_awaiting_review(local)
    [link] = links_in(mail_to(reviewers_of(local)[0]))
    # WHEN the reviewer rejects it
    with requests.Session() as browser:
        _, post_url, fields = open_review(browser, link)
        rejected = browser.post(
            post_url, data={**fields, "decision": "REJECTED", "reason": "not it"}, timeout=10
        )
    assert rejected.status_code == 200 and 'data-message="rejected"' in rejected.text
    # THEN the execution ends through the Choice's default (CloseRejected, Rejected) and sends nothing
    [execution] = local.executions()
    sfn = boto3.client("stepfunctions", region_name=REGION)
    assert local.wait_for(
        lambda: sfn.describe_execution(executionArn=execution["executionArn"])["status"] != "RUNNING",
        timeout=60,
    )
    entered = _entered_states(execution["executionArn"])
    assert entered[-3:] == ["ReviewDecision", "CloseRejected", "Rejected"] and "SendNotice" not in entered
    assert cases.require(case_id).status is CaseStatus.REJECTED
    assert notices_sent(local) == []
    # AND the review left the pending index with the decision
    assert cases.pending_reviews() == []
