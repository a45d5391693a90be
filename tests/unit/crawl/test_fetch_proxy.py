"""Fetching through a socks5h proxy: the proxy resolves names, so .onion names never reach local DNS."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from takedown.crawl.errors import FetchFailed, FetchRefused
from takedown.crawl.fetch import SafeFetcher

if TYPE_CHECKING:
    from tests.unit.crawl.conftest import FakeDns, LoopbackSite, Socks5Proxy

ONION = "exampleonionaddressxyz.onion"


def test_onion_fetch_goes_through_the_proxy_without_local_dns(
    site: LoopbackSite, socks_proxy: Socks5Proxy, fake_dns: FakeDns
) -> None:
    # GIVEN an onion name the proxy maps to the loopback site, and a resolver that refuses .onion names
    site.serve("/hidden/page", b"<p>served via the proxy</p>", content_type="text/html")
    socks_proxy.names[ONION] = ("127.0.0.1", site.port)
    lookups = fake_dns.install({})
    fetcher = SafeFetcher(proxy=f"socks5h://127.0.0.1:{socks_proxy.port}")
    # WHEN the onion URL is fetched
    result = fetcher.fetch(f"http://{ONION}/hidden/page")
    # THEN the page came through the proxy, which was asked for the name itself (SOCKS address type 3)
    assert result.body == b"<p>served via the proxy</p>"
    assert socks_proxy.requested == [(0x03, ONION, 80)]
    assert site.requests[-1].headers["Host"] == ONION
    # AND nothing resolved the onion name locally; the connection's address is unknown to us
    assert not [name for name in lookups if name.endswith(".onion")]
    assert result.server_ip == ""


def test_redirects_through_the_proxy_stay_on_the_proxy(
    site: LoopbackSite, socks_proxy: Socks5Proxy, fake_dns: FakeDns
) -> None:
    # GIVEN an onion page that redirects to another path on the same onion site
    site.redirect("/old", f"http://{ONION}/new")
    site.serve("/new", b"moved")
    socks_proxy.names[ONION] = ("127.0.0.1", site.port)
    lookups = fake_dns.install({})
    # WHEN it is fetched through the proxy
    result = SafeFetcher(proxy=f"socks5h://127.0.0.1:{socks_proxy.port}").fetch(f"http://{ONION}/old")
    # THEN both hops went through the proxy by name
    assert result.body == b"moved"
    assert socks_proxy.requested == [(0x03, ONION, 80), (0x03, ONION, 80)]
    assert not [name for name in lookups if name.endswith(".onion")]


def test_internal_ip_literals_are_refused_before_reaching_the_proxy(socks_proxy: Socks5Proxy) -> None:
    # GIVEN a proxied fetcher and a URL with the metadata address as an IP literal
    fetcher = SafeFetcher(proxy=f"socks5h://127.0.0.1:{socks_proxy.port}")
    # WHEN it is fetched
    with pytest.raises(FetchRefused) as raised:
        fetcher.fetch("http://169.254.169.254/latest/meta-data/")
    # THEN it is refused locally and the proxy never heard of it
    assert raised.value.reason == "address:metadata"
    assert socks_proxy.requested == []


def test_proxy_failure_is_a_network_failure(socks_proxy: Socks5Proxy, fake_dns: FakeDns) -> None:
    # GIVEN an onion name the proxy cannot reach
    fake_dns.install({})
    fetcher = SafeFetcher(proxy=f"socks5h://127.0.0.1:{socks_proxy.port}")
    # WHEN it is fetched
    with pytest.raises(FetchFailed) as raised:
        fetcher.fetch("http://unreachableonionaddress.onion/")
    # THEN the proxy was asked and the failure is reported as a connect failure
    assert raised.value.reason == "network:connect"
    assert socks_proxy.requested == [(0x03, "unreachableonionaddress.onion", 80)]
