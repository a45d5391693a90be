"""build_warc on hostile or odd input: a valid WARC, or a clear WarcBuildError; big bodies without copies."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import random
import tracemalloc
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pytest
from warcio.archiveiterator import ArchiveIterator

from takedown.crawl.fetch import FetchResult, SafeFetcher
from takedown.evidence.manifest import build_manifest, verify_manifest
from takedown.evidence.warc import (
    ESCAPED_HEADERS_FIELD,
    CapturedExchange,
    WarcBuildError,
    build_warc,
    warc_digest,
)
from tests.unit.evidence_capture.conftest import CENTRE, RawRoute, capture, gzip_members, read_warc

if TYPE_CHECKING:
    from tests.unit.evidence_capture.conftest import RawSite

# Documentation addresses (RFC 5737): these results are built by hand, nothing connects to them.
PAGE = "http://198.51.100.7/page"
MiB = 1024 * 1024


def _result(**changes: Any) -> FetchResult:
    base = FetchResult(
        requested_url=PAGE,
        final_url=PAGE,
        status=200,
        headers={"content-type": "text/html"},
        body=b"<p>synthetic</p>",
        server_ip="198.51.100.7",
        fetched_at="2026-01-02T03:04:05.000000Z",
    )
    return dataclasses.replace(base, **changes)


def _build(result: FetchResult, **warcinfo: str) -> bytes:
    return build_warc(
        [CapturedExchange(result, "page", "takedown-test/1")], warcinfo=warcinfo or {"operator": CENTRE}
    )


def _assert_digests_check_out(warc: bytes) -> None:
    for record in ArchiveIterator(io.BytesIO(warc), check_digests=True):
        record.raw_stream.read()
        assert record.digest_checker.problems == []


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("requested_url", "http://198.51.100.7/a\r\nWARC-Type: forged"),
        ("final_url", "http://198.51.100.7/b\n"),
        ("final_url", "http://198.51.100.7/with space"),
        ("final_url", "http://198.51.100.7/nul\x00"),
    ],
)
def test_control_characters_in_a_url_are_refused(field: str, url: str) -> None:
    # GIVEN a fetch result whose URL would break a WARC header line
    result = _result(**{field: url})
    # WHEN it is written
    # THEN the build stops with a specific reason
    with pytest.raises(WarcBuildError) as raised:
        _build(result)
    assert raised.value.reason == "url:control-chars"
    assert field in raised.value.message


def test_a_bad_redirect_hop_is_refused() -> None:
    # GIVEN a redirect list holding a line break
    hop, final = "http://198.51.100.7/next\r\nX: y", "http://198.51.100.7/final"
    result = _result(redirects=[hop, final], final_url=final)
    # WHEN / THEN
    with pytest.raises(WarcBuildError, match=r"redirects\[0\]") as raised:
        _build(result)
    assert raised.value.reason == "url:control-chars"


def test_a_non_canonical_url_is_refused() -> None:
    # GIVEN a URL the crawler would never have produced (it canonicalises every URL it fetches)
    url = "HTTP://198.51.100.7:80/a/../b"
    # WHEN / THEN
    with pytest.raises(WarcBuildError) as raised:
        _build(_result(requested_url=url, final_url=url))
    assert raised.value.reason == "url:not-canonical"


def test_redirects_that_do_not_lead_to_the_final_url_are_refused() -> None:
    # GIVEN a result whose final URL is not the last redirect
    result = _result(redirects=["http://198.51.100.7/elsewhere"])
    # WHEN / THEN
    with pytest.raises(WarcBuildError) as raised:
        _build(result)
    assert raised.value.reason == "redirects:inconsistent"


def test_line_breaks_in_header_names_and_values_are_escaped_not_injected() -> None:
    # GIVEN response headers that try to forge header lines (the crawler's client drops such lines, but a
    # result can come from elsewhere)
    headers = {
        "content-type": "text/html",
        "x-evil": "a\r\nWARC-Type: forged\r\n\r\nbody-start 100%41",
        "bad\nname": "v",
        "x-wide": "snowman \u2603",
    }
    # WHEN the result is written
    warc = _build(_result(headers=headers))
    # THEN the WARC still has exactly its three records, with intact digests
    records = read_warc(warc)
    assert [record.type for record in records] == ["warcinfo", "request", "response"]
    _assert_digests_check_out(warc)
    # AND the escaped fields are percent-encoded (with "%" itself) and named in the record
    response = records[2]
    assert response.warc[ESCAPED_HEADERS_FIELD] == "x-evil, bad%0Aname, x-wide"
    names = [name for name, _value in response.http.headers]
    assert names == ["content-type", "x-evil", "bad%0Aname", "x-wide"]
    assert unquote(response.http.get_header("x-evil")) == headers["x-evil"]
    assert unquote(response.http.get_header("x-wide")) == headers["x-wide"]
    assert response.content == b"<p>synthetic</p>"


def test_non_utf8_header_octets_are_stored_exactly(site: RawSite) -> None:
    # GIVEN a server sending ISO 8859-1 octets that are not UTF-8
    url = site.serve(
        "/latin", RawRoute(b"ok", headers=[b"X-Latin: caf\xe9 \xff", b"Content-Type: text/plain"])
    )
    fetcher = SafeFetcher(allow_private=True)
    # WHEN the page is captured
    _exchanges, warc = capture(fetcher, (url, "page"))
    # THEN the response block holds the very octets the server sent, unescaped
    response_member = gzip.decompress(gzip_members(warc)[2])
    assert b"\r\nx-latin: caf\xe9 \xff\r\n" in response_member
    assert ESCAPED_HEADERS_FIELD.encode() not in response_member
    _assert_digests_check_out(warc)


def test_an_empty_body_makes_a_valid_response(site: RawSite) -> None:
    # GIVEN a 0-byte answer
    url = site.serve("/empty", RawRoute(b"", head=b"HTTP/1.1 204 No Content", content_length=False))
    fetcher = SafeFetcher(allow_private=True)
    # WHEN it is captured
    _exchanges, warc = capture(fetcher, (url, "media"))
    response = read_warc(warc)[2]
    # THEN the response has its head, no payload, and the digest of nothing
    assert response.http.get_statuscode() == "204"
    assert response.content == b""
    assert response.warc["WARC-Payload-Digest"] == warc_digest("sha256", hashlib.sha256(b"").digest())
    _assert_digests_check_out(warc)


def test_a_proxied_fetch_has_no_ip_address_field() -> None:
    # GIVEN a result fetched through a proxy (no address known)
    warc = _build(_result(server_ip=""))
    # WHEN / THEN the records carry no WARC-IP-Address rather than an empty or made-up one
    assert all("WARC-IP-Address" not in record.warc for record in read_warc(warc))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"server_ip": "198.51.100.7\r\nX: y"}, "server-ip:invalid"),
        ({"server_ip": "not-an-ip"}, "server-ip:invalid"),
        ({"fetched_at": "yesterday"}, "fetched-at:invalid"),
        ({"fetched_at": "2026-01-02T03:04:05"}, "fetched-at:invalid"),
        ({"status": 42}, "status:invalid"),
    ],
)
def test_bad_fetch_facts_are_refused(changes: dict[str, Any], reason: str) -> None:
    # GIVEN a result with a malformed fact
    # WHEN / THEN
    with pytest.raises(WarcBuildError) as raised:
        _build(_result(**changes))
    assert raised.value.reason == reason


@pytest.mark.parametrize(
    ("role", "user_agent", "reason"),
    [
        ("thumbnail", "ua", "role:unknown"),
        ("page", "ua\r\nX-Injected: 1", "user-agent:invalid"),
    ],
)
def test_bad_exchange_fields_are_refused(role: str, user_agent: str, reason: str) -> None:
    # GIVEN / WHEN an exchange with a bad role or a user agent that would forge a request header
    # THEN it cannot even be built
    with pytest.raises(WarcBuildError) as raised:
        CapturedExchange(_result(), role, user_agent)
    assert raised.value.reason == reason


@pytest.mark.parametrize(
    ("warcinfo", "reason"),
    [
        ({}, "warcinfo:no-operator"),
        ({"operator": "  "}, "warcinfo:no-operator"),
        ({"operator": "Centre\r\nsoftware: forged"}, "warcinfo:invalid-value"),
        ({"operator": CENTRE, "software": "other"}, "warcinfo:reserved"),
        ({"operator": CENTRE, "is part of": "x"}, "warcinfo:invalid-name"),
    ],
)
def test_bad_warcinfo_fields_are_refused(warcinfo: dict[str, str], reason: str) -> None:
    # GIVEN / WHEN a warcinfo without an operator, or with a field that would break the record
    # THEN the build stops with a specific reason
    with pytest.raises(WarcBuildError) as raised:
        build_warc([CapturedExchange(_result(), "page", "ua")], warcinfo=warcinfo)
    assert raised.value.reason == reason


def test_extra_warcinfo_fields_are_written() -> None:
    # GIVEN a caller's extra warcinfo field
    warc = build_warc(
        [CapturedExchange(_result(), "page", "ua")], warcinfo={"operator": CENTRE, "isPartOf": "case-17"}
    )
    # WHEN / THEN it is in the warcinfo block
    assert b"\r\nisPartOf: case-17\r\n" in read_warc(warc)[0].content


def test_no_exchanges_is_refused() -> None:
    with pytest.raises(WarcBuildError) as raised:
        build_warc([], warcinfo={"operator": CENTRE})
    assert raised.value.reason == "exchanges:empty"


def _peak_bytes_while(action: Any) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        value = action()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return value, peak


@pytest.mark.parametrize("kind", ["noise", "pattern"])
def test_a_20_mib_body_is_written_and_read_without_extra_copies(site: RawSite, kind: str) -> None:
    # GIVEN a 20 MiB synthetic body (incompressible noise, or a compressible byte ramp), fetched for real
    size = 20 * MiB
    body = random.Random(7).randbytes(size) if kind == "noise" else bytes(range(256)) * (size // 256)
    url = site.serve("/big.bin", RawRoute(body, headers=[b"Content-Type: application/octet-stream"]))
    del body
    fetcher = SafeFetcher(allow_private=True, deadline_seconds=120)
    exchange = CapturedExchange.from_fetch(fetcher, fetcher.fetch(url), "media")
    site.routes.clear()
    # WHEN the WARC is built, and its manifest read back, under memory tracing
    warc, build_peak = _peak_bytes_while(lambda: build_warc([exchange], warcinfo={"operator": CENTRE}))
    manifest, read_peak = _peak_bytes_while(
        lambda: build_manifest(warc, case_id="c-1", warc_key="k", created_at="2026-01-02T03:04:05Z")
    )
    # THEN writing allocates the compressed output and nothing the size of the body besides
    assert build_peak < len(warc) + 4 * MiB
    # AND reading back never holds the body: it is hashed as it is inflated
    assert read_peak < 8 * MiB
    # AND the stored payload is the body, byte for byte
    response = manifest.records[2]
    assert response.payload_length == size
    assert response.payload_sha256 == hashlib.sha256(exchange.result.body).hexdigest()
    assert verify_manifest(warc, manifest) == []
