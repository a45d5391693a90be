"""Court-grade capture of fetched pages and media as a WARC file (ISO 28500:2017, ``WARC/1.1``).

:func:`build_warc` turns the crawler's :class:`~takedown.crawl.fetch.FetchResult` objects into a
``.warc.gz``: every record is its own gzip member, so any record can be read (and its digests checked) on
its own. The file holds, in order:

1. one ``warcinfo`` record: ``software``, ``format``, ``conformsTo``, the ``operator`` (the centre) and a
   ``description`` of how the HTTP messages below were reconstructed, plus any fields the caller adds;
2. for each :class:`CapturedExchange`, a ``request`` record, then a ``response`` record, linked both ways by
   ``WARC-Concurrent-To``, each with ``WARC-Target-URI`` (the final URL), ``WARC-Date`` (the fetch time),
   ``WARC-IP-Address`` (the address connected to, absent when a proxy connected) and ``sha256`` block and
   payload digests in the ``sha256:BASE32`` form warcio writes;
3. after a response that was reached through redirects, a ``metadata`` record listing the requested URL and
   every hop, because the crawler keeps the hop URLs but not the redirect responses themselves.

What the crawler does not keep is never invented; the WARC says what it holds instead:

- the request record holds the method, target, ``Host`` and ``User-Agent`` sent. The crawler's other fixed
  headers and any source credentials are not recorded (credentials must never be);
- the response status line reads ``HTTP/1.1 <status>`` with an empty reason phrase: the crawler speaks
  HTTP/1.1 and keeps neither the server's version nor its reason phrase;
- the body is stored as the crawler holds it, after transfer and content decoding. A framing header that no
  longer describes the stored body (``transfer-encoding``, a decoded ``content-encoding``, a
  ``content-length`` that differs) is written as ``x-archive-orig-<name>``, named in the record's
  ``Takedown-Renamed-Headers`` field, and a true ``content-length`` is written in its place;
- a header name that is not an HTTP token, or a value holding control characters (CR, LF, NUL ...) or
  characters outside ISO 8859-1, cannot be written verbatim without forging header lines: it is written
  percent-encoded (``%`` itself included, UTF-8 for the escapes) and named in ``Takedown-Escaped-Headers``.
  Every other value is written as the exact octets received (the crawler's parser reads them as ISO 8859-1).

URLs, the user agent, the fetch time, the server address and the caller's ``warcinfo`` fields go into WARC
header lines, so they are checked rather than escaped: bad ones raise :class:`WarcBuildError`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import ipaddress
import string
import uuid
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from urllib3.response import HTTPResponse
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from takedown.crawl.errors import shorten_url
from takedown.crawl.urls import UrlError, split_url
from takedown.model import iso_utc, parse_iso_utc, utc_now

if TYPE_CHECKING:
    from takedown.crawl.fetch import FetchResult, SafeFetcher

__all__ = [
    "CAPTURE_ROLES",
    "ESCAPED_HEADERS_FIELD",
    "ORIGINAL_HEADER_PREFIX",
    "RENAMED_HEADERS_FIELD",
    "ROLE_FIELD",
    "WARC_VERSION",
    "CapturedExchange",
    "WarcBuildError",
    "build_warc",
    "warc_digest",
]

WARC_VERSION: Final = "WARC/1.1"
CAPTURE_ROLES: Final = frozenset({"page", "media"})
# Extension fields (ISO 28500 allows named fields beyond the standard ones).
ROLE_FIELD: Final = "Takedown-Role"
RENAMED_HEADERS_FIELD: Final = "Takedown-Renamed-Headers"
ESCAPED_HEADERS_FIELD: Final = "Takedown-Escaped-Headers"
ORIGINAL_HEADER_PREFIX: Final = "x-archive-orig-"

_FORMAT: Final = "WARC File Format 1.1"
_CONFORMS_TO: Final = "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
_OWN_WARCINFO_FIELDS: Final = ("software", "format", "conformsTo", "description")
_DESCRIPTION: Final = (
    "Captured by the takedown crawler. Request records hold the method, target, Host and User-Agent sent "
    "(other fixed crawler headers and any source credentials are not recorded). Response records hold the "
    "status and headers as the crawler parsed them (status line written as HTTP/1.1 with no reason phrase; "
    "repeated headers joined with ', ') and the body after transfer and content decoding; framing headers "
    f"that decoding made untrue are kept as {ORIGINAL_HEADER_PREFIX}<name> and listed in "
    f"{RENAMED_HEADERS_FIELD}; header fields that cannot be written verbatim are percent-encoded and listed "
    f"in {ESCAPED_HEADERS_FIELD}. Redirect hops are listed in a metadata record because their responses "
    "were not kept."
)
_HTTP_CONTENT_TYPES: Final = {
    "request": "application/http;msgtype=request",
    "response": "application/http;msgtype=response",
}
_WARC_FIELDS_TYPE: Final = "application/warc-fields"
_TOKEN_CHARS: Final = frozenset("!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits)
# Printable ASCII except "%": what an escaped header keeps as is (so "%" always starts an escape there).
_ESCAPE_SAFE: Final = "".join(chr(code) for code in range(0x20, 0x7F) if chr(code) != "%")
_FRAMING_HEADERS: Final = ("transfer-encoding", "content-encoding", "content-length")


class WarcBuildError(ValueError):
    """An exchange or a warcinfo field cannot be written into a valid WARC.

    Attributes
    ----------
    reason
        A short machine-readable code such as ``"url:control-chars"`` or ``"role:unknown"``.
    message
        A sentence for people.
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(f"{message} [{reason}]")


