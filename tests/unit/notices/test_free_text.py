"""Free text in notices (page title, reviewer's note): Amazon Translate through botocore's Stubber, the marking of
untranslated text in the notice, and hostile titles."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber

from takedown.aws.translator import AmazonTranslator, translate_code
from takedown.notices.drafting import NoticeFactsError, available_locales, render_notice
from takedown.notices.free_text import (
    MAX_FREE_TEXT_CHARS,
    NOT_ENABLED_REASON,
    SAME_LANGUAGE_REASON,
    FreeText,
    FreeTextError,
    translate_free_text,
)

from .conftest import HOSTILE
from .html_probe import HtmlProbe

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from takedown.notices.drafting import NoticeFacts

    MakeFacts = Callable[..., NoticeFacts]

TITLE_KO = "자유게시판 - 사진 모음"
TITLE_EN = "Free board - photo collection"
NOTE_KO = "같은 게시물이 댓글에도 올라와 있습니다."
NOTE_EN = "The same post was also uploaded in the comments."


@pytest.fixture
def translate() -> Iterator[tuple[Any, Stubber]]:
    """A real boto3 Translate client whose answers come from botocore's Stubber (nothing leaves the process)."""
    client = boto3.client(
        "translate", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _answer(
    stubber: Stubber, text: str, source: str, target: str, translated: str, detected: str = ""
) -> None:
    stubber.add_response(
        "translate_text",
        {
            "TranslatedText": translated,
            "SourceLanguageCode": detected or source,
            "TargetLanguageCode": target,
        },
        {"Text": text, "SourceLanguageCode": source, "TargetLanguageCode": target},
    )


def _section_1(body_text: str) -> str:
    return body_text.split("1. ", 1)[1].split("\n2. ", 1)[0]


# --- the free text itself ------------------------------------------------------------------------------------


def test_free_text_is_trimmed_bounded_and_empty_text_is_none() -> None:
    assert FreeText.of("page_title", "  제목  ", "ko") == FreeText("page_title", "제목", "ko")
    assert FreeText.of("reviewer_note", " \n\t ") is None
    long = FreeText.of("page_title", "가" * (MAX_FREE_TEXT_CHARS + 50), "ko")
    assert long is not None and len(long.text) == MAX_FREE_TEXT_CHARS and long.text.endswith("…")
    # a page's lang attribute can say anything: what is not a language code counts as unknown
    assert FreeText.of("page_title", "t", "ko\r\nX") == FreeText("page_title", "t", "")


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (("victim_name", "x", "ko"), "is not one of"),
        (("page_title", "x", "<script>"), "is not a language code"),
        (("page_title", "   ", "ko"), "empty text"),
    ],
)
def test_free_text_that_cannot_be_shown_is_refused(arguments: tuple[str, str, str], complaint: str) -> None:
    with pytest.raises(FreeTextError, match=complaint):
        FreeText(*arguments)


def test_facts_refuse_free_text_under_the_wrong_field(make_facts: MakeFacts) -> None:
    with pytest.raises(NoticeFactsError, match="page_title must be FreeText"):
        make_facts(page_title=FreeText("reviewer_note", "note", "ko"))
    with pytest.raises(NoticeFactsError, match="reviewer_note must be FreeText"):
        make_facts(reviewer_note="a plain string")


def test_locale_names_map_to_amazon_translate_codes() -> None:
    assert [translate_code(x) for x in ("ko", "en", "zh-Hans", "zh-Hant", "ja", "id")] == [
        "ko", "en", "zh", "zh-TW", "ja", "id",
    ]  # fmt: skip


# --- without translation ---------------------------------------------------------------------------------------


def test_without_the_option_the_original_is_kept_and_marked(make_facts: MakeFacts, templates: Path) -> None:
    # GIVEN a Korean page title and no translator (the deployment did not enable translation)
    facts = make_facts(page_title=FreeText("page_title", TITLE_KO, "ko"))
    shown = translate_free_text(facts.free_text(), "en", None)
    # WHEN the English notice is rendered
    draft = render_notice(facts, "en", templates, free_text=shown)
    # THEN the title is shown as written with the untranslated note, and the reason is recorded
    assert shown["page_title"].outcome("page_title") == {
        "field": "page_title", "source_lang": "ko", "target_lang": "en", "translated": False,
        "reason": NOT_ENABLED_REASON,
    }  # fmt: skip
    assert f"Page title: {TITLE_KO}\n   (original wording, not translated)" in _section_1(draft.body_text)
    html = HtmlProbe(draft.body_html)
    assert [e.text for e in html.elements if e.attrs.get("lang") == "ko"] == [TITLE_KO]
    assert "(original wording, not translated)" in html.visible_text


def test_text_already_in_the_notice_language_is_not_marked(make_facts: MakeFacts, templates: Path) -> None:
    facts = make_facts(page_title=FreeText("page_title", TITLE_KO, "ko"))
    shown = translate_free_text(facts.free_text(), "ko", None)
    draft = render_notice(facts, "ko", templates, free_text=shown)
    assert shown["page_title"].reason == SAME_LANGUAGE_REASON and not shown["page_title"].marked
    assert f"게시물 제목: {TITLE_KO}\n" in draft.body_text
    assert "번역하지 않았습니다" not in draft.body_text


