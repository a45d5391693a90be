"""Every notice language says everything English says: same files, same facts, renders in every case, no English
left behind, and a subject fit for a mail header."""

from __future__ import annotations

import dataclasses
import functools
import re
from itertools import product
from typing import TYPE_CHECKING

import pytest
from jinja2 import meta, nodes

from takedown.model import Recipient
from takedown.notices.drafting import LOCALE_FILES, NoticeFacts, available_locales, render_notice
from takedown.notices.free_text import FreeText, TranslatedText, translate_free_text
from takedown.notices.rendering import make_environment

from .conftest import CAPACITIES, JURISDICTIONS, LOCALES, ROLES, build_facts
from .notice_text import without_case_data

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from takedown.model import NoticeDraft

    MakeFacts = Callable[..., NoticeFacts]

OTHER_LOCALES = [locale for locale in LOCALES if locale != "en"]
# The variables a notice template may use: the facts (free text among them: the page title and a reviewer's
# note, as each locale shows them), and what render_notice derives from them. Nothing else (nothing about the
# person depicted) can reach a notice.
NOTICE_VARIABLES = {f.name for f in dataclasses.fields(NoticeFacts)} | {
    "locale",
    "page_host",
    "legal_basis",
    "subject",
}
# English a translation may keep: official names of laws and the legal terms of art quoted next to their
# translation.
KEPT_ENGLISH = [
    "TAKE IT DOWN Act",
    "Digital Services Act",
    "Regulation (EU) 2022/2065",
    "Directive (EU) 2024/1385",
    "covered platform",
    "intimate visual depiction",
    "acceptable use policy",
    "actual knowledge",
    "section 3",
]
# Sentences of en/words.j2 a forgotten translation would leave behind.
ENGLISH_PHRASES = [
    "Dear ",
    "writes to you as",
    "You receive this notice as",
    "We found your address here",
    "was removed before and has been published again",
    "match, by hash comparison",
    "this notice does not identify them",
    "Remove the content at every URL",
    "Prevent it from being published again",
    "Preserve the records of the upload",
    "Tell us by reply",
    "Please complete the actions above",
    "If we cannot confirm removal",
    "The centre captured the page",
    "Please send your reply",
    "We state in good faith",
    "Removal request desk",
    "Electronic signature",
    "Why this content is unlawful",
    "What we ask you to do",
    "Evidence reference",
    "Page title",
    "Note from the reviewing officer",
    "original wording, not translated",
    "machine translation; original wording",
]
# Free text in every notice: a Korean page title and reviewer's note, shown untranslated for some recipient
# roles and "translated" (stand-in words without letters, so they add no English) for others.
TITLE_KO = "자유게시판 - 사진 모음"
NOTE_KO = "같은 게시물이 댓글에도 올라와 있습니다."
UNTRANSLATED_ROLES = {"host", "cdn"}
TRANSLATED_ROLES = {"source-contact", "unknown"}
SUBJECT_MAX_CHARS = 200


# --- the template files ------------------------------------------------------------------------------------------


def _file_names(templates: Path, locale: str) -> set[str]:
    return {p.name for p in (templates / "notices" / locale).iterdir() if p.is_file()}


def test_the_ten_notice_languages_are_there(templates: Path) -> None:
    assert available_locales(templates) == frozenset(LOCALES)


@pytest.mark.parametrize("locale", OTHER_LOCALES)
def test_every_locale_has_exactly_the_template_files_of_english(templates: Path, locale: str) -> None:
    assert _file_names(templates, locale) == _file_names(templates, "en")
    assert set(LOCALE_FILES) <= _file_names(templates, locale)


def _parsed(templates: Path, name: str) -> nodes.Template:
    environment = make_environment(templates)
    assert environment.loader is not None
    source, _, _ = environment.loader.get_source(environment, name)
    return environment.parse(source)


