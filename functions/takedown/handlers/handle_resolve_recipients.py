"""State ``ResolveRecipients``: who the notice goes to, each address with where it was found."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from takedown.aws.case_store import CaseStore
from takedown.config import Settings
from takedown.handlers.deployed_sources import sources_by_id
from takedown.model import CaseStatus
from takedown.observability import logger, metrics, tracer
from takedown.recipients.resolve import resolve_recipients

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from takedown.cases.record import CaseRecord
    from takedown.model import CaseEvent


def resolve_case_recipients(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    case_id = event["case_id"]
    contacts = {s.id: s.contact for s in sources_by_id(settings.sources_file).values()}

    def resolve(record: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        found, notes = resolve_recipients(
            record.sighting, source_contact=contacts.get(record.sighting.source_id, "")
        )
        return record.advance(
            CaseStatus.RECIPIENTS_RESOLVED,
            "resolve-recipients",
            detail={"recipients": [r.address for r in found], "notes": notes},
            recipients=found,
            notes=[*record.notes, *notes],
        )

    record = CaseStore(settings.cases_table).update(case_id, resolve)
    return {"case_id": case_id, "recipients": len(record.recipients)}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_case_recipients(Settings.from_env(), event)
