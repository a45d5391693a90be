"""build_warc on real loopback fetches: record order, fields, links and digests, read back with warcio."""

from __future__ import annotations

import base64
import gzip
import hashlib
from typing import TYPE_CHECKING

from takedown.evidence.warc import (
    ESCAPED_HEADERS_FIELD,
    RENAMED_HEADERS_FIELD,
    ROLE_FIELD,
    warc_digest,
)
from takedown.model import parse_iso_utc
from tests.unit.evidence_capture.conftest import (
    CENTRE,
    RawRoute,
    capture,
    gradient_png,
    gzip_members,
    page_html,
    read_warc,
)

if TYPE_CHECKING:
    from takedown.crawl.fetch import SafeFetcher
    from tests.unit.evidence_capture.conftest import RawSite


def _sha256_b32(data: bytes) -> str:
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode()


def _serve_page_and_png(site: RawSite) -> tuple[str, str, bytes, bytes]:
    png = gradient_png()
    png_url = site.serve("/media/shape.png", RawRoute(png, headers=[b"Content-Type: image/png"]))
    html = page_html(png_url)
    page_url = site.serve("/gallery", RawRoute(html, headers=[b"Content-Type: text/html; charset=utf-8"]))
    return page_url, png_url, html, png


def test_page_and_media_become_warcinfo_then_request_response_pairs(
    site: RawSite, fetcher: SafeFetcher
) -> None:
    # GIVEN a page and the PNG it shows, on a loopback server
    page_url, png_url, _html, _png = _serve_page_and_png(site)
    # WHEN both are fetched and written as a WARC
    _exchanges, warc = capture(fetcher, (page_url, "page"), (png_url, "media"))
    # THEN warcio reads back a warcinfo record, then a request and a response for each exchange
    records = read_warc(warc)
    assert [record.type for record in records] == ["warcinfo", "request", "response", "request", "response"]
    assert [record.warc.get("WARC-Target-URI") for record in records] == [
        None,
        page_url,
        page_url,
        png_url,
        png_url,
    ]
    assert [record.warc.get(ROLE_FIELD) for record in records[1:]] == ["page", "page", "media", "media"]
    assert all(record.warc["WARC-Record-ID"].startswith("<urn:uuid:") for record in records)
    assert len({record.warc["WARC-Record-ID"] for record in records}) == 5
    # AND the file is WARC/1.1, one gzip member per record
    assert gzip.decompress(warc).startswith(b"WARC/1.1\r\n")
    assert len(gzip_members(warc)) == 5


def test_warcinfo_names_software_format_and_operator(site: RawSite, fetcher: SafeFetcher) -> None:
    # GIVEN a captured page
    page_url, _png_url, _html, _png = _serve_page_and_png(site)
    _exchanges, warc = capture(fetcher, (page_url, "page"))
    # WHEN the warcinfo record is read
    info = read_warc(warc)[0]
    fields = dict(line.split(": ", 1) for line in info.content.decode().splitlines())
    # THEN it names the software, the format, the centre, and explains the reconstruction
    assert info.warc["Content-Type"] == "application/warc-fields"
    assert fields["software"].startswith("takedown/")
    assert fields["format"] == "WARC File Format 1.1"
    assert fields["operator"] == CENTRE
    assert "HTTP/1.1 with no reason phrase" in fields["description"]
    # AND every other record points back at it
    assert {record.warc["WARC-Warcinfo-ID"] for record in read_warc(warc)[1:]} == {
        info.warc["WARC-Record-ID"]
    }


def test_dates_and_addresses_are_those_of_the_fetch(site: RawSite, fetcher: SafeFetcher) -> None:
    # GIVEN two fetched exchanges
    page_url, png_url, _html, _png = _serve_page_and_png(site)
    exchanges, warc = capture(fetcher, (page_url, "page"), (png_url, "media"))
    # WHEN the records are read back
    records = read_warc(warc)[1:]
    # THEN each pair carries its own fetch time and the address connected to
    for index, exchange in enumerate(exchanges):
        request, response = records[2 * index], records[2 * index + 1]
        for record in (request, response):
            assert parse_iso_utc(record.warc["WARC-Date"]) == parse_iso_utc(exchange.result.fetched_at)
            assert record.warc["WARC-IP-Address"] == exchange.result.server_ip == "127.0.0.1"


def test_request_and_response_point_at_each_other(site: RawSite, fetcher: SafeFetcher) -> None:
    # GIVEN a captured page
    page_url, _png_url, _html, _png = _serve_page_and_png(site)
    _exchanges, warc = capture(fetcher, (page_url, "page"))
    # WHEN its request and response are read back
    _info, request, response = read_warc(warc)
    # THEN each names the other as concurrent
    assert request.warc["WARC-Concurrent-To"] == response.warc["WARC-Record-ID"]
    assert response.warc["WARC-Concurrent-To"] == request.warc["WARC-Record-ID"]


def test_request_record_holds_what_was_sent(site: RawSite, fetcher: SafeFetcher) -> None:
    # GIVEN a page with a query string
    url = site.serve("/list?page=2", RawRoute(b"<p>two</p>"))
    _exchanges, warc = capture(fetcher, (url, "page"))
    # WHEN the request record is read back
    request = read_warc(warc)[1]
    # THEN it holds the method, target, Host and the fetcher's User-Agent
    assert request.warc["Content-Type"] == "application/http;msgtype=request"
    assert (request.http.protocol, request.http.statusline) == ("GET", "/list?page=2 HTTP/1.1")
    port = url.split(":")[2].split("/")[0]
    assert request.http.get_header("Host") == f"127.0.0.1:{port}"
    assert request.http.get_header("User-Agent") == fetcher.user_agent


