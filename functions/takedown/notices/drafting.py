"""Removal notices: the facts a notice states, the law it relies on, its languages, and its rendering.

A notice names the sender and its capacity, the exact URLs, when they were observed, the evidence reference and
digests, the legal basis for the recipient's jurisdiction, the actions requested, the deadline and where to reply.
It never contains the media, never names or describes a victim (:class:`NoticeFacts` has no field that could
carry either) and never has an attachment.

The words live in ``templates/notices/<locale>/``; adding a language is adding a folder with the same files as
``en/`` (see :func:`available_locales`).

A notice in one locale is two parts: the body (:func:`render_notice_body`), the same for every recipient, which the
reviewer reads, may edit and approves; and each recipient's addressing block (:func:`render_addressing`): to whom,
in what capacity, where the address was found. :func:`render_notice` puts the two together for one recipient (see
:mod:`takedown.notices.addressing`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from takedown.config import templates_dir as default_templates_dir
from takedown.model import FollowUpFacts, NoticeDraft, Recipient, parse_iso_utc
from takedown.notices.addressing import AddressingBlock, addressed_draft
from takedown.notices.free_text import FREE_TEXT_FIELDS, FreeText, untranslated
from takedown.notices.rendering import header_safe, make_environment

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from takedown.notices.free_text import TranslatedText

__all__ = [
    "COUNTRY_LOCALES",
    "EU_MEMBER_STATES",
    "JURISDICTIONS",
    "LEGAL_BASES",
    "LOCALE_FILES",
    "SENDER_CAPACITIES",
    "CountryCodeError",
    "NoticeFacts",
    "NoticeFactsError",
    "UnknownLocaleError",
    "available_locales",
    "choose_legal_basis",
    "choose_locales",
    "legal_basis_for_jurisdiction",
    "locale_for_language_tag",
    "render_addressing",
    "render_notice",
    "render_notice_body",
]

JURISDICTIONS = frozenset({"KR", "US", "EU", "OTHER"})
LEGAL_BASES = frozenset({"kr_tba_22_5", "us_take_it_down", "eu_dsa_16", "platform_policy"})
# The capacities the notice templates have words for.
SENDER_CAPACITIES = frozenset({"designated_institution", "authorised_representative"})
# A folder under templates/notices/ is a locale when it holds all of these.
LOCALE_FILES = (
    "subject.txt.j2",
    "body.txt.j2",
    "body.html.j2",
    "addressing.txt.j2",
    "addressing.html.j2",
    "words.j2",
)

EU_MEMBER_STATES = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    }
)  # fmt: skip
_BASIS_BY_JURISDICTION = {
    "KR": "kr_tba_22_5",
    "US": "us_take_it_down",
    "EU": "eu_dsa_16",
    "OTHER": "platform_policy",
}
# The notice locale an operator in a country most likely reads (a template folder name: ISO 639-1, plus the
# script for Chinese). Countries whose language has no folder yet are listed anyway, so adding the folder is all
# it takes; choose_locales keeps only the locales that exist. Every EU member state is here with its language.
COUNTRY_LOCALES: Mapping[str, str] = MappingProxyType(
    {
        # East and South-East Asia
        "KR": "ko", "JP": "ja", "CN": "zh-Hans", "SG": "en", "TW": "zh-Hant", "HK": "zh-Hant",
        "MO": "zh-Hant", "VN": "vi", "TH": "th", "ID": "id", "MY": "ms", "PH": "en", "IN": "en",
        # Russian-speaking
        "RU": "ru", "BY": "ru", "KZ": "ru", "KG": "ru",
        # English-speaking
        "US": "en", "GB": "en", "IE": "en", "AU": "en", "CA": "en", "NZ": "en", "MT": "en",
        # Spanish-speaking
        "ES": "es", "MX": "es", "AR": "es", "CO": "es", "CL": "es", "PE": "es", "VE": "es", "EC": "es",
        "GT": "es", "CU": "es", "BO": "es", "DO": "es", "HN": "es", "PY": "es", "SV": "es", "NI": "es",
        "CR": "es", "PA": "es", "UY": "es", "PR": "es",
        # The rest of Europe (EU members with their main language)
        "DE": "de", "AT": "de", "CH": "de", "FR": "fr", "BE": "fr", "LU": "fr", "IT": "it", "NL": "nl",
        "PT": "pt", "PL": "pl", "CZ": "cs", "SK": "sk", "SI": "sl", "HR": "hr", "HU": "hu", "RO": "ro",
        "BG": "bg", "GR": "el", "CY": "el", "SE": "sv", "DK": "da", "FI": "fi", "EE": "et", "LV": "lv",
        "LT": "lt", "NO": "nb", "UA": "uk",
        # Elsewhere
        "BR": "pt", "TR": "tr", "IL": "he",
    }
)  # fmt: skip
# Chinese pages: the script decides the locale; without one, the region does (Taiwan, Hong Kong and Macao write
# Traditional characters), and plain "zh" is Simplified, what most "zh" pages are written in.
_TRADITIONAL_CHINESE_REGIONS = frozenset({"tw", "hk", "mo"})
# Language codes that pages still carry although ISO 639 replaced them.
_RETIRED_LANGUAGE_CODES = {"in": "id", "iw": "he", "ji": "yi"}
_COUNTRY_CODE = re.compile(r"[A-Z]{2}")
_LOCALE_NAME = re.compile(r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_MAX_DEADLINE_HOURS = 24 * 30
# A host name can be 253 characters; the subject names at most this many of them, so that the case reference at
# the end of every locale's subject survives header_safe's length limit.
_SUBJECT_HOST_CHARS = 60
# Why free text shows as written when the caller translated nothing.
_NOT_TRANSLATED = "no translation was made for this notice"


class NoticeFactsError(ValueError):
    """A notice cannot be drafted from these facts; the message says which fact and why."""


class CountryCodeError(ValueError):
    """A country is not an ISO 3166-1 alpha-2 code (or empty for unknown)."""


class UnknownLocaleError(ValueError):
    """No notice templates exist for the requested locale."""


@dataclass(frozen=True)
class NoticeFacts:
    """Everything a notice states. There is deliberately no field about the person depicted.

    Parameters
    ----------
    case_id
        The case reference the recipient quotes in a reply.
    centre_name, centre_email
        Who sends the notice, and the desk that reads replies.
    sender_capacity_key
        In which capacity the centre asks: one of :data:`SENDER_CAPACITIES`.
    page_url, media_urls
        The page, and every media URL on it the notice concerns (``http``/``https``).
    observed_at
        When the crawler saw them (ISO 8601 UTC).
    evidence_key, evidence_sha256, media_sha256
        The stored evidence and the digests that let anyone check it, and find identical files.
    recipient
        Who receives this notice (its address may be empty while the case has none yet). Only the addressing
        block speaks of it (:func:`render_addressing`); the body never does.
    jurisdiction
        ``"KR" | "US" | "EU" | "OTHER"``: decides the legal-basis paragraph.
    deadline_hours
        Hours after receipt by which removal is requested.
    reupload
        The same content came back after an earlier removal.
    reported_before
        The same content was reported before on another page (its removal not yet confirmed).
    follow_up
        For a follow-up or escalation notice: when the first notice went out, its message id, and when the
        content was last seen online (:class:`takedown.model.FollowUpFacts`); None for a first notice. An
        escalation says so in the body; a reminder quotes the notice its recipient received in the addressing
        block, since every recipient received its own message.
    page_title, reviewer_note
        Free text the templates do not hold: the page's title as crawled, and a note from the reviewing officer
        to the recipient. Shown translated into each locale, or as written and marked (see
        :mod:`takedown.notices.free_text`). Neither may name or describe the person depicted; the reviewer sees
        both in the draft before anything is sent.
    """

    case_id: str
    centre_name: str
    centre_email: str
    sender_capacity_key: str
    page_url: str
    media_urls: list[str]
    observed_at: str
    evidence_key: str
    evidence_sha256: str
    media_sha256: str
    recipient: Recipient
    jurisdiction: str
    deadline_hours: int
    reupload: bool = False
    reported_before: bool = False
    follow_up: FollowUpFacts | None = None
    page_title: FreeText | None = None
    reviewer_note: FreeText | None = None

    def __post_init__(self) -> None:
        for name in ("case_id", "centre_name", "evidence_key"):
            if not str(getattr(self, name)).strip():
                raise NoticeFactsError(f"{name} is empty")
        if not _EMAIL.fullmatch(self.centre_email):
            raise NoticeFactsError(
                f"centre_email {self.centre_email!r} is not an email address: the notice must say where to reply"
            )
        if self.sender_capacity_key not in SENDER_CAPACITIES:
            raise NoticeFactsError(
                f"sender_capacity_key {self.sender_capacity_key!r} is not one of {sorted(SENDER_CAPACITIES)}"
            )
        _require_web_url("page_url", self.page_url)
        if not self.media_urls:
            raise NoticeFactsError("media_urls is empty: a notice must point at the exact media")
        for index, media_url in enumerate(self.media_urls):
            _require_web_url(f"media_urls[{index}]", media_url)
        try:
            parse_iso_utc(self.observed_at)
        except ValueError as error:
            raise NoticeFactsError(f"observed_at {self.observed_at!r} is not an ISO 8601 UTC time") from error
        for name in ("evidence_sha256", "media_sha256"):
            if not _SHA256_HEX.fullmatch(getattr(self, name)):
                raise NoticeFactsError(f"{name} is not a lowercase hex SHA-256 digest")
        if self.jurisdiction not in JURISDICTIONS:
            raise NoticeFactsError(
                f"jurisdiction {self.jurisdiction!r} is not one of {sorted(JURISDICTIONS)}"
            )
        if isinstance(self.deadline_hours, bool) or not 1 <= self.deadline_hours <= _MAX_DEADLINE_HOURS:
            raise NoticeFactsError(
                f"deadline_hours must be 1..{_MAX_DEADLINE_HOURS}, got {self.deadline_hours!r}"
            )
        self._check_free_text()

    def _check_free_text(self) -> None:
        for name, item in self.free_text().items():
            if not isinstance(item, FreeText) or item.field != name:
                raise NoticeFactsError(f"{name} must be FreeText for the field {name!r}, got {item!r:.80}")

    def free_text(self) -> dict[str, FreeText]:
        """The free text this notice carries, by field (fields without text left out)."""
        values = {"page_title": self.page_title, "reviewer_note": self.reviewer_note}
        return {name: item for name in FREE_TEXT_FIELDS if (item := values[name]) is not None}

    @property
    def legal_basis(self) -> str:
        """The legal-basis key for this notice's jurisdiction."""
        return legal_basis_for_jurisdiction(self.jurisdiction)

    @property
    def page_host(self) -> str:
        """The page's host name, as the subject line names the site."""
        return urlsplit(self.page_url).hostname or ""


