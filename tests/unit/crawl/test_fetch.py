"""SafeFetcher against real loopback servers: redirects, address policy, size caps, deadlines, pinning."""

from __future__ import annotations

import gzip
from typing import TYPE_CHECKING

import pytest

from takedown.crawl.errors import FetchFailed, FetchRefused
from takedown.crawl.fetch import FetcherConfigError, SafeFetcher
from takedown.model import parse_iso_utc
from tests.unit.crawl.conftest import unused_port

if TYPE_CHECKING:
    from tests.unit.crawl.conftest import FakeDns, LoopbackSite


def test_fetches_a_page_and_reports_where_from(site: LoopbackSite) -> None:
    # GIVEN a page on the loopback site
    url = site.serve("/page", b"<p>hello</p>", content_type="text/html; charset=utf-8")
    fetcher = SafeFetcher(allow_private=True, user_agent="takedown-test/1")
    # WHEN it is fetched
    result = fetcher.fetch(url)
    # THEN the body, status, headers and connection facts are recorded
    assert (result.status, result.body) == (200, b"<p>hello</p>")
    assert result.headers["content-type"] == "text/html; charset=utf-8"
    assert result.content_type == "text/html; charset=utf-8"
    assert (result.requested_url, result.final_url, result.redirects) == (url, url, [])
    assert result.server_ip == "127.0.0.1"
    assert result.fetched_at.endswith("Z")
    assert parse_iso_utc(result.fetched_at).tzinfo is not None
    # AND the server saw the original Host header and our user agent
    request = site.requests[-1]
    assert request.headers["Host"] == f"127.0.0.1:{site.port}"
    assert request.headers["User-Agent"] == "takedown-test/1"


def test_error_statuses_are_results_not_errors(site: LoopbackSite) -> None:
    # GIVEN a path the site does not have
    # WHEN it is fetched
    result = SafeFetcher(allow_private=True).fetch(site.url("/missing"))
    # THEN the 404 comes back as a result
    assert result.status == 404
    assert result.body == b"not found"


def test_body_bytes_stay_out_of_repr(site: LoopbackSite) -> None:
    # GIVEN a fetched body
    url = site.serve("/secret-bytes", b"SYNTHETIC-BODY-MARKER")
    result = SafeFetcher(allow_private=True).fetch(url)
    # WHEN the result is printed (e.g. into a log)
    text = repr(result)
    # THEN the body is not in it
    assert "SYNTHETIC-BODY-MARKER" not in text


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_follows_redirects_by_hand(site: LoopbackSite, status: int) -> None:
    # GIVEN a chain: absolute redirect, then relative redirect, then the page
    site.redirect("/start", site.url("/middle/"), status=status)
    site.redirect("/middle/", "../end?x=1", status=status)
    final = site.serve("/end?x=1", b"done")
    # WHEN the start is fetched
    result = SafeFetcher(allow_private=True).fetch(site.url("/start"))
    # THEN every hop is recorded and the final page returned
    assert result.body == b"done"
    assert result.final_url == final
    assert result.redirects == [site.url("/middle/"), final]
    assert [request.path for request in site.requests] == ["/start", "/middle/", "/end?x=1"]


def test_redirect_loop_is_capped(site: LoopbackSite) -> None:
    # GIVEN a page that redirects to itself
    url = site.redirect("/loop", "/loop")
    # WHEN it is fetched with a cap of 3 redirects
    with pytest.raises(FetchRefused) as raised:
        SafeFetcher(allow_private=True, max_redirects=3).fetch(url)
    # THEN the fetch is refused after the cap, not followed forever
    assert raised.value.reason == "redirects:too-many"
    assert len(site.requests) == 4


def test_redirect_to_metadata_is_refused_even_with_allow_private(
    site: LoopbackSite, connections: list[object]
) -> None:
    # GIVEN a loopback page that redirects to the instance metadata service
    url = site.redirect("/to-metadata", "http://169.254.169.254/latest/meta-data/iam/security-credentials/")
    # WHEN it is fetched by a fetcher that allows private addresses
    with pytest.raises(FetchRefused) as raised:
        SafeFetcher(allow_private=True).fetch(url)
    # THEN the metadata hop is refused before any connection to it
    assert raised.value.reason == "address:metadata"
    assert raised.value.url == "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    assert connections == [("127.0.0.1", site.port)]


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("ftp://files.example/x", "scheme:ftp"),
        ("file:///etc/passwd", "scheme:file"),
        ("http://user:pw@site.example/", "url:credentials"),
    ],
)
def test_redirect_to_unusable_url_is_refused(site: LoopbackSite, location: str, reason: str) -> None:
    # GIVEN a redirect to a URL the crawler must not use
    url = site.redirect("/bad-redirect", location)
    # WHEN it is fetched
    with pytest.raises(FetchRefused) as raised:
        SafeFetcher(allow_private=True).fetch(url)
    # THEN the redirect is refused with the reason
    assert raised.value.reason == reason


