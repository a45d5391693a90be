"""Web forms as first-class recipients: validated, merged, listed after e-mail recipients, and noted when they are
the only way to reach anyone."""

from __future__ import annotations

import pytest

from takedown.model import Recipient
from takedown.recipients.contact_form import ContactForm, InvalidFormUrl, validate_form_url
from takedown.recipients.discover import (
    FORM_ONLY_NOTE,
    NO_ADDRESS_NOTE,
    Discovery,
    discover_recipients,
    merge_candidates,
    reachability_notes,
    validated_recipient,
)
from takedown.recipients.platforms import (
    CHECKOUT_REGISTRY_FILE,
    PLATFORM_CONFIDENCE,
    PlatformEntry,
    PlatformRegistry,
    load_platform_registry,
)
from tests.unit.recipients_discovery.conftest import RefusingFetcher

FORM = "https://images.example.net/takedown"


def _discover(
    page_url: str, registry: PlatformRegistry | None, page_html: str = "<p>no contact</p>"
) -> Discovery:
    return discover_recipients(
        page_url=page_url,
        page_html=page_html,
        server_ip="",
        response_headers={},
        source_contact="",
        fetcher=RefusingFetcher(),
        rdap=None,
        registry=registry,
    )


def test_a_form_only_platform_is_a_recipient_without_an_address() -> None:
    # GIVEN a page on a platform whose registry entry has a form and no e-mail address
    found = _discover("https://images.example.net/i/77", load_platform_registry(CHECKOUT_REGISTRY_FILE))
    # THEN the form is the recipient: no address, the form's URL, the platform's confidence, country, language
    assert found.recipients == [
        Recipient(
            address="",
            role="platform",
            found_at="platform registry entry 'Example Image Host (sample entry)' (domain images.example.net, "
            "page host images.example.net)",
            confidence=PLATFORM_CONFIDENCE,
            country="JP",
            language="ja",
            contact_form_url=FORM,
        )
    ]
    # AND the reviewer is told that nothing will be e-mailed, and not that nothing was found
    assert FORM_ONLY_NOTE in found.notes and NO_ADDRESS_NOTE not in found.notes
    assert [(f.url, f.role) for f in found.forms] == [(FORM, "platform")]


def test_e_mail_recipients_come_before_forms_whatever_their_confidence() -> None:
    # GIVEN a platform with both channels, and a page mailto link of lower confidence
    registry = load_platform_registry(CHECKOUT_REGISTRY_FILE)
    page = '<a href="mailto:uploader@video.example">mail</a>'
    found = _discover("https://video.example/watch/1", registry, page)
    # THEN every e-mail recipient is listed before the form, so the first recipient can always be e-mailed
    listed = [(r.address, r.contact_form_url, r.confidence) for r in found.recipients]
    assert listed == [
        ("abuse@video.example", "", PLATFORM_CONFIDENCE),
        ("uploader@video.example", "", 0.7),
        ("", "https://video.example/report-abuse", PLATFORM_CONFIDENCE),
    ]
    assert FORM_ONLY_NOTE not in found.notes


@pytest.mark.parametrize(
    "url",
    [
        "http://images.example.net/takedown",
        "javascript:alert(1)",
        "https://user:secret@images.example.net/takedown",
        "https:///no-host",
        "https://images.example.net/take down",
        "https://images.example.net/takedown\r\nX: y",
        "https://images.example.net/\u202egnp.exe",
        "https://images.example.net/" + "a" * 2100,
        "https://[::1/broken",
    ],
)
def test_a_form_url_that_could_mislead_is_refused(url: str) -> None:
    with pytest.raises(InvalidFormUrl):
        validate_form_url(url)


def test_a_refused_form_becomes_a_note_not_a_recipient() -> None:
    # GIVEN a registry built in code (the registry file's loader would already refuse or encode this URL) whose
    # form URL hides a bidi override
    registry = PlatformRegistry(
        [
            PlatformEntry(
                name="Odd Host", domains=("odd.example",), form_url="https://odd.example/\u202ereport"
            )
        ]
    )
    # WHEN recipients are discovered for a page there
    found = _discover("https://odd.example/p/1", registry)
    # THEN there is no recipient, the refusal is explained, and the reviewer must add one
    assert found.recipients == []
    refused = [n for n in found.notes if n.startswith("platform form refused")]
    assert len(refused) == 1 and "control characters" in refused[0]
    assert NO_ADDRESS_NOTE in found.notes


def test_forms_merge_by_url_and_an_address_keeps_a_form_found_for_it() -> None:
    # GIVEN the same form found twice, and an address found once with a form and once without
    candidates = [
        ContactForm(FORM, "cdn", "CDN abuse form").as_recipient(0.5),
        ContactForm(FORM, "platform", "registry").as_recipient(0.95, country="JP"),
        Recipient("abuse@host.example", "host", "RDAP", 0.6),
        Recipient("abuse@host.example", "site", "page", 0.7, contact_form_url="https://host.example/abuse"),
    ]
    # WHEN they are merged
    merged = merge_candidates(candidates)
    # THEN there is one of each, the e-mail first, each keeping its best sighting and every provenance
    assert [(r.address, r.role, r.contact_form_url, r.found_at, r.country) for r in merged] == [
        ("abuse@host.example", "site", "https://host.example/abuse", "page; RDAP", ""),
        ("", "platform", FORM, "registry; CDN abuse form", "JP"),
    ]


def test_a_recipient_needs_a_valid_address_or_a_valid_form() -> None:
    assert validated_recipient(Recipient("", "cdn", "x", 0.5, contact_form_url=FORM)).address == ""
    assert (
        validated_recipient(Recipient("Abuse@Host.Example", "host", "x", 0.6)).address == "abuse@host.example"
    )
    with pytest.raises(ValueError, match="not a deliverable plain address"):
        validated_recipient(Recipient("", "host", "x", 0.6))
    with pytest.raises(InvalidFormUrl):
        validated_recipient(
            Recipient("abuse@host.example", "host", "x", 0.6, contact_form_url="http://h.example/")
        )


def test_reachability_notes() -> None:
    form = ContactForm(FORM, "cdn", "x").as_recipient(0.5)
    assert reachability_notes([]) == [NO_ADDRESS_NOTE]
    assert reachability_notes([form]) == [FORM_ONLY_NOTE]
    assert reachability_notes([Recipient("a@b.example", "site", "x", 0.7), form]) == []
