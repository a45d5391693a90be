"""State ``SendNotice``: send exactly the approved drafts to the notice's recipients through SES.

Each recipient gets its own message: in every locale, its addressing block (stored when the drafts were rendered,
shown to the reviewer beside the recipient) before the approved body. The message is composed only from that
stored data and kept on the case (``MESSAGE#v<n>#<recipient>``) before it is sent.

The notice carries each chosen locale in turn (the operator's language first, then English), never the media and
never an attachment. A ledger claim per (case, recipient, notice version) makes a retried step send nothing twice.

Once SES accepted a message, the notice is recorded SENT with its message id: the ledger confirmation and the case
update are each retried with backoff inside the step (``retry_transient``), and a confirmation that still fails
does not stop the case update. If the case update still fails, the step fails with ``TransientAwsError`` and the
state machine runs it again: the ledger then holds the message id, and the step records SENT without sending. A
claim with no message id (SES was called and its answer was lost) is never resent: the step fails with
:class:`SendOutcomeUnknown` and the case says so.

Which notice: version 1 (the first notice, to every recipient the reviewer chose: one message each) or the
follow-up version in flight (``FollowUp.pending``, to its recipients). A recipient reachable only through a web
form is never mailed: the reviewer submits the notice there by hand and records it on the review page. A notice
with no e-mail recipient counts as sent only when the reviewer recorded such a submission; otherwise nothing goes
to SES and the case says why.

A follow-up that skipped review under the deployment's ``follow_up_policy`` is approved here, by the policy, only
after checking again that a reviewer approved a notice to each of its recipients; it is recorded as such on the
timeline. After sending, the case is re-checked on the deployment's schedule.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from takedown.aws.addressing_store import AddressingStore
from takedown.aws.case_store import CaseStore
from takedown.aws.mailer import build_message, send_message
from takedown.aws.notice_archive import NoticeArchive
from takedown.aws.send_ledger import SendLedger
from takedown.aws.transient import raise_transient_as_retryable, retry_transient
from takedown.cases.contact_forms import form_only_recipients, submitted_forms
from takedown.cases.escalation import EscalationPolicy, policy_allows
from takedown.cases.follow_up import Approval, FollowUp, NoticeState, NoticeVersion
from takedown.config import Settings
from takedown.model import CaseStatus, ReviewDecision, iso_utc, parse_iso_utc, utc_now
from takedown.notices.addressing import AddressedNotice, compose_notice
from takedown.notices.mail_feedback import notice_tags
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from datetime import datetime

    from aws_lambda_powertools.utilities.typing import LambdaContext

    from takedown.cases.record import CaseRecord
    from takedown.model import CaseEvent, Recipient

FIRST_NOTICE_VERSION = 1
POLICY_REVIEWER = "policy:auto-same-recipient"


class NotApproved(RuntimeError):
    """The case is not approved: nothing is sent."""


class SendOutcomeUnknown(RuntimeError):
    """SES was asked to send a notice and its answer was never recorded: the message may have gone out.

    Raised instead of sending again; the case closes FAILED with this reason, for a person to check SES's sending
    events (the configuration set's) before anything is resent.
    """


@dataclass(frozen=True)
class SendOutcome:
    """What a send step achieved: (address, message id) per message SES accepted, now or on an earlier try of the
    step, and the addresses claimed by an earlier try whose outcome was never recorded."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class NoticeRecipients:
    """Who one notice version goes to.

    ``emailed`` get one SES message each; ``forms`` are form-only recipients the reviewer recorded submitting the
    notice to by hand; ``forms_not_submitted`` are the form-only recipients with no such record.
    """

    version: int
    emailed: list[Recipient] = field(default_factory=list)
    forms: list[Recipient] = field(default_factory=list)
    forms_not_submitted: list[Recipient] = field(default_factory=list)

    @property
    def reached(self) -> list[Recipient]:
        """The recipients the notice counts as delivered to (what the follow-up quotes and reminds)."""
        return self.emailed or self.forms


def notice_recipients(cases: CaseStore, record: CaseRecord) -> NoticeRecipients:
    """The notice version to send, its e-mail recipients and its contact forms.

    A follow-up in flight goes to its own recipients; the first notice to every e-mail recipient the reviewer chose
    (:meth:`CaseStore.approved_recipients`). Form-only recipients (no address) are never mailed; a form counts when
    the reviewer recorded submitting it (for a follow-up: since the follow-up was requested).
    """
    pending = record.follow_up.pending if record.follow_up else None
    if pending is not None:
        version, candidates, since = pending.version, pending.recipients, pending.requested_at
        emailed = [r for r in pending.recipients if r.address]
    else:
        version, candidates, since = FIRST_NOTICE_VERSION, record.recipients, ""
        emailed = cases.approved_recipients(record)
    forms = form_only_recipients(candidates)
    submitted = submitted_forms(forms, cases.events(record.case_id), since=since) if forms else []
    return NoticeRecipients(
        version=version,
        emailed=emailed,
        forms=submitted,
        forms_not_submitted=[r for r in forms if r not in submitted],
    )


def _escalation_policy(settings: Settings) -> EscalationPolicy:
    return EscalationPolicy(
        follow_up_interval=timedelta(hours=settings.follow_up_interval_hours),
        escalate_after_intervals=settings.escalate_after_intervals,
        follow_up_policy=settings.follow_up_policy,
    )


def approve_by_policy(settings: Settings, cases: CaseStore, record: CaseRecord) -> CaseRecord:
    """Approve a drafted follow-up that the re-check sent without review, if the policy still allows it."""
    follow_up = record.follow_up
    pending = follow_up.pending if follow_up else None
    if follow_up is None or pending is None or pending.approval is not Approval.POLICY:
        raise NotApproved(f"case {record.case_id} is {record.status.value}, not approved")
    if not policy_allows(follow_up, pending.recipients, _escalation_policy(settings)):
        raise NotApproved(
            f"case {record.case_id}: follow-up v{pending.version} goes to a recipient no reviewer approved, or the "
            "deployment's follow_up_policy no longer allows unreviewed follow-ups"
        )

    def approved(current: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        now = utc_now()
        return current.advance(
            CaseStatus.APPROVED,
            "policy-approval",
            now=now,
            detail={"version": pending.version, "policy": settings.follow_up_policy},
            decision=ReviewDecision(
                decision="APPROVED",
                reviewer=POLICY_REVIEWER,
                decided_at=iso_utc(now),
                reason="a reminder to recipients a reviewer approved for this case",
            ),
        )

    return cases.update(record.case_id, approved)


def _send_each(
    settings: Settings, case_id: str, version: int, messages: list[AddressedNotice]
) -> SendOutcome:
    """Send each recipient its message. A recipient claimed by an earlier try of this step is not sent again: its
    message id is read back from the ledger, or, if the ledger has none, it is reported as unconfirmed."""
    ledger = SendLedger(settings.cases_table)
    outcome = SendOutcome()
    for composed in messages:
        address = composed.recipient.address
        if not ledger.claim(case_id, address, version, iso_utc(utc_now())):
            earlier = ledger.message_id(case_id, address, version)
            logger.warning(
                "notice already claimed; not sending again",
                extra={"case_id": case_id, "version": version, "confirmed": bool(earlier)},
            )
            if earlier:
                outcome.sent.append((address, earlier))
            else:
                outcome.unconfirmed.append(address)
            continue
        message = build_message(
            sender=settings.sender,
            to=[address],
            subject=composed.subject,
            text=composed.text,
            html=composed.html,
            reply_to=settings.reply_to,
            sender_name=settings.centre_name,
        )
        try:
            message_id = send_message(
                message, configuration_set=settings.configuration_set, tags=notice_tags(case_id, version)
            )
        except ClientError:
            # SES refused the message: nothing went out, so a later try may send it.
            retry_transient(functools.partial(ledger.release, case_id, address, version))
            raise
        outcome.sent.append((address, message_id))
        _confirm_in_ledger(ledger, case_id, version, address, message_id)
    return outcome


def _confirm_in_ledger(ledger: SendLedger, case_id: str, version: int, address: str, message_id: str) -> None:
    """Write the message id of a message SES accepted to its ledger claim, retrying; never raise.

    The message went out: nothing may now stop the case from recording it. If the ledger stays unwritable, the
    case record (written next, with the message id) is what tells a retried step that the notice was sent.
    """
    try:
        retry_transient(lambda: ledger.confirm(case_id, address, version, message_id))
    except Exception as error:  # any failure: the case update below must still happen
        logger.error(
            "notice sent but its ledger claim could not be confirmed; the case record keeps its message id",
            extra={"case_id": case_id, "version": version, "error": type(error).__name__},
        )


def _next_check(settings: Settings, now: datetime, requested_at: str) -> datetime:
    # The re-check clock runs from when the notice was decided or sent, whichever is later.
    start = max(now, parse_iso_utc(requested_at)) if requested_at else now
    return start + timedelta(hours=settings.recheck_interval_hours)


def _with_notice_sent(
    settings: Settings,
    current: CaseRecord,
    *,
    version: int,
    recipients: list[Recipient],
    message_ids: list[str],
    now: datetime,
) -> FollowUp:
    reviewer = current.decision.reviewer if current.decision else ""
    if current.follow_up is None:
        first = NoticeVersion(
            version=version,
            recipients=list(recipients),
            rung=0,
            state=NoticeState.SENT,
            approval=Approval.REVIEWER,
            requested_at=iso_utc(now),
            sent_at=iso_utc(now),
            message_ids=message_ids,
            approved_by=reviewer,
        )
        return FollowUp.start(first, next_check_at=_next_check(settings, now, ""))
    requested_at = current.follow_up.notice(version).requested_at
    return current.follow_up.with_sent(
        version,
        sent_at=now,
        message_ids=message_ids,
        approved_by=reviewer,
        next_check_at=_next_check(settings, now, requested_at),
    )


def send_case_notice(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    case_id = event["case_id"]
    cases = CaseStore(settings.cases_table)
    record = cases.require(case_id)
    pending = record.follow_up.pending if record.follow_up else None
    if pending is None and record.status is CaseStatus.SENT:
        return {"case_id": case_id, "sent": 0, "already_sent": True}
    if pending is not None and record.status is CaseStatus.DRAFTED:
        record = approve_by_policy(settings, cases, record)
    if (
        record.status is not CaseStatus.APPROVED
        or record.decision is None
        or record.decision.decision != "APPROVED"
    ):
        raise NotApproved(f"case {case_id} is {record.status.value}, not approved")
    chosen = notice_recipients(cases, record)
    if not chosen.reached:
        return _nothing_to_send(settings, cases, record, chosen)
    version = chosen.version
    by_locale = {d.locale: d for d in cases.drafts(case_id)}
    drafts = [by_locale[loc] for loc in record.locales if loc in by_locale]
    blocks = AddressingStore(settings.cases_table).blocks(case_id) if chosen.emailed else []
    messages = [compose_notice(recipient, drafts, blocks) for recipient in chosen.emailed]
    # Kept before SES is asked, so no message goes out that the record does not hold.
    NoticeArchive(settings.cases_table).keep_messages(case_id, version, messages)
    outcome = _send_each(settings, case_id, version, messages) if messages else SendOutcome()
    sent = outcome.sent
    if outcome.unconfirmed and not sent:
        raise SendOutcomeUnknown(
            f"case {case_id}: notice v{version} to {len(outcome.unconfirmed)} recipient(s) was handed to SES by "
            "an earlier try whose outcome was never recorded; it may have gone out, so it is not sent again. "
            "Check SES's sending events for the case before resending."
        )
    message_ids = [message_id for _, message_id in sent]
    forms = [r.contact_form_url for r in chosen.forms]
    # The drafts are rewritten for the next follow-up: keep what this version said.
    NoticeArchive(settings.cases_table).keep(case_id, version, drafts, sent_at=iso_utc(utc_now()))

    def recorded(current: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        now = utc_now()
        detail: dict[str, Any] = {
            "version": version,
            "recipients": [address for address, _ in sent],
            "message_ids": message_ids,
            "locales": current.locales,
        }
        if forms:
            detail["contact_forms"] = forms
        if outcome.unconfirmed:
            # Handed to SES by an earlier try whose answer was lost: maybe sent, never resent.
            detail["unconfirmed_recipients"] = outcome.unconfirmed
        return current.advance(
            CaseStatus.SENT,
            "send-notice",
            now=now,
            detail=detail,
            sent_message_ids=[*current.sent_message_ids, *message_ids],
            follow_up=_with_notice_sent(
                settings,
                current,
                version=version,
                recipients=chosen.reached,
                message_ids=message_ids,
                now=now,
            ),
        )

    # SES accepted: retry the record here; if it still fails, the step fails as TransientAwsError and the state
    # machine's retry finds the message ids in the ledger.
    retry_transient(lambda: cases.update(case_id, recorded))
    metrics.add_metric(name="NoticesSent", unit="Count", value=len(sent))
    if forms:
        metrics.add_metric(name="NoticesSubmittedByForm", unit="Count", value=len(forms))
    if version > FIRST_NOTICE_VERSION:
        metrics.add_metric(name="FollowUpNoticesSent", unit="Count", value=len(sent) + len(forms))
    logger.info(
        "notice sent",
        extra={
            "case_id": case_id,
            "version": version,
            "message_ids": message_ids,
            "contact_forms": len(forms),
        },
    )
    return {
        "case_id": case_id,
        "sent": len(sent),
        "version": version,
        "message_id": message_ids[0] if message_ids else "",
        "contact_forms": len(forms),
    }


def _nothing_to_send(
    settings: Settings, cases: CaseStore, record: CaseRecord, chosen: NoticeRecipients
) -> dict[str, Any]:
    """No e-mail recipient and no recorded form submission: nothing goes to SES, and the case says why.

    A first notice ends SEND_FAILED, with the reason and the forms nobody recorded on its timeline; a follow-up is
    recorded as not sent and the case returns to monitoring, like a follow-up that failed.
    """
    unsubmitted = [r.contact_form_url for r in chosen.forms_not_submitted]
    error = (
        "no e-mail recipient, and no submission of its contact form(s) was recorded by the reviewer"
        if unsubmitted
        else "no recipient address"
    )
    detail: dict[str, Any] = {"version": chosen.version, "error": error}
    if unsubmitted:
        detail["contact_forms_not_submitted"] = unsubmitted
    pending = record.follow_up.pending if record.follow_up else None

    def not_sent(current: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        if pending is None or current.follow_up is None:
            return current.advance(CaseStatus.SEND_FAILED, "send-notice", detail=detail)
        now = utc_now()
        return current.advance(
            CaseStatus.MONITORING,
            "send-notice",
            now=now,
            detail=detail,
            follow_up=current.follow_up.with_not_sent(
                pending.version,
                NoticeState.FAILED,
                error,
                next_check_at=now + timedelta(hours=settings.recheck_interval_hours),
            ),
        )

    cases.update(record.case_id, not_sent)
    metrics.add_metric(name="NoticesNotSent", unit="Count", value=1)
    logger.warning(
        "notice not sent: nobody to send it to",
        extra={"case_id": record.case_id, "version": chosen.version, "forms_not_submitted": len(unsubmitted)},
    )
    return {"case_id": record.case_id, "sent": 0, "version": chosen.version, "error": error}


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@raise_transient_as_retryable
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return send_case_notice(Settings.from_env(), event)
