"""A source's secret headers and cookies (Secrets Manager on the local stack) and the server's country."""

from __future__ import annotations

import dataclasses
import gzip
import json
from typing import TYPE_CHECKING, Any

import boto3

from takedown.aws.crawl_state import CrawlState
from takedown.aws.evidence_store import EvidenceStore
from takedown.crawl.crawl_step import PageTask, crawl_page, fetcher_for_source
from takedown.crawl.server_country import ServerCountries
from takedown.crawl.sources import Source
from takedown.handlers.handle_crawl_page import sighting_object_key, store_outcome
from takedown.recipients.rdap import RdapClient, RdapConfig, make_rdap_fetcher
from tests.functional.credentials.members_site import (
    KEY_VALUE,
    SECRET_NAME,
    SESSION_VALUE,
    MembersOnlySite,
    logged_text,
    store_members_secret,
)
from tests.unit.crawl.samples import image_bytes

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from takedown.local.environment import LocalEnvironment
    from tests.unit.crawl.conftest import LoopbackSite

REFRESHED_VALUE = "synthetic-refreshed-session-3c77"


def _deploy(local: LocalEnvironment, tmp_path: Path, site: LoopbackSite, **options: Any) -> None:
    source = {
        "id": "members-board",
        "kind": "community",
        "seeds": [site.url("/board")],
        "allowed_hosts": ["127.0.0.1"],
        "depth": 1,
        "requests_per_second": 1000.0,
        "allow_private_addresses": True,
        "secret_ref": SECRET_NAME,
        **options,
    }
    path = tmp_path / "sources.json"
    path.write_text(json.dumps({"version": 1, "sources": [source]}), encoding="utf-8")
    local.stack.deploy_sources(path)  # type: ignore[union-attr]


def _stored_text(local: LocalEnvironment) -> str:
    """Every object of the evidence bucket as text (captures decompressed), to look for leaked secrets."""
    s3 = boto3.client("s3")
    bucket = local.settings().evidence_bucket
    texts = []
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        if item["Key"].endswith(".gz"):
            body = gzip.decompress(body)
        texts.append(body.decode("utf-8", "replace"))
    return "\n".join(texts)


def test_a_sources_secret_goes_to_its_own_host_only(
    local: LocalEnvironment,
    tmp_path: Path,
    members_site: MembersOnlySite,
    other_site: LoopbackSite,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN a members-only board whose secret (a header and a cookie) is in Secrets Manager, with a picture and
    # a link that redirects to another host (localhost, a name not in the source's allowed hosts)
    store_members_secret()
    members_site.serve(
        "/board",
        b'<html><body><img src="/pic.png"><a href="/away">out</a></body></html>',
        content_type="text/html",
        headers={"Set-Cookie": f"session={REFRESHED_VALUE}; HttpOnly"},  # the site refreshes the session
    )
    members_site.serve("/pic.png", image_bytes("PNG", seed=11), content_type="image/png")
    members_site.redirect("/away", f"http://localhost:{other_site.port}/landing")
    other_site.serve("/landing", b"<html>elsewhere</html>", content_type="text/html")
    _deploy(local, tmp_path, members_site)
    # WHEN a crawl cycle runs
    local.invoke("handle_dispatch_crawl", {})
    # THEN the board's pages and picture were fetched with the secret, and nothing was refused for it
    assert [r.path for r in members_site.requests] == ["/board", "/pic.png", "/away"]
    assert all(r.headers.get("X-Members-Key") == KEY_VALUE for r in members_site.requests)
    sightings = boto3.client("s3").list_objects_v2(
        Bucket=local.settings().evidence_bucket, Prefix="sightings/"
    )
    assert sightings["KeyCount"] == 1
    assert not [
        r for r in CrawlState(local.settings().crawl_table).refusals("members-board") if "403" in r["reason"]
    ]
    # AND the host the redirect led to got neither the header nor the cookie
    assert [r.path for r in other_site.requests] == ["/landing"]
    assert "X-Members-Key" not in other_site.requests[0].headers
    assert "Cookie" not in other_site.requests[0].headers
    # AND the secret's values, and the session the site handed back, are in no log line and no stored object
    logged = logged_text(caplog)
    assert "crawl dispatched" in logged  # the functions' records are caught (they log at DEBUG here)
    assert "pic.png" in _stored_text(local)  # the capture and sighting were read (decompressed)
    for value in (KEY_VALUE, SESSION_VALUE, REFRESHED_VALUE):
        assert value not in logged
        assert value not in _stored_text(local)


def test_a_missing_secret_stops_the_source_with_a_recorded_reason(
    local: LocalEnvironment, tmp_path: Path, members_site: MembersOnlySite
) -> None:
    # GIVEN a source whose secret does not exist
    members_site.serve("/board", b"<html></html>", content_type="text/html")
    _deploy(local, tmp_path, members_site, secret_ref="takedown/crawl/never-created")
    # WHEN a crawl cycle runs
    local.invoke("handle_dispatch_crawl", {})
    # THEN the board was not fetched without its credentials, and the reason is recorded
    assert members_site.requests == []
    reasons = [r["reason"] for r in CrawlState(local.settings().crawl_table).refusals("members-board")]
    assert reasons == ["secret:not-found"]


def test_each_sighting_records_the_servers_country(local: LocalEnvironment, other_site: LoopbackSite) -> None:
    # GIVEN a page with a picture, fetched as if from 203.0.113.7 (a documentation address; the test server
    # can only be on loopback, which no registry holds), and an RDAP server that places that address in VN
    other_site.serve("/board", b'<html><body><img src="/pic.png"></body></html>', content_type="text/html")
    other_site.serve("/pic.png", image_bytes("PNG", seed=12), content_type="image/png")
    network = {
        "objectClassName": "ip network",
        "handle": "NET-TEST",
        "startAddress": "203.0.113.0",
        "endAddress": "203.0.113.255",
        "country": "VN",
    }
    other_site.serve(
        "/rdap/ip/203.0.113.7", json.dumps(network).encode(), content_type="application/rdap+json"
    )
    source = Source(
        id="overseas-board",
        kind="community",
        seeds=[other_site.url("/board")],
        allowed_hosts=["127.0.0.1"],
        requests_per_second=1000.0,
        allow_private_addresses=True,
    )
    fetcher = fetcher_for_source(source)
    outcome = crawl_page(PageTask(source.id, other_site.url("/board"), 0), source, fetcher)
    assert outcome.page is not None
    outcome.page = dataclasses.replace(outcome.page, server_ip="203.0.113.7")
    rdap = RdapClient(RdapConfig([other_site.url("/rdap/")]), make_rdap_fetcher(allow_private=True))
    # WHEN the worker stores what it found
    store_outcome(
        local.settings("handle_crawl_page"), source, outcome, fetcher, countries=ServerCountries(rdap)
    )
    # THEN the sighting names the server's address and its country
    media = outcome.media[0]
    sighting = EvidenceStore(local.settings().evidence_bucket).get_json(
        sighting_object_key(media.sha256, outcome.page.final_url)
    )
    assert (sighting["server_ip"], sighting["server_country"]) == ("203.0.113.7", "VN")
