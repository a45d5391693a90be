"""Drafting on the local stack: the page title in every locale (untranslated by default; through Amazon Translate,
stubbed with botocore's Stubber, when enabled), and a case whose only recipient is a web form."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

from botocore.stub import Stubber
from PIL import Image

from takedown.aws.case_store import CaseStore
from takedown.aws.clients import client
from takedown.aws.crawl_state import CrawlState
from takedown.handlers.handle_render_notice_locale import render_case_locale
from takedown.local.mailbox import sent_mail
from takedown.model import CaseStatus
from takedown.notices.free_text import NOT_ENABLED_REASON, SAME_LANGUAGE_REASON, FreeText
from takedown.recipients.discover import FORM_ONLY_NOTE

from .conftest import drop_sighting, register, synthetic_png

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment

TITLE = "Board"  # the title drop_sighting gives the page, whose lang is "ko"


def _recompressed(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    buffer = io.BytesIO()
    image.resize((image.width * 3 // 4, image.height * 3 // 4)).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def _awaiting_review(local: LocalEnvironment, page_url: str, contacts: list[str], seed: int) -> str:
    original = synthetic_png(seed)
    register(local, original)
    drop_sighting(local, _recompressed(original), page_url, contacts=contacts)
    cases = CaseStore(local.settings().cases_table)
    [case_id] = [o["reason"] for o in CrawlState(local.settings().crawl_table).media_outcomes()]
    assert local.wait_for(lambda: cases.require(case_id).status is CaseStatus.AWAITING_REVIEW, timeout=60)
    return str(case_id)


def _render_events(cases: CaseStore, case_id: str) -> dict[str, dict[str, object]]:
    return {
        str(e.detail["locale"]): e.detail["free_text"][0]  # type: ignore[index]
        for e in cases.events(case_id)
        if e.stage == "render-notice"
    }


def test_the_page_title_is_kept_and_marked_when_translation_is_off(local: LocalEnvironment) -> None:
    # GIVEN the example deployment (translation off) and a case on a Korean board
    case_id = _awaiting_review(local, "http://board.example/p/4", ["admin@board.example"], seed=21)
    cases = CaseStore(local.settings().cases_table)
    drafts = {d.locale: d for d in cases.drafts(case_id)}
    # THEN the Korean draft shows the title as the page gives it, the English one marks it untranslated
    assert set(drafts) == {"ko", "en"}
    assert f"게시물 제목: {TITLE}\n" in drafts["ko"].body_text
    assert f"Page title: {TITLE}\n   (original wording, not translated)" in drafts["en"].body_text
    # AND the timeline says, per locale, what happened to the free text and why
    events = _render_events(cases, case_id)
    assert events["en"] == {
        "field": "page_title", "source_lang": "ko", "target_lang": "en", "translated": False,
        "reason": NOT_ENABLED_REASON,
    }  # fmt: skip
    assert events["ko"]["reason"] == SAME_LANGUAGE_REASON


def test_with_translation_on_the_title_and_note_are_translated_or_their_failure_recorded(
    local: LocalEnvironment,
) -> None:
    # GIVEN a case, a reviewer's note stored on it, and the deployment's settings with translation on
    case_id = _awaiting_review(local, "http://board.example/p/5", ["admin@board.example"], seed=22)
    cases = CaseStore(local.settings().cases_table)
    cases.put_reviewer_note(case_id, FreeText("reviewer_note", "댓글에도 같은 사진이 있습니다.", "ko"))
    settings = dataclasses.replace(local.settings("handle_render_notice_locale"), translate_free_text=True)
    # AND Amazon Translate (the process's client, as the render function uses it) translating the title but
    # throttling the note
    with Stubber(client("translate")) as translate:
        translate.add_response(
            "translate_text",
            {"TranslatedText": "Bulletin board", "SourceLanguageCode": "ko", "TargetLanguageCode": "en"},
            {"Text": TITLE, "SourceLanguageCode": "ko", "TargetLanguageCode": "en"},
        )
        translate.add_client_error(
            "translate_text", service_error_code="TooManyRequestsException", http_status_code=429
        )
        # WHEN the English draft is rendered again
        render_case_locale(settings, {"case_id": case_id, "locale": "en"})
        translate.assert_no_pending_responses()
    # THEN the stored draft shows the translated title with its original, and the note as written, marked
    english = next(d for d in cases.drafts(case_id) if d.locale == "en")
    assert (
        f"Page title: Bulletin board\n   (machine translation; original wording: {TITLE})"
        in english.body_text
    )
    assert "댓글에도 같은 사진이 있습니다.\n(original wording, not translated)" in english.body_text
    # AND the timeline records both outcomes, the failure with its reason, and never the words themselves
    [last] = [e for e in cases.events(case_id) if e.stage == "render-notice" and e.detail["locale"] == "en"][
        -1:
    ]
    title, note = last.detail["free_text"]
    assert (title["field"], title["translated"]) == ("page_title", True)
    assert (note["field"], note["translated"]) == ("reviewer_note", False)
    assert note["reason"].startswith("throttled Amazon Translate (TooManyRequestsException")
    assert "댓글" not in json.dumps(last.detail, ensure_ascii=False)


def test_a_case_reachable_only_by_web_form_goes_to_review_with_the_form_and_emails_no_operator(
    local: LocalEnvironment, tmp_path: Path
) -> None:
    # GIVEN a deployment whose source names no contact, and a page on a platform that takes reports by form only
    sources = json.loads(Path(local.settings().sources_file).read_text("utf-8"))
    for source in sources["sources"]:
        source.pop("contact", None)
    sources_file = tmp_path / "sources.json"
    sources_file.write_text(json.dumps(sources), encoding="utf-8")
    assert local.stack is not None
    local.stack.deploy_sources(sources_file)
    # WHEN the page's copy is matched and the case drafted
    case_id = _awaiting_review(local, "https://images.example.net/i/31", [], seed=23)
    record = CaseStore(local.settings().cases_table).require(case_id)
    # THEN its one recipient is the platform's form, and the reviewer is told nothing will be e-mailed
    [recipient] = record.recipients
    assert (recipient.address, recipient.role, recipient.contact_form_url) == (
        "",
        "platform",
        "https://images.example.net/takedown",
    )
    assert FORM_ONLY_NOTE in record.notes
    # AND the notice is drafted to paste into the form: in Korean (the page is Korean), Japanese (the
    # platform's country) and English
    drafts = {d.locale: d for d in CaseStore(local.settings().cases_table).drafts(case_id)}
    assert set(drafts) == {"ko", "ja", "en"}
    assert "To:" not in drafts["en"].body_text and "https://images.example.net/i/31" in drafts["en"].body_text
    # AND the only mail so far is the review request, to the reviewer
    reviewers = set(local.settings("handle_request_approval").reviewers)
    assert sent_mail() and all(set(m.destinations) <= reviewers for m in sent_mail())
