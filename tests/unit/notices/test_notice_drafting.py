from __future__ import annotations

import dataclasses
import html
import re
import shutil
from itertools import combinations
from typing import TYPE_CHECKING, Any

import pytest
from jinja2 import meta, nodes

from takedown.model import Recipient
from takedown.notices.drafting import (
    LOCALE_FILES,
    CountryCodeError,
    NoticeFacts,
    NoticeFactsError,
    UnknownLocaleError,
    available_locales,
    choose_legal_basis,
    choose_locales,
    render_notice,
)
from takedown.notices.rendering import make_environment

from .conftest import EVIDENCE_SHA256, HOSTILE, MEDIA_SHA256
from .html_probe import HtmlProbe

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from takedown.model import NoticeDraft

    MakeFacts = Callable[..., NoticeFacts]

LOCALES = ["ko", "en"]
JURISDICTIONS = ["KR", "US", "EU", "OTHER"]
_SECTION_3 = {"ko": ("3. 법적 근거", "4. 요청 사항"), "en": ("3. Legal basis", "4. What we ask you to do")}


def _legal_basis_section(draft: NoticeDraft) -> str:
    start, end = _SECTION_3[draft.locale]
    return draft.body_text.split(start, 1)[1].split(end, 1)[0].strip()


# --- the facts -------------------------------------------------------------------------------------------------


def test_notice_facts_have_no_field_that_could_describe_a_victim() -> None:
    # THEN the facts are exactly these: where, what, when, evidence, who sends, who receives, which law
    names = {f.name for f in dataclasses.fields(NoticeFacts)}
    assert names == {
        "case_id", "centre_name", "centre_email", "sender_capacity_key", "page_url", "media_urls",
        "observed_at", "evidence_key", "evidence_sha256", "media_sha256", "recipient", "jurisdiction",
        "deadline_hours", "reupload", "reported_before", "follow_up", "page_title", "reviewer_note",
    }  # fmt: skip
    words = {word for name in names for word in name.split("_")}
    assert not words & {"victim", "person", "subject", "age", "gender", "birth", "phone", "identity"}


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"page_url": "javascript:alert(1)"}, "page_url must be an absolute http"),
        ({"page_url": "/relative/page"}, "page_url must be an absolute http"),
        ({"media_urls": []}, "media_urls is empty"),
        ({"media_urls": ["https://cdn.site.example/1.jpg", "ftp://files.example/2.jpg"]}, r"media_urls\[1\]"),
        ({"observed_at": "2026-11-28 07:25"}, "observed_at"),
        ({"evidence_sha256": "ABC"}, "evidence_sha256"),
        ({"media_sha256": MEDIA_SHA256.upper()}, "media_sha256"),
        ({"jurisdiction": "UK"}, "jurisdiction"),
        ({"deadline_hours": 0}, "deadline_hours"),
        ({"deadline_hours": True}, "deadline_hours"),
        ({"sender_capacity_key": "friend"}, "sender_capacity_key"),
        ({"centre_email": ""}, "centre_email"),
        ({"centre_email": "desk@centre.example\r\nBcc: x@y.z"}, "centre_email"),
        ({"case_id": "  "}, "case_id is empty"),
        ({"evidence_key": ""}, "evidence_key is empty"),
    ],
)
def test_facts_a_notice_cannot_rest_on_are_refused(
    make_facts: MakeFacts, override: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(NoticeFactsError, match=complaint):
        make_facts(**override)


# --- law and languages -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "basis"),
    [
        ("KR", "kr_tba_22_5"),
        ("kr", "kr_tba_22_5"),
        ("US", "us_take_it_down"),
        ("DE", "eu_dsa_16"),
        ("FR", "eu_dsa_16"),
        ("IE", "eu_dsa_16"),
        ("GB", "platform_policy"),
        ("NO", "platform_policy"),
        ("JP", "platform_policy"),
        ("", "platform_policy"),
    ],
)
def test_the_legal_basis_follows_the_operators_country(country: str, basis: str) -> None:
    assert choose_legal_basis(country) == basis