def _dotted(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        base = _dotted(node.node)
        return f"{base}.{node.attr}" if base else None
    return None


def _uses(node: nodes.Node) -> set[str]:
    """What a piece of template uses: attributes, macro calls, filters and the branches it tests."""
    return (
        {f"attribute {d}" for g in node.find_all(nodes.Getattr) if (d := _dotted(g))}
        | {f"name {n.name}" for n in node.find_all(nodes.Name) if n.ctx == "load"}
        | {f"call {d}" for c in node.find_all(nodes.Call) if (d := _dotted(c.node))}
        | {f"filter {f.name}" for f in node.find_all(nodes.Filter)}
        # which branches exist: recipient.role == "cdn", legal_basis == "eu_dsa_16", ...
        | {
            f"branch {_dotted(c.expr)} {op.op} {op.expr.value!r}"
            for c in node.find_all(nodes.Compare)
            for op in c.ops
            if isinstance(op.expr, nodes.Const) and isinstance(op.expr.value, str)
        }
    )


def _references(tree: nodes.Template, locale: str) -> dict[str, set[str]]:
    """Everything a template refers to, also macro by macro, with its own folder written as ``<locale>``."""
    macros = [n for n in tree.body if isinstance(n, nodes.Macro)]
    return {
        "variables": set(meta.find_undeclared_variables(tree)),
        "defined": {m.name for m in macros}
        | {
            n.target.name
            for n in tree.body
            if isinstance(n, nodes.Assign) and isinstance(n.target, nodes.Name)
        },
        "uses": _uses(tree),
        "uses by macro": {f"{m.name}: {use}" for m in macros for use in _uses(m)},
        "templates": {
            t.replace(f"notices/{locale}/", "notices/<locale>/")
            for t in meta.find_referenced_templates(tree)
            if t is not None
        },
    }


@pytest.mark.parametrize("locale", OTHER_LOCALES)
@pytest.mark.parametrize("file_name", sorted(LOCALE_FILES))
def test_every_locale_refers_to_the_same_facts_words_and_branches_as_english(
    templates: Path, locale: str, file_name: str
) -> None:
    # GIVEN the same template in English and in another language
    english = _references(_parsed(templates, f"notices/en/{file_name}"), "en")
    translated = _references(_parsed(templates, f"notices/{locale}/{file_name}"), locale)
    # THEN both use the same facts, define and call the same words, filter alike and branch alike
    for kind, names in english.items():
        assert translated[kind] == names, (kind, sorted(translated[kind] ^ names))


@pytest.mark.parametrize("locale", LOCALES)
def test_notice_templates_use_only_the_facts_of_a_notice(templates: Path, locale: str) -> None:
    for file_name in LOCALE_FILES:
        used = meta.find_undeclared_variables(_parsed(templates, f"notices/{locale}/{file_name}"))
        assert used <= NOTICE_VARIABLES, (file_name, sorted(used - NOTICE_VARIABLES))
    assert _references(_parsed(templates, "notices/en/words.j2"), "en")["defined"] >= {
        "legal_basis_paragraph",
        "basis_kr_tba_22_5",
        "basis_us_take_it_down",
        "basis_eu_dsa_16",
        "basis_platform_policy",
    }


def _names_recipient(use: str) -> bool:
    """Whether a use (``attribute recipient.role``, ``branch recipient.role == 'cdn'``...) reads the recipient."""
    return re.search(r"(?:^|\s)recipient(?:\.|\s|$)", use) is not None


@pytest.mark.parametrize("locale", LOCALES)
def test_the_body_speaks_to_nobody_in_particular_and_the_addressing_block_to_its_recipient(
    templates: Path, locale: str
) -> None:
    # GIVEN the words of a locale, macro by macro
    words = _references(_parsed(templates, f"notices/{locale}/words.j2"), locale)["uses by macro"]
    personal = {use.split(":")[0] for use in words if _names_recipient(use.split(":", 1)[1])}
    assert {"role_name", "why_you"} <= personal
    for part in ("body", "addressing"):
        for kind in ("txt", "html"):
            uses = _uses(_parsed(templates, f"notices/_layout/{part}.{kind}.j2"))
            called = {use.removeprefix("call say.") for use in uses if use.startswith("call say.")}
            if part == "body":
                # THEN the body (the same for every recipient) neither names a recipient nor calls words that do
                assert not [use for use in uses if _names_recipient(use)], (part, kind)
                assert not called & personal, (kind, sorted(called & personal))
            else:
                # AND the addressing block names its recipient in its capacity, and why it receives the notice
                assert {"attribute recipient.address", "attribute recipient.contact_form_url"} <= uses
                assert {"role_name", "why_you"} <= called


# --- rendering every case ----------------------------------------------------------------------------------------


def _free_text(role: str, locale: str) -> tuple[dict[str, FreeText], dict[str, TranslatedText]]:
    """The free text of a notice to ``role``, and how the ``locale`` notice shows it."""
    if role not in UNTRANSLATED_ROLES | TRANSLATED_ROLES:
        return {}, {}
    items = {
        "page_title": FreeText("page_title", TITLE_KO, "ko"),
        "reviewer_note": FreeText("reviewer_note", NOTE_KO, "ko"),
    }
    if role in UNTRANSLATED_ROLES or locale == "ko":
        return items, translate_free_text(items, locale, None)
    return items, {
        field: TranslatedText(item.text, f"№{index} ①②③", "ko", locale, translated=True)
        for index, (field, item) in enumerate(items.items(), start=1)
    }


@functools.cache
def _every_draft(templates: Path, locale: str) -> tuple[tuple[NoticeFacts, NoticeDraft], ...]:
    """The notice in ``locale`` for every legal basis, recipient role, sender capacity and re-upload flag; some
    roles' notices carry free text, shown untranslated or translated."""
    drafts = []
    for jurisdiction, role, capacity, reupload in product(JURISDICTIONS, ROLES, CAPACITIES, (False, True)):
        recipient = Recipient(
            address="abuse@provider.example", role=role, found_at="RDAP abuse contact", confidence=0.8
        )
        items, shown = _free_text(role, locale)
        facts = build_facts(
            jurisdiction=jurisdiction,
            recipient=recipient,
            sender_capacity_key=capacity,
            reupload=reupload,
            **items,
        )
        drafts.append((facts, render_notice(facts, locale, templates, free_text=shown)))
    return tuple(drafts)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_locale_renders_every_legal_basis_role_and_capacity(templates: Path, locale: str) -> None:
    # WHEN every combination is rendered (strict undefined: a missing word or fact raises)
    drafts = _every_draft(templates, locale)
    # THEN each is a full notice carrying its case reference, and the legal basis shows in the words
    assert len(drafts) == len(JURISDICTIONS) * len(ROLES) * len(CAPACITIES) * 2
    for facts, draft in drafts:
        assert draft.locale == locale
        assert facts.case_id in draft.subject and facts.case_id in draft.body_text
        assert facts.page_host in draft.body_text and facts.centre_email in draft.body_html
    bodies_by_basis = {
        j: {d.body_text for f, d in drafts if f.jurisdiction == j and not f.reupload} for j in JURISDICTIONS
    }
    for first, second in product(JURISDICTIONS, JURISDICTIONS):
        if first != second:
            assert not bodies_by_basis[first] & bodies_by_basis[second]


def _english_ngrams(text: str, n: int = 4) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z]+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _without_kept_english(text: str) -> str:
    for name in KEPT_ENGLISH:
        text = text.replace(name, " ")
    return text


