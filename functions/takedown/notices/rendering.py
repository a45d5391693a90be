"""The one jinja2 environment every template of the project is rendered with.

Templates are trusted source kept in this repository; everything that comes from a crawled page (URLs, titles,
addresses) is *data* handed to them in the context and is never compiled as a template, so ``{{ 7*7 }}`` in a page
title stays literal. The environment is a sandbox anyway, so a mistake in a template cannot reach Python
internals, and it is strict: a missing variable raises instead of printing nothing.

Escaping rules:

* ``*.html.j2`` autoescape; ``*.txt.j2`` do not (subjects and plain-text bodies);
  any other name (``words.j2``, labels, CSS) autoescapes, the safe default.
* Every ``{{ ... }}`` output passes through :func:`neutralize_controls` (the environment's ``finalize``): control
  characters other than newline and tab, and Unicode bidirectional overrides (``U+202E`` ...) are shown as a
  visible ``[U+202E]``-style marker (its code point), so page data can neither forge text lines nor reverse the order of what a reader
  sees.
* Filters for page data: ``shown_url`` (percent-encodes what may not appear raw in a URL), ``one_line`` (also
  marks line breaks), ``utc`` (ISO 8601 -> ``2026-11-28 07:25 UTC``), ``local_time`` (the same time written the
  way a reader of a locale writes dates, followed by the ``utc`` form), ``percent``, ``paragraphs`` and
  ``as_text`` (for words written in an autoescaping ``words.j2`` file and used in HTML or in text).
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from datetime import UTC
from pathlib import Path
from typing import Any

from babel import Locale
from babel import UnknownLocaleError as BabelUnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format
from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from takedown.model import parse_iso_utc

__all__ = [
    "DateLocaleError",
    "InvalidTimestampError",
    "TemplateFolderError",
    "as_text",
    "header_safe",
    "local_time",
    "make_environment",
    "neutralize_controls",
    "one_line",
    "paragraphs",
    "percent",
    "shown_url",
    "utc",
]

# Characters that change the visual order of text (Trojan Source, CVE-2021-42574): never rendered as themselves.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
)
# Characters that a URL shown to a person must not contain raw: they break the line, hide text, or end the URL
# early in plain-text mail (RFC 3986 appendix C uses <...> and "..." as URL delimiters).
_URL_DELIMITERS = frozenset(' <>"')
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
_WHITESPACE_RUN = re.compile(r"\s+")


class TemplateFolderError(ValueError):
    """The templates folder does not exist or is not a folder."""


class InvalidTimestampError(ValueError):
    """A time handed to a template is not ISO 8601 with a UTC offset."""


class DateLocaleError(ValueError):
    """A locale name for which Babel (CLDR) has no date and time formats."""


def _marker(char: str) -> str:
    return f"[U+{ord(char):04X}]"


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS


def neutralize_controls(value: Any) -> Any:
    """Show control characters (except newline and tab) and bidi overrides as visible markers.

    Used as the environment's ``finalize``, so it applies to every ``{{ ... }}`` output; non-strings pass through,
    and escaped HTML stays escaped (a marker contains no markup).

    >>> neutralize_controls("abc\\u202edef\\rX")
    'abc[U+202E]def[U+000D]X'
    """
    if not isinstance(value, str) or not any(_is_control(c) and c not in "\n\t" for c in value):
        return value
    cleaned = "".join(_marker(c) if _is_control(c) and c not in "\n\t" else c for c in value)
    # Still safe: the input was escaped markup and a marker adds no markup.
    return Markup(cleaned) if isinstance(value, Markup) else cleaned  # noqa: S704


def one_line(value: str) -> str:
    """Page data for a single line: every control character, line break included, becomes a visible marker.

    >>> one_line("Title\\r\\nBcc: x")
    'Title[U+000D][U+000A]Bcc: x'
    """
    text = str(value)
    return "".join(
        _marker(c) if _is_control(c) or unicodedata.category(c) in {"Zl", "Zp"} else c for c in text
    )


def shown_url(value: str) -> str:
    """A URL as it may be shown to a person: what may not appear raw in a URL is percent-encoded.

    Control and format characters (bidi overrides, zero-width characters), whitespace and the delimiters
    ``< > "`` are encoded as UTF-8 percent escapes, exactly as a browser would send them, so the shown URL still
    identifies the same resource and cannot break the line, hide characters or end early.

    >>> shown_url("https://example.test/a b<script>\\r\\n")
    'https://example.test/a%20b%3Cscript%3E%0D%0A'
    """
    out: list[str] = []
    for char in str(value):
        category = unicodedata.category(char)
        if char in _URL_DELIMITERS or category in {"Cc", "Cf", "Zs", "Zl", "Zp", "Cs"}:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        else:
            out.append(char)
    return "".join(out)


def utc(value: str, seconds: bool = False) -> str:
    """An ISO 8601 time as ``YYYY-MM-DD HH:MM UTC`` (with ``:SS`` when ``seconds``).

    >>> utc("2026-11-28T07:25:13.000000Z")
    '2026-11-28 07:25 UTC'
    >>> utc("2026-11-28T16:25:13+09:00", seconds=True)
    '2026-11-28 07:25:13 UTC'
    """
    try:
        moment = parse_iso_utc(str(value))
    except ValueError as error:
        raise InvalidTimestampError(f"not an ISO 8601 time with a UTC offset: {value!r}") from error
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def local_time(value: str, locale: str) -> str:
    """An ISO 8601 time written for readers of ``locale``, then in the unambiguous :func:`utc` form.

    The locale's long date and short time (CLDR data, through Babel) are shown in UTC, never in a guessed local
    zone: the recipient's zone is unknown, and the ISO form after it must name the same moment.

    Parameters
    ----------
    value
        An ISO 8601 time with an offset (``2026-11-28T07:25:13.482000Z``).
    locale
        A notice locale (``ko``, ``zh-Hant``, ``es``...); ``-`` and ``_`` are both accepted.

    Examples
    --------
    >>> local_time("2026-11-28T07:25:13Z", "ko")
    '2026년 11월 28일 오전 7:25 (2026-11-28 07:25 UTC)'
    >>> local_time("2026-11-28T16:25:13+09:00", "es")
    '28 de noviembre de 2026, 7:25 (2026-11-28 07:25 UTC)'
    """
    try:
        moment = parse_iso_utc(str(value))
    except ValueError as error:
        raise InvalidTimestampError(f"not an ISO 8601 time with a UTC offset: {value!r}") from error
    try:
        reader = Locale.parse(str(locale).replace("-", "_"))
    except (ValueError, BabelUnknownLocaleError) as error:
        raise DateLocaleError(f"no CLDR date formats for locale {locale!r}") from error
    # Long date with short time: seconds add nothing for a reader, and the ISO form follows anyway. Joined by the
    # locale's own date-time pattern, as babel.dates.format_datetime joins its parts.
    date_part = format_date(moment, "long", locale=reader)
    time_part = format_time(moment, "short", tzinfo=UTC, locale=reader)
    pattern = str(get_datetime_format("long", locale=reader)).replace("'", "")
    shown = pattern.replace("{0}", time_part).replace("{1}", date_part)
    return f"{shown} ({utc(value)})"


def percent(value: float) -> str:
    """A 0..1 confidence as a whole percentage.

    >>> percent(0.875)
    '88%'
    """
    return f"{float(value) * 100:.0f}%"


def paragraphs(value: str, style: str = "") -> Markup:
    """Text split at blank lines into ``<p>`` elements; single line breaks become ``<br>``.

    Plain strings are escaped first; already-escaped markup (a macro called from an HTML template) is kept.

    >>> str(paragraphs("a & b\\n\\nc"))
    '<p>a &amp; b</p>\\n<p>c</p>'
    """
    safe = escape(value)  # every block below comes from this escaped text
    attribute = Markup(' style="{}"').format(style) if style else Markup("")
    blocks = [block.strip() for block in _PARAGRAPH_BREAK.split(str(safe)) if block.strip()]
    return Markup("\n").join(
        Markup("<p{}>{}</p>").format(attribute, Markup(block.replace("\n", "<br>\n")))  # noqa: S704
        for block in blocks
    )


def as_text(value: str) -> str:
    """Words from an autoescaping ``words.j2`` macro, used in a plain-text template.

    Such a macro escapes the data it inserts; in plain text that escaping is undone here so the reader sees the
    data exactly. Forgetting this filter shows ``&lt;`` in the text, never unescaped HTML.

    >>> as_text("Centre &lt;Seoul&gt; &amp; partners")
    'Centre <Seoul> & partners'
    """
    return html.unescape(str(value))


def header_safe(text: str, max_len: int = 200) -> str:
    """Text fit for a mail header such as ``Subject``: one line, no control characters, at most ``max_len``.

    Line breaks, control and format characters become spaces, runs of whitespace collapse to one space, and an
    over-long value is cut with ``…`` so that it still fits.

    >>> header_safe("Removal request\\r\\nBcc: someone@example.test")
    'Removal request Bcc: someone@example.test'
    >>> header_safe("x" * 10, max_len=5)
    'xxxx…'
    """
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")
    spaced = "".join(" " if unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp", "Cs"} else c for c in text)
    single = _WHITESPACE_RUN.sub(" ", spaced).strip()
    if len(single) <= max_len:
        return single
    return single[: max_len - 1].rstrip() + "…"


def make_environment(templates_dir: Path) -> ImmutableSandboxedEnvironment:
    """The shared sandboxed environment for ``templates_dir`` (one per folder, built once per process).

    Examples
    --------
    >>> from takedown.config import templates_dir
    >>> env = make_environment(templates_dir())
    >>> env is make_environment(templates_dir())
    True
    >>> env.from_string("{{ t }}").render(t="{{ 7*7 }}")
    '{{ 7*7 }}'
    """
    folder = Path(templates_dir).resolve()
    if not folder.is_dir():
        raise TemplateFolderError(f"templates folder not found: {folder}")
    return _environment_for(folder)


@functools.lru_cache(maxsize=8)
def _environment_for(folder: Path) -> ImmutableSandboxedEnvironment:
    environment = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(folder, encoding="utf-8"),
        autoescape=select_autoescape(
            enabled_extensions=("html.j2",),
            disabled_extensions=("txt.j2",),
            default_for_string=True,
            default=True,
        ),
        undefined=StrictUndefined,
        finalize=neutralize_controls,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        {
            "as_text": as_text,
            "header_safe": header_safe,
            "local_time": local_time,
            "one_line": one_line,
            "paragraphs": paragraphs,
            "percent": percent,
            "shown_url": shown_url,
            "utc": utc,
        }
    )
    return environment
