"""The country a notice is written for is decided once, when recipients are resolved: the recipient's, else the
server address's when no CDN fronts the site, else the crawl source's hint."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pytest

from takedown.aws.case_store import CaseStore
from takedown.aws.evidence_store import EvidenceStore
from takedown.cases.record import case_id_for
from takedown.handlers.handle_crawl_page import media_object_key, sighting_object_key
from takedown.model import CaseStatus, Sighting

from .conftest import register, synthetic_png
from .review_cases import altered

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment

CLOUDFLARE_HEADERS = {"server": "cloudflare", "cf-ray": "8a1b2c3d4e5f6a7b-HAN"}


def _sighting_served_from(
    local: LocalEnvironment, data: bytes, *, server_country: str, headers: dict[str, str]
) -> Sighting:
    """Store a sighting (then its media, which starts hashing) fetched from a server in ``server_country``."""
    page_url = "http://forum.example/p/7"
    sha256 = hashlib.sha256(data).hexdigest()
    sighting = Sighting(
        media_key=media_object_key(sha256, page_url, "image/jpeg"),
        sha256=sha256,
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        page_url=page_url,
        media_url="http://forum.example/media/7.jpg",
        fetched_at="2026-11-28T07:00:00.000000Z",
        content_type="image/jpeg",
        source_id="example-community",  # its country hint is KR
        size_bytes=len(data),
        server_ip="203.0.113.9",
        server_country=server_country,
        page_title="Board",
        page_lang="",  # no page language: the country alone decides
        page_contacts=["admin@forum.example"],
        response_headers=headers,
    )
    store = EvidenceStore(local.settings().evidence_bucket)
    store.put_json(sighting_object_key(sha256, page_url), sighting.to_dict())
    store.put_bytes(sighting.media_key, data, "image/jpeg")
    return sighting


@pytest.mark.parametrize(
    ("headers", "country", "basis", "locales"),
    [
        # no CDN: the server is the host, and the notice is in its country's language (plus English)
        ({"server": "nginx"}, "VN", "server-address", ["vi", "en"]),
        # behind a CDN the server address is the CDN's edge: the source's hint decides instead
        (CLOUDFLARE_HEADERS, "KR", "source-hint", ["ko", "en"]),
    ],
)
def test_the_server_country_counts_only_when_no_cdn_fronts_the_site(
    local: LocalEnvironment, headers: dict[str, str], country: str, basis: str, locales: list[str]
) -> None:
    # GIVEN a match on a site the platform registry does not know, fetched from a server in Viet Nam, with no
    # RDAP to tell the hosting network's country
    original = synthetic_png(11)
    register(local, original)
    sighting = _sighting_served_from(local, altered(original), server_country="VN", headers=headers)
    case_id = case_id_for(sighting.sha256, sighting.page_url)
    cases = CaseStore(local.settings().cases_table)

    # WHEN the case reaches review
    assert local.wait_for(
        lambda: (record := cases.get(case_id)) is not None and record.status is CaseStatus.AWAITING_REVIEW,
        timeout=60,
    )

    # THEN the country was decided once, when the recipients were resolved, with where it came from
    record = cases.require(case_id)
    assert record.recipient_country == country
    [resolved] = [e for e in cases.events(case_id) if e.stage == "resolve-recipients"]
    assert (resolved.detail["country"], resolved.detail["country_basis"]) == (country, basis)
    assert resolved.detail["cdn"] == ("Cloudflare" if headers is CLOUDFLARE_HEADERS else "")
    # AND the notice is drafted in that country's language, then English
    assert record.locales == locales
    assert {d.locale for d in cases.drafts(case_id)} == set(locales)