@functools.cache
def _english_wording(templates: Path) -> frozenset[tuple[str, ...]]:
    """Every run of four words in any English notice, case data and kept names removed."""
    ngrams: set[tuple[str, ...]] = set()
    for facts, draft in _every_draft(templates, "en"):
        ngrams |= _english_ngrams(_without_kept_english(without_case_data(draft.body_text, facts)))
    return frozenset(ngrams)


def test_the_english_phrases_checked_for_are_english_notice_sentences(templates: Path) -> None:
    # the list below can't go stale: every phrase occurs in some English notice
    english = " ".join(d.body_text for _, d in _every_draft(templates, "en"))
    for phrase in ENGLISH_PHRASES:
        assert phrase in english, phrase


@pytest.mark.parametrize("locale", OTHER_LOCALES)
def test_no_english_sentence_is_left_in_a_translation(templates: Path, locale: str) -> None:
    # GIVEN every English notice's wording (case data removed), as runs of four words
    english = _english_wording(templates)
    assert len(english) > 500
    # WHEN the same notices are rendered in another language
    for facts, draft in _every_draft(templates, locale):
        shown = without_case_data(f"{draft.subject}\n{draft.body_text}", facts)
        # THEN none of the distinctive English sentences, nor any four English words in a row, are in it
        for phrase in ENGLISH_PHRASES:
            assert phrase not in shown, (phrase, facts.jurisdiction, facts.recipient.role)
        leftover = _english_ngrams(_without_kept_english(shown)) & english
        assert not leftover, sorted(" ".join(words) for words in leftover)


