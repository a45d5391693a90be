"""States ``CloseNoMatch``, ``CloseRejected``, ``CloseExpired``, ``CloseFailed``: record how the case ended.

For a follow-up notice (``FollowUp.pending``) the case does not end: the notice version is recorded as declined,
expired or failed, the case goes back to ``MONITORING`` and its next re-check is scheduled; the escalation ladder
then passes a rung whose notice was not sent.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from takedown.aws.case_store import CaseStore
from takedown.aws.transient import raise_transient_as_retryable
from takedown.cases.follow_up import NoticeState
from takedown.config import Settings
from takedown.model import CaseStatus, parse_iso_utc, utc_now
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from takedown.cases.record import CaseRecord
    from takedown.model import CaseEvent

_OUTCOMES = {
    "NO_MATCH": CaseStatus.NO_MATCH,
    "REJECTED": CaseStatus.REJECTED,
    "EXPIRED": CaseStatus.EXPIRED,
    "FAILED": CaseStatus.FAILED,
}
# How a follow-up notice that was not sent is recorded.
_NOT_SENT = {"REJECTED": NoticeState.DECLINED, "EXPIRED": NoticeState.EXPIRED, "FAILED": NoticeState.FAILED}


def _error_summary(error: Any) -> dict[str, str]:
    """Step Functions' error object, reduced to its type and a bounded message."""
    if not isinstance(error, dict):
        return {}
    cause = str(error.get("Cause", ""))
    try:
        parsed = json.loads(cause)
        cause = str(parsed.get("errorMessage", cause)) if isinstance(parsed, dict) else cause
    except ValueError:
        pass
    return {"error": str(error.get("Error", ""))[:200], "cause": cause[:1000]}


def close_case(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    case_id, outcome = event["case_id"], event["outcome"]
    status = _OUTCOMES.get(outcome)
    if status is None:
        raise ValueError(f"unknown outcome {outcome!r}")

    def closed(record: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        detail = {"outcome": outcome, **_error_summary(event.get("error"))}
        pending = record.follow_up.pending if record.follow_up else None
        if record.follow_up is not None and pending is not None and outcome in _NOT_SENT:
            now = utc_now()
            start = max(now, parse_iso_utc(pending.requested_at))
            return record.advance(
                CaseStatus.MONITORING,
                "close-follow-up",
                now=now,
                detail={**detail, "version": pending.version},
                follow_up=record.follow_up.with_not_sent(
                    pending.version,
                    _NOT_SENT[outcome],
                    f"{outcome.lower()} {detail.get('error', '')}".strip(),
                    next_check_at=start + timedelta(hours=settings.recheck_interval_hours),
                ),
            )
        return record.advance(status, "close", detail=detail)

    record = CaseStore(settings.cases_table).update(case_id, closed)
    if record.status is CaseStatus.MONITORING:
        metrics.add_metric(name=f"FollowUps{outcome.title()}", unit="Count", value=1)
        return {"case_id": case_id, "outcome": outcome, "follow_up": True}
    metrics.add_metric(name=f"Cases{outcome.title().replace('_', '')}", unit="Count", value=1)
    return {"case_id": case_id, "outcome": outcome}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@raise_transient_as_retryable
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return close_case(Settings.from_env(), event)