@pytest.mark.parametrize(
    ("url_template", "reason"),
    [
        ("http://127.0.0.1:{port}/", "address:loopback"),
        ("http://10.0.0.1:{port}/", "address:private"),
        ("http://169.254.169.254/latest/meta-data/", "address:metadata"),
        ("http://[::1]:{port}/", "address:loopback"),
        ("http://2130706433:{port}/", "address:loopback"),
        ("http://0177.0.0.1:{port}/", "address:loopback"),
        ("http://0x7f000001:{port}/", "address:loopback"),
        ("http://localhost:{port}/", "address:loopback"),
        ("http://100.64.1.1/", "address:shared"),
        ("http://[::ffff:127.0.0.1]:{port}/", "address:loopback"),
    ],
)
def test_internal_addresses_are_refused_before_connecting(
    site: LoopbackSite, connect_attempts: list[object], url_template: str, reason: str
) -> None:
    # GIVEN a running loopback server and a URL that reaches an internal address
    site.serve("/", b"should never be served")
    url = url_template.format(port=site.port)
    # WHEN a default fetcher (no private addresses) fetches it
    with pytest.raises(FetchRefused) as raised:
        SafeFetcher().fetch(url)
    # THEN the guard refuses it and no connection was even attempted
    assert raised.value.reason == reason
    assert connect_attempts == []
    assert site.requests == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://files.example/x", "scheme:ftp"),
        ("file:///etc/passwd", "scheme:file"),
        ("gopher://127.0.0.1:70/", "scheme:gopher"),
        ("http://user:pw@127.0.0.1/", "url:credentials"),
    ],
)
def test_non_http_urls_are_refused_before_connecting(
    connect_attempts: list[object], url: str, reason: str
) -> None:
    # GIVEN a URL with another scheme or with credentials
    # WHEN it is fetched
    with pytest.raises(FetchRefused) as raised:
        SafeFetcher(allow_private=True).fetch(url)
    # THEN it is refused without any connection
    assert raised.value.reason == reason
    assert connect_attempts == []


def test_large_content_length_is_refused_before_reading(site: LoopbackSite) -> None:
    # GIVEN a response that announces 100 MB but sends only a little
    url = site.serve("/huge", b"tiny", headers={"Content-Length": str(100 * 1024 * 1024)})
    # WHEN fetched with a 1 MB cap
    with pytest.raises(FetchRefused) as raised:
        SafeFetcher(allow_private=True, max_bytes=1024 * 1024).fetch(url)
    # THEN it is refused on the header alone (reading would have failed on the short body instead)
    assert raised.value.reason == "size:exceeded"


def test_streamed_body_without_length_is_capped(site: LoopbackSite) -> None:
    # GIVEN a body without Content-Length that is bigger than the cap
    url = site.serve("/stream", b"x" * 200_000, mode="no-length")
    # WHEN fetched with a 50 kB cap
    with pytest.raises(FetchRefused) as raised:
        SafeFetcher(allow_private=True, max_bytes=50_000).fetch(url)
    # THEN the stream is cut at the cap
    assert raised.value.reason == "size:exceeded"


def test_body_at_the_cap_is_accepted_without_length(site: LoopbackSite) -> None:
    # GIVEN a body without Content-Length exactly as large as the cap
    url = site.serve("/exact", b"y" * 50_000, mode="no-length")
    # WHEN fetched
    result = SafeFetcher(allow_private=True, max_bytes=50_000).fetch(url)
    # THEN all of it is read
    assert len(result.body) == 50_000