def _require_web_url(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise NoticeFactsError(f"{name} must be an absolute http(s) URL, got {url[:200]!r}")


def _country_code(country: str) -> str:
    code = country.strip().upper()
    if code and not _COUNTRY_CODE.fullmatch(code):
        raise CountryCodeError(f"not an ISO 3166-1 alpha-2 country code: {country!r}")
    return code


def legal_basis_for_jurisdiction(jurisdiction: str) -> str:
    """The legal-basis key of a jurisdiction (``"KR"`` -> ``"kr_tba_22_5"``)."""
    try:
        return _BASIS_BY_JURISDICTION[jurisdiction]
    except KeyError:
        raise NoticeFactsError(
            f"jurisdiction {jurisdiction!r} is not one of {sorted(JURISDICTIONS)}"
        ) from None


def choose_legal_basis(country: str) -> str:
    """The law a notice to an operator in ``country`` relies on.

    Examples
    --------
    >>> [choose_legal_basis(c) for c in ("KR", "us", "DE", "JP", "")]
    ['kr_tba_22_5', 'us_take_it_down', 'eu_dsa_16', 'platform_policy', 'platform_policy']
    """
    code = _country_code(country)
    if code == "KR":
        return "kr_tba_22_5"
    if code == "US":
        return "us_take_it_down"
    if code in EU_MEMBER_STATES:
        return "eu_dsa_16"
    return "platform_policy"


def available_locales(templates_dir: Path | None = None) -> frozenset[str]:
    """The locales with a complete set of notice templates (every file of :data:`LOCALE_FILES`)."""
    notices = (templates_dir or default_templates_dir()) / "notices"
    if not notices.is_dir():
        return frozenset()
    return frozenset(
        folder.name
        for folder in notices.iterdir()
        if folder.is_dir()
        and _LOCALE_NAME.fullmatch(folder.name)
        and all((folder / name).is_file() for name in LOCALE_FILES)
    )


def locale_for_language_tag(tag: str) -> str:
    """The notice locale for a page's ``<html lang>`` tag (BCP 47, ``_`` accepted); ``""`` when there is none.

    Only the language (and, for Chinese, the script or region) matters; whether a template folder exists is
    decided by :func:`choose_locales`.

    Examples
    --------
    >>> [locale_for_language_tag(t) for t in ("ko-KR", "zh-TW", "zh_Hans_HK", "zh", "pt-BR", "in", "")]
    ['ko', 'zh-Hant', 'zh-Hans', 'zh-Hans', 'pt', 'id', '']
    """
    subtags = [part for part in re.split(r"[-_]", tag.strip().lower()) if part]
    if not subtags or not subtags[0].isalpha():
        return ""
    language = _RETIRED_LANGUAGE_CODES.get(subtags[0], subtags[0])
    if language != "zh":
        return language
    rest = subtags[1:]
    if "hant" in rest:
        return "zh-Hant"
    if "hans" in rest:
        return "zh-Hans"
    return "zh-Hant" if _TRADITIONAL_CHINESE_REGIONS & set(rest) else "zh-Hans"


def choose_locales(country: str, page_lang: str, templates_dir: Path | None = None) -> list[str]:
    """The languages of a notice, in order: the operator's language first, then English.

    The operator's language is the language of its country (:data:`COUNTRY_LOCALES`); the page's
    ``<html lang>`` stands in when the country is unknown or not in that map. Korean recipients -- a Korean
    operator, or any site that publishes in Korean -- get Korean first: it is the sending centre's own language,
    and a Korean page says its operator reads it. Duplicates are dropped, and so is any locale without a template
    folder, so adding ``templates/notices/<locale>/`` is all it takes to start writing in a new language.

    Parameters
    ----------
    country
        The operator's ISO 3166-1 alpha-2 country code, any case; ``""`` when unknown.
    page_lang
        The page's language tag (``"zh-TW"``, ``"ja-JP"``, ``"pt-BR"``...); ``""`` when the page has none.
    templates_dir
        The templates folder; the configured one by default.

    Raises
    ------
    CountryCodeError
        ``country`` is neither empty nor a two-letter code.
    UnknownLocaleError
        None of the wanted locales has templates (not even English).

    Examples
    --------
    >>> choose_locales("KR", "")
    ['ko', 'en']
    >>> choose_locales("TW", "")
    ['zh-Hant', 'en']
    >>> choose_locales("", "ja-JP")
    ['ja', 'en']
    >>> choose_locales("US", "ko-KR")  # a Korean page on a US host
    ['ko', 'en']
    >>> choose_locales("DE", "de")  # no German templates yet
    ['en']
    """
    code = _country_code(country)
    page_locale = locale_for_language_tag(page_lang)
    operator_locale = COUNTRY_LOCALES.get(code) or page_locale
    korean_recipient = code == "KR" or page_locale == "ko"
    wanted = ["ko", operator_locale, "en"] if korean_recipient else [operator_locale, "en"]
    available = available_locales(templates_dir)
    chosen = [locale for locale in dict.fromkeys(wanted) if locale and locale in available]
    if not chosen:
        raise UnknownLocaleError(
            f"no notice templates for any of {[w for w in wanted if w]} (available: {sorted(available)})"
        )
    return chosen


def _host_for_subject(host: str) -> str:
    # Keep the right-hand labels: they name the registered domain a reader recognises.
    if len(host) <= _SUBJECT_HOST_CHARS:
        return host
    return "…" + host[-(_SUBJECT_HOST_CHARS - 1) :]


def _free_text_shown(
    facts: NoticeFacts, locale: str, free_text: Mapping[str, TranslatedText] | None
) -> dict[str, TranslatedText]:
    given = free_text or {}
    return {
        field: given.get(field) or untranslated(item, locale, _NOT_TRANSLATED)
        for field, item in facts.free_text().items()
    }


def _body_context(
    facts: NoticeFacts, locale: str, free_text: Mapping[str, TranslatedText] | None
) -> dict[str, Any]:
    # No recipient: the body is the same for every recipient (a template that names one fails, strictly).
    shown = _free_text_shown(facts, locale, free_text)
    return {
        "locale": locale,
        "case_id": facts.case_id,
        "centre_name": facts.centre_name,
        "centre_email": facts.centre_email,
        "sender_capacity_key": facts.sender_capacity_key,
        "page_url": facts.page_url,
        "page_host": facts.page_host,
        "media_urls": list(facts.media_urls),
        "observed_at": facts.observed_at,
        "evidence_key": facts.evidence_key,
        "evidence_sha256": facts.evidence_sha256,
        "media_sha256": facts.media_sha256,
        "jurisdiction": facts.jurisdiction,
        "legal_basis": facts.legal_basis,
        "deadline_hours": facts.deadline_hours,
        "reupload": facts.reupload,
        "reported_before": facts.reported_before,
        "follow_up": facts.follow_up,
        "page_title": shown.get("page_title"),
        "reviewer_note": shown.get("reviewer_note"),
    }


def _require_locale(folder: Path, locale: str) -> None:
    if locale not in available_locales(folder):
        raise UnknownLocaleError(f"no notice templates for locale {locale!r} in {folder / 'notices'}")


def render_notice_body(
    facts: NoticeFacts,
    locale: str,
    templates_dir: Path | None = None,
    *,
    free_text: Mapping[str, TranslatedText] | None = None,
) -> NoticeDraft:
    """Render the body of the notice in one locale: the same for every recipient, and never naming one.

    This is what the reviewer reads, may edit and approves; each recipient's message puts its addressing block
    (:func:`render_addressing`) before it. ``body_html`` is a self-contained, inline-styled ``<div lang=...>`` (no
    external asset, no image), so the locales can follow one another in one message.

    ``free_text`` holds the facts' free text as this locale shows it (from
    :func:`takedown.notices.free_text.translate_free_text`); free text without an entry there is shown as
    written, marked untranslated when its language is not the locale's.

    Raises
    ------
    UnknownLocaleError
        There are no templates for ``locale``.
    """
    folder = templates_dir or default_templates_dir()
    _require_locale(folder, locale)
    environment = make_environment(folder)
    context = _body_context(facts, locale, free_text)
    subject_context = {**context, "page_host": _host_for_subject(facts.page_host)}
    subject = header_safe(
        environment.get_template(f"notices/{locale}/subject.txt.j2").render(subject_context)
    )
    context["subject"] = subject
    body_text = environment.get_template(f"notices/{locale}/body.txt.j2").render(context)
    body_html = environment.get_template(f"notices/{locale}/body.html.j2").render(context)
    return NoticeDraft(locale=locale, subject=subject, body_text=body_text, body_html=body_html)


def render_addressing(facts: NoticeFacts, locale: str, templates_dir: Path | None = None) -> AddressingBlock:
    """Render ``facts.recipient``'s addressing block in one locale, from the locale's fixed words.

    The block says to whom the message is addressed and in what capacity (its role's own wording, with what that
    role is asked to do), where the address was found, and -- when ``facts.follow_up`` is a reminder to this
    recipient -- the notice it received before. Page-derived strings in the recipient (its ``found_at``, address,
    form URL) are data: escaped in HTML, control characters shown as markers, never evaluated.

    Raises
    ------
    UnknownLocaleError
        There are no templates for ``locale``.

    Examples
    --------
    >>> from takedown.config import templates_dir
    >>> facts = NoticeFacts(
    ...     case_id="c0ffee", centre_name="Seoul Support Centre", centre_email="desk@centre.example",
    ...     sender_capacity_key="designated_institution", page_url="https://site.example/p/1",
    ...     media_urls=["https://cdn.site.example/1.jpg"], observed_at="2026-11-28T07:25:00Z",
    ...     evidence_key="evidence/c0ffee/report.html", evidence_sha256="a" * 64, media_sha256="b" * 64,
    ...     recipient=Recipient("abuse@host.example", "host", "RDAP abuse contact of 203.0.113.7", 0.8),
    ...     jurisdiction="KR", deadline_hours=24)
    >>> print(render_addressing(facts, "en").text.splitlines()[0])
    To: abuse@host.example (hosting provider)
    """
    folder = templates_dir or default_templates_dir()
    _require_locale(folder, locale)
    environment = make_environment(folder)
    context = {
        "locale": locale,
        "case_id": facts.case_id,
        "page_host": facts.page_host,
        "recipient": facts.recipient,
        "follow_up": facts.follow_up,
    }
    text = environment.get_template(f"notices/{locale}/addressing.txt.j2").render(context).strip("\n")
    html = environment.get_template(f"notices/{locale}/addressing.html.j2").render(context).strip()
    # A recipient with neither an address nor a form gets no block: both parts empty, never half of one.
    if not text.strip() or not html:
        text = html = ""
    return AddressingBlock(
        locale=locale, recipient=facts.recipient, text=f"{text}\n" if text else "", html=html
    )


def render_notice(
    facts: NoticeFacts,
    locale: str,
    templates_dir: Path | None = None,
    *,
    free_text: Mapping[str, TranslatedText] | None = None,
) -> NoticeDraft:
    """Render the notice in one locale as ``facts.recipient`` reads it: its addressing block, then the body.

    The pipeline stores the two parts apart (a body per locale, a block per recipient and locale) and composes
    each recipient's message from them when it sends (:func:`takedown.notices.addressing.compose_notice`); this
    is the same composition, for one recipient.

    Examples
    --------
    >>> facts = NoticeFacts(
    ...     case_id="c0ffee", centre_name="Seoul Support Centre", centre_email="desk@centre.example",
    ...     sender_capacity_key="designated_institution", page_url="https://site.example/p/1",
    ...     media_urls=["https://cdn.site.example/1.jpg"], observed_at="2026-11-28T07:25:00Z",
    ...     evidence_key="evidence/c0ffee/report.html", evidence_sha256="a" * 64, media_sha256="b" * 64,
    ...     recipient=Recipient("abuse@site.example", "site", "mailto link on the page", 0.9),
    ...     jurisdiction="KR", deadline_hours=24)
    >>> draft = render_notice(facts, "en")
    >>> "https://cdn.site.example/1.jpg" in draft.body_text and "c0ffee" in draft.subject
    True
    >>> draft.body_text.startswith("To: abuse@site.example (website operator)")
    True
    """
    body = render_notice_body(facts, locale, templates_dir, free_text=free_text)
    return addressed_draft(render_addressing(facts, locale, templates_dir), body)
