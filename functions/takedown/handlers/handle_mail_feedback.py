"""``MailFeedbackFunction``: SES bounces, complaints, deliveries, rejections and delays, recorded on their case.

Subscribed to the configuration set's event topic (SNS). Each SNS record carries one SES event; its message tags
name the case and the notice version (``takedown.notices.mail_feedback``). Per recipient the case gets a
``DELIVERY#`` item (so a hard-bounced or complaining address is never used again: see
``CaseStore.undeliverable_addresses``) and an audit event, written together and once only (SNS may deliver
twice).

An event about a message that is not a notice (untagged: a review request, a reminder) is ignored, with a
warning when it is a bounce or a complaint (a reviewer's address may be broken). An event that cannot be recorded
-- not JSON, not an SES event, badly tagged, or naming a case that does not exist -- is logged with its reason
and counted (``MailFeedbackRefused``). Either way the other records of the batch go on. Storage errors are raised, so Lambda retries the invocation (the writes are idempotent) and, after
its retries, hands the event to the dead-letter queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from takedown.aws.case_store import CaseStore
from takedown.config import Settings
from takedown.model import CaseEvent, iso_utc, utc_now
from takedown.notices.mail_feedback import MailFeedbackError, parse_ses_event
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from datetime import datetime

    from aws_lambda_powertools.utilities.typing import LambdaContext

STAGE = "mail-feedback"
# Outcome -> metric name (the dashboard's bounce rate is NoticeBounced / NoticesSent).
OUTCOME_METRICS = {
    "hard-bounce": "NoticeBounced",
    "soft-bounce": "NoticeSoftBounced",
    "complaint": "NoticeComplained",
    "delivered": "NoticeDelivered",
    "rejected": "NoticeRejected",
    "delayed": "NoticeDelayed",
}
REFUSED_METRIC = "MailFeedbackRefused"
# Mail the configuration set also carries that is not a notice: its bounces and complaints still matter.
_NOT_A_NOTICE = "missing-tags"
_WORTH_A_WARNING = frozenset({"Bounce", "Complaint", "Reject"})


def _refused(reason: str, detail: str, sns_message_id: str) -> dict[str, Any]:
    # No addresses, headers or bodies in logs: the reason, and the SNS id to find the event again.
    logger.warning(
        "mail feedback not recorded",
        extra={"reason": reason, "detail": detail[:300], "sns_message_id": sns_message_id},
    )
    metrics.add_metric(name=REFUSED_METRIC, unit="Count", value=1)
    return {"sns_message_id": sns_message_id, "outcome": "refused", "reason": reason}


def record_one(cases: CaseStore, record: object, now: datetime) -> dict[str, Any]:
    """Record one SNS record's SES event on its case; the result says what happened (never raises on bad input)."""
    sns = record.get("Sns") if isinstance(record, dict) else None
    if not isinstance(sns, dict) or not isinstance(sns.get("Message"), str):
        return _refused("not-an-sns-record", "the record has no Sns.Message string", "")
    sns_message_id = str(sns.get("MessageId", ""))[:100]
    try:
        outcomes = parse_ses_event(sns["Message"])
    except MailFeedbackError as error:
        if error.reason == _NOT_A_NOTICE:
            log = logger.warning if error.kind in _WORTH_A_WARNING else logger.info
            log("mail event for a message that is not a notice", extra={"kind": error.kind})
            return {"sns_message_id": sns_message_id, "outcome": "ignored", "reason": error.reason}
        return _refused(error.reason, str(error), sns_message_id)
    case_id = outcomes[0].case_id
    case = cases.get(case_id)
    if case is None:
        return _refused(
            "unknown-case", f"the tags name case {case_id!r}, which does not exist", sns_message_id
        )
    recorded = 0
    for outcome in outcomes:
        event = CaseEvent(
            at=iso_utc(now), stage=STAGE, status=case.status.value, detail=outcome.audit_detail()
        )
        if cases.record_delivery(outcome, event):
            recorded += 1
            metrics.add_metric(
                name=OUTCOME_METRICS.get(outcome.outcome, "NoticeFeedback"), unit="Count", value=1
            )
    logger.info(
        "mail feedback recorded",
        extra={
            "case_id": case_id,
            "kind": outcomes[0].kind,
            "outcome": outcomes[0].outcome,
            "recorded": recorded,
            "duplicates": len(outcomes) - recorded,
        },
    )
    return {
        "sns_message_id": sns_message_id,
        "outcome": "recorded",
        "case_id": case_id,
        "kind": outcomes[0].kind,
        "recorded": recorded,
        "duplicates": len(outcomes) - recorded,
    }


def record_mail_feedback(
    settings: Settings, event: dict[str, Any], *, now: datetime | None = None
) -> dict[str, Any]:
    """Record every SES event of an SNS invocation; ``now`` is the time written on the timeline."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        return {"results": [_refused("not-an-sns-event", "the event has no Records list", "")]}
    cases = CaseStore(settings.cases_table)
    at = now or utc_now()
    return {"results": [record_one(cases, record, at) for record in records]}


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return record_mail_feedback(Settings.from_env(), event)
