"""discover_recipients end to end: a loopback website, a loopback RDAP server, the registry, CDN fronting."""

from __future__ import annotations

from typing import TYPE_CHECKING

from takedown.crawl.fetch import SafeFetcher
from takedown.recipients.cdn import CLOUDFLARE_ABUSE_FORM
from takedown.recipients.discover import NO_ADDRESS_NOTE, discover_recipients
from takedown.recipients.platforms import CHECKOUT_REGISTRY_FILE, load_platform_registry
from takedown.recipients.rdap import RdapClient, RdapConfig
from tests.unit.recipients_discovery.conftest import (
    RefusingFetcher,
    abuse_entity,
    domain_answer,
    hosting_org,
    ip_network,
)
from tests.unit.recipients_discovery.sites import KOREAN_BOARD_PAGE, build_korean_board

if TYPE_CHECKING:
    from tests.unit.recipients_discovery.conftest import LoopbackServer

PLAIN_PAGE = (
    '<html lang="en"><body><p><a href="mailto:owner@example.com">mail the owner</a></p></body></html>'
)


def _rdap(server: LoopbackServer) -> RdapClient:
    return RdapClient(
        RdapConfig([server.url("/")], {"com": server.url("/com/")}),
        SafeFetcher(allow_private=True, deadline_seconds=2),
    )


def test_korean_board_candidates_are_merged_ordered_and_located(
    website: LoopbackServer, rdap_server: LoopbackServer, loopback_fetcher: SafeFetcher
) -> None:
    # GIVEN the Korean board, its hosting network in RDAP, and a source contact that the site also publishes
    page_url = build_korean_board(website)
    rdap_server.serve_json(
        "/ip/198.51.100.7",
        ip_network(
            start="198.51.100.0",
            end="198.51.100.255",
            entities=[hosting_org(abuse_entity("abuse@hosting.example.net"))],
        ),
    )
    # WHEN recipients are discovered
    found = discover_recipients(
        page_url=page_url,
        page_html=KOREAN_BOARD_PAGE,
        server_ip="198.51.100.7",
        response_headers={"Server": "nginx", "Content-Type": "text/html"},
        source_contact="Help@Board-Site.Example.com",
        fetcher=loopback_fetcher,
        rdap=_rdap(rdap_server),
        registry=load_platform_registry(CHECKOUT_REGISTRY_FILE),
    )
    # THEN the candidates come most confident first, one per address
    assert [(r.address, r.role, r.confidence) for r in found.recipients] == [
        ("help@board-site.example.com", "source-contact", 0.9),
        ("youth@board-site.example.com", "youth-protection", 0.8),
        ("abuse@board-site.example.com", "site", 0.75),
        ("abuse@hosting.example.net", "host", 0.6),
    ]
    # AND the address found three times keeps every provenance
    assert found.recipients[0].found_at.split("; ") == [
        "source configuration",
        f"mailto link on {page_url}",
        f"address on youth-protection page {website.url('/policy/youth')} (linked as '청소년보호정책' from {page_url})",
    ]
    # AND the host's abuse contact says which network and RDAP server it came from, and the country
    host = found.recipients[3]
    assert host.found_at == (
        "RDAP abuse contact 'ABUSE-1' of network NET-198-51-100-0-1 'EXAMPLE-HOSTING-NET' for 198.51.100.7"
        f" at {rdap_server.url('/ip/198.51.100.7')}"
    )
    assert (host.country, found.country, found.cdn) == ("KR", "KR", "")
    # AND what could not be done is in the notes
    assert any("an IP address has no domain registration [rdap:bad-query]" in note for note in found.notes)
    assert f"about page {website.url('/company/about')} not read: HTTP 404" in found.notes
    assert found.forms == []


