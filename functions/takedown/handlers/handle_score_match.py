"""State ``Score``: confirm the hashing function's candidate against the bank as it is now.

Each match names the bank item it hit; an item disabled since the media was hashed no longer counts, and with no
match left the case closes as ``NO_MATCH``. A match is evidence for a human, and stale evidence is none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from takedown.aws.case_store import CaseStore
from takedown.config import Settings
from takedown.handlers.handle_hash_media import BANK_INDEX
from takedown.model import CaseStatus, MatchEvidence
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from takedown.cases.record import CaseRecord
    from takedown.model import CaseEvent


def closeness(match: MatchEvidence) -> float:
    """1 for identical, falling to 0 at the threshold: shown beside the raw distance."""
    return max(0.0, 1 - match.distance / (match.threshold + 1))


def score_candidate(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    case_id = event["case_id"]
    index = BANK_INDEX.get(settings.evidence_bucket, settings.bank_table)
    offered = [MatchEvidence.from_dict(m) for m in event.get("matches", [])]
    matches = [m for m in offered if index.has_item(m.bank_item_id)]
    score = max((closeness(m) for m in matches), default=0.0)

    def confirm(record: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        detail: dict[str, Any] = {
            "score": round(score, 3),
            "matches": len(matches),
            "kind": event.get("kind", ""),
        }
        if matches:
            detail |= {"best_distance": matches[0].distance, "rule": matches[0].rule}
        if len(matches) < len(offered):
            detail["dropped"] = sorted({m.bank_item_id for m in offered} - {m.bank_item_id for m in matches})
        status = CaseStatus.MATCHED if matches else CaseStatus.NO_MATCH
        return record.advance(status, "score", detail=detail, matches=matches)

    CaseStore(settings.cases_table).update(case_id, confirm)
    metrics.add_metric(name="MatchesConfirmed" if matches else "MatchesDropped", unit="Count", value=1)
    return {"case_id": case_id, "candidate": bool(matches), "score": round(score, 3)}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return score_candidate(Settings.from_env(), event)
