"""Hostile answers and addresses at the recipient stage (``discover_recipients``, what ``ResolveRecipients`` runs):
malformed RDAP answers from a real loopback RDAP server, and invalid or internationalised e-mail addresses on the
page and in the source configuration. Each ends in a note for the reviewer; none raises; no address that could
split a mail header or hide its text becomes a recipient.

RDAP parsing and address rules are unit-tested in ``tests/unit/recipients_discovery/test_rdap.py``,
``test_text_addresses.py``, ``test_discover.py`` and ``tests/unit/recipients/test_resolve.py``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from takedown.crawl.fetch import SafeFetcher
from takedown.recipients.discover import discover_recipients
from takedown.recipients.rdap import RdapClient, RdapConfig, make_rdap_fetcher
from takedown.recipients.resolve import validate_address
from tests.hostile.sites import HostileSite, declared_length, redirect, static

if TYPE_CHECKING:
    from takedown.recipients.discover import Discovery

SERVER_IP = "93.184.216.34"
RDAP_PATH = f"/rdap/ip/{SERVER_IP}"
RDAP_TYPE = "application/rdap+json"


def network(entities: Any, **fields: Any) -> bytes:
    return json.dumps(
        {
            "objectClassName": "ip network",
            "startAddress": "93.184.216.0",
            "endAddress": "93.184.216.255",
            "country": "KR",
            "entities": entities,
            **fields,
        }
    ).encode()


def abuse_entity(*emails: str) -> dict[str, Any]:
    return {
        "objectClassName": "entity",
        "roles": ["abuse"],
        "vcardArray": ["vcard", [["email", {}, "text", email] for email in emails]],
    }


MALFORMED_RDAP: dict[str, Any] = {
    "not JSON": static(b"<html>maintenance</html>", RDAP_TYPE),
    "a JSON array": static(b"[1, 2, 3]", RDAP_TYPE),
    "200,000 nested arrays": static(b"[" * 200_000 + b"]" * 200_000, RDAP_TYPE),
    "50,000 nested objects": static(b'{"entities":' * 50_000 + b"1" + b"}" * 50_000, RDAP_TYPE),
    "fields of the wrong type": static(
        json.dumps(
            {"objectClassName": "ip network", "entities": "x", "startAddress": 5, "country": ["KR"]}
        ).encode(),
        RDAP_TYPE,
    ),
    "entities that are not objects": static(network([1, None, "x", [], {"roles": "abuse"}]), RDAP_TYPE),
    "a vCard e-mail with a line break, a Korean one and an A-label one": static(
        network(
            [
                abuse_entity(
                    "abuse@host.example\r\nBcc: x@evil.example",
                    "관리자@호스트.한국",
                    "abuse@xn--9n2bp8q.xn--3e0b707e",
                )
            ]
        ),
        RDAP_TYPE,
    ),
    "NaN where an address goes": static(
        b'{"objectClassName":"ip network","startAddress":NaN,"entities":[]}', RDAP_TYPE
    ),
    "an answer declared at 2 GB": declared_length(RDAP_TYPE, 2 * 1024**3),
    "a redirect loop": redirect(RDAP_PATH),
    "a server error": static(b'{"errorCode":500,"title":"down"}', RDAP_TYPE, 500),
    "HTML served as RDAP": static(b"<!doctype html><p>abuse@host.example</p>", "text/html"),
}


def discover(site: HostileSite, page_html: bytes = b"<html></html>", source_contact: str = "") -> Discovery:
    rdap = RdapClient(
        RdapConfig([site.url("/rdap/")]), make_rdap_fetcher(allow_private=True, deadline_seconds=5)
    )
    return discover_recipients(
        page_url=site.url("/page"),
        page_html=page_html,
        server_ip=SERVER_IP,
        response_headers={},
        source_contact=source_contact,
        fetcher=SafeFetcher(allow_private=True, deadline_seconds=5),
        rdap=rdap,
        registry=None,
    )


def assert_only_plain_recipients(discovery: Discovery) -> None:
    for recipient in discovery.recipients:
        if recipient.address:
            assert validate_address(recipient.address) == recipient.address
            assert recipient.address.isascii() and recipient.address.isprintable()


@pytest.mark.parametrize("answer", sorted(MALFORMED_RDAP))
def test_a_malformed_rdap_answer_becomes_a_note_never_an_error(answer: str) -> None:
    # GIVEN an RDAP server (on loopback) that answers the hosting network's lookup with a malformed answer
    with HostileSite({RDAP_PATH: MALFORMED_RDAP[answer]}) as site:
        # WHEN the recipients of a page hosted there are discovered
        discovery = discover(site)
    # THEN nothing raised, the reviewer gets a note about the RDAP lookup, and no bad address got through
    assert any("RDAP" in note for note in discovery.notes), discovery.notes
    assert_only_plain_recipients(discovery)
    assert not [r for r in discovery.recipients if "evil.example" in r.address or "host.example" in r.address]


HOSTILE_ADDRESSES = {
    "a display name": "Admin <admin@board.example>",
    "a comment": "admin@board.example (desk)",
    "two @": "a@b@board.example",
    "a line break and a header": "admin@board.example\r\nBcc: x@evil.example",
    "a NUL": "admin@board.example\x00",
    "a right-to-left override": "\u202eadmin@board.example",
    "a Korean local part and domain": "관리자@게시판.한국",
    "a Korean domain (U-label)": "admin@게시판.한국",
    "a quoted local part": '"quoted"@board.example',
    "a trailing dot": "admin@board.example.",
    "no top-level domain": "admin@localhost",
    "a 65-character local part": "a" * 65 + "@board.example",
    "a 255-character domain": "admin@" + "a" * 250 + ".example",
    "a full-width @": "admin＠board.example",
    "a Cyrillic o in the domain": "admin@bоard.example",
    "two dots in a row": "ad..min@board.example",
    "an address literal": "admin@[127.0.0.1]",
}


def test_invalid_and_internationalised_addresses_are_refused_with_a_note_and_plain_ones_kept() -> None:
    # GIVEN a page whose mailto links carry every hostile address, and a plain one, and a hostile source contact
    addresses = [*HOSTILE_ADDRESSES.values(), "admin@board.example"]
    page = "".join(f'<a href="mailto:{quote(a, safe="@")}">contact</a>' for a in addresses).encode()
    with HostileSite() as site:
        # WHEN the recipients are discovered (RDAP answers nothing: the site serves no RDAP path)
        discovery = discover(site, page, source_contact="abuse@board.example\r\nBcc: x@evil.example")
    # THEN the plain address is the page's recipient ...
    assert "admin@board.example" in [r.address for r in discovery.recipients]
    assert_only_plain_recipients(discovery)
    # ... and each hostile one (and the hostile source contact) is refused with a note naming it
    refusals = [note for note in discovery.notes if "refused" in note]
    for name, address in HOSTILE_ADDRESSES.items():
        assert any(repr(address)[1:-1][:60] in note for note in refusals), name
    assert any("source" in note and "refused" in note for note in discovery.notes)


def test_an_a_label_domain_address_is_deliverable() -> None:
    # GIVEN the ASCII (A-label) form of an address at a Korean domain THEN it is a valid recipient address
    assert validate_address("admin@xn--9n2bp8q.xn--3e0b707e") == "admin@xn--9n2bp8q.xn--3e0b707e"


# Runs of page text with a second at-sign, plain or spelled out: one malformed token each, never an address.
TWO_AT_TEXT = (
    "a@b@board.example",
    "c＠d@board.example",
    "e(at)f(at)board.example",
    "desk@board.example@other.example",
    "desk@board.example.@other.example",
)


def test_page_text_with_two_at_signs_yields_no_fragment_of_an_address() -> None:
    # GIVEN a page whose text carries each run with two at-signs, and one plain address
    text = " / ".join([*TWO_AT_TEXT, "write to abuse@board.example"])
    page = f"<html><body><p>{text}</p></body></html>".encode()
    with HostileSite() as site:
        # WHEN the recipients are discovered (no RDAP: the site serves no RDAP path)
        discovery = discover(site, page)
    # THEN the plain address is found and no part of a malformed run became a recipient (b@board.example is
    # what a scanner reading from the second at-sign would take)
    addresses = {r.address for r in discovery.recipients if r.address}
    assert addresses == {"abuse@board.example"}
    assert_only_plain_recipients(discovery)
