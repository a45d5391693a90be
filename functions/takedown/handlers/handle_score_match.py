"""State ``Score``: confirm the hashing function's candidate against the bank as it is now.

Each match names the bank item it hit; an item disabled since the media was hashed no longer counts, and with no
match left the case closes as ``NO_MATCH``. A match is evidence for a human, and stale evidence is none.

A confirmed case is filed under its bank groups (the registered originals it matched); other cases of the same
group are re-uploads of the same content, linked both ways with an event on each timeline
(:mod:`takedown.cases.reuploads`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from takedown.aws.case_groups import CaseGroups
from takedown.aws.case_store import CaseStore
from takedown.aws.transient import raise_transient_as_retryable
from takedown.cases.reuploads import describe, group_keys, with_related
from takedown.config import Settings
from takedown.handlers.handle_hash_media import BANK_INDEX
from takedown.model import CaseStatus, MatchEvidence, iso_utc, utc_now
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

    cases = CaseStore(settings.cases_table)
    record = cases.update(case_id, confirm)
    metrics.add_metric(name="MatchesConfirmed" if matches else "MatchesDropped", unit="Count", value=1)
    related = link_reuploads(settings, cases, record) if matches else []
    return {
        "case_id": case_id,
        "candidate": bool(matches),
        "score": round(score, 3),
        "related_cases": len(related),
    }


def link_reuploads(settings: Settings, cases: CaseStore, record: CaseRecord) -> list[str]:
    """File the case under its bank groups and link it both ways to the other cases there; their ids."""
    groups = CaseGroups(settings.cases_table)
    others: set[str] = set()
    for group in group_keys(record.matches):
        groups.file_case(group, record.case_id, page_url=record.sighting.page_url, at=iso_utc(utc_now()))
        others.update(groups.cases_of(group))
    others.discard(record.case_id)
    # A case filed under the group always has matches; an id without a readable case is left alone.
    other_records = [found for other in sorted(others) if (found := cases.get(other)) is not None]
    linked = [other.case_id for other in other_records]
    if not linked:
        return []

    def relate_this(current: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        now = utc_now()
        related = [describe(other, relative_to=current, now=now) for other in other_records]
        return current.advance(
            current.status,
            "reupload",
            now=now,
            detail={
                "related_cases": [
                    {
                        "case_id": r.case_id,
                        "page_url": r.page_url,
                        "earlier": r.earlier,
                        "notified": r.notified,
                    }
                    for r in related
                ]
            },
            related_cases=with_related(current.related_cases, related),
        )

    this = cases.update(record.case_id, relate_this)
    for other in linked:

        def relate_other(current: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
            now = utc_now()
            seen = describe(this, relative_to=current, now=now)
            return current.advance(
                current.status,
                "reupload-seen",
                now=now,
                detail={"case_id": this.case_id, "page_url": this.sighting.page_url},
                related_cases=with_related(current.related_cases, [seen]),
            )

        cases.update(other, relate_other)
    metrics.add_metric(name="ReuploadsLinked", unit="Count", value=1)
    logger.info("re-upload linked", extra={"case_id": record.case_id, "related_cases": len(linked)})
    return linked


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@raise_transient_as_retryable
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return score_candidate(Settings.from_env(), event)
