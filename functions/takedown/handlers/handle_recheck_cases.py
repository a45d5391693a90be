"""Scheduled function ``RecheckCasesFunction``: look again at every notified case that is due, and act on it.

EventBridge wakes it (``rate(1 hour)``). It reads the cases due now from the re-check index (never a table scan),
and for each one:

1. re-fetches the page and the media URL with the crawl's ``SafeFetcher`` for the case's source (its proxy, its
   private-address setting and, for a members-only source, its ``secret_ref`` headers and cookies, sent to its
   own hosts only) and decides removed / present / unknown (:mod:`takedown.cases.recheck`); a source secret that
   cannot be read makes the check ``unknown`` (reason ``secret:...``) without fetching anything;
2. records the check on the case and its timeline;
3. two consecutive removed checks close the case as ``REMOVED`` (the removal time is the first of them);
4. present: the escalation ladder (:mod:`takedown.cases.escalation`) says wait, remind the same recipients,
   notify the next rung, or give up; a notice to send becomes the case's next notice version, started as the
   execution ``case-<id>-v<n>`` of the case workflow, which drafts, reviews (unless the deployment's policy lets a
   reminder skip review) and sends it; an exhausted ladder moves the case to ``LADDER_EXHAUSTED`` and emails the
   officer in charge. The case is still re-checked after that, so its removal is seen and measured.

Time comes from the event's ``now`` (ISO 8601 UTC) when given, for tests and manual runs; otherwise the clock.
One case that fails is logged and left due for the next run; it does not stop the others.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from takedown.aws.case_store import CaseStore, StaleCaseError
from takedown.aws.mailer import build_message, send_message
from takedown.aws.recheck_queue import RecheckQueue
from takedown.aws.source_secrets import SourceSecrets
from takedown.aws.workflow import start_case_execution
from takedown.cases.escalation import EscalationPolicy, StepKind, build_ladder, next_step
from takedown.cases.follow_up import (
    START_GIVE_UP_AFTER,
    START_RETRY_DELAY,
    Approval,
    CheckRecord,
    NoticeState,
    NoticeVersion,
    Verdict,
    elapsed,
)
from takedown.cases.officer_alert import render_ladder_exhausted_email
from takedown.cases.recheck import RecheckDecision, decide
from takedown.cases.recheck_observe import compare_media, observe_media, observe_page
from takedown.cases.record import execution_name_for
from takedown.config import Settings
from takedown.crawl.crawl_step import fetcher_for_source
from takedown.crawl.fetch import SafeFetcher
from takedown.crawl.source_credentials import SourceSecretError
from takedown.handlers.deployed_sources import sources_by_id
from takedown.handlers.handle_hash_media import BANK_INDEX
from takedown.model import CaseEvent, CaseStatus, iso_utc, parse_iso_utc, utc_now
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.typing import LambdaContext

    from takedown.cases.escalation import NextStep
    from takedown.cases.follow_up import FollowUp
    from takedown.cases.recheck import MediaState
    from takedown.cases.record import CaseRecord
    from takedown.crawl.sources import Source

MAX_CASES_PER_RUN: Final = 500
FETCH_DEADLINE_SECONDS: Final = 20.0
# A case fetches two URLs, each within the deadline: stop taking new cases when less than that (and a margin for
# hashing and saving) is left of the invocation.
RESERVE_MILLIS: Final = int(2 * FETCH_DEADLINE_SECONDS * 1000) + 5_000

# Members-only sources' credentials, kept by a warm container for a few minutes (re-read after that, so a
# rotated secret takes effect).
_SOURCE_SECRETS = SourceSecrets()


def forget_warm_state() -> None:
    """Forget what a warm container keeps (the sources' secrets): a cold start."""
    _SOURCE_SECRETS.clear()


class RecheckEventError(ValueError):
    """The event's ``now`` is not an ISO 8601 time with a UTC offset."""


def check_time(event: dict[str, Any]) -> datetime:
    """The time of this run: the event's ``now`` if given, else the clock."""
    given = event.get("now")
    if given is None:
        return utc_now()
    try:
        return parse_iso_utc(str(given))
    except ValueError as error:
        raise RecheckEventError(f"event 'now' is not an ISO 8601 UTC time: {str(given)[:60]!r}") from error


def escalation_policy(settings: Settings) -> EscalationPolicy:
    return EscalationPolicy(
        follow_up_interval=timedelta(hours=settings.follow_up_interval_hours),
        escalate_after_intervals=settings.escalate_after_intervals,
        follow_up_policy=settings.follow_up_policy,
    )


def recheck_due_cases(
    settings: Settings, event: dict[str, Any], *, remaining_millis: Callable[[], int] | None = None
) -> dict[str, Any]:
    """Re-check every case due at the event's time (at most :data:`MAX_CASES_PER_RUN`)."""
    now = check_time(event)
    due = list(RecheckQueue(settings.cases_table).due_case_ids(iso_utc(now), limit=MAX_CASES_PER_RUN))
    results: list[dict[str, Any]] = []
    for case_id in due:
        if remaining_millis is not None and remaining_millis() < RESERVE_MILLIS:
            logger.info(
                "time is short: leaving the rest for the next run", extra={"left": len(due) - len(results)}
            )
            break
        try:
            results.append(recheck_case(settings, case_id, now))
        except StaleCaseError:
            # Someone else (a review, a send) saved the case meanwhile: it is looked at again in the next run.
            results.append({"case_id": case_id, "outcome": "changed-meanwhile"})
        except Exception as error:
            logger.exception("re-check failed; the case stays due", extra={"case_id": case_id})
            metrics.add_metric(name="RecheckErrors", unit="Count", value=1)
            results.append({"case_id": case_id, "outcome": "error", "error": type(error).__name__})
    metrics.add_metric(name="CasesRechecked", unit="Count", value=len(results))
    return {"now": iso_utc(now), "due": len(due), "results": results}


def recheck_case(settings: Settings, case_id: str, now: datetime) -> dict[str, Any]:
    """Check one case and act on what the check found."""
    cases = CaseStore(settings.cases_table)
    record = cases.require(case_id)
    follow_up = record.follow_up
    due_at = record.recheck_due_at
    if follow_up is None or not due_at or parse_iso_utc(due_at) > now:
        return {"case_id": case_id, "outcome": "not-due"}
    if follow_up.pending is not None:
        return _restart_or_give_up(settings, cases, record, follow_up.pending, now)
    decision, page_status, media_status = look_again(settings, record)
    check = CheckRecord(
        at=iso_utc(now),
        verdict=decision.verdict,
        reason=decision.reason,
        page_status=page_status,
        media_status=media_status,
    )
    checked = follow_up.with_check(check)
    detail: dict[str, Any] = {**check.to_dict(), "consecutive_removed": checked.consecutive_removed}
    metrics.add_metric(name=f"Recheck{check.verdict.value.title()}", unit="Count", value=1)
    if checked.removal_confirmed:
        return _close_removed(cases, record, checked, detail, now)
    if check.verdict is not Verdict.PRESENT or record.status is CaseStatus.LADDER_EXHAUSTED:
        next_check = now + timedelta(hours=settings.recheck_interval_hours)
        saved = _save_check(cases, record, checked.scheduled(next_check), detail, now)
        if saved.status is CaseStatus.LADDER_EXHAUSTED and not checked.officer_notified_at:
            _notify_officer(settings, cases, saved, now)
        return {"case_id": case_id, "outcome": check.verdict.value}
    return _escalate(settings, cases, record, checked, detail=detail, now=now)


def _escalate(
    settings: Settings,
    cases: CaseStore,
    record: CaseRecord,
    checked: FollowUp,
    *,
    detail: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """The content is still up: wait, remind, notify the next rung, or give up (the ladder decides)."""
    case_id = record.case_id
    next_check = now + timedelta(hours=settings.recheck_interval_hours)
    step = next_step(
        checked,
        build_ladder(checked.first_notice.recipients, record.recipients),
        escalation_policy(settings),
        now=now,
        undeliverable=cases.undeliverable_addresses(case_id),
    )
    detail["step"] = {"kind": step.kind.value, "reason": step.reason, "rung": step.rung}
    if step.kind is StepKind.WAIT:
        _save_check(cases, record, checked.scheduled(next_check), detail, now)
        return {"case_id": case_id, "outcome": "present", "step": step.kind.value}
    if step.kind is StepKind.EXHAUSTED:
        exhausted, event = record.advance(
            CaseStatus.LADDER_EXHAUSTED,
            "escalation",
            now=now,
            detail=detail,
            follow_up=checked.with_exhausted(now=now, next_check_at=next_check),
        )
        cases.save(exhausted, event)
        metrics.add_metric(name="LaddersExhausted", unit="Count", value=1)
        _notify_officer(settings, cases, exhausted, now)
        return {"case_id": case_id, "outcome": "present", "step": step.kind.value}
    return _request_notice(settings, cases, record, checked, step=step, detail=detail, now=now)


def look_again(settings: Settings, record: CaseRecord) -> tuple[RecheckDecision, int, int]:
    """Fetch the page and the media URL now; the decision and the HTTP statuses seen (0: no response).

    A members-only source's page and media are fetched with its credentials. When its secret cannot be used
    (missing, malformed), nothing is fetched and the check is ``unknown`` with the secret's reason code: without
    the credentials the site answers 401/403, which says nothing about removal.

    Raises
    ------
    botocore.exceptions.ClientError
        For a Secrets Manager error other than a missing secret (access denied, throttling): the case fails
        this run and stays due.
    """
    sighting = record.sighting
    source = sources_by_id(settings.sources_file).get(sighting.source_id)
    try:
        credentials = _credential_headers(source)
    except SourceSecretError as error:
        # The message names the secret and what is wrong with it, never a value.
        logger.warning(
            "the source's secret cannot be used: the case is not re-checked without its credentials",
            extra={
                "case_id": record.case_id,
                "source_id": sighting.source_id,
                "reason": error.reason,
                "error": error.message,
            },
        )
        metrics.add_metric(name="RecheckSecretErrors", unit="Count", value=1)
        not_fetched = f"{error.reason} (not fetched without the source's credentials)"
        return RecheckDecision(Verdict.UNKNOWN, not_fetched), 0, 0
    fetcher = (
        fetcher_for_source(
            source,
            max_bytes=settings.max_media_bytes,
            deadline_seconds=FETCH_DEADLINE_SECONDS,
            credential_headers=credentials,
        )
        if source
        # A source no longer configured gets the default policy: public addresses only, no proxy, no credentials.
        else SafeFetcher(max_bytes=settings.max_media_bytes, deadline_seconds=FETCH_DEADLINE_SECONDS)
    )

    def compare(data: bytes, media_type: str) -> MediaState:
        index = BANK_INDEX.get(settings.evidence_bucket, settings.bank_table)
        return compare_media(data, media_type, sighting=sighting, case_matches=record.matches, index=index)

    page = observe_page(fetcher, sighting)
    media = observe_media(fetcher, sighting, compare)
    return decide(page, media), page.status, media.status


def _credential_headers(source: Source | None) -> dict[str, str]:
    """The request headers of a members-only source's secret (the fetcher sends them to its hosts only); none
    for a public source.

    Raises
    ------
    takedown.crawl.source_credentials.SourceSecretError
        When the secret is missing or malformed.
    """
    if source is None or not source.secret_ref:
        return {}
    return _SOURCE_SECRETS.credentials(source.secret_ref).request_headers()


def _save_check(
    cases: CaseStore, record: CaseRecord, follow_up: FollowUp, detail: dict[str, Any], now: datetime
) -> CaseRecord:
    saved, event = record.advance(record.status, "recheck", now=now, detail=detail, follow_up=follow_up)
    cases.save(saved, event)
    return saved


def _close_removed(
    cases: CaseStore, record: CaseRecord, checked: FollowUp, detail: dict[str, Any], now: datetime
) -> dict[str, Any]:
    # The content was gone from the first of the removed checks: that is the removal time the metrics use.
    removed, event = record.advance(
        CaseStatus.REMOVED,
        "recheck",
        now=now,
        detail={**detail, "removed_since": checked.first_removed_at},
        follow_up=checked.scheduled(None),
        milestones={**record.milestones, CaseStatus.REMOVED.value: checked.first_removed_at},
    )
    # (CasesRemoved is counted where every transition is: takedown.aws.case_metrics)
    cases.save(removed, event)
    logger.info("removal confirmed", extra={"case_id": record.case_id})
    return {"case_id": record.case_id, "outcome": "removed", "closed": True}


def _request_notice(
    settings: Settings,
    cases: CaseStore,
    record: CaseRecord,
    checked: FollowUp,
    *,
    step: NextStep,
    detail: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    notice = NoticeVersion(
        version=checked.next_version,
        recipients=step.recipients,
        rung=step.rung,
        state=NoticeState.REQUESTED,
        approval=Approval.REVIEWER if step.needs_review else Approval.POLICY,
        requested_at=iso_utc(now),
        reason=step.reason,
    )
    detail["notice"] = {
        "version": notice.version,
        "recipients": [{"address": r.address, "role": r.role} for r in notice.recipients],
        "review": step.needs_review,
    }
    requested, event = record.advance(
        record.status,
        "recheck",
        now=now,
        detail=detail,
        follow_up=checked.with_request(notice, now=now),
    )
    cases.save(requested, event)
    started = _start_notice(settings, record.case_id, notice)
    metrics.add_metric(
        name="FollowUpsRequested" if step.kind is StepKind.FOLLOW_UP else "EscalationsRequested",
        unit="Count",
        value=1,
    )
    return {
        "case_id": record.case_id,
        "outcome": "present",
        "step": step.kind.value,
        "version": notice.version,
        "started": started,
    }


def _start_notice(settings: Settings, case_id: str, notice: NoticeVersion) -> bool:
    """Start the execution of a follow-up notice; False when it already exists (a retried start)."""
    return start_case_execution(
        settings.state_machine_arn,
        execution_name_for(case_id, notice.version),
        {
            "case_id": case_id,
            "follow_up": {"version": notice.version, "policy_approved": notice.approval is Approval.POLICY},
        },
    )


def _restart_or_give_up(
    settings: Settings, cases: CaseStore, record: CaseRecord, pending: NoticeVersion, now: datetime
) -> dict[str, Any]:
    """A requested notice whose execution never moved the case on: start it again, or give it up."""
    follow_up = record.follow_up
    if follow_up is None:
        raise ValueError(f"case {record.case_id} has no follow-up record")
    if elapsed(pending.requested_at, now) > START_GIVE_UP_AFTER:
        failed, event = record.advance(
            CaseStatus.MONITORING,
            "follow-up-start",
            now=now,
            detail={"version": pending.version, "outcome": "given up: its execution did not start"},
            follow_up=follow_up.with_not_sent(
                pending.version, NoticeState.FAILED, "its execution did not start", next_check_at=now
            ),
        )
        cases.save(failed, event)
        return {"case_id": record.case_id, "outcome": "start-given-up", "version": pending.version}
    started = _start_notice(settings, record.case_id, pending)
    retried, event = record.advance(
        record.status,
        "follow-up-start",
        now=now,
        detail={"version": pending.version, "outcome": "started again" if started else "already started"},
        follow_up=follow_up.scheduled(now + START_RETRY_DELAY),
    )
    cases.save(retried, event)
    return {"case_id": record.case_id, "outcome": "start-retried", "version": pending.version}


def _notify_officer(settings: Settings, cases: CaseStore, record: CaseRecord, now: datetime) -> None:
    """Email the officer in charge about an exhausted ladder, once; a failure is recorded and retried at the next
    check (the case is still re-checked)."""
    officer = settings.officer_in_charge or (settings.reviewers[0] if settings.reviewers else "")
    if not officer:
        logger.error("no officer in charge configured", extra={"case_id": record.case_id})
        cases.append_event(record.case_id, _officer_event(record, now, {"error": "no officer configured"}))
        return
    subject, text, html = render_ladder_exhausted_email(
        record,
        centre_name=settings.centre_name,
        recheck_interval_hours=settings.recheck_interval_hours,
        templates_dir=settings.templates_dir,
    )
    message = build_message(
        sender=settings.sender,
        to=[officer],
        subject=subject,
        text=text,
        html=html,
        sender_name=settings.centre_name,
    )
    message_id = send_message(message, configuration_set=settings.configuration_set)

    def notified(current: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        if current.follow_up is None:
            raise ValueError(f"case {current.case_id} has no follow-up record")
        return current.advance(
            current.status,
            "officer-notified",
            now=now,
            detail={"officer": officer, "email_id": message_id},
            follow_up=current.follow_up.with_officer_notified(now=now),
        )

    cases.update(record.case_id, notified)
    logger.info("officer told of an exhausted ladder", extra={"case_id": record.case_id})


def _officer_event(record: CaseRecord, now: datetime, detail: dict[str, Any]) -> CaseEvent:
    return CaseEvent(at=iso_utc(now), stage="officer-notified", status=record.status.value, detail=detail)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return recheck_due_cases(
        Settings.from_env(), event, remaining_millis=context.get_remaining_time_in_millis
    )