@dataclass(frozen=True)
class CapturedExchange:
    """One HTTP exchange to preserve: a page or a media file, as the crawler fetched it.

    Parameters
    ----------
    result
        The crawler's fetch result.
    role
        ``"page"`` or ``"media"``; written into the records as ``Takedown-Role``.
    user_agent
        The ``User-Agent`` the fetcher sent (``SafeFetcher.user_agent``).

    Examples
    --------
    >>> CapturedExchange(result=None, role="thumbnail", user_agent="ua")  # type: ignore[arg-type]
    Traceback (most recent call last):
    takedown.evidence.warc.WarcBuildError: role 'thumbnail' is not one of: media, page [role:unknown]
    """

    result: FetchResult
    role: str
    user_agent: str

    def __post_init__(self) -> None:
        if self.role not in CAPTURE_ROLES:
            raise WarcBuildError(
                "role:unknown", f"role {self.role!r} is not one of: {', '.join(sorted(CAPTURE_ROLES))}"
            )
        if not _is_clean_field_value(self.user_agent):
            raise WarcBuildError(
                "user-agent:invalid", "the user agent holds control characters or non-Latin-1 characters"
            )

    @classmethod
    def from_fetch(cls, fetcher: SafeFetcher, result: FetchResult, role: str) -> CapturedExchange:
        """The exchange ``fetcher`` made to get ``result``: takes the user agent from the fetcher."""
        return cls(result=result, role=role, user_agent=fetcher.user_agent)


def warc_digest(algorithm: str, digest: bytes) -> str:
    """A digest in the ``algorithm:BASE32`` form warcio and most WARC tools write.

    >>> warc_digest("sha256", hashlib.sha256(b"").digest())
    'sha256:4OYMIQUY7QOBJGX36TEJS35ZEQT24QPEMSNZGTFESWMRW6CSXBKQ===='
    """
    return f"{algorithm}:{base64.b32encode(digest).decode('ascii')}"


