"""Site contacts against real loopback websites (Korean and English): contact links, addresses, roles."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from takedown.crawl.fetch import SafeFetcher
from takedown.recipients.site_contacts import (
    CONTACT_PAGE_CONFIDENCE,
    PAGE_MAILTO_CONFIDENCE,
    PAGE_TEXT_CONFIDENCE,
    SITE_ABUSE_CONFIDENCE,
    YOUTH_PROTECTION_CONFIDENCE,
    addresses_on_page,
    discover_site_contacts,
    find_contact_links,
)
from tests.unit.recipients_discovery.sites import (
    KOREAN_BOARD_PAGE,
    build_english_video_site,
    build_korean_board,
    cloudflare_protect,
)

if TYPE_CHECKING:
    from tests.unit.recipients_discovery.conftest import LoopbackServer


def test_contact_links_are_found_by_text_and_path_most_useful_first(website: LoopbackServer) -> None:
    # GIVEN the Korean board page
    page_url = website.url("/board/1")
    # WHEN its contact-like links are listed
    links = find_contact_links(KOREAN_BOARD_PAGE, page_url)
    # THEN youth protection comes first, then inquiry, then about; off-site and ordinary links are left out
    assert [(link.url, link.kind, link.label) for link in links] == [
        (website.url("/policy/youth"), "youth-protection", "청소년보호정책"),
        (website.url("/help/inquiry"), "contact", "고객 문의"),
        (website.url("/company/about"), "about", "회사소개"),
    ]


def test_korean_site_youth_protection_officer_gets_its_own_role(
    website: LoopbackServer, loopback_fetcher: SafeFetcher
) -> None:
    # GIVEN the Korean board on a loopback web server
    page_url = build_korean_board(website)
    # WHEN the site's contacts are discovered from the page
    found = discover_site_contacts(page_url=page_url, page_html=KOREAN_BOARD_PAGE, fetcher=loopback_fetcher)
    by_address = {r.address: r for r in found.recipients}
    # THEN the youth-protection officer's obfuscated address is read and has the youth-protection role
    youth = by_address["youth@board-site.example.com"]
    assert (youth.role, youth.confidence, youth.language) == (
        "youth-protection",
        YOUTH_PROTECTION_CONFIDENCE,
        "ko",
    )
    assert youth.found_at.startswith(
        f"obfuscated address on youth-protection page {website.url('/policy/youth')}"
    )
    assert "청소년보호책임자" in youth.found_at
    # AND the report mailbox on the inquiry page counts as an abuse mailbox
    abuse = by_address["abuse@board-site.example.com"]
    assert (abuse.role, abuse.confidence) == ("site", SITE_ABUSE_CONFIDENCE)
    # AND the page's own mailto link is a site contact
    page_mailto = [r for r in found.recipients if r.found_at == f"mailto link on {page_url}"]
    assert [(r.address, r.confidence) for r in page_mailto] == [
        ("help@board-site.example.com", PAGE_MAILTO_CONFIDENCE)
    ]
    # AND the same mailbox in the youth page's footer is a lower-confidence contact-page sighting
    footer = [r for r in found.recipients if r.found_at.startswith("address on youth-protection page")]
    assert [(r.address, r.role, r.confidence) for r in footer] == [
        ("help@board-site.example.com", "site", CONTACT_PAGE_CONFIDENCE)
    ]
    # AND an image name shaped like an address was not taken
    assert not any("2x.png" in r.address for r in found.recipients)
    # AND the missing about page is a note; the off-site link was never fetched
    assert f"about page {website.url('/company/about')} not read: HTTP 404" in found.notes
    assert found.pages_read == [website.url("/policy/youth"), website.url("/help/inquiry")]
    assert set(website.hits) == {"/policy/youth", "/help/inquiry", "/company/about"}


def test_english_site_dmca_page_protected_address_and_failures(
    website: LoopbackServer, loopback_fetcher: SafeFetcher
) -> None:
    # GIVEN the English video site: DMCA page, a PDF contact page, an about page redirecting off the site
    page_url = build_english_video_site(website)
    page_html = website.routes["/watch/42"].body
    # WHEN the site's contacts are discovered
    found = discover_site_contacts(
        page_url=page_url,
        page_html=page_html,
        fetcher=loopback_fetcher,
        content_type="text/html; charset=utf-8",
    )
    by_address = {r.address: r for r in found.recipients}
    # THEN the Cloudflare-protected address is decoded
    operator = by_address["operator@video-site.example.org"]
    assert (operator.found_at, operator.confidence, operator.language) == (
        f"Cloudflare-protected address on {page_url}",
        PAGE_TEXT_CONFIDENCE,
        "en",
    )
    # AND the DMCA agent's mailto on the DMCA page is an abuse mailbox
    dmca = by_address["dmca@video-site.example.org"]
    assert dmca.confidence == SITE_ABUSE_CONFIDENCE
    assert dmca.found_at.startswith(
        f"mailto link on abuse page {website.url('/legal/dmca')} (linked as 'DMCA'"
    )
    # AND the mailto link with a header injection is refused, not split into addresses
    assert "owner@video-site.example.org" not in by_address
    assert "list@evil.example.org" not in by_address
    assert any(note.startswith("mailto link refused:") and "\r" not in note for note in found.notes)
    # AND the PDF and the off-site redirect are notes
    assert f"contact page {website.url('/contact-us')} not read: not HTML ('application/pdf')" in found.notes
    assert f"about page {website.url('/about')} not read: it redirects off the site" in found.notes


def test_only_the_most_useful_contact_pages_are_fetched(
    website: LoopbackServer, loopback_fetcher: SafeFetcher
) -> None:
    # GIVEN the Korean board and a limit of one contact page
    page_url = build_korean_board(website)
    # WHEN the site's contacts are discovered
    found = discover_site_contacts(
        page_url=page_url, page_html=KOREAN_BOARD_PAGE, fetcher=loopback_fetcher, max_contact_pages=1
    )
    # THEN only the youth-protection page was fetched, and the rest is a note
    assert set(website.hits) == {"/policy/youth"}
    assert f"2 more contact-like links on {page_url} were not followed" in found.notes


def test_an_unreachable_contact_page_is_a_note(website: LoopbackServer) -> None:
    # GIVEN a page linking to a contact page on a server that is not listening (fetch fails)
    page = '<a href="/contact">Contact</a>'
    fetcher = SafeFetcher(allow_private=True, deadline_seconds=2)
    website.close()
    # WHEN the site's contacts are discovered
    found = discover_site_contacts(page_url=website.url("/p"), page_html=page, fetcher=fetcher)
    # THEN the failure is a note with the fetch's reason
    assert found.recipients == []
    assert found.notes == [f"contact page {website.url('/contact')} not read: network:connect"]


@pytest.mark.parametrize(
    ("html", "address", "role", "confidence"),
    [
        ("<p>문의: help@site.example.com</p>", "help@site.example.com", "site", PAGE_TEXT_CONFIDENCE),
        (
            "<p>Report abuse to team [at] site [dot] example [dot] com</p>",
            "team@site.example.com",
            "site",
            SITE_ABUSE_CONFIDENCE,
        ),
        ("<p>abuse＠site.example.com</p>", "abuse@site.example.com", "site", SITE_ABUSE_CONFIDENCE),
        (
            "<p>청소년 보호 책임자 이메일 : kids(at)site.example.com</p>",
            "kids@site.example.com",
            "youth-protection",
            YOUTH_PROTECTION_CONFIDENCE,
        ),
        (
            "<p>Youth Protection Officer: <a href='mailto:y@site.example.com'>mail</a></p>",
            "y@site.example.com",
            "youth-protection",
            YOUTH_PROTECTION_CONFIDENCE,
        ),
        (
            f'<a href="/cdn-cgi/l/email-protection#{cloudflare_protect("c@site.example.com")}">[email protected]</a>',
            "c@site.example.com",
            "site",
            PAGE_TEXT_CONFIDENCE,
        ),
    ],
)
def test_addresses_in_page_text_with_their_roles(
    html: str, address: str, role: str, confidence: float
) -> None:
    found, notes = addresses_on_page(html, "https://site.example.com/p")
    assert [(r.address, r.role, r.confidence) for r in found] == [(address, role, confidence)]
    assert notes == []


def test_a_youth_protection_label_does_not_leak_onto_the_next_address() -> None:
    # GIVEN a one-line footer: company mail, then the officer, then customer service
    html = (
        "<footer>대표 메일: ceo@site.example.com ㅣ 청소년보호책임자: 운영팀장 ㅣ 이메일: youth@site.example.com"
        " ㅣ 고객센터: cs@site.example.com</footer>"
    )
    found, _notes = addresses_on_page(html, "https://site.example.com/")
    # THEN only the officer's address gets the youth-protection role
    assert [(r.address, r.role) for r in found] == [
        ("ceo@site.example.com", "site"),
        ("youth@site.example.com", "youth-protection"),
        ("cs@site.example.com", "site"),
    ]


def test_addresses_in_scripts_and_styles_are_ignored() -> None:
    html = (
        "<script>var a = 'x@tracker.example.com';</script><style>/* y@css.example.com */</style><p>none</p>"
    )
    assert addresses_on_page(html, "https://site.example.com/") == ([], [])


def test_contact_pages_on_a_subdomain_of_the_same_site_count() -> None:
    html = (
        '<a href="https://help.example.com/contact">Help</a><a href="https://example.net/contact">Other</a>'
    )
    links = find_contact_links(html, "https://www.example.com/p")
    assert [link.url for link in links] == ["https://help.example.com/contact"]
