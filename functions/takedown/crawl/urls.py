"""Canonical URLs: one spelling per resource, so dedup, host allow-lists and the SSRF guard agree.

A canonical URL is absolute http(s) with a lowercase scheme and host, an IDNA (punycode) host, IPv4 hosts
written as dotted quads, no default port, no fragment, a path without dot segments and with normalised
percent-encoding, and the query kept in its original order.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

import idna

from takedown.crawl.errors import shorten_url
from takedown.crawl.ip_literals import IpLiteralError, parse_ip_literal

DEFAULT_PORTS = {"http": 80, "https": 443}
_HTML_WHITESPACE = " \t\n\r\f"
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_SUB_DELIMS = frozenset("!$&'()*+,;=")
_PATH_SAFE = _UNRESERVED | _SUB_DELIMS | frozenset(":@/")
_QUERY_SAFE = _PATH_SAFE | frozenset("?")
_HOST_CHARS = frozenset(string.ascii_lowercase + string.digits + "-_.")
_HEX = frozenset(string.hexdigits)
_MAX_HOST_LENGTH = 253
_MAX_LABEL_LENGTH = 63


class UrlError(ValueError):
    """A URL the crawler will not use, with a short reason code.

    Reason codes: ``scheme:<name>``, ``url:relative``, ``url:no-host``, ``url:credentials``,
    ``url:control-chars``, ``url:invalid-port``, ``url:invalid-host``.
    """

    def __init__(self, url: str, reason: str, message: str) -> None:
        self.url = url
        self.reason = reason
        self.message = message
        super().__init__(f"{message}: {shorten_url(url)!r}")


@dataclass(frozen=True)
class UrlParts:
    """The pieces of a canonical URL a fetcher needs."""

    url: str
    scheme: str
    host: str  # without IPv6 brackets
    port: int  # explicit or the scheme's default
    target: str  # path plus "?query": the HTTP request target

    @property
    def host_header(self) -> str:
        """The ``Host`` header value: host (bracketed if IPv6) plus the port unless it is the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"


def _has_control_chars(text: str) -> bool:
    return any(ord(char) < 0x20 or ord(char) == 0x7F for char in text)


def _normalise_percent_encoding(text: str, safe: frozenset[str]) -> str:
    """Decode escapes of unreserved characters, uppercase the others, encode what may not appear raw."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "%":
            pair = text[index + 1 : index + 3]
            if len(pair) == 2 and set(pair) <= _HEX:
                decoded = chr(int(pair, 16))
                out.append(decoded if decoded in _UNRESERVED else "%" + pair.upper())
                index += 3
                continue
            out.append("%25")  # a lone "%" is data, not an escape
        elif char in safe:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
        index += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, on a path that starts with "/"."""
    output: list[str] = []
    segments = path.split("/")[1:]
    for position, segment in enumerate(segments):
        is_last = position == len(segments) - 1
        if segment == ".":
            if is_last:
                output.append("")
        elif segment == "..":
            if output:
                output.pop()
            if is_last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


def _split_authority(url: str, netloc: str) -> tuple[str, str]:
    """Split ``host[:port]`` (host possibly ``[ipv6]``) into host and port text."""
    if "@" in netloc:
        raise UrlError(url, "url:credentials", "credentials in a URL are not allowed")
    if netloc.startswith("["):
        close = netloc.find("]")
        if close < 0:
            raise UrlError(url, "url:invalid-host", "unclosed IPv6 bracket")
        host, rest = netloc[: close + 1], netloc[close + 1 :]
        if rest and not rest.startswith(":"):
            raise UrlError(url, "url:invalid-host", "text after an IPv6 address")
        return host, rest[1:]
    host, _, port = netloc.partition(":")
    return host, port


def _canonical_port(url: str, scheme: str, port_text: str) -> str:
    if not port_text:
        return ""
    if not port_text.isascii() or not port_text.isdigit():
        raise UrlError(url, "url:invalid-port", "the port is not a number")
    port = int(port_text)
    if not 0 < port < 65536:
        raise UrlError(url, "url:invalid-port", "the port is out of range")
    return "" if port == DEFAULT_PORTS[scheme] else f":{port}"