def build_warc(exchanges: list[CapturedExchange], *, warcinfo: dict[str, str]) -> bytes:
    """Write ``exchanges`` as a gzip-per-record WARC/1.1 file (see the module documentation for the layout).

    Parameters
    ----------
    exchanges
        The page and media exchanges of one capture, in the order they happened; at least one.
    warcinfo
        Fields for the ``warcinfo`` record. ``operator`` (the centre's name) is required; ``software``,
        ``format``, ``conformsTo`` and ``description`` are written by this module and may not be given.
        Names must be HTTP tokens, values single lines.

    Returns
    -------
    bytes
        The ``.warc.gz`` file.

    Raises
    ------
    WarcBuildError
        For no exchanges, a bad warcinfo field, or an exchange whose URL, fetch time, server address,
        status or redirect list cannot be written truthfully.

    Examples
    --------
    >>> build_warc([], warcinfo={"operator": "Example Centre"})
    Traceback (most recent call last):
    takedown.evidence.warc.WarcBuildError: a WARC needs at least one exchange [exchanges:empty]
    """
    if not exchanges:
        raise WarcBuildError("exchanges:empty", "a WARC needs at least one exchange")
    info_block = _warcinfo_block(warcinfo)
    # Check every exchange before writing anything, so a bad one costs no compression work.
    prepared = [_prepare_exchange(exchange) for exchange in exchanges]
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version=WARC_VERSION)
    warcinfo_id = _new_record_id()
    _write_record(
        writer, "warcinfo", [("WARC-Record-ID", warcinfo_id), ("WARC-Date", iso_utc(utc_now()))], info_block
    )
    for exchange in prepared:
        _write_exchange(writer, exchange, warcinfo_id)
    return out.getvalue()


@dataclass(frozen=True)
class _PreparedExchange:
    """An exchange checked and turned into the bytes and fields its records need."""

    role: str
    target_uri: str
    date: str
    ip: str
    request_head: bytes
    response_head: bytes
    body: bytes
    renamed: tuple[str, ...]
    escaped: tuple[str, ...]
    redirect_block: bytes  # b"" without redirects


def _prepare_exchange(exchange: CapturedExchange) -> _PreparedExchange:
    result = exchange.result
    for label, url in [("requested_url", result.requested_url), ("final_url", result.final_url)] + [
        (f"redirects[{index}]", hop) for index, hop in enumerate(result.redirects)
    ]:
        _check_url(label, url)
    expected_final = result.redirects[-1] if result.redirects else result.requested_url
    if result.final_url != expected_final:
        raise WarcBuildError(
            "redirects:inconsistent",
            f"final_url {shorten_url(result.final_url)} is not where the redirects led "
            f"({shorten_url(expected_final)})",
        )
    if not 100 <= result.status <= 999:
        raise WarcBuildError("status:invalid", f"HTTP status {result.status} is not a 3-digit code")
    try:
        date = iso_utc(parse_iso_utc(result.fetched_at))
    except ValueError as error:
        raise WarcBuildError(
            "fetched-at:invalid", f"fetched_at {result.fetched_at!r} is not an ISO 8601 UTC time"
        ) from error
    response_head, renamed, escaped = _response_head(result)
    return _PreparedExchange(
        role=exchange.role,
        target_uri=result.final_url,
        date=date,
        ip=_checked_ip(result.server_ip),
        request_head=_request_head(result.final_url, exchange.user_agent),
        response_head=response_head,
        body=result.body,
        renamed=renamed,
        escaped=escaped,
        redirect_block=_redirect_block(result) if result.redirects else b"",
    )


def _write_exchange(writer: WARCWriter, exchange: _PreparedExchange, warcinfo_id: str) -> None:
    request_id, response_id = _new_record_id(), _new_record_id()
    common = [("WARC-Date", exchange.date), ("WARC-Target-URI", exchange.target_uri)]
    if exchange.ip:
        common.append(("WARC-IP-Address", exchange.ip))
    common += [("WARC-Warcinfo-ID", warcinfo_id), (ROLE_FIELD, exchange.role)]
    _write_record(
        writer,
        "request",
        [("WARC-Record-ID", request_id), *common, ("WARC-Concurrent-To", response_id)],
        exchange.request_head,
    )
    response_fields = [("WARC-Record-ID", response_id), *common, ("WARC-Concurrent-To", request_id)]
    if exchange.renamed:
        response_fields.append((RENAMED_HEADERS_FIELD, ", ".join(exchange.renamed)))
    if exchange.escaped:
        response_fields.append((ESCAPED_HEADERS_FIELD, ", ".join(exchange.escaped)))
    _write_record(writer, "response", response_fields, exchange.response_head, exchange.body)
    if exchange.redirect_block:
        _write_record(
            writer,
            "metadata",
            [("WARC-Record-ID", _new_record_id()), *common, ("WARC-Concurrent-To", response_id)],
            exchange.redirect_block,
        )


