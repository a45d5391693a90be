"""E-mail addresses written in page text, plain or in the usual spam-shy spellings.

Sites that must publish a contact but fear harvesters write ``abuse [at] example [dot] com``,
``abuse(at)example.com``, ``abuse＠example.com`` (full-width), ``abuse[골뱅이]example.co.kr``, or serve the
address through Cloudflare's e-mail protection (``data-cfemail="..."``, a published XOR encoding).
:func:`find_addresses_in_text` reads them all back; validation is the caller's job.

Only bracketed words count as ``at``/``dot`` ("(at)", "[dot]"): a bare "at" is an ordinary English word.
A run with a second at-sign (``a@b@board.example``) is no address at all: no part of it is read back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

MAX_TEXT_CHARS: Final = 2_000_000  # longer text is read up to here only

_OPEN: Final = r"[\[\(\{<（【「]"
_CLOSE: Final = r"[\]\)\}>）】」]"
_AT: Final = rf"(?:[@＠]|\s*{_OPEN}\s*(?:at|@|＠|골뱅이)\s*{_CLOSE}\s*)"
_DOT: Final = rf"(?:\.|．|\s*{_OPEN}\s*(?:dot|\.|점)\s*{_CLOSE}\s*)"
_LABEL: Final = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# The local part may not follow an at-sign either: "b@board.example" is not an address in "a@b@board.example".
_ADDRESS: Final = re.compile(
    rf"(?<![A-Za-z0-9._%+\-@＠])(?P<local>[A-Za-z0-9][A-Za-z0-9._%+-]{{0,63}})"
    rf"(?P<at>{_AT})(?P<domain>{_LABEL}(?:{_DOT}{_LABEL})+)",
    re.IGNORECASE,
)
_DOT_TOKEN: Final = re.compile(_DOT, re.IGNORECASE)
# A second at-sign, plain or spelled out, right after the domain ("a@board.example@other.example") or right
# before the local part ("a(at)b(at)board.example"): the run is one malformed token, not an address.
_AT_AFTER: Final = re.compile(rf"[.\-]*{_AT}[A-Za-z0-9]", re.IGNORECASE)
_AT_BEFORE: Final = re.compile(rf"[A-Za-z0-9._%+-]{_AT}$", re.IGNORECASE)
_AT_BEFORE_WINDOW: Final = 24  # characters before a local part searched for a spelled-out at-sign
# "logo@2x.png" is an image name, not an address.
_FILE_SUFFIXES: Final = frozenset(
    {
        "png",
        "jpg",
        "jpeg",
        "gif",
        "webp",
        "svg",
        "ico",
        "bmp",
        "avif",
        "css",
        "js",
        "mp4",
        "webm",
        "html",
        "htm",
        "php",
    }
)


@dataclass(frozen=True)
class TextAddress:
    """An address found in text: lowercased, de-obfuscated, not yet validated.

    ``start``/``end`` are its position in the text; ``obfuscated`` says it was not written plainly.
    """

    address: str
    start: int
    end: int
    obfuscated: bool


def find_addresses_in_text(text: str) -> list[TextAddress]:
    """Every address-shaped run in ``text``, in order.

    Examples
    --------
    >>> [a.address for a in find_addresses_in_text("mail abuse [at] example [dot] com or dmca(at)example.org.")]
    ['abuse@example.com', 'dmca@example.org']
    >>> find_addresses_in_text("logo@2x.png")
    []
    >>> find_addresses_in_text("a@b@board.example or a@board.example@b.example")
    []
    """
    found: list[TextAddress] = []
    scanned = text[:MAX_TEXT_CHARS]
    for match in _ADDRESS.finditer(scanned):
        before = scanned[max(0, match.start() - _AT_BEFORE_WINDOW) : match.start()]
        if _AT_AFTER.match(scanned, match.end()) or _AT_BEFORE.search(before):
            continue
        domain_text = match.group("domain")
        domain = _DOT_TOKEN.sub(".", domain_text)
        tld = domain.rsplit(".", 1)[-1]
        if not tld.isalpha() or len(tld) < 2 or tld.lower() in _FILE_SUFFIXES:
            continue
        local = match.group("local").rstrip(".")
        obfuscated = match.group("at") != "@" or domain != domain_text
        found.append(TextAddress(f"{local}@{domain}".lower(), match.start(), match.end(), obfuscated))
    return found


def decode_cloudflare_email(encoded: str) -> str:
    """Decode Cloudflare's e-mail protection: hex bytes, the first is a key XOR-ed into the rest.

    Returns "" when ``encoded`` is not that encoding.

    >>> decode_cloudflare_email("4f2e2d3a3c2a0f2a372e223f232a612c2022")
    'abuse@example.com'
    """
    text = encoded.strip()
    if len(text) < 4 or len(text) % 2 or len(text) > 512:
        return ""
    try:
        data = bytes.fromhex(text)
    except ValueError:
        return ""
    key = data[0]
    decoded = bytes(byte ^ key for byte in data[1:])
    return decoded.decode("ascii") if decoded.isascii() and decoded.decode("ascii").isprintable() else ""
