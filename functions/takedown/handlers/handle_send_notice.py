"""State ``SendNotice``: send exactly the approved drafts to the chosen recipient through SES.

The notice carries each chosen locale in turn (the operator's language first, then English), never the media and
never an attachment. A ledger claim per (case, recipient, version) makes a retried step send nothing twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from takedown.aws.case_store import CaseStore
from takedown.aws.mailer import build_message, send_message
from takedown.aws.send_ledger import SendLedger
from takedown.config import Settings
from takedown.model import CaseStatus, NoticeDraft, iso_utc, utc_now
from takedown.notices.rendering import header_safe
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from takedown.cases.record import CaseRecord
    from takedown.model import CaseEvent

NOTICE_VERSION = 1
_SEPARATOR = "\n\n" + "-" * 60 + "\n\n"


class NotApproved(RuntimeError):
    """The case is not approved: nothing is sent."""


def compose_notice(drafts: list[NoticeDraft]) -> tuple[str, str, str]:
    """Subject of the first draft; text and HTML bodies of all drafts, in order."""
    if not drafts:
        raise ValueError("no drafts to send")
    text = _SEPARATOR.join(d.body_text for d in drafts)
    html = '<hr style="margin:32px 0">'.join(d.body_html for d in drafts)
    return header_safe(drafts[0].subject), text, html


def send_case_notice(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    case_id = event["case_id"]
    cases = CaseStore(settings.cases_table)
    record = cases.require(case_id)
    if record.status is CaseStatus.SENT:
        return {"case_id": case_id, "sent": 0, "already_sent": True}
    if (
        record.status is not CaseStatus.APPROVED
        or record.decision is None
        or record.decision.decision != "APPROVED"
    ):
        raise NotApproved(f"case {case_id} is {record.status.value}, not approved")
    if not record.recipients:
        cases.update(
            case_id,
            lambda r: r.advance(
                CaseStatus.SEND_FAILED, "send-notice", detail={"error": "no recipient address"}
            ),
        )
        return {"case_id": case_id, "sent": 0}
    by_locale = {d.locale: d for d in cases.drafts(case_id)}
    subject, text, html = compose_notice([by_locale[loc] for loc in record.locales if loc in by_locale])
    recipient = record.recipients[0].address
    ledger = SendLedger(settings.cases_table)
    if not ledger.claim(case_id, recipient, NOTICE_VERSION, iso_utc(utc_now())):
        logger.warning("notice already claimed; not sending again", extra={"case_id": case_id})
        return {"case_id": case_id, "sent": 0, "already_sent": True}
    message = build_message(
        sender=settings.sender,
        to=[recipient],
        subject=subject,
        text=text,
        html=html,
        reply_to=settings.reply_to,
        sender_name=settings.centre_name,
    )
    try:
        message_id = send_message(message, configuration_set=settings.configuration_set)
    except ClientError:
        ledger.release(case_id, recipient, NOTICE_VERSION)
        raise
    ledger.confirm(case_id, recipient, NOTICE_VERSION, message_id)

    def sent(current: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        return current.advance(
            CaseStatus.SENT,
            "send-notice",
            detail={"recipient": recipient, "message_id": message_id, "locales": current.locales},
            sent_message_ids=[*current.sent_message_ids, message_id],
        )

    cases.update(case_id, sent)
    metrics.add_metric(name="NoticesSent", unit="Count", value=1)
    logger.info("notice sent", extra={"case_id": case_id, "message_id": message_id})
    return {"case_id": case_id, "sent": 1, "message_id": message_id}


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return send_case_notice(Settings.from_env(), event)