def _canonical_host(url: str, raw_host: str) -> str:
    """Lowercase, IDNA-encode and validate a host; IP literals come back in their standard spelling."""
    host = unquote(raw_host)
    if not host:
        raise UrlError(url, "url:no-host", "the URL has no host")
    if _has_control_chars(host):
        raise UrlError(url, "url:control-chars", "control characters in the host")
    try:
        address = parse_ip_literal(host)
    except IpLiteralError as error:
        raise UrlError(url, "url:invalid-host", str(error)) from error
    if address is not None:
        return f"[{address.compressed}]" if address.version == 6 else str(address)
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]  # "example.com." and "example.com" are one host
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as error:
            raise UrlError(url, "url:invalid-host", f"the host is not a valid IDN ({error})") from error
    labels = host.split(".")
    if (
        not set(host) <= _HOST_CHARS
        or len(host) > _MAX_HOST_LENGTH
        or any(not label or len(label) > _MAX_LABEL_LENGTH for label in labels)
    ):
        raise UrlError(url, "url:invalid-host", "the host is not a valid domain name")
    return host


def _backslashes_to_slashes(text: str) -> str:
    """Browsers read "\\" as "/" before the query in http(s) URLs; do the same so we see what they see."""
    cut = min((index for index in (text.find("?"), text.find("#")) if index >= 0), default=len(text))
    return text[:cut].replace("\\", "/") + text[cut:]


def canonicalize_url(url: str, base: str | None = None) -> str:
    """Make an absolute, canonical http(s) URL.

    Parameters
    ----------
    url
        Absolute, or relative to ``base``. Surrounding HTML whitespace is ignored.
    base
        The URL ``url`` is relative to (a page's or its ``<base href>``), or None.

    Returns
    -------
    str
        The canonical URL.

    Raises
    ------
    UrlError
        For a scheme other than http/https, a missing host, credentials (``user:pass@``), control
        characters, an invalid port or host, or a relative URL without a base.

    Examples
    --------
    >>> canonicalize_url("HTTP://Example.COM:80/a/./b/../c%7e?b=2&a=1#top")
    'http://example.com/a/c~?b=2&a=1'
    >>> canonicalize_url("../img/x y.png", base="https://bücher.example/p/q/")
    'https://xn--bcher-kva.example/p/img/x%20y.png'
    """
    text = url.strip(_HTML_WHITESPACE)
    if _has_control_chars(text):
        raise UrlError(url, "url:control-chars", "control characters in the URL")
    text = _backslashes_to_slashes(text)
    if base is not None:
        text = urljoin(canonicalize_url(base), text)
    try:
        parts = urlsplit(text)
    except ValueError as error:
        raise UrlError(url, "url:invalid-host", f"unparseable URL ({error})") from error
    scheme = parts.scheme.lower()
    if not scheme:
        raise UrlError(url, "url:relative", "a relative URL needs a base")
    if scheme not in DEFAULT_PORTS:
        raise UrlError(url, f"scheme:{scheme[:20]}", f"the scheme {scheme!r} is not http or https")
    raw_host, port_text = _split_authority(url, parts.netloc)
    host = _canonical_host(url, raw_host)
    port = _canonical_port(url, scheme, port_text)
    path = _remove_dot_segments(_normalise_percent_encoding(parts.path or "/", _PATH_SAFE))
    query = _normalise_percent_encoding(parts.query, _QUERY_SAFE)
    return f"{scheme}://{host}{port}{path}" + (f"?{query}" if query else "")


def split_url(url: str) -> UrlParts:
    """Canonicalise ``url`` and split it into what a fetcher needs.

    >>> split_url("https://[::1]:8443/a?b").host_header
    '[::1]:8443'
    """
    canonical = canonicalize_url(url)
    parts = urlsplit(canonical)
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return UrlParts(url=canonical, scheme=parts.scheme, host=host, port=port, target=target)


def host_of(url: str) -> str:
    """The canonical host of a URL (lowercase, IDNA, IPv6 without brackets).

    >>> host_of("https://WWW.Example.com./x")
    'www.example.com'
    """
    return split_url(url).host