# --- subjects ----------------------------------------------------------------------------------------------------

LONGEST_HOST = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 53, "example"])  # 253 characters


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    "host",
    ["board.site.example", LONGEST_HOST, "xn--9n2bp8q.example", "a\u202eb.example"],
)
def test_subjects_are_one_header_safe_line_within_bounds(
    make_facts: MakeFacts, templates: Path, locale: str, host: str
) -> None:
    assert len(host) <= 253
    for reupload in (False, True):
        # GIVEN a page on that host
        facts = make_facts(page_url=f"https://{host}/view?id=1", reupload=reupload)
        # WHEN the notice is rendered
        subject = render_notice(facts, locale, templates).subject
        # THEN the subject is one line without control or bidi characters, not cut, and keeps the case reference
        assert not any(c in subject for c in "\r\n\t\x00\u202e\u2028\u2029")
        assert subject == subject.strip() and "  " not in subject
        assert len(subject) < SUBJECT_MAX_CHARS and not subject.endswith("…")
        assert facts.case_id in subject
        # AND it names the site by its right-hand labels, as far as they fit (a bidi override shown as a marker)
        assert facts.page_host.replace("\u202e", "[U+202E]")[-40:] in subject


# --- free text -----------------------------------------------------------------------------------------------


def _words(templates: Path, locale: str, macro: str) -> str:
    module = make_environment(templates).get_template(f"notices/{locale}/words.j2").make_module({})
    return str(getattr(module, macro)()).strip()


@pytest.mark.parametrize("locale", LOCALES)
def test_free_text_is_labelled_and_marked_in_the_locales_own_words(templates: Path, locale: str) -> None:
    # GIVEN the locale's words for untranslated and machine-translated text
    untranslated = _words(templates, locale, "untranslated_note")
    machine = _words(templates, locale, "machine_translated_note")
    if locale != "en":
        assert untranslated != _words(templates, "en", "untranslated_note")
        assert machine != _words(templates, "en", "machine_translated_note")
    # WHEN notices carrying a Korean page title and reviewer's note are rendered
    for facts, draft in _every_draft(templates, locale):
        if facts.recipient.role not in UNTRANSLATED_ROLES | TRANSLATED_ROLES:
            assert TITLE_KO not in draft.body_text and untranslated not in draft.body_text
            continue
        # THEN both are shown, in text and in HTML
        assert TITLE_KO in draft.body_text and NOTE_KO in draft.body_text
        assert TITLE_KO in draft.body_html and NOTE_KO in draft.body_html
        # AND text shown as written in another language is marked; a translation names its original
        marked = locale != "ko" and facts.recipient.role in UNTRANSLATED_ROLES
        translated = locale != "ko" and facts.recipient.role in TRANSLATED_ROLES
        assert draft.body_text.count(f"({untranslated})") == (2 if marked else 0)
        assert (f"({machine}: {TITLE_KO})" in draft.body_text) is translated
        assert (f"({machine}: {NOTE_KO})" in draft.body_text) is translated
