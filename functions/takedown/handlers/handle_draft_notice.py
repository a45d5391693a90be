"""State ``DraftNotice``: choose the notice's languages; ``RenderLocales`` then renders each one (a Map)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from takedown.aws.case_store import CaseStore
from takedown.aws.transient import raise_transient_as_retryable
from takedown.cases.notice_facts import notice_country, notice_locales
from takedown.config import Settings
from takedown.handlers.deployed_sources import source_country
from takedown.model import CaseStatus
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from takedown.cases.record import CaseRecord
    from takedown.model import CaseEvent


def draft_case_notice(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    case_id = event["case_id"]

    def drafted(record: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        # The recipient's country (platform registry, hosting network; a follow-up's own recipients) decides; the
        # source's hint stands in.
        hint = source_country(settings.sources_file, record.sighting.source_id)
        country = notice_country(record, hint)
        locales = notice_locales(record, hint)
        return record.advance(
            CaseStatus.DRAFTED,
            "draft-notice",
            detail={"locales": locales, "country": country},
            locales=locales,
        )

    record = CaseStore(settings.cases_table).update(case_id, drafted)
    return {"case_id": case_id, "locales": record.locales}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@raise_transient_as_retryable
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return draft_case_notice(Settings.from_env(), event)
