"""Host names and registered domains, the unit a platform, a site owner and a registrar answer for.

The registered domain ("example.co.uk" for "www.shop.example.co.uk") needs the Public Suffix List. We use
the copy bundled inside ``tldextract`` and never let it download a fresh one: a Lambda must not reach out to
a list server on every cold start, and tests must not reach the network. Only the ICANN section of the
list counts, because the registrar of "someone.blogspot.com" is the registrar of "blogspot.com"; hosting
platforms such as that are the platform registry's business, not the suffix list's.
"""

from __future__ import annotations

import functools
from typing import Final

import idna
import tldextract

from takedown.crawl.ip_literals import IpLiteralError, parse_ip_literal

_MAX_HOST_LENGTH: Final = 253
_MAX_LABEL_LENGTH: Final = 63
_LABEL_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


class HostNameError(ValueError):
    """A host name that cannot be a domain name (empty, too long, bad characters, not valid IDNA)."""


def normalise_host(host: str) -> str:
    """The host in lowercase ASCII (IDNA), without a trailing dot; IP literals in standard spelling.

    Raises :class:`HostNameError` for anything that is not a domain name or an IP address.

    >>> normalise_host("WWW.Bücher.Example.")
    'www.xn--bcher-kva.example'
    """
    text = host.strip().rstrip(".").lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if not text:
        raise HostNameError("empty host name")
    try:
        address = parse_ip_literal(text)
    except IpLiteralError as error:
        raise HostNameError(f"not a valid IP address: {text[:80]!r}") from error
    if address is not None:
        return address.compressed
    if not text.isascii():
        try:
            text = idna.encode(text, uts46=True).decode("ascii")
        except idna.IDNAError as error:
            raise HostNameError(f"not a valid international domain name: {text[:80]!r}") from error
    labels = text.split(".")
    if (
        len(text) > _MAX_HOST_LENGTH
        or any(not label or len(label) > _MAX_LABEL_LENGTH for label in labels)
        or not set(text) <= _LABEL_CHARS | {"."}
    ):
        raise HostNameError(f"not a valid domain name: {text[:80]!r}")
    return text


def is_ip_address(host: str) -> bool:
    """True when ``host`` (already normalised) is an IPv4 or IPv6 address."""
    try:
        return parse_ip_literal(host) is not None
    except IpLiteralError:
        return False


@functools.cache
def _suffix_extractor() -> tldextract.TLDExtract:
    # suffix_list_urls=() and cache_dir=None: the bundled snapshot only, no download and no cache files
    # (a Lambda's file system is read-only outside /tmp).
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False)


def registered_domain(host: str) -> str:
    """The domain someone registered with a registrar, or "" when there is none.

    "" for IP addresses and for names under a suffix that is not on the Public Suffix List (such as the
    reserved ``.example`` and ``.test``).

    >>> registered_domain("www.shop.example.co.uk"), registered_domain("192.0.2.1")
    ('example.co.uk', '')
    """
    name = normalise_host(host)
    if is_ip_address(name):
        return ""
    return str(_suffix_extractor()(name).top_domain_under_public_suffix)


def parent_domains(host: str) -> list[str]:
    """The host and each domain above it, most specific first, without the bare top-level label.

    >>> parent_domains("a.b.example.com")
    ['a.b.example.com', 'b.example.com', 'example.com']
    """
    name = normalise_host(host)
    if is_ip_address(name):
        return [name]
    labels = name.split(".")
    return [".".join(labels[index:]) for index in range(max(len(labels) - 1, 1))]


def is_public_suffix(host: str) -> bool:
    """True when ``host`` is itself a public suffix ("com", "co.uk"), under which anyone can register.

    >>> is_public_suffix("co.uk"), is_public_suffix("example.co.uk")
    (True, False)
    """
    name = normalise_host(host)
    return not is_ip_address(name) and not _suffix_extractor()(name).domain