class _BlockReader:
    """Reads a record block (a head, then a body) in slices, so the body is never copied whole."""

    def __init__(self, head: bytes, body: bytes) -> None:
        self._parts = (memoryview(head), memoryview(body))
        self._part = 0
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        while self._part < len(self._parts):
            view = self._parts[self._part]
            if self._offset < len(view):
                end = len(view) if size < 0 else self._offset + size
                chunk = bytes(view[self._offset : end])
                self._offset += len(chunk)
                return chunk
            self._part += 1
            self._offset = 0
        return b""


def _write_record(
    writer: WARCWriter,
    record_type: str,
    fields: list[tuple[str, str]],
    head: bytes,
    body: bytes = b"",
) -> None:
    """Write one record whose block is ``head + body``; for HTTP records the payload is ``body``.

    The digests are computed here, in one pass over bytes already in memory, and the record goes to warcio
    without parsed HTTP headers: warcio would re-serialise them (percent-encoding every non-ASCII value),
    and the evidence must keep the octets received.
    """
    block = hashlib.sha256(head)
    block.update(body)
    digests = [("WARC-Block-Digest", warc_digest("sha256", block.digest()))]
    if record_type in _HTTP_CONTENT_TYPES:
        digests.append(("WARC-Payload-Digest", warc_digest("sha256", hashlib.sha256(body).digest())))
    headers = StatusAndHeaders("", [("WARC-Type", record_type), *fields, *digests], protocol=WARC_VERSION)
    record = ArcWarcRecord(
        "warc",
        record_type,
        headers,
        _BlockReader(head, body),
        None,
        _HTTP_CONTENT_TYPES.get(record_type, _WARC_FIELDS_TYPE),
        len(head) + len(body),
    )
    writer.write_record(record)


def _new_record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


@functools.cache
def _software() -> str:
    return f"takedown/{metadata.version('takedown')} (warcio/{metadata.version('warcio')})"


def _warcinfo_block(warcinfo: dict[str, str]) -> bytes:
    for name, value in warcinfo.items():
        if not _is_token(name):
            raise WarcBuildError("warcinfo:invalid-name", f"warcinfo field name {name!r} is not a token")
        if name in _OWN_WARCINFO_FIELDS:
            raise WarcBuildError("warcinfo:reserved", f"warcinfo field {name!r} is written by takedown")
        if not isinstance(value, str) or not _is_single_line(value):
            raise WarcBuildError(
                "warcinfo:invalid-value", f"warcinfo field {name!r} must be a single line of text"
            )
    if not warcinfo.get("operator", "").strip():
        raise WarcBuildError("warcinfo:no-operator", "warcinfo needs the operator (the centre's name)")
    fields = {
        "software": _software(),
        "format": _FORMAT,
        "conformsTo": _CONFORMS_TO,
        **warcinfo,
        "description": _DESCRIPTION,
    }
    return "".join(f"{name}: {value}\r\n" for name, value in fields.items()).encode("utf-8")


def _is_token(text: str) -> bool:
    return bool(text) and all(char in _TOKEN_CHARS for char in text)


def _is_single_line(text: str) -> bool:
    """No control characters: safe on a WARC header line (UTF-8 is allowed there)."""
    return not any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 for char in text)


def _is_clean_field_value(value: str) -> bool:
    """Writable verbatim on an HTTP header line: tab, printable ASCII and ISO 8859-1 letters only."""
    return all(char == "\t" or (0x20 <= ord(char) <= 0xFF and ord(char) != 0x7F) for char in value)


