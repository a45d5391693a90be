"""State ``RenderLocales`` (one Map item): render the notice in one locale and store the draft.

The draft is the body, the same for every recipient (what the reviewer reads, may edit and approves). Beside it go
the addressing blocks of that locale, one for each recipient the notice may go to (every discovered recipient, or
the follow-up's): to whom, in what capacity, where the address was found. SendNotice puts each recipient's block
before the approved body.

Free text (the page's title, a reviewer's note) is translated into the locale with Amazon Translate when the
deployment enables it (``TAKEDOWN_TRANSLATE_FREE_TEXT``); otherwise, or when the service fails, it is shown as
written and marked untranslated. The event on the case's timeline says which, and why.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from takedown.aws.addressing_store import AddressingStore
from takedown.aws.case_store import CaseStore
from takedown.aws.transient import raise_transient_as_retryable
from takedown.aws.translator import AmazonTranslator
from takedown.cases.notice_facts import addressees, facts_for_addressee, notice_country, notice_facts_for
from takedown.config import Settings
from takedown.handlers.deployed_sources import source_country
from takedown.model import CaseEvent, iso_utc, utc_now
from takedown.notices.drafting import locale_for_language_tag, render_addressing, render_notice_body
from takedown.notices.free_text import NOT_ENABLED_REASON, FreeText, translate_free_text
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from takedown.notices.free_text import Translator


def render_case_locale(
    settings: Settings, event: dict[str, Any], *, translator: Translator | None = None
) -> dict[str, Any]:
    """Render and store the draft of ``event["locale"]`` for ``event["case_id"]``.

    ``translator`` replaces Amazon Translate (which is used only when ``settings.translate_free_text``).
    """
    case_id, locale = event["case_id"], event["locale"]
    cases = CaseStore(settings.cases_table)
    record = cases.require(case_id)
    sighting = record.sighting
    facts = notice_facts_for(
        record,
        country=notice_country(record, source_country(settings.sources_file, sighting.source_id)),
        centre_name=settings.centre_name,
        centre_email=settings.reply_to,
    )
    facts = replace(
        facts,
        page_title=FreeText.of(
            "page_title", sighting.page_title, locale_for_language_tag(sighting.page_lang)
        ),
        reviewer_note=cases.reviewer_note(case_id),
    )
    if translator is None and settings.translate_free_text:
        translator = AmazonTranslator()
    shown = translate_free_text(facts.free_text(), locale, translator)
    draft = render_notice_body(facts, locale, settings.templates_dir, free_text=shown)
    blocks = [
        render_addressing(facts_for_addressee(record, facts, recipient), locale, settings.templates_dir)
        for recipient in addressees(record)
    ]
    # The blocks first: a draft is never shown without the blocks it will be sent with.
    AddressingStore(settings.cases_table).put(case_id, locale, blocks)
    cases.put_draft(case_id, draft)
    outcomes = [text.outcome(field) for field, text in shown.items()]
    untranslated = [o for o in outcomes if not o["translated"] and o["source_lang"] != locale]
    if untranslated:
        metrics.add_metric(name="FreeTextUntranslated", unit="Count", value=len(untranslated))
    for failed in (
        o for o in untranslated if settings.translate_free_text and o["reason"] != NOT_ENABLED_REASON
    ):
        # The reason only (the service's error), never the words.
        logger.warning(
            "free text not translated",
            extra={
                "case_id": case_id,
                "locale": locale,
                "field": failed["field"],
                "reason": failed["reason"],
            },
        )
    # Map items run in parallel, so each records an event rather than a status change.
    cases.append_event(
        case_id,
        CaseEvent(
            at=iso_utc(utc_now()),
            stage="render-notice",
            status=record.status.value,
            detail={"locale": locale, "free_text": outcomes, "addressed": len(blocks)},
        ),
    )
    return {"case_id": case_id, "locale": locale}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@raise_transient_as_retryable
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return render_case_locale(Settings.from_env(), event)