@pytest.mark.parametrize("country", ["Korea", "K", "K1", "USA"])
def test_a_country_that_is_not_an_iso_code_is_refused(country: str) -> None:
    with pytest.raises(CountryCodeError):
        choose_legal_basis(country)
    with pytest.raises(CountryCodeError):
        choose_locales(country, "")


@pytest.mark.parametrize(
    ("country", "page_lang", "locales"),
    [
        ("KR", "", ["ko", "en"]),
        ("KR", "en", ["ko", "en"]),
        ("US", "ko-KR", ["ko", "en"]),
        ("JP", "ko_kr", ["ko", "ja", "en"]),
        ("US", "en", ["en"]),
        ("DE", "de", ["en"]),
        ("", "", ["en"]),
    ],
)
def test_locales_korean_first_for_korea_or_korean_pages_else_english(
    templates: Path, country: str, page_lang: str, locales: list[str]
) -> None:
    assert choose_locales(country, page_lang, templates) == locales


def _copy_locale(templates: Path, target: Path, source_locale: str, new_locale: str) -> None:
    shutil.copytree(templates, target)
    folder = target / "notices" / new_locale
    shutil.copytree(target / "notices" / source_locale, folder)
    for name in ("body.txt.j2", "body.html.j2"):
        path = folder / name
        path.write_text(
            path.read_text("utf-8").replace(f"notices/{source_locale}/", f"notices/{new_locale}/"), "utf-8"
        )


def test_adding_a_locale_folder_is_all_it_takes(
    templates: Path, tmp_path: Path, make_facts: MakeFacts
) -> None:
    # GIVEN a copy of the templates with a German folder (here: the English words, as a translator's start)
    target = tmp_path / "templates"
    _copy_locale(templates, target, "en", "de")
    # WHEN locales are chosen for a German operator
    locales = choose_locales("DE", "de", target)
    # THEN German comes first, then English, and renders
    assert locales == ["de", "en"]
    assert render_notice(make_facts(), "de", target).locale == "de"


def test_a_folder_missing_a_template_is_not_a_locale(templates: Path, tmp_path: Path) -> None:
    target = tmp_path / "templates"
    _copy_locale(templates, target, "en", "de")
    (target / "notices" / "de" / "body.html.j2").unlink()
    assert "de" not in available_locales(target)
    assert choose_locales("DE", "de", target) == ["en"]
    assert "_layout" not in available_locales(target)


def test_no_templates_at_all_is_an_error_not_an_empty_list(tmp_path: Path) -> None:
    with pytest.raises(UnknownLocaleError, match="no notice templates"):
        choose_locales("US", "en", tmp_path)


def test_an_unknown_locale_is_refused(make_facts: MakeFacts, templates: Path) -> None:
    with pytest.raises(UnknownLocaleError, match="'fr'"):
        render_notice(make_facts(), "fr", templates)


# --- the rendered notice ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("jurisdiction", JURISDICTIONS)
def test_every_notice_states_the_facts_in_text_and_html(
    make_facts: MakeFacts, templates: Path, locale: str, jurisdiction: str
) -> None:
    # GIVEN the facts of a case
    facts = make_facts(jurisdiction=jurisdiction, deadline_hours=48 if jurisdiction == "US" else 24)
    # WHEN the notice is rendered
    draft = render_notice(facts, locale, templates)
    page = HtmlProbe(draft.body_html)
    shown = page.visible_text
    # THEN subject, text and HTML carry the case reference, and both bodies every URL, time, digest and address
    assert draft.locale == locale
    assert facts.case_id in draft.subject and "\n" not in draft.subject
    for fact in [
        facts.case_id,
        facts.page_url,
        *facts.media_urls,
        "2026-11-28 07:25 UTC",
        facts.evidence_key,
        EVIDENCE_SHA256,
        MEDIA_SHA256,
        facts.centre_email,
        facts.centre_name,
        str(facts.deadline_hours),
    ]:
        assert fact in draft.body_text, fact
        assert fact in shown, fact
    # AND the HTML is one self-contained block: no image, script, external asset or link to the content
    assert page.tags("img") == [] and page.tags("script") == [] and page.tags("link") == []
    assert "src=" not in draft.body_html and "url(" not in draft.body_html
    assert [a.attrs["href"] for a in page.tags("a")] == [f"mailto:{facts.centre_email}"]
    assert page.elements[0].tag == "div" and page.elements[0].attrs["lang"] == locale


