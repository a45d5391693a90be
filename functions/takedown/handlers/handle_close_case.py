"""States ``CloseNoMatch``, ``CloseRejected``, ``CloseExpired``, ``CloseFailed``: record how the case ended."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from takedown.aws.case_store import CaseStore
from takedown.config import Settings
from takedown.model import CaseStatus
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
        return record.advance(
            status, "close", detail={"outcome": outcome, **_error_summary(event.get("error"))}
        )

    CaseStore(settings.cases_table).update(case_id, closed)
    metrics.add_metric(name=f"Cases{outcome.title().replace('_', '')}", unit="Count", value=1)
    return {"case_id": case_id, "outcome": outcome}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return close_case(Settings.from_env(), event)
