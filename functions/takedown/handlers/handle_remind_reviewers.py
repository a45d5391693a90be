"""Scheduled (EventBridge): remind each reviewer once, before a pending review's approval times out.

Reads the sparse ``PendingReviews`` index (never the whole table) for reviews due within the reminder window,
emails each reviewer not yet reminded a fresh signed link (valid until the deadline), records the reminder on the
case's timeline, and takes entries whose case no longer waits (expired, closed) out of the index. Publishes
``ReviewsNearTimeout`` (pending reviews inside the window) and ``ReviewRemindersSent`` for the alarms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from takedown.approval.links import reissued_link_expiry
from takedown.approval.reminders import PendingState, classify_pending
from takedown.aws.case_store import CaseStore
from takedown.config import Settings
from takedown.handlers.review_email import email_review_link
from takedown.model import CaseEvent, CaseStatus, iso_utc, utc_now
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from datetime import datetime

    from aws_lambda_powertools.utilities.typing import LambdaContext

STAGE_REMINDER = "review-reminder"


def remind_reviewers(settings: Settings, *, now: datetime | None = None) -> dict[str, Any]:
    """One reminder round at ``now`` (injected in tests). Returns the counts it published."""
    moment = now or utc_now()
    at, unix = iso_utc(moment), int(moment.timestamp())
    window = settings.review_reminder_hours
    cases = CaseStore(settings.cases_table)
    counts = {"near_timeout": 0, "reminded": 0, "stale": 0, "failed": 0}
    for pending in cases.pending_reviews(due_before=unix + window * 3600):
        record = cases.get(pending.case_id)
        state = classify_pending(
            due_at=pending.due_at,
            reminded_at=pending.reminded_at,
            now=unix,
            window_hours=window,
            case_waiting=record is not None and record.status is CaseStatus.AWAITING_REVIEW,
        )
        if state is PendingState.STALE:
            counts["stale"] += int(cases.close_review(pending.review_id))
            continue
        if state is PendingState.NOT_YET or record is None:
            continue
        counts["near_timeout"] += 1
        if state is PendingState.REMINDED or not cases.claim_reminder(pending.review_id, at):
            continue
        expires_at = reissued_link_expiry(
            now=unix,
            ttl_hours=settings.link_ttl_hours,
            due_at=pending.due_at,
            first_expiry=pending.expires_at,
        )
        try:
            email_id = email_review_link(
                settings,
                record,
                review_id=pending.review_id,
                reviewer=pending.reviewer,
                expires_at=expires_at,
                purpose="reminder",
                due_at=pending.due_at,
            )
        except ClientError as error:
            # Give the claim back: the next round tries again, still before the deadline.
            cases.release_reminder(pending.review_id)
            counts["failed"] += 1
            code = error.response.get("Error", {}).get("Code", "")
            logger.warning("reminder not sent", extra={"case_id": record.case_id, "code": code})
            continue
        cases.append_event(
            record.case_id,
            CaseEvent(
                at=at,
                stage=STAGE_REMINDER,
                status=record.status.value,
                detail={
                    "reviewer": pending.reviewer,
                    "review_id": pending.review_id,
                    "due_at": pending.due_at,
                    "link_expires_at": expires_at,
                    "email_id": email_id,
                },
            ),
        )
        counts["reminded"] += 1
    metrics.add_metric(name="ReviewsNearTimeout", unit="Count", value=counts["near_timeout"])
    metrics.add_metric(name="ReviewRemindersSent", unit="Count", value=counts["reminded"])
    logger.info("reminder round", extra=counts)
    return counts


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return remind_reviewers(Settings.from_env())
