"""The platform registry: the shipped file loads, hosts match by domain and subdomain, bad entries fail loudly."""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

import pytest

from takedown.recipients.platforms import (
    CHECKOUT_REGISTRY_FILE,
    PLATFORM_CONFIDENCE,
    SCHEMA,
    PlatformRegistry,
    PlatformRegistryError,
    load_platform_registry,
)

if TYPE_CHECKING:
    from pathlib import Path

GOOD_ENTRY: dict[str, Any] = {
    "name": "Example Video",
    "domains": ["video.example", "Vid.Example."],
    "abuse_email": "Abuse@Video.Example",
    "form_url": "https://video.example/report",
    "language": "en",
    "country": "US",
    "notes": "Quote the video id.",
}


def _registry(*entries: dict[str, Any]) -> PlatformRegistry:
    return PlatformRegistry.from_document({"schema": SCHEMA, "platforms": list(entries)})


def test_the_shipped_registry_file_is_valid() -> None:
    # WHEN the registry in config/ is loaded
    registry = load_platform_registry(CHECKOUT_REGISTRY_FILE)
    # THEN it has entries, and every domain is a reserved example domain (no real platform is guessed at)
    assert len(registry) >= 1
    domains = [domain for entry in registry.entries for domain in entry.domains]
    assert all(
        domain.endswith((".example", ".example.com", ".example.net", ".example.org")) for domain in domains
    )


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("video.example", "video.example"),
        ("m.video.example", "video.example"),
        ("a.b.vid.example", "vid.example"),
    ],
)
def test_hosts_match_their_domain_and_its_subdomains(host: str, domain: str) -> None:
    match = _registry(GOOD_ENTRY).match(host)
    assert match is not None
    assert (match.entry.name, match.domain) == ("Example Video", domain)


@pytest.mark.parametrize(
    "host", ["evilvideo.example", "video.example.evil.example.com", "example", "not a host", ""]
)
def test_lookalike_and_invalid_hosts_do_not_match(host: str) -> None:
    assert _registry(GOOD_ENTRY).match(host) is None


def test_the_most_specific_entry_wins() -> None:
    registry = _registry(
        GOOD_ENTRY,
        {
            "name": "Example Video Live",
            "domains": ["live.video.example"],
            "form_url": "https://live.video.example/r",
        },
    )
    match = registry.match("x.live.video.example")
    assert match is not None and match.entry.name == "Example Video Live"


def test_a_match_gives_an_address_and_a_form_with_provenance() -> None:
    # GIVEN a matched entry with both channels
    match = _registry(GOOD_ENTRY).match("m.video.example")
    assert match is not None
    # WHEN its channels are listed
    recipients, forms = match.channels()
    # THEN the address is normalised and carries the platform's language and country
    assert [(r.address, r.role, r.confidence, r.country, r.language) for r in recipients] == [
        ("abuse@video.example", "platform", PLATFORM_CONFIDENCE, "US", "en")
    ]
    assert (
        recipients[0].found_at
        == "platform registry entry 'Example Video' (domain video.example, page host m.video.example)"
    )
    assert [(f.url, f.role) for f in forms] == [("https://video.example/report", "platform")]


def _with(**changes: Any) -> dict[str, Any]:
    entry = copy.deepcopy(GOOD_ENTRY)
    for key, value in changes.items():
        if value is None:
            entry.pop(key)
        else:
            entry[key] = value
    return entry


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_with(abuse_emial="x@video.example"), "unknown fields ['abuse_emial']"),
        (_with(abuse_email="abuse@video.example\r\nBcc: x@y.example"), ".abuse_email: not a deliverable"),
        (_with(form_url="http://video.example/report"), ".form_url: must be an https URL"),
        (_with(form_url="javascript:alert(1)"), ".form_url:"),
        (_with(abuse_email=None, form_url=None), "needs 'abuse_email' or 'form_url'"),
        (_with(domains=["co.uk"]), "'co.uk' is not a registrable domain name"),
        (_with(domains=["com"]), "'com' is not a registrable domain name"),
        (_with(domains=["192.0.2.1"]), "is not a registrable domain name"),
        (_with(domains=[]), ".domains: must be a non-empty list"),
        (_with(domains=["video.example", "VIDEO.example"]), "listed twice"),
        (_with(domains=["bad domain!"]), ".domains[0]: not a valid domain name"),
        (_with(language="Korean"), ".language: 'Korean' is not a BCP 47 tag"),
        (_with(country="kor"), ".country: 'kor' is not an ISO 3166-1 alpha-2 code"),
        (_with(name=""), ".name: required"),
        (_with(notes=["not", "text"]), ".notes: must be a string"),
        ("not an object", "an entry must be a JSON object"),
    ],
)
def test_invalid_entries_are_refused_with_where_and_why(entry: Any, message: str) -> None:
    with pytest.raises(PlatformRegistryError) as raised:
        _registry(entry)
    assert message in str(raised.value)
    assert "platforms[0]" in str(raised.value)


def test_a_domain_claimed_by_two_platforms_is_refused() -> None:
    with pytest.raises(PlatformRegistryError, match="listed for both"):
        _registry(
            GOOD_ENTRY,
            {"name": "Copycat", "domains": ["video.example"], "form_url": "https://c.example.com/"},
        )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "not a JSON object"),
        ({"schema": "other/9", "platforms": []}, "'schema' must be"),
        ({"schema": SCHEMA, "platforms": {}}, "'platforms' must be a list"),
        ({"schema": SCHEMA, "platforms": [], "extra": 1}, "unknown top-level fields"),
    ],
)
def test_invalid_documents_are_refused(document: Any, message: str) -> None:
    with pytest.raises(PlatformRegistryError, match=message):
        PlatformRegistry.from_document(document)


def test_unreadable_files_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "platforms.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(PlatformRegistryError, match="not valid JSON"):
        load_platform_registry(broken)
    with pytest.raises(PlatformRegistryError, match="cannot read"):
        load_platform_registry(tmp_path / "missing.json")
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"schema": SCHEMA, "platforms": [GOOD_ENTRY]}), encoding="utf-8")
    assert load_platform_registry(good).entries[0].domains == ("video.example", "vid.example")
