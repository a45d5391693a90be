"""State ``RenderLocales`` (one Map item): render the notice in one locale and store the draft."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from takedown.aws.case_store import CaseStore
from takedown.cases.notice_facts import notice_facts_for
from takedown.config import Settings
from takedown.handlers.deployed_sources import source_country
from takedown.model import CaseEvent, iso_utc, utc_now
from takedown.notices.drafting import render_notice
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def render_case_locale(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    case_id, locale = event["case_id"], event["locale"]
    cases = CaseStore(settings.cases_table)
    record = cases.require(case_id)
    facts = notice_facts_for(
        record,
        country=record.recipient_country or source_country(settings.sources_file, record.sighting.source_id),
        centre_name=settings.centre_name,
        centre_email=settings.reply_to,
    )
    draft = render_notice(facts, locale, settings.templates_dir)
    cases.put_draft(case_id, draft)
    # Map items run in parallel, so each records an event rather than a status change.
    cases.append_event(
        case_id,
        CaseEvent(
            at=iso_utc(utc_now()),
            stage="render-notice",
            status=record.status.value,
            detail={"locale": locale},
        ),
    )
    return {"case_id": case_id, "locale": locale}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return render_case_locale(Settings.from_env(), event)