@pytest.mark.parametrize("locale", LOCALES)
def test_the_legal_basis_paragraph_differs_by_jurisdiction(
    make_facts: MakeFacts, templates: Path, locale: str
) -> None:
    # WHEN the same case is drafted for each jurisdiction
    sections = {
        j: _legal_basis_section(render_notice(make_facts(jurisdiction=j), locale, templates))
        for j in JURISDICTIONS
    }
    # THEN each jurisdiction gets its own legal basis
    for first, second in combinations(JURISDICTIONS, 2):
        assert sections[first] != sections[second], (first, second)


@pytest.mark.parametrize(
    ("locale", "jurisdiction", "expected"),
    [
        (
            "en",
            "KR",
            ["Article 22-5(1)", "Telecommunications Business Act", "KRW 100 million", "3%", "registration"],
        ),
        (
            "ko",
            "KR",
            ["「전기통신사업법」 제22조의5제1항", "3년 이하의 징역", "1억 원", "100분의 3", "등록의 취소"],
        ),
        ("en", "US", ["TAKE IT DOWN Act", "48 hours", "identical copies", "Federal Trade Commission"]),
        ("ko", "US", ["TAKE IT DOWN Act", "48시간", "동일 사본", "연방거래위원회"]),
        ("en", "EU", ["Article 16", "2022/2065", "Article 6", "actual knowledge", "good faith"]),
        ("ko", "EU", ["제16조", "2022/2065", "제6조", "실제 인식", "선의"]),
        ("en", "OTHER", ["terms of service", "acceptable-use policy"]),
        ("ko", "OTHER", ["이용약관", "이용 정책"]),
    ],
)
def test_each_legal_basis_says_what_that_law_requires(
    make_facts: MakeFacts, templates: Path, locale: str, jurisdiction: str, expected: list[str]
) -> None:
    section = _legal_basis_section(render_notice(make_facts(jurisdiction=jurisdiction), locale, templates))
    for phrase in expected:
        assert phrase in section, phrase


@pytest.mark.parametrize("locale", LOCALES)
def test_only_the_us_notice_carries_the_electronic_signature(
    make_facts: MakeFacts, templates: Path, locale: str
) -> None:
    signed = {
        j: "/s/ " in render_notice(make_facts(jurisdiction=j), locale, templates).body_text
        for j in JURISDICTIONS
    }
    assert signed == {"KR": False, "US": True, "EU": False, "OTHER": False}


@pytest.mark.parametrize("locale", LOCALES)
def test_a_notice_asks_for_removal_reupload_prevention_and_log_preservation(
    make_facts: MakeFacts, templates: Path, locale: str
) -> None:
    body = render_notice(make_facts(), locale, templates).body_text
    expected = {
        "en": [
            "Remove the content",
            "Prevent it from being published again",
            "Preserve the records",
            "good faith",
        ],
        "ko": ["삭제하거나 접속을 차단", "다시 게시되지 않도록", "기록(계정, 게시 일시, IP 주소", "선의로"],
    }[locale]
    for phrase in expected:
        assert phrase in body, phrase


