"""State ``Score``: confirm the hashing function's candidate against the bank as it is now.

A bank item disabled since the media was hashed, or a distance over that item's threshold, turns the candidate
into ``NO_MATCH``: a match is evidence for a human, and stale evidence is none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from takedown.aws.bank_store import BankStore
from takedown.aws.case_store import CaseStore
from takedown.config import Settings
from takedown.hashing.bank_match import match_against_bank
from takedown.model import CaseStatus
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from takedown.cases.record import CaseRecord
    from takedown.model import CaseEvent


def score_candidate(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    case_id = event["case_id"]
    matches = match_against_bank(
        str(event["phash"]),
        "phash",
        BankStore(settings.bank_table).items(),
        max_distance=settings.phash_max_distance,
    )
    # Closeness in [0, 1]: 1 is identical, 0 is at the threshold. Shown to the reviewer beside the raw distance.
    score = max((1 - m.distance / (m.threshold + 1) for m in matches), default=0.0)

    def confirm(record: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        status = CaseStatus.MATCHED if matches else CaseStatus.NO_MATCH
        return record.advance(
            status,
            "score",
            detail={"score": round(score, 3), "matches": len(matches), "best_distance": matches[0].distance}
            if matches
            else {"score": 0.0, "matches": 0},
            matches=matches,
        )

    CaseStore(settings.cases_table).update(case_id, confirm)
    metrics.add_metric(name="MatchesConfirmed" if matches else "MatchesDropped", unit="Count", value=1)
    return {"case_id": case_id, "candidate": bool(matches), "score": round(score, 3)}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return score_candidate(Settings.from_env(), event)
