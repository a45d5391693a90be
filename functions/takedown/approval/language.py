"""Which language the reviewer pages speak: Korean or English, chosen by ``?lang=`` or by the browser.

The switch on every page is a pair of links to the same signed address with ``lang`` set; only the link's own
parameters (``e``, ``s``) are carried over, so nothing else from a request is ever reflected into a page.
"""

from __future__ import annotations

from urllib.parse import urlencode

__all__ = ["DEFAULT_LANGUAGE", "INTERFACE_LANGUAGES", "interface_language", "language_links"]

INTERFACE_LANGUAGES: tuple[str, ...] = ("ko", "en")
# The centre works in Korean; a browser that states no preference we support gets Korean.
DEFAULT_LANGUAGE = "ko"
_CARRIED_PARAMETERS = ("e", "s")
_MAX_HEADER_CHARS = 512


def _accepted(accept_language: str) -> list[tuple[float, int, str]]:
    """``(quality, position, primary language)`` for each entry of an Accept-Language header."""
    entries: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language[:_MAX_HEADER_CHARS].split(",")):
        tag, _, parameters = part.strip().partition(";")
        quality = 1.0
        name, _, value = parameters.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary and 0.0 < quality <= 1.0:
            entries.append((quality, position, primary))
    return entries


def interface_language(requested: str | None, accept_language: str | None) -> str:
    """The interface language: ``requested`` (``?lang=``) when it is one we speak, else the browser's most
    preferred one we speak, else Korean.

    >>> interface_language("en", "ko-KR,ko;q=0.9")
    'en'
    >>> interface_language(None, "fr-FR,fr;q=0.9,en;q=0.8,ko;q=0.7")
    'en'
    >>> interface_language("de", None)
    'ko'
    """
    if requested in INTERFACE_LANGUAGES:
        return str(requested)
    ranked = sorted(_accepted(accept_language or ""), key=lambda entry: (-entry[0], entry[1]))
    for _, _, primary in ranked:
        if primary in INTERFACE_LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def language_links(page: str, query: dict[str, str]) -> dict[str, str]:
    """Language -> relative link to ``page`` in that language, keeping the signed link's ``e`` and ``s``.

    >>> language_links("r1", {"e": "9", "s": "x", "junk": "<b>"})["en"]
    'r1?e=9&s=x&lang=en'
    """
    carried = {name: query[name] for name in _CARRIED_PARAMETERS if query.get(name)}
    return {lang: f"{page}?{urlencode({**carried, 'lang': lang})}" for lang in INTERFACE_LANGUAGES}