def test_a_cloudflare_fronted_site_routes_to_the_cdn_form_and_the_registrar(
    rdap_server: LoopbackServer,
) -> None:
    # GIVEN a page served through Cloudflare, its network in RDAP, and its domain's registrar in RDAP
    rdap_server.serve_json(
        "/ip/198.51.100.7",
        ip_network(
            start="198.51.100.0",
            end="198.51.100.255",
            handle="NET-198-51-100-0-CF",
            name="CLOUDFLARENET",
            country="US",
            entities=[abuse_entity("abuse@cdn-network.example.net")],
        ),
    )
    rdap_server.serve_json(
        "/com/domain/example.com",
        domain_answer("EXAMPLE.COM", registrar_children=[abuse_entity("abuse@registrar.example.org")]),
    )
    fetcher = RefusingFetcher()
    # WHEN recipients are discovered
    found = discover_recipients(
        page_url="https://www.example.com/watch/42",
        page_html=PLAIN_PAGE,
        server_ip="198.51.100.7",
        response_headers={"Server": "cloudflare", "CF-RAY": "8a1b2c3d4e5f6a7b-ICN"},
        source_contact="",
        fetcher=fetcher,
        rdap=_rdap(rdap_server),
        registry=None,
    )
    # THEN the network's abuse contact is the CDN's, the registrar's comes last of the e-mail recipients, then
    # Cloudflare's abuse form (a recipient without an address), and the country is hidden
    assert [(r.address, r.role, r.confidence, r.country) for r in found.recipients] == [
        ("owner@example.com", "site", 0.7, ""),
        ("abuse@cdn-network.example.net", "cdn", 0.5, ""),
        ("abuse@registrar.example.org", "registrar", 0.4, ""),
        ("", "cdn", 0.5, ""),
    ]
    assert found.recipients[3].contact_form_url == CLOUDFLARE_ABUSE_FORM
    assert [r.contact_form_url for r in found.recipients[:3]] == ["", "", ""]
    assert found.recipients[2].found_at == (
        "RDAP abuse contact of Example Registrar, Inc. (IANA id 9999) for example.com"
        f" at {rdap_server.url('/com/domain/example.com')}"
    )
    assert found.country == ""
    assert found.cdn == "Cloudflare"
    # AND Cloudflare's abuse form is offered, with the evidence, and the reviewer is told why
    assert [(form.url, form.role) for form in found.forms] == [(CLOUDFLARE_ABUSE_FORM, "cdn")]
    assert "header server: cloudflare" in found.forms[0].found_at
    assert any(note.startswith("Cloudflare fronts the site (") for note in found.notes)
    # AND no page of the site was fetched (it had no contact links)
    assert fetcher.asked == []


def test_a_platform_page_gets_the_platform_channels_first() -> None:
    # GIVEN a page on a subdomain of a platform in the shipped registry, with no RDAP configured
    found = discover_recipients(
        page_url="https://m.video.example/watch/1",
        page_html=PLAIN_PAGE.replace("owner@example.com", "uploader@video.example"),
        server_ip="",
        response_headers={},
        source_contact="",
        fetcher=RefusingFetcher(),
        rdap=None,
        registry=load_platform_registry(CHECKOUT_REGISTRY_FILE),
    )
    # THEN the platform's abuse address leads, its form is listed, and its country and language apply
    first = found.recipients[0]
    assert (first.address, first.role, first.country, first.language) == (
        "abuse@video.example",
        "platform",
        "US",
        "en",
    )
    assert [form.url for form in found.forms] == ["https://video.example/report-abuse"]
    assert found.country == "US"
    assert any(note.startswith("platform Example Video (sample entry): ") for note in found.notes)
    assert "the server address is unknown: no RDAP lookup of the hosting network" in found.notes


def test_finding_nothing_is_a_note_not_an_error() -> None:
    # GIVEN a page without any contact and no other source
    found = discover_recipients(
        page_url="https://quiet.example.com/p",
        page_html="<p>nothing here</p>",
        server_ip="",
        response_headers={},
        source_contact="",
        fetcher=RefusingFetcher(),
        rdap=None,
        registry=None,
    )
    # THEN the reviewer is told to add a recipient
    assert found.recipients == [] and found.forms == []
    assert NO_ADDRESS_NOTE in found.notes


def test_a_hostile_source_contact_is_refused_with_a_note() -> None:
    found = discover_recipients(
        page_url="https://quiet.example.com/p",
        page_html=b"<p>nothing</p>",
        server_ip="",
        response_headers={},
        source_contact="ops@quiet.example.com\r\nBcc: list@evil.example.org",
        fetcher=RefusingFetcher(),
        rdap=None,
        registry=None,
    )
    assert found.recipients == []
    refused = [note for note in found.notes if note.startswith("source-contact address refused")]
    assert len(refused) == 1 and "\r" not in refused[0] and "\n" not in refused[0]


def test_rdap_failures_become_notes_and_answers_are_reused(rdap_server: LoopbackServer) -> None:
    # GIVEN an RDAP server whose IP answer is broken and whose domain answer is fine
    rdap_server.serve("/ip/198.51.100.7", b"<html>maintenance</html>")
    rdap_server.serve_json(
        "/com/domain/example.com",
        domain_answer("example.com", registrar_children=[abuse_entity("abuse@registrar.example.org")]),
    )
    rdap = _rdap(rdap_server)

    def discover() -> list[str]:
        found = discover_recipients(
            page_url="https://www.example.com/p",
            page_html="<p>-</p>",
            server_ip="198.51.100.7",
            response_headers={},
            source_contact="",
            fetcher=RefusingFetcher(),
            rdap=rdap,
            registry=None,
        )
        return [r.address for r in found.recipients] + found.notes

    # WHEN two pages of the same site are handled
    first, second = discover(), discover()
    # THEN the broken answer is a note, the registrar is still found, and the domain was asked only once
    assert first[0] == "abuse@registrar.example.org"
    assert any("[rdap:not-json]" in note for note in first)
    assert second == first
    assert rdap_server.hits["/com/domain/example.com"] == 1
    assert rdap_server.hits["/ip/198.51.100.7"] == 2  # failures are asked again