@pytest.mark.parametrize("locale", LOCALES)
def test_hostile_page_urls_are_shown_encoded_and_never_evaluated(
    make_facts: MakeFacts, templates: Path, locale: str
) -> None:
    # GIVEN a page URL and a media URL carrying markup, template syntax, CR/LF and an RTL override
    facts = make_facts(
        page_url=f"https://board.site.example/view?title={HOSTILE}",
        media_urls=[f"https://cdn.site.example/{HOSTILE}.jpg"],
    )
    # WHEN the notice is rendered
    draft = render_notice(facts, locale, templates)
    page = HtmlProbe(draft.body_html)
    # THEN nothing was evaluated and nothing can break a line, inject markup or reverse text
    encoded = "%3Cscript%3Ealert(1)%3C/script%3E{{%207*7%20}}{%%20raw%20%}%0D%0ABcc:%20attacker@evil.test%E2%80%AEgnp.exe"
    for body in (draft.body_text, page.visible_text):
        assert f"https://board.site.example/view?title={encoded}" in body
        assert f"https://cdn.site.example/{encoded}.jpg" in body
        assert "\r" not in body and "\u202e" not in body
        assert "{{ 7*7 }}" not in body
        assert "49" not in body.replace(EVIDENCE_SHA256, "").replace(MEDIA_SHA256, "")
        assert "\nBcc:" not in body
    assert page.tags("script") == []
    assert "<script" not in draft.body_html
    assert "\r" not in draft.subject and "\n" not in draft.subject


@pytest.mark.parametrize("locale", LOCALES)
def test_hostile_recipient_details_are_escaped_and_marked(
    make_facts: MakeFacts, templates: Path, locale: str
) -> None:
    # GIVEN a recipient found through a hostile page
    recipient = Recipient(
        address="abuse@site.example", role="site", found_at=f"mailto link titled {HOSTILE}", confidence=0.7
    )
    # WHEN the notice is rendered
    draft = render_notice(make_facts(recipient=recipient), locale, templates)
    # THEN the HTML escapes it and both bodies show the line break and the override as visible markers
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}{% raw %}[U+000D][U+000A]Bcc" in draft.body_html
    assert "<script>alert(1)</script>{{ 7*7 }}{% raw %}[U+000D][U+000A]Bcc" in draft.body_text
    assert "[U+202E]gnp.exe" in draft.body_text
    assert "\u202e" not in draft.body_html + draft.body_text


@pytest.mark.parametrize("locale", LOCALES)
def test_a_reupload_is_called_out(make_facts: MakeFacts, templates: Path, locale: str) -> None:
    first = render_notice(make_facts(), locale, templates)
    again = render_notice(make_facts(reupload=True), locale, templates)
    marker = {"ko": "[재게시]", "en": "[Re-upload]"}[locale]
    assert again.subject.startswith(marker) and not first.subject.startswith(marker)
    assert len(again.body_text) > len(first.body_text)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_senders_capacity_is_stated(make_facts: MakeFacts, templates: Path, locale: str) -> None:
    institution = render_notice(make_facts(), locale, templates).body_text
    representative = render_notice(
        make_facts(sender_capacity_key="authorised_representative"), locale, templates
    )
    phrase = {"ko": "위임받은 대리인", "en": "authorised representative"}[locale]
    assert phrase in representative.body_text and phrase not in institution


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    "role", ["site", "host", "registrar", "cdn", "platform", "source-contact", "unknown"]
)
def test_every_recipient_role_is_told_why_it_receives_the_notice(
    make_facts: MakeFacts, templates: Path, locale: str, role: str
) -> None:
    recipient = Recipient(
        address="abuse@provider.example", role=role, found_at="RDAP abuse contact", confidence=0.8
    )
    draft = render_notice(make_facts(recipient=recipient), locale, templates)
    why = {"ko": "본 요청을 받으십니다", "en": "You receive this notice as"}[locale]
    assert why in draft.body_text
    assert "abuse@provider.example" in draft.body_text and "RDAP abuse contact" in draft.body_text