def test_decompressed_size_counts_against_the_cap(site: LoopbackSite) -> None:
    # GIVEN a small gzip body that inflates to 5 MB
    bomb = gzip.compress(bytes(5 * 1024 * 1024))
    url = site.serve("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    assert len(bomb) < 100_000
    # WHEN fetched with a 1 MB cap
    with pytest.raises(FetchRefused) as raised:
        SafeFetcher(allow_private=True, max_bytes=1024 * 1024).fetch(url)
    # THEN the inflated size is what counts
    assert raised.value.reason == "size:exceeded"


def test_gzip_bodies_are_decoded(site: LoopbackSite) -> None:
    # GIVEN a gzip-encoded page
    url = site.serve("/gz", gzip.compress(b"<p>compressed</p>"), headers={"Content-Encoding": "gzip"})
    # WHEN fetched
    result = SafeFetcher(allow_private=True).fetch(url)
    # THEN the body is the decoded page
    assert result.body == b"<p>compressed</p>"


def test_slow_drip_body_cannot_outlast_the_deadline(site: LoopbackSite) -> None:
    # GIVEN a server that sends its body one byte at a time, each well within the read timeout
    url = site.serve("/drip", mode="drip-body", drip_interval=0.05)
    # WHEN fetched with a short overall deadline and a generous per-read timeout
    with pytest.raises(FetchRefused) as raised:
        SafeFetcher(allow_private=True, deadline_seconds=0.5, read_timeout=5).fetch(url)
    # THEN the deadline stops it
    assert raised.value.reason == "deadline"


def test_slow_drip_headers_cannot_outlast_the_deadline(site: LoopbackSite) -> None:
    # GIVEN a server that drips its response headers
    url = site.serve("/drip-headers", mode="drip-headers", drip_interval=0.05)
    # WHEN fetched with a short deadline
    with pytest.raises(FetchRefused) as raised:
        SafeFetcher(allow_private=True, deadline_seconds=0.5, read_timeout=5).fetch(url)
    # THEN the deadline stops it too
    assert raised.value.reason == "deadline"


def test_a_stalled_server_is_a_read_timeout(site: LoopbackSite) -> None:
    # GIVEN a server that goes silent after the status line
    url = site.serve("/stall", mode="drip-headers", drip_interval=30)
    # WHEN fetched with a read timeout shorter than the deadline
    with pytest.raises(FetchFailed) as raised:
        SafeFetcher(allow_private=True, read_timeout=0.3, deadline_seconds=20).fetch(url)
    # THEN it is a network failure, not a policy refusal
    assert raised.value.reason == "network:read-timeout"


def test_connection_refused_is_a_network_failure() -> None:
    # GIVEN a loopback port nobody listens on
    url = f"http://127.0.0.1:{unused_port()}/"
    # WHEN fetched
    with pytest.raises(FetchFailed) as raised:
        SafeFetcher(allow_private=True).fetch(url)
    # THEN it fails with a connect reason
    assert raised.value.reason == "network:connect"


def test_unresolvable_host_is_a_network_failure(fake_dns: FakeDns) -> None:
    # GIVEN a name that does not resolve
    fake_dns.install({})
    # WHEN fetched
    with pytest.raises(FetchFailed) as raised:
        SafeFetcher().fetch("http://no-such-host.test/")
    # THEN it fails with a DNS reason
    assert raised.value.reason == "network:dns"


def test_connection_goes_to_the_checked_address_not_a_second_lookup(
    site: LoopbackSite, fake_dns: FakeDns
) -> None:
    # GIVEN a rebinding name: the first answer is loopback, every later answer an internal 10.x address
    lookups = fake_dns.install({"rebind.test": ["127.0.0.1", "10.0.0.1"]}, rebinding=True)
    site.serve("/pinned", b"pinned ok")
    # WHEN it is fetched (allow_private lets the loopback answer through)
    result = SafeFetcher(allow_private=True).fetch(f"http://rebind.test:{site.port}/pinned")
    # THEN the name was resolved once, the connection went to that checked address,
    # and the server still saw the original Host header
    assert result.body == b"pinned ok"
    assert result.server_ip == "127.0.0.1"
    assert lookups.count("rebind.test") == 1
    assert site.requests[-1].headers["Host"] == f"rebind.test:{site.port}"


def test_each_redirect_hop_is_resolved_and_checked(site: LoopbackSite, fake_dns: FakeDns) -> None:
    # GIVEN a loopback page redirecting to a name that resolves to the metadata address
    fake_dns.install({"innocent.test": ["169.254.169.254"]})
    url = site.redirect("/hop", "http://innocent.test/")
    # WHEN it is fetched
    with pytest.raises(FetchRefused) as raised:
        SafeFetcher(allow_private=True).fetch(url)
    # THEN the second hop's address is refused
    assert raised.value.reason == "address:metadata"
    assert raised.value.url == "http://innocent.test/"


def test_credential_headers_go_only_to_their_hosts(site: LoopbackSite, fake_dns: FakeDns) -> None:
    # GIVEN a fetcher with a credential header for 127.0.0.1 only, and a redirect to another name
    fake_dns.install({"other-host.test": ["127.0.0.1"]})
    site.redirect("/login-area", f"http://other-host.test:{site.port}/elsewhere")
    site.serve("/elsewhere", b"ok")
    fetcher = SafeFetcher(
        allow_private=True, credential_headers={"Cookie": "session=synthetic"}, credential_hosts=["127.0.0.1"]
    )
    # WHEN the redirecting page is fetched
    fetcher.fetch(site.url("/login-area"))
    # THEN the cookie went to the listed host and not to the redirect target
    first, second = site.requests
    assert first.headers.get("Cookie") == "session=synthetic"
    assert "Cookie" not in second.headers
    assert "synthetic" not in repr(fetcher)


@pytest.mark.parametrize(
    "options",
    [
        {"proxy": "socks5://127.0.0.1:9050"},
        {"proxy": "http://127.0.0.1:3128"},
        {"proxy": "socks5h://127.0.0.1"},
        {"max_bytes": 0},
        {"deadline_seconds": 0},
        {"connect_timeout": -1},
        {"max_redirects": -1},
        {"credential_headers": {"Host": "evil.example"}, "credential_hosts": ["site.example"]},
    ],
)
def test_bad_fetcher_settings_are_rejected(options: dict[str, object]) -> None:
    # GIVEN settings the fetcher cannot honour safely
    # WHEN a fetcher is built with them
    # THEN it refuses with a specific error
    with pytest.raises(FetcherConfigError):
        SafeFetcher(**options)  # type: ignore[arg-type]
