"""The RDAP client against real RDAP servers on 127.0.0.1: nested abuse entities, redirects, several
base URLs, 404s, malformed, hostile and slow answers, and the cache."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
import requests

from takedown.crawl.fetch import SafeFetcher
from takedown.recipients.fetching import RDAP_ACCEPT, SessionFetcher
from takedown.recipients.rdap import (
    RdapClient,
    RdapConfig,
    RdapConfigError,
    RdapError,
    RdapNotFound,
    make_rdap_fetcher,
)
from takedown.recipients.ttl_cache import TtlCache
from tests.unit.recipients_discovery.conftest import (
    abuse_entity,
    domain_answer,
    hosting_org,
    ip_network,
    vcard,
)

if TYPE_CHECKING:
    from takedown.recipients.rdap import RdapAnswer
    from tests.unit.recipients_discovery.conftest import LoopbackServer


def _client(server: LoopbackServer, *bases: str, **config: object) -> RdapClient:
    ip_bases = [server.url(base) for base in bases] or [server.url("/")]
    return RdapClient(
        RdapConfig(ip_bases, {"com": server.url("/com/"), "uk": server.url("/uk/")}, **config),  # type: ignore[arg-type]
        SafeFetcher(allow_private=True, deadline_seconds=2),
    )


def test_ip_lookup_finds_the_abuse_entity_nested_in_the_registrant(rdap_server: LoopbackServer) -> None:
    # GIVEN an ARIN-style answer: the abuse contact sits inside the registrant organisation
    rdap_server.serve_json(
        "/ip/198.51.100.7",
        ip_network(
            start="198.51.100.0",
            end="198.51.100.255",
            entities=[hosting_org(abuse_entity("Abuse@Hosting.Example.NET", handle="ABUSE-EXHOST"))],
        ),
    )
    # WHEN the server address is looked up
    network = _client(rdap_server).lookup_ip("198.51.100.7")
    # THEN the network, its country and its abuse contact come back, with where they were found
    assert (network.handle, network.name, network.country) == (
        "NET-198-51-100-0-1",
        "EXAMPLE-HOSTING-NET",
        "KR",
    )
    assert [(c.email, c.entity_handle, c.role_path) for c in network.abuse_contacts] == [
        ("abuse@hosting.example.net", "ABUSE-EXHOST", ("registrant", "abuse"))
    ]
    assert network.source_url == rdap_server.url("/ip/198.51.100.7")
    assert "Example Hosting Co." in network.organisations
    assert network.problems == ()


def test_ipv6_lookup_uses_the_compressed_address(rdap_server: LoopbackServer) -> None:
    # GIVEN an answer for an IPv6 network with a top-level abuse entity (RIPE style)
    rdap_server.serve_json(
        "/ip/2001:db8::5",
        ip_network(
            start="2001:db8::",
            end="2001:db8::ffff",
            country="de",
            entities=[abuse_entity("abuse@v6.example.org")],
        ),
    )
    # WHEN the address is asked in a long spelling
    network = _client(rdap_server).lookup_ip("2001:0db8:0000::0005")
    # THEN the query used the standard spelling and the country is normalised
    assert [c.email for c in network.abuse_contacts] == ["abuse@v6.example.org"]
    assert network.country == "DE"


def test_a_redirect_to_the_rir_that_holds_the_range_is_followed(rdap_server: LoopbackServer) -> None:
    # GIVEN the first registry redirects to another registry (the way RIRs answer for others' ranges)
    rdap_server.redirect("/ip/203.0.113.9", rdap_server.url("/rir2/ip/203.0.113.9"))
    rdap_server.serve_json(
        "/rir2/ip/203.0.113.9",
        ip_network(
            start="203.0.113.0",
            end="203.0.113.255",
            handle="EX-NET-2",
            entities=[abuse_entity("abuse@rir2.example.org")],
        ),
    )
    # WHEN the address is looked up
    network = _client(rdap_server).lookup_ip("203.0.113.9")
    # THEN the answer of the redirect target is used, and its URL is the provenance
    assert network.handle == "EX-NET-2"
    assert network.source_url == rdap_server.url("/rir2/ip/203.0.113.9")


def test_base_urls_are_tried_in_order_until_one_knows_the_address(rdap_server: LoopbackServer) -> None:
    # GIVEN two registries: the first does not know the address (404), the second does
    rdap_server.serve_json(
        "/second/ip/198.51.100.7",
        ip_network(
            start="198.51.100.0", end="198.51.100.255", entities=[abuse_entity("abuse@second.example.org")]
        ),
    )
    # WHEN the address is looked up
    network = _client(rdap_server, "/first/", "/second/").lookup_ip("198.51.100.7")
    # THEN the second registry's answer is used after the first one's 404
    assert [c.email for c in network.abuse_contacts] == ["abuse@second.example.org"]
    assert rdap_server.hits["/first/ip/198.51.100.7"] == 1


def test_an_address_no_registry_knows_is_rdap_not_found(rdap_server: LoopbackServer) -> None:
    # GIVEN registries that answer 404 for everything
    client = _client(rdap_server, "/first/", "/second/")
    # WHEN an address is looked up
    with pytest.raises(RdapNotFound) as raised:
        client.lookup_ip("192.0.2.77")
    # THEN the error says so and names every server asked
    assert raised.value.reason == "rdap:not-found"
    assert "/first/ip/192.0.2.77" in raised.value.message and "/second/ip/192.0.2.77" in raised.value.message


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>rate limited, try later</html>", "rdap:not-json"),
        (b"\xff\xfe\x00garbage", "rdap:not-json"),
        (b"[" * 100_000 + b"]" * 100_000, "rdap:not-json"),
        (b'["an", "array"]', "rdap:malformed"),
        (b'{"objectClassName": "domain", "ldhName": "example.com"}', "rdap:malformed"),
        (b'{"handle": "NET-1"}', "rdap:malformed"),
        (b'{"objectClassName": "ip network", "startAddress": "x", "endAddress": "y"}', "rdap:malformed"),
        (
            b'{"objectClassName": "ip network", "startAddress": "10.0.0.0", "endAddress": "10.0.0.255"}',
            "rdap:mismatch",
        ),
    ],
)
def test_malformed_answers_raise_a_clear_rdap_error(
    rdap_server: LoopbackServer, body: bytes, reason: str
) -> None:
    # GIVEN a registry whose answer is not a usable ip network object for the address
    rdap_server.serve("/ip/192.0.2.66", body, content_type="application/rdap+json")
    # WHEN the address is looked up
    with pytest.raises(RdapError) as raised:
        _client(rdap_server).lookup_ip("192.0.2.66")
    # THEN a specific reason comes back, not a crash
    assert raised.value.reason == reason
    assert "192.0.2.66" in str(raised.value)


def test_a_server_error_is_reported_with_its_rdap_error_title(rdap_server: LoopbackServer) -> None:
    # GIVEN a registry answering 503 with an RFC 9083 error object
    rdap_server.serve_json(
        "/ip/192.0.2.50", {"errorCode": 503, "title": "Service\r\nUnavailable"}, status=503
    )
    # WHEN the address is looked up
    with pytest.raises(RdapError) as raised:
        _client(rdap_server).lookup_ip("192.0.2.50")
    # THEN the status is the reason and the title is quoted on one line
    assert raised.value.reason == "rdap:status:503"
    assert "'Service Unavailable'" in raised.value.message


def test_a_slow_server_ends_in_a_deadline_error_not_a_hang(rdap_server: LoopbackServer) -> None:
    # GIVEN a registry that does not answer until the test is over
    rdap_server.serve("/ip/192.0.2.88", b"{}", hold=True)
    client = RdapClient(
        RdapConfig([rdap_server.url("/")]), make_rdap_fetcher(deadline_seconds=0.5, allow_private=True)
    )
    # WHEN the address is looked up
    with pytest.raises(RdapError) as raised:
        client.lookup_ip("192.0.2.88")
    # THEN the fetch deadline ends it with a clear reason
    assert raised.value.reason == "rdap:fetch:deadline"


def test_a_second_lookup_is_answered_from_the_cache(rdap_server: LoopbackServer) -> None:
    # GIVEN a registry and a client whose cache clock the test controls
    rdap_server.serve_json(
        "/ip/198.51.100.7",
        ip_network(
            start="198.51.100.0", end="198.51.100.255", entities=[abuse_entity("abuse@hosting.example.net")]
        ),
    )
    now = [1000.0]
    cache: TtlCache[tuple[str, str], RdapAnswer] = TtlCache(ttl_seconds=60, clock=lambda: now[0])
    client = RdapClient(RdapConfig([rdap_server.url("/")]), SafeFetcher(allow_private=True), cache=cache)
    # WHEN the same address is looked up twice within the time to live
    first = client.lookup_ip("198.51.100.7")
    second = client.lookup_ip("198.51.100.7")
    # THEN the server was asked once
    assert rdap_server.hits["/ip/198.51.100.7"] == 1
    assert second == first
    # AND once the entry expires, the server is asked again
    now[0] += 61
    client.lookup_ip("198.51.100.7")
    assert rdap_server.hits["/ip/198.51.100.7"] == 2


def test_failures_are_not_cached(rdap_server: LoopbackServer) -> None:
    # GIVEN a registry that first fails and then answers
    rdap_server.serve("/ip/198.51.100.7", b"not json")
    client = _client(rdap_server)
    with pytest.raises(RdapError):
        client.lookup_ip("198.51.100.7")
    rdap_server.serve_json("/ip/198.51.100.7", ip_network(start="198.51.100.0", end="198.51.100.255"))
    # WHEN the address is looked up again
    network = client.lookup_ip("198.51.100.7")
    # THEN the server was asked again and its answer used
    assert network.handle == "NET-198-51-100-0-1"
    assert rdap_server.hits["/ip/198.51.100.7"] == 2


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "fe80::1", "::1", "not-an-ip", "1.2.3"]
)
def test_unregistered_or_invalid_addresses_are_refused_before_any_request(
    rdap_server: LoopbackServer, address: str
) -> None:
    # WHEN a loopback, private, link-local or invalid address is looked up
    with pytest.raises(RdapError) as raised:
        _client(rdap_server).lookup_ip(address)
    # THEN it is refused as a bad query and no server was asked
    assert raised.value.reason == "rdap:bad-query"
    assert sum(rdap_server.hits.values()) == 0


def test_cr_lf_in_a_vcard_email_is_refused_and_the_good_address_kept(rdap_server: LoopbackServer) -> None:
    # GIVEN an abuse entity whose first e-mail tries header injection
    hostile = abuse_entity("abuse@hosting.example.net\r\nBcc: victim-list@evil.example")
    hostile["vcardArray"][1].append(["email", {}, "text", "mailto:noc@hosting.example.net"])
    rdap_server.serve_json(
        "/ip/198.51.100.7", ip_network(start="198.51.100.0", end="198.51.100.255", entities=[hostile])
    )
    # WHEN the address is looked up
    network = _client(rdap_server).lookup_ip("198.51.100.7")
    # THEN only the clean address is a contact, and the refusal is a problem on one line
    assert [c.email for c in network.abuse_contacts] == ["noc@hosting.example.net"]
    assert any("e-mail refused" in problem for problem in network.problems)
    assert all("\r" not in problem and "\n" not in problem for problem in network.problems)


def test_a_huge_vcard_and_entity_flood_are_read_within_bounds(rdap_server: LoopbackServer) -> None:
    # GIVEN an answer with a 5000-property vCard and 50 nested entities, the abuse one first
    huge = abuse_entity("abuse@hosting.example.net")
    huge["vcardArray"][1].extend(["note", {}, "text", "x" * 100] for _ in range(5000))
    flood: dict[str, object] = {"roles": ["technical"], "entities": []}
    level = flood
    for _ in range(50):
        child: dict[str, object] = {"roles": ["technical"], "entities": []}
        level["entities"] = [child]
        level = child
    rdap_server.serve_json(
        "/ip/198.51.100.7",
        ip_network(start="198.51.100.0", end="198.51.100.255", entities=[huge, flood, *[{}] * 300]),
    )
    # WHEN the address is looked up
    network = _client(rdap_server).lookup_ip("198.51.100.7")
    # THEN the abuse contact is found and the cut-offs are described, not crashed on
    assert [c.email for c in network.abuse_contacts] == ["abuse@hosting.example.net"]
    assert any("vCard properties read" in problem for problem in network.problems)
    assert any("nested deeper than 6 levels" in problem for problem in network.problems)
    assert "stopped reading after 100 entities" in network.problems


def test_malformed_entities_are_skipped_with_a_problem(rdap_server: LoopbackServer) -> None:
    # GIVEN entities that are not objects, a vCard of the wrong shape, and roles that are not a list
    entities = [
        "not-an-entity",
        {"roles": "abuse", "vcardArray": vcard(["email", {}, "text", "x@wrong.example.org"])},
        {"roles": ["abuse"], "handle": "BAD-CARD", "vcardArray": {"email": "abuse@x.example.org"}},
        abuse_entity("abuse@good.example.org"),
    ]
    rdap_server.serve_json(
        "/ip/198.51.100.7", ip_network(start="198.51.100.0", end="198.51.100.255", entities=entities)
    )
    # WHEN the address is looked up
    network = _client(rdap_server).lookup_ip("198.51.100.7")
    # THEN the good contact is kept and each bad part is described
    assert [c.email for c in network.abuse_contacts] == ["abuse@good.example.org"]
    assert "an entity is not a JSON object" in network.problems
    assert "an entity's 'roles' is not a list" in network.problems
    assert "entity 'BAD-CARD' has a malformed vcardArray" in network.problems


def test_domain_lookup_asks_for_the_registered_domain_and_finds_the_registrar_abuse_contact(
    rdap_server: LoopbackServer,
) -> None:
    # GIVEN a registry answer in the ICANN profile's shape (registrar entity with a nested abuse entity)
    rdap_server.serve_json(
        "/com/domain/example.com",
        domain_answer(
            "EXAMPLE.COM", registrar_children=[abuse_entity("abuse@registrar.example.org", handle="")]
        ),
    )
    # WHEN a page host deep under the domain is looked up
    registration = _client(rdap_server).lookup_domain("WWW.Shop.Example.com.")
    # THEN the registered domain was asked at the .com server, and the registrar's abuse contact found
    assert rdap_server.hits["/com/domain/example.com"] == 1
    assert (registration.domain, registration.registrar_name, registration.registrar_iana_id) == (
        "example.com",
        "Example Registrar, Inc.",
        "9999",
    )
    assert [(c.email, c.role_path) for c in registration.abuse_contacts] == [
        ("abuse@registrar.example.org", ("registrar", "abuse"))
    ]


def test_domain_lookup_is_public_suffix_aware(rdap_server: LoopbackServer) -> None:
    # GIVEN an answer for a domain under the two-label public suffix co.uk
    rdap_server.serve_json(
        "/uk/domain/example.co.uk",
        domain_answer("example.co.uk", registrar_children=[abuse_entity("abuse@registrar.example.org")]),
    )
    # WHEN a host under it is looked up
    registration = _client(rdap_server).lookup_domain("a.b.example.co.uk")
    # THEN example.co.uk was asked (not co.uk, not b.example.co.uk)
    assert registration.domain == "example.co.uk"
    assert list(rdap_server.hits) == ["/uk/domain/example.co.uk"]


def test_an_answer_for_another_domain_is_a_mismatch(rdap_server: LoopbackServer) -> None:
    rdap_server.serve_json("/com/domain/example.com", domain_answer("other.com", registrar_children=[]))
    with pytest.raises(RdapError) as raised:
        _client(rdap_server).lookup_domain("example.com")
    assert raised.value.reason == "rdap:mismatch"


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("198.51.100.7", "rdap:bad-query"),
        ("site.example", "rdap:bad-query"),
        ("bad host!", "rdap:bad-query"),
        ("example.org", "rdap:no-server"),
    ],
)
def test_domain_lookups_that_cannot_be_asked_are_refused(
    rdap_server: LoopbackServer, host: str, reason: str
) -> None:
    # WHEN an IP, a reserved-TLD name, an invalid name or a TLD without a configured server is looked up
    with pytest.raises(RdapError) as raised:
        _client(rdap_server).lookup_domain(host)
    # THEN the reason says why, and no server was asked
    assert raised.value.reason == reason
    assert sum(rdap_server.hits.values()) == 0


def test_the_default_domain_server_serves_unlisted_tlds(rdap_server: LoopbackServer) -> None:
    rdap_server.serve_json(
        "/any/domain/example.org",
        domain_answer("example.org", registrar_children=[abuse_entity("abuse@registrar.example.org")]),
    )
    client = RdapClient(
        RdapConfig([], default_domain_base_url=rdap_server.url("/any")), SafeFetcher(allow_private=True)
    )
    assert [c.email for c in client.lookup_domain("example.org").abuse_contacts] == [
        "abuse@registrar.example.org"
    ]


def test_a_domain_answer_without_registrar_is_read_with_a_problem(rdap_server: LoopbackServer) -> None:
    document = domain_answer("example.com", registrar_children=[])
    document["entities"] = [abuse_entity("abuse@registry.example.org")]
    rdap_server.serve_json("/com/domain/example.com", document)
    registration = _client(rdap_server).lookup_domain("example.com")
    assert [(c.email, c.role_path) for c in registration.abuse_contacts] == [
        ("abuse@registry.example.org", ("abuse",))
    ]
    assert "the answer names no registrar entity" in registration.problems


def test_a_requests_session_can_be_the_transport(rdap_server: LoopbackServer) -> None:
    # GIVEN a redirecting registry and a client over a plain requests session
    rdap_server.redirect("/ip/203.0.113.9", "/rir2/ip/203.0.113.9")
    rdap_server.serve_json(
        "/rir2/ip/203.0.113.9",
        ip_network(
            start="203.0.113.0", end="203.0.113.255", entities=[abuse_entity("abuse@rir2.example.org")]
        ),
    )
    with requests.Session() as session:
        client = RdapClient(RdapConfig([rdap_server.url("/")]), SessionFetcher(session, read_timeout=2))
        # WHEN the address is looked up
        network = client.lookup_ip("203.0.113.9")
    # THEN the redirect was followed and RDAP JSON was asked for
    assert [c.email for c in network.abuse_contacts] == ["abuse@rir2.example.org"]
    assert network.source_url == rdap_server.url("/rir2/ip/203.0.113.9")
    assert set(rdap_server.accept_headers) == {RDAP_ACCEPT}


def test_the_session_transport_caps_size_and_redirects(rdap_server: LoopbackServer) -> None:
    rdap_server.serve("/ip/198.51.100.7", json.dumps({"pad": "x" * 5000}))
    rdap_server.redirect("/ip/198.51.100.8", "/ip/198.51.100.8")
    with requests.Session() as session:
        client = RdapClient(RdapConfig([rdap_server.url("/")]), SessionFetcher(session, max_bytes=1000))
        with pytest.raises(RdapError) as too_big:
            client.lookup_ip("198.51.100.7")
        with pytest.raises(RdapError) as looping:
            client.lookup_ip("198.51.100.8")
    assert too_big.value.reason == "rdap:fetch:size:exceeded"
    assert looping.value.reason == "rdap:fetch:redirects:too-many"


@pytest.mark.parametrize(
    ("ip_bases", "domain_bases"),
    [
        (["ftp://rdap.example/"], {}),
        (["https://rdap.example/?q=1"], {}),
        ([], {"co.uk": "https://rdap.example/"}),
        ([], {"com": "javascript:alert(1)"}),
        ([], {"bad tld": "https://rdap.example/"}),
    ],
)
def test_unusable_configuration_is_refused(ip_bases: list[str], domain_bases: dict[str, str]) -> None:
    with pytest.raises(RdapConfigError):
        RdapConfig(ip_bases, domain_bases)