def _check_url(label: str, url: str) -> None:
    """Refuse a URL that is not the canonical http(s) URL the crawler would have fetched."""
    if not url or any(char.isspace() or not char.isprintable() for char in url):
        raise WarcBuildError(
            "url:control-chars", f"{label} holds whitespace or control characters: {shorten_url(url)!r}"
        )
    try:
        canonical = split_url(url).url
    except UrlError as error:
        raise WarcBuildError(error.reason, f"{label} is not a fetchable URL: {error.message}") from error
    if canonical != url:
        raise WarcBuildError("url:not-canonical", f"{label} is not in canonical form: {shorten_url(url)}")


def _checked_ip(server_ip: str) -> str:
    if not server_ip:
        return ""  # a proxy made the connection: there is no address to record
    try:
        return str(ipaddress.ip_address(server_ip))
    except ValueError as error:
        raise WarcBuildError("server-ip:invalid", f"server_ip {server_ip!r} is not an IP address") from error


def _request_head(url: str, user_agent: str) -> bytes:
    parts = split_url(url)
    return (
        f"GET {parts.target} HTTP/1.1\r\nHost: {parts.host_header}\r\nUser-Agent: {user_agent}\r\n\r\n"
    ).encode("latin-1")


def _content_was_decoded(content_encoding: str) -> bool:
    """Whether urllib3 (the crawler's HTTP client) decoded a body sent with this Content-Encoding.

    Mirrors ``HTTPResponse._init_decoder``: one coding it knows, or a list holding at least one.
    """
    coding = content_encoding.strip().lower()
    known = HTTPResponse.CONTENT_DECODERS
    return coding in known or ("," in coding and any(part.strip() in known for part in coding.split(",")))


def _response_head(result: FetchResult) -> tuple[bytes, tuple[str, ...], tuple[str, ...]]:
    """The response's status line and headers as bytes, plus the renamed and the escaped header names."""
    body_length = str(len(result.body))
    untrue = {
        name
        for name, value in result.headers.items()
        if (name.lower() == "transfer-encoding")
        or (name.lower() == "content-encoding" and _content_was_decoded(value))
        or (name.lower() == "content-length" and value.strip() != body_length)
    }
    lines = [f"HTTP/1.1 {result.status} \r\n".encode("ascii")]
    renamed: list[str] = []
    escaped: list[str] = []
    for name, value in result.headers.items():
        written_name = f"{ORIGINAL_HEADER_PREFIX}{name}" if name in untrue else name
        line, was_escaped = _header_line(written_name, value)
        lines.append(line)
        if name in untrue:
            renamed.append(name.lower())
        if was_escaped:
            escaped.append(_escape(written_name, safe=_TOKEN_CHARS))
        if name in untrue and name.lower() == "content-length":
            lines.append(f"content-length: {body_length}\r\n".encode("ascii"))
    lines.append(b"\r\n")
    return b"".join(lines), tuple(renamed), tuple(escaped)


def _header_line(name: str, value: str) -> tuple[bytes, bool]:
    """One ``name: value`` line; escaped (and flagged) when it cannot be written verbatim."""
    if _is_token(name) and _is_clean_field_value(value):
        # The client read the octets as ISO 8859-1, so encoding back gives exactly what the server sent.
        return f"{name}: {value}\r\n".encode("latin-1"), False
    escaped_name = _escape(name, safe=_TOKEN_CHARS)
    return f"{escaped_name}: {_escape(value, safe=_ESCAPE_SAFE)}\r\n".encode("ascii"), True


def _escape(text: str, *, safe: frozenset[str] | str) -> str:
    if isinstance(safe, frozenset):
        return "".join(char if char in safe and char != "%" else quote(char, safe="") for char in text)
    return quote(text, safe=safe)


def _redirect_block(result: FetchResult) -> bytes:
    """The redirect chain as warc-fields: what was asked for, then each URL redirected to, in order."""
    lines = [f"requested-url: {result.requested_url}"]
    lines += [f"redirect-to: {hop}" for hop in result.redirects]
    lines.append(
        "note: the crawler followed these redirects but did not keep the redirect responses "
        "(status, headers, server address and time of each hop are not recorded)"
    )
    return "".join(f"{line}\r\n" for line in lines).encode("utf-8")
