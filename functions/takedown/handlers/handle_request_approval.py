"""State ``RequestApproval`` (waitForTaskToken): keep the task token server-side and email the reviewer a signed
link. The execution waits until the review function hands back a decision, or the task times out.

The review is stored with its deadline (the task's timeout, ``approval_timeout_hours`` from now), which puts it in
the pending-reviews index that the reminder and the reviewer's list read.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from takedown.aws.case_store import REVIEW_PENDING, CaseStore, ReviewRecord
from takedown.config import Settings
from takedown.handlers.review_email import email_review_link
from takedown.model import CaseStatus, iso_utc, utc_now
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from takedown.cases.record import CaseRecord
    from takedown.model import CaseEvent


def reviewer_for(case_id: str, reviewers: tuple[str, ...]) -> str:
    """Spread cases over the configured reviewers, stably per case."""
    if not reviewers:
        raise RuntimeError("no reviewers configured: nothing may be sent without a reviewer's approval")
    return reviewers[int(case_id[:8], 16) % len(reviewers)]


def request_approval(
    settings: Settings, event: dict[str, Any], *, now: float | None = None
) -> dict[str, Any]:
    case_id, task_token = event["case_id"], event["task_token"]
    cases = CaseStore(settings.cases_table)
    record = cases.require(case_id)
    reviewer = reviewer_for(case_id, settings.reviewers)
    moment = time.time() if now is None else now
    expires_at = int(moment + settings.link_ttl_hours * 3600)
    # The task's timeout started just before this function ran, so this deadline is never later than the real one.
    due_at = int(moment + settings.approval_timeout_hours * 3600)
    review_id = secrets.token_urlsafe(18)
    cases.put_review(
        ReviewRecord(
            review_id=review_id,
            case_id=case_id,
            reviewer=reviewer,
            task_token=task_token,
            expires_at=expires_at,
            status=REVIEW_PENDING,
            created_at=iso_utc(utc_now()),
            due_at=due_at,
        )
    )
    message_id = email_review_link(
        settings, record, review_id=review_id, reviewer=reviewer, expires_at=expires_at
    )

    def awaiting(current: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        return current.advance(
            CaseStatus.AWAITING_REVIEW,
            "request-approval",
            detail={
                "review_id": review_id,
                "reviewer": reviewer,
                "expires_at": expires_at,
                "due_at": due_at,
                "email_id": message_id,
            },
            review_id=review_id,
        )

    cases.update(case_id, awaiting)
    metrics.add_metric(name="ReviewsRequested", unit="Count", value=1)
    logger.info("review requested", extra={"case_id": case_id})
    return {"case_id": case_id, "review_id": review_id}


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return request_approval(Settings.from_env(), event)