def test_rendering_without_translations_marks_free_text_too(make_facts: MakeFacts, templates: Path) -> None:
    facts = make_facts(reviewer_note=FreeText("reviewer_note", NOTE_KO, "ko"))
    draft = render_notice(facts, "ja", templates)
    assert (
        f"審査担当者からの連絡事項:\n{NOTE_KO}\n(原文のまま記載しており、翻訳していません)" in draft.body_text
    )


# --- Amazon Translate through the Stubber ----------------------------------------------------------------------


def test_a_translated_title_and_note_show_the_translation_and_the_original(
    make_facts: MakeFacts, templates: Path, translate: tuple[Any, Stubber]
) -> None:
    # GIVEN a Korean title and note, and Amazon Translate answering for ko -> en
    client, stubber = translate
    _answer(stubber, TITLE_KO, "ko", "en", TITLE_EN)
    _answer(stubber, NOTE_KO, "ko", "en", NOTE_EN)
    facts = make_facts(
        page_title=FreeText("page_title", TITLE_KO, "ko"),
        reviewer_note=FreeText("reviewer_note", NOTE_KO, "ko"),
    )
    # WHEN the English notice is rendered with the translations
    shown = translate_free_text(facts.free_text(), "en", AmazonTranslator(client))
    draft = render_notice(facts, "en", templates, free_text=shown)
    # THEN each shows its translation, then the machine-translation note with the original
    assert all(text.translated and text.reason == "" for text in shown.values())
    section = _section_1(draft.body_text)
    assert f"Page title: {TITLE_EN}\n   (machine translation; original wording: {TITLE_KO})" in section
    assert (
        f"Note from the reviewing officer:\n{NOTE_EN}\n(machine translation; original wording: {NOTE_KO})"
        in (section)
    )
    visible = " ".join(HtmlProbe(draft.body_html).visible_text.split())
    # (the original sits in its own lang-tagged element, so the probe sees a word boundary before the ")")
    assert re.search(
        rf"{re.escape(TITLE_EN)} \(machine translation; original wording: {re.escape(TITLE_KO)} ?\)", visible
    )
    assert NOTE_EN in visible and NOTE_KO in visible


def test_traditional_chinese_is_asked_for_as_zh_tw(
    make_facts: MakeFacts, templates: Path, translate: tuple[Any, Stubber]
) -> None:
    client, stubber = translate
    _answer(stubber, TITLE_KO, "ko", "zh-TW", "自由留言板 - 照片合集")
    facts = make_facts(page_title=FreeText("page_title", TITLE_KO, "ko"))
    shown = translate_free_text(facts.free_text(), "zh-Hant", AmazonTranslator(client))
    assert shown["page_title"].text == "自由留言板 - 照片合集"
    assert shown["page_title"].target_lang == "zh-Hant"
    draft = render_notice(facts, "zh-Hant", templates, free_text=shown)
    assert f"頁面標題: 自由留言板 - 照片合集\n   (機器翻譯；原文: {TITLE_KO})" in draft.body_text


def test_an_unknown_source_language_is_detected_by_the_service(
    make_facts: MakeFacts, translate: tuple[Any, Stubber]
) -> None:
    # GIVEN a title whose page did not say its language
    client, stubber = translate
    _answer(stubber, TITLE_KO, "auto", "en", TITLE_EN, detected="ko")
    facts = make_facts(page_title=FreeText("page_title", TITLE_KO, ""))
    # WHEN it is translated THEN the service is asked to detect it, and the detected language is recorded
    shown = translate_free_text(facts.free_text(), "en", AmazonTranslator(client))["page_title"]
    assert (shown.translated, shown.source_lang, shown.text) == (True, "ko", TITLE_EN)


def test_text_the_service_finds_already_in_the_target_language_is_shown_as_written(
    make_facts: MakeFacts, translate: tuple[Any, Stubber]
) -> None:
    client, stubber = translate
    _answer(stubber, TITLE_EN, "auto", "en", TITLE_EN, detected="en")
    facts = make_facts(page_title=FreeText("page_title", TITLE_EN, ""))
    shown = translate_free_text(facts.free_text(), "en", AmazonTranslator(client))["page_title"]
    assert (shown.translated, shown.marked, shown.reason) == (False, False, SAME_LANGUAGE_REASON)


