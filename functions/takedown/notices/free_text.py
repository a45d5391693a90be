"""Free text in a notice: words that are not in the templates (a page's title, a reviewing officer's note).

The templates are written by people in every notice language; free text comes from a crawled page or from an
officer and is in whatever language it was written in. When the deployment enables it, such text is translated
into each notice locale by a :class:`Translator` (Amazon Translate in AWS, see ``takedown.aws.translator``);
otherwise -- or when translation fails -- the original is kept and the notice marks it as untranslated in the
locale's own words. Either way the result is a :class:`TranslatedText` that records what happened and why.

Languages are written as notice locales (``ko``, ``zh-Hant``, ...: see ``takedown.notices.drafting``), ``""``
when unknown. Nothing here calls AWS.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "FREE_TEXT_FIELDS",
    "MAX_FREE_TEXT_CHARS",
    "NOT_ENABLED_REASON",
    "SAME_LANGUAGE_REASON",
    "FreeText",
    "FreeTextError",
    "TranslatedText",
    "TranslationUnavailable",
    "Translator",
    "translate_free_text",
    "untranslated",
]

# The free-text fields a notice can carry, in the order the notice shows them.
FREE_TEXT_FIELDS: Final = ("page_title", "reviewer_note")
# Amazon Translate takes at most 10,000 bytes per request; 2,000 characters stay below that in any script
# (at most 4 bytes a character in UTF-8).
MAX_FREE_TEXT_CHARS: Final = 2000
NOT_ENABLED_REASON: Final = "free-text translation is not enabled for this deployment"
SAME_LANGUAGE_REASON: Final = "already in the notice language"
# A language as a notice locale: ISO 639 code, optionally a script or region ("zh-Hant", "pt-BR").
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?")


class FreeTextError(ValueError):
    """Free text that cannot go into a notice: unknown field, or a language that is not a language code."""


class TranslationUnavailable(Exception):
    """A translator could not translate this text; ``reason`` says why (kept on the case's timeline)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Translator(Protocol):
    """Translates one text between two notice locales; raises :class:`TranslationUnavailable` when it cannot."""

    def translate(self, text: str, source_language: str, target_language: str) -> tuple[str, str]:
        """Return ``(translated text, source language)``; the source as detected when ``source_language`` is
        ``""`` (unknown), else as given."""
        ...


def _clean(text: str) -> str:
    # Unicode normalisation keeps one spelling of the same characters; the length cap keeps every request within
    # the translation service's limit. Control characters are kept: the templates show them as visible markers.
    normalised = unicodedata.normalize("NFC", text).strip()
    if len(normalised) <= MAX_FREE_TEXT_CHARS:
        return normalised
    return normalised[: MAX_FREE_TEXT_CHARS - 1].rstrip() + "…"


@dataclass(frozen=True)
class FreeText:
    """One piece of free text for a notice, as written.

    Parameters
    ----------
    field
        Which one: ``"page_title"`` or ``"reviewer_note"`` (:data:`FREE_TEXT_FIELDS`).
    text
        The words; surrounding whitespace is dropped and anything beyond :data:`MAX_FREE_TEXT_CHARS` is cut
        with ``…`` (the page as captured keeps the whole title).
    language
        The language it is written in as a notice locale (``"ko"``, ``"zh-Hant"``), ``""`` when unknown.

    Examples
    --------
    >>> FreeText.of("page_title", "  게시판 - 사진  ", "ko")
    FreeText(field='page_title', text='게시판 - 사진', language='ko')
    >>> FreeText.of("page_title", "   ", "ko") is None
    True
    """

    field: str
    text: str
    language: str = ""

    def __post_init__(self) -> None:
        if self.field not in FREE_TEXT_FIELDS:
            raise FreeTextError(f"free-text field {self.field!r} is not one of {list(FREE_TEXT_FIELDS)}")
        if self.language and not _LANGUAGE.fullmatch(self.language):
            raise FreeTextError(f"{self.field}: language {self.language[:40]!r} is not a language code")
        if not self.text.strip():
            raise FreeTextError(f"{self.field}: empty text (leave the field out instead)")

    @classmethod
    def of(cls, field: str, text: str, language: str = "") -> FreeText | None:
        """The free text for ``field``, cleaned; None when there is nothing to show.

        A language that is not a plain language code (page data can say anything) counts as unknown.
        """
        cleaned = _clean(text)
        if not cleaned:
            return None
        return cls(field, cleaned, language if _LANGUAGE.fullmatch(language) else "")


@dataclass(frozen=True)
class TranslatedText:
    """Free text as one notice locale shows it.

    ``text`` is what the notice shows: the translation when ``translated``, else the ``original``. ``reason``
    says why it was not translated ("" when it was). The notice marks untranslated text in a language other than
    its own (:attr:`marked`), and shows the original beside a machine translation.
    """

    original: str
    text: str
    source_lang: str
    target_lang: str
    translated: bool
    reason: str = ""

    @property
    def marked(self) -> bool:
        """Shown as written, in another (or an unknown) language: the notice says it is not translated."""
        return not self.translated and self.source_lang != self.target_lang

    def outcome(self, field: str) -> dict[str, Any]:
        """What the case's timeline records about it: the languages and the outcome, not the words."""
        return {
            "field": field,
            "source_lang": self.source_lang,
            "target_lang": self.target_lang,
            "translated": self.translated,
            "reason": self.reason,
        }


def untranslated(item: FreeText, target_lang: str, reason: str) -> TranslatedText:
    """``item`` shown as written in a ``target_lang`` notice, with the reason it was not translated.

    >>> shown = untranslated(FreeText("page_title", "사진", "ko"), "en", NOT_ENABLED_REASON)
    >>> shown.text, shown.translated, shown.marked
    ('사진', False, True)
    """
    reason = reason if item.language != target_lang else SAME_LANGUAGE_REASON
    return TranslatedText(item.text, item.text, item.language, target_lang, translated=False, reason=reason)


def _translate_one(item: FreeText, target_lang: str, translator: Translator) -> TranslatedText:
    try:
        text, source = translator.translate(item.text, item.language, target_lang)
    except TranslationUnavailable as error:
        return untranslated(item, target_lang, error.reason)
    if source == target_lang:
        # The service found the text already in the notice's language: show it as written, unmarked.
        return TranslatedText(
            item.text, item.text, source, target_lang, translated=False, reason=SAME_LANGUAGE_REASON
        )
    if not text.strip():
        return untranslated(item, target_lang, "the translation came back empty")
    return TranslatedText(item.text, _clean(text), source or item.language, target_lang, translated=True)


def translate_free_text(
    items: Mapping[str, FreeText], target_lang: str, translator: Translator | None
) -> dict[str, TranslatedText]:
    """Each free text as a ``target_lang`` notice shows it.

    Text already in ``target_lang`` is kept as is. Without a translator (the deployment did not enable
    translation) every other text is kept and marked; a translator that fails for one text leaves that one
    untranslated, with its reason, and the others translated.

    Parameters
    ----------
    items
        Field name -> free text (see :meth:`takedown.notices.drafting.NoticeFacts.free_text`).
    target_lang
        The notice locale.
    translator
        The translation service, or None when translation is not enabled.

    Examples
    --------
    >>> shown = translate_free_text({"page_title": FreeText("page_title", "Board", "en")}, "en", None)
    >>> shown["page_title"].marked, shown["page_title"].reason
    (False, 'already in the notice language')
    """
    shown: dict[str, TranslatedText] = {}
    for field, item in items.items():
        if item.language == target_lang:
            shown[field] = untranslated(item, target_lang, SAME_LANGUAGE_REASON)
        elif translator is None:
            shown[field] = untranslated(item, target_lang, NOT_ENABLED_REASON)
        else:
            shown[field] = _translate_one(item, target_lang, translator)
    return shown
