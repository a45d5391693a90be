"""State ``RequestApproval`` (waitForTaskToken): keep the task token server-side and email the reviewer a signed
link. The execution waits until the review function hands back a decision, or the task times out."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from takedown.approval.links import sign_review_link
from takedown.approval.pages import render_review_email
from takedown.aws.case_store import CaseStore, ReviewRecord
from takedown.aws.mailer import build_message, send_message
from takedown.aws.secrets import link_key
from takedown.config import Settings
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
    review_id = secrets.token_urlsafe(18)
    cases.put_review(
        ReviewRecord(
            review_id=review_id,
            case_id=case_id,
            reviewer=reviewer,
            task_token=task_token,
            expires_at=expires_at,
            status="PENDING",
            created_at=iso_utc(utc_now()),
        )
    )
    link = sign_review_link(
        link_key(settings.link_key_secret), review_id=review_id, reviewer=reviewer, expires_at=expires_at
    )
    subject, text, html = render_review_email(
        review_url=f"{settings.review_base_url}{link.path()}",
        case_id=case_id,
        page_host=urlsplit(record.sighting.page_url).hostname or "",
        match_count=len(record.matches),
        expires_at=iso_utc(datetime.fromtimestamp(expires_at, UTC)),
        centre_name=settings.centre_name,
        templates_dir=settings.templates_dir,
    )
    message = build_message(
        sender=settings.sender,
        to=[reviewer],
        subject=subject,
        text=text,
        html=html,
        sender_name=settings.centre_name,
    )
    message_id = send_message(message, configuration_set=settings.configuration_set)

    def awaiting(current: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        return current.advance(
            CaseStatus.AWAITING_REVIEW,
            "request-approval",
            detail={
                "review_id": review_id,
                "reviewer": reviewer,
                "expires_at": expires_at,
                "email_id": message_id,
            },
            review_id=review_id,
        )

    cases.update(case_id, awaiting)
    metrics.add_metric(name="ReviewsRequested", unit="Count", value=1)
    return {"case_id": case_id, "review_id": review_id}


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return request_approval(Settings.from_env(), event)