@pytest.mark.parametrize(
    ("code", "status", "said"),
    [
        (
            "UnsupportedLanguagePairException",
            400,
            "Amazon Translate refused (UnsupportedLanguagePairException",
        ),
        ("TooManyRequestsException", 429, "throttled Amazon Translate (TooManyRequestsException"),
        ("TextSizeLimitExceededException", 400, "Amazon Translate refused (TextSizeLimitExceededException"),
        ("ServiceUnavailableException", 503, "Amazon Translate refused (ServiceUnavailableException"),
    ],
)
def test_a_failed_translation_keeps_the_original_marked_with_the_reason(
    make_facts: MakeFacts, templates: Path, translate: tuple[Any, Stubber], code: str, status: int, said: str
) -> None:
    # GIVEN Amazon Translate failing for the title, and answering for the note
    client, stubber = translate
    stubber.add_client_error(
        "translate_text",
        service_error_code=code,
        service_message="cannot translate this",
        http_status_code=status,
        expected_params={"Text": TITLE_KO, "SourceLanguageCode": "ko", "TargetLanguageCode": "th"},
    )
    _answer(stubber, NOTE_KO, "ko", "th", "โพสต์เดียวกันถูกอัปโหลดในความคิดเห็นด้วย")
    facts = make_facts(
        page_title=FreeText("page_title", TITLE_KO, "ko"),
        reviewer_note=FreeText("reviewer_note", NOTE_KO, "ko"),
    )
    # WHEN the Thai notice is rendered
    shown = translate_free_text(facts.free_text(), "th", AmazonTranslator(client))
    draft = render_notice(facts, "th", templates, free_text=shown)
    # THEN the title is kept as written, marked in Thai, with the reason on record; the note is translated
    title = shown["page_title"]
    assert (title.translated, title.text, title.marked) == (False, TITLE_KO, True)
    assert title.reason.startswith(said) and "ko -> th" in title.reason
    assert shown["reviewer_note"].translated
    assert f"ชื่อหน้าเว็บ: {TITLE_KO}\n   (แสดงตามต้นฉบับ ไม่ได้แปล)" in draft.body_text
    assert "โพสต์เดียวกันถูกอัปโหลดในความคิดเห็นด้วย\n(แปลด้วยเครื่อง; ต้นฉบับ:" in draft.body_text


def test_an_empty_translation_is_not_shown_as_one(
    make_facts: MakeFacts, translate: tuple[Any, Stubber]
) -> None:
    client, stubber = translate
    _answer(stubber, TITLE_KO, "ko", "es", "   ")
    facts = make_facts(page_title=FreeText("page_title", TITLE_KO, "ko"))
    shown = translate_free_text(facts.free_text(), "es", AmazonTranslator(client))["page_title"]
    assert (shown.translated, shown.text, shown.marked) == (False, TITLE_KO, True)
    assert shown.reason == "the translation came back empty"


# --- hostile free text ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", sorted(available_locales()))
def test_a_hostile_page_title_and_note_are_escaped_marked_and_never_evaluated(
    make_facts: MakeFacts, templates: Path, locale: str
) -> None:
    # GIVEN a page title and a reviewer's note carrying markup, template syntax, a header injection and a bidi
    # override
    facts = make_facts(
        page_title=FreeText("page_title", HOSTILE, "ko"),
        reviewer_note=FreeText("reviewer_note", HOSTILE, "ko"),
    )
    # WHEN the notice is rendered
    draft = render_notice(facts, locale, templates)
    # THEN in text the title stays on one line, its CR/LF and bidi override shown as markers, the template
    # syntax literal; the note keeps its line break but shows the CR and the override as markers
    lines = [line for line in draft.body_text.splitlines() if "{{ 7*7 }}" in line]
    assert len(lines) == 2
    assert (
        "<script>alert(1)</script>{{ 7*7 }}{% raw %}[U+000D][U+000A]Bcc: attacker@evil.test[U+202E]"
        in lines[0]
    )
    assert lines[1] == "<script>alert(1)</script>{{ 7*7 }}{% raw %}[U+000D]"
    assert "49" not in " ".join(lines) and "\u202e" not in draft.body_text and "\r" not in draft.body_text
    assert "Bcc: attacker@evil.test[U+202E]gnp.exe" in draft.body_text.splitlines()
    # AND in HTML nothing of it is markup
    probe = HtmlProbe(draft.body_html)
    assert not [e for e in probe.elements if e.tag == "script"]
    assert draft.body_html.count("&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}") == 2
    assert "\u202e" not in draft.body_html and "\r" not in draft.body_html
    # AND the subject never carries it
    assert "Bcc" not in draft.subject and "script" not in draft.subject


def test_a_hostile_translation_is_escaped_like_any_page_data(
    make_facts: MakeFacts, templates: Path, translate: tuple[Any, Stubber]
) -> None:
    # GIVEN a translation service answer that carries markup and line breaks (it translates page data)
    client, stubber = translate
    _answer(stubber, TITLE_KO, "ko", "en", '<img src="https://evil.test/x">\r\nBcc: a@evil.test {{ 7*7 }}')
    facts = make_facts(page_title=FreeText("page_title", TITLE_KO, "ko"))
    shown = translate_free_text(facts.free_text(), "en", AmazonTranslator(client))
    draft = render_notice(facts, "en", templates, free_text=shown)
    # THEN it is shown as text: no image, no header line, no evaluation
    assert not [e for e in HtmlProbe(draft.body_html).elements if e.tag == "img"]
    assert re.search(
        r"Page title: <img [^\n]*\[U\+000D\]\[U\+000A\]Bcc: a@evil\.test \{\{ 7\*7 \}\}", draft.body_text
    )
    assert "Bcc: a@evil.test" not in [line.strip() for line in draft.body_text.splitlines()]
