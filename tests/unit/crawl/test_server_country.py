"""The server's country from RDAP: one question per address, failures remembered, "" when unknown."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from takedown.crawl.server_country import ServerCountries
from takedown.recipients.rdap import RdapClient, RdapConfig, make_rdap_fetcher

if TYPE_CHECKING:
    from tests.unit.crawl.conftest import LoopbackSite


def _network(start: str, end: str, country: str) -> bytes:
    return json.dumps(
        {
            "objectClassName": "ip network",
            "handle": "NET-TEST-1",
            "startAddress": start,
            "endAddress": end,
            "country": country,
            "entities": [],
        }
    ).encode()


def _countries(rdap: LoopbackSite, clock: list[float] | None = None) -> ServerCountries:
    client = RdapClient(
        RdapConfig([rdap.url("/rdap/")]), make_rdap_fetcher(allow_private=True, deadline_seconds=5)
    )
    now = clock if clock is not None else [0.0]
    return ServerCountries(client, failure_ttl_seconds=60, clock=lambda: now[0])


def _asked(rdap: LoopbackSite) -> list[str]:
    return [request.path for request in rdap.requests]


def test_the_country_comes_from_the_ip_network_and_is_asked_once_per_address(site: LoopbackSite) -> None:
    # GIVEN an RDAP server on loopback that knows the network of 203.0.113.7 (documentation range, in VN here)
    site.serve(
        "/rdap/ip/203.0.113.7",
        _network("203.0.113.0", "203.0.113.255", "vn"),
        content_type="application/rdap+json",
    )
    countries = _countries(site)
    # WHEN the address is looked up for three pages
    answers = [countries.country_of("203.0.113.7") for _ in range(3)]
    # THEN the answer is the upper-case country code, and the server was asked once
    assert answers == ["VN", "VN", "VN"]
    assert _asked(site) == ["/rdap/ip/203.0.113.7"]


def test_an_unknown_address_is_empty_and_asked_again_only_after_a_while(site: LoopbackSite) -> None:
    # GIVEN an RDAP server that does not know 198.51.100.9 (404), on a fake clock
    clock = [0.0]
    countries = _countries(site, clock)
    # WHEN it is looked up twice, then again after the failure is forgotten
    first, second = countries.country_of("198.51.100.9"), countries.country_of("198.51.100.9")
    clock[0] = 61.0
    third = countries.country_of("198.51.100.9")
    # THEN it is "" each time, and the server was asked once per minute, not per page
    assert (first, second, third) == ("", "", "")
    assert _asked(site) == ["/rdap/ip/198.51.100.9", "/rdap/ip/198.51.100.9"]


def test_a_country_that_is_not_a_code_is_not_recorded(site: LoopbackSite) -> None:
    # GIVEN a network answer whose country is not an ISO code
    site.serve(
        "/rdap/ip/203.0.113.8",
        _network("203.0.113.0", "203.0.113.255", "??"),
        content_type="application/rdap+json",
    )
    # WHEN it is looked up THEN the country is unknown
    assert _countries(site).country_of("203.0.113.8") == ""


def test_private_addresses_no_address_and_no_rdap_are_unknown_without_asking(site: LoopbackSite) -> None:
    # GIVEN the loopback address (a local crawl), no address (a proxied crawl), and no RDAP configured
    countries = _countries(site)
    # WHEN they are looked up THEN each is "" and no RDAP server was asked
    assert countries.country_of("127.0.0.1") == ""
    assert countries.country_of("") == ""
    assert ServerCountries(None).country_of("203.0.113.7") == ""
    assert _asked(site) == []