@pytest.mark.parametrize("locale", LOCALES)
def test_a_case_without_a_recipient_address_still_drafts(
    make_facts: MakeFacts, templates: Path, locale: str
) -> None:
    nobody = Recipient(address="", role="unknown", found_at="not found", confidence=0.0)
    draft = render_notice(make_facts(recipient=nobody), locale, templates)
    label = {"ko": "수신:", "en": "To:"}[locale]
    assert label not in draft.body_text
    assert "not found" not in draft.body_text


@pytest.mark.parametrize("locale", LOCALES)
def test_text_and_html_say_the_same_words(make_facts: MakeFacts, templates: Path, locale: str) -> None:
    # GIVEN both bodies of a notice
    draft = render_notice(make_facts(jurisdiction="EU"), locale, templates)
    shown = HtmlProbe(draft.body_html).visible_text
    # THEN every prose line of the text body appears in the HTML body
    label_line = re.compile(r"^\s*[^:\s][^:]{0,40}: ")  # "From: ...": label and value sit in separate cells
    lines = [line for line in draft.body_text.splitlines() if len(line) > 60 and not label_line.match(line)]
    prose = [re.sub(r"^\s*\d+\) ", "", line).strip() for line in lines]
    assert len(prose) >= 10
    for line in prose:
        assert " ".join(line.split()) in shown, line


# --- the templates themselves ----------------------------------------------------------------------------------


def _locale_files(templates: Path, locale: str) -> set[str]:
    return {p.name for p in (templates / "notices" / locale).iterdir() if p.is_file()}


def test_korean_and_english_have_the_same_template_files(templates: Path) -> None:
    assert _locale_files(templates, "ko") == _locale_files(templates, "en")
    assert set(LOCALE_FILES) <= _locale_files(templates, "en")


def _parsed(templates: Path, name: str) -> nodes.Template:
    environment = make_environment(templates)
    assert environment.loader is not None
    source, _, _ = environment.loader.get_source(environment, name)
    return environment.parse(source)


@pytest.mark.parametrize("file_name", sorted(LOCALE_FILES))
def test_korean_and_english_refer_to_the_same_facts(templates: Path, file_name: str) -> None:
    ko = meta.find_undeclared_variables(_parsed(templates, f"notices/ko/{file_name}"))
    en = meta.find_undeclared_variables(_parsed(templates, f"notices/en/{file_name}"))
    assert ko == en
    if file_name == "words.j2":
        # the words mention every fact a notice states (the rest are in the shared layout)
        assert {"case_id", "centre_name", "centre_email", "page_host", "legal_basis", "deadline_hours"} <= ko


def _defined_names(tree: nodes.Template) -> set[str]:
    macros = {m.name for m in tree.find_all(nodes.Macro)}
    labels = {a.target.name for a in tree.find_all(nodes.Assign) if isinstance(a.target, nodes.Name)}
    return macros | labels


def test_korean_and_english_words_define_the_same_names(templates: Path) -> None:
    ko = _defined_names(_parsed(templates, "notices/ko/words.j2"))
    en = _defined_names(_parsed(templates, "notices/en/words.j2"))
    assert ko == en
    assert {"legal_basis_paragraph", "basis_kr_tba_22_5", "basis_us_take_it_down", "basis_eu_dsa_16"} <= ko


def test_the_locale_bodies_use_their_own_words(templates: Path) -> None:
    for locale in LOCALES:
        for name in ("body.txt.j2", "body.html.j2"):
            source = (templates / "notices" / locale / name).read_text("utf-8")
            assert f'"notices/{locale}/words.j2"' in source, (locale, name)


def test_the_html_layout_never_links_to_the_content(templates: Path) -> None:
    layout = html.unescape((templates / "notices" / "_layout" / "body.html.j2").read_text("utf-8"))
    assert "<img" not in layout and "<script" not in layout
    assert re.findall(r'href="([^"]*)"', layout) == ["mailto:{{ centre_email }}"]