def test_response_record_holds_status_headers_and_the_exact_body(site: RawSite, fetcher: SafeFetcher) -> None:
    # GIVEN a PNG served with a custom header
    png = gradient_png(80, 60)
    url = site.serve(
        "/a.png",
        RawRoute(png, head=b"HTTP/1.1 203 Whatever", headers=[b"Content-Type: image/png", b"X-Id: 7"]),
    )
    # WHEN it is captured
    _exchanges, warc = capture(fetcher, (url, "media"))
    response = read_warc(warc)[2]
    # THEN the status, the headers and the body come back unchanged
    assert response.warc["Content-Type"] == "application/http;msgtype=response"
    assert response.http.get_statuscode() == "203"
    assert response.http.get_header("content-type") == "image/png"
    assert response.http.get_header("x-id") == "7"
    assert response.http.get_header("content-length") == str(len(png))
    assert response.content == png
    # AND nothing was renamed or escaped
    assert RENAMED_HEADERS_FIELD not in response.warc
    assert ESCAPED_HEADERS_FIELD not in response.warc


def test_digests_are_sha256_of_payload_and_block(site: RawSite, fetcher: SafeFetcher) -> None:
    # GIVEN a captured page and PNG
    page_url, png_url, html, png = _serve_page_and_png(site)
    _exchanges, warc = capture(fetcher, (page_url, "page"), (png_url, "media"))
    # WHEN the stored bytes of each record are recomputed from the uncompressed members
    for member in gzip_members(warc):
        raw = gzip.decompress(member)
        head, _, rest = raw.partition(b"\r\n\r\n")
        length = int(
            next(line for line in head.split(b"\r\n") if line.startswith(b"Content-Length:")).split()[1]
        )
        block = rest[:length]
        fields = dict(line.decode().split(": ", 1) for line in head.split(b"\r\n")[1:])
        # THEN the block digest is the SHA-256 of the whole block, in the sha256:BASE32 form
        assert fields["WARC-Block-Digest"] == _sha256_b32(block)
        if fields["WARC-Type"] in {"request", "response"}:
            # AND the payload digest is the SHA-256 of what follows the HTTP head
            payload = block.partition(b"\r\n\r\n")[2]
            assert fields["WARC-Payload-Digest"] == _sha256_b32(payload)
    # AND the response payloads are exactly the page and the PNG
    responses = [record for record in read_warc(warc) if record.type == "response"]
    assert [record.content for record in responses] == [html, png]
    assert responses[1].warc["WARC-Payload-Digest"] == warc_digest("sha256", hashlib.sha256(png).digest())


def test_redirects_are_listed_in_a_metadata_record(site: RawSite, fetcher: SafeFetcher) -> None:
    # GIVEN a chain /old -> /moved -> /final
    final = site.serve("/final", RawRoute(b"<p>landed</p>"))
    site.redirect("/moved", final)
    start = site.redirect("/old", site.url("/moved"))
    # WHEN the start URL is captured
    exchanges, warc = capture(fetcher, (start, "page"))
    records = read_warc(warc)
    # THEN the request/response pair is for the final URL, followed by a metadata record of the chain
    assert [record.type for record in records] == ["warcinfo", "request", "response", "metadata"]
    assert records[2].warc["WARC-Target-URI"] == final
    assert records[2].content == b"<p>landed</p>"
    chain = records[3]
    assert chain.warc["WARC-Concurrent-To"] == records[2].warc["WARC-Record-ID"]
    assert chain.warc["Content-Type"] == "application/warc-fields"
    lines = chain.content.decode().splitlines()
    assert lines[:3] == [
        f"requested-url: {start}",
        f"redirect-to: {site.url('/moved')}",
        f"redirect-to: {final}",
    ]
    assert exchanges[0].result.redirects == [site.url("/moved"), final]


def test_decoded_body_keeps_the_original_framing_headers_aside(site: RawSite, fetcher: SafeFetcher) -> None:
    # GIVEN a page sent gzip-compressed and chunked
    html = b"<p>" + b"compressible " * 500 + b"</p>"
    url = site.serve(
        "/zipped", RawRoute(gzip.compress(html), headers=[b"Content-Encoding: gzip"], chunked=True)
    )
    # WHEN it is captured (the crawler holds the decoded body)
    _exchanges, warc = capture(fetcher, (url, "page"))
    response = read_warc(warc)[2]
    # THEN the stored body is the decoded page, and the headers describe it truly
    assert response.content == html
    assert response.http.get_header("content-encoding") is None
    assert response.http.get_header("transfer-encoding") is None
    # AND the original framing headers are kept under the x-archive-orig- prefix and named in the record
    assert response.http.get_header("x-archive-orig-content-encoding") == "gzip"
    assert response.http.get_header("x-archive-orig-transfer-encoding") == "chunked"
    assert response.warc[RENAMED_HEADERS_FIELD] == "content-encoding, transfer-encoding"


def test_undecoded_content_encoding_stays_as_sent(site: RawSite, fetcher: SafeFetcher) -> None:
    # GIVEN a body in a coding the crawler's client does not decode
    url = site.serve("/odd", RawRoute(b"\x1f\x9d opaque", headers=[b"Content-Encoding: compress"]))
    # WHEN it is captured
    _exchanges, warc = capture(fetcher, (url, "page"))
    response = read_warc(warc)[2]
    # THEN the header still describes the stored (still encoded) body
    assert response.http.get_header("content-encoding") == "compress"
    assert response.content == b"\x1f\x9d opaque"
    assert RENAMED_HEADERS_FIELD not in response.warc
