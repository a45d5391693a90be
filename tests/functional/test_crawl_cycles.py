"""Crawl cycles on the local stack: a source's page budget across all messages of a cycle, what a later cycle
fetches again (its pages) and what it does not (media already fetched and hashed), and bytes stored once."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import boto3

from takedown.aws.crawl_state import CrawlState
from takedown.demo.run import demo_sources
from takedown.demo.site import build_demo_site, serve_site
from tests.unit.crawl.conftest import LoopbackSite
from tests.unit.crawl.samples import image_bytes

if TYPE_CHECKING:
    from pathlib import Path

    from takedown.local.environment import LocalEnvironment


def _deploy(local: LocalEnvironment, tmp_path: Path, base_url: str, **overrides: Any) -> str:
    document = demo_sources(base_url)
    document["sources"][0].update({"requests_per_second": 1000.0, **overrides})
    path = tmp_path / "sources.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    local.stack.deploy_sources(path)  # type: ignore[union-attr]
    return str(document["sources"][0]["id"])


def _object_count(local: LocalEnvironment, prefix: str) -> int:
    answer = boto3.client("s3").list_objects_v2(Bucket=local.settings().evidence_bucket, Prefix=prefix)
    return int(answer["KeyCount"])


def test_the_page_budget_holds_across_the_messages_of_a_cycle(
    local: LocalEnvironment, tmp_path: Path
) -> None:
    # GIVEN a board of 9 pages (an index linking 8 board pages), deployed with a budget of 3 pages a cycle
    site = build_demo_site(bank_seeds=[], n_pages=8)
    with serve_site(site) as server:
        source_id = _deploy(local, tmp_path, server.base_url, depth=10, page_budget=3)
        # WHEN one cycle runs
        dispatched = local.invoke("handle_dispatch_crawl", {})
        hits = dict(server.hits)
    # THEN exactly three pages were fetched, each once
    fetched = {page: hits[page] for page in site.pages if hits.get(page)}
    assert len(fetched) == 3
    assert set(fetched.values()) == {1}
    assert CrawlState(local.settings().crawl_table).pages_counted(source_id, dispatched["cycle"]) == 3
    # AND every page left out is recorded as skipped for the page budget, once
    skipped = [
        r
        for r in CrawlState(local.settings().crawl_table).refusals(source_id)
        if r["reason"] == "budget:pages"
    ]
    skipped_urls = sorted(r["url"] for r in skipped)
    assert skipped_urls == sorted(
        {server.base_url + page for page in site.pages} - {server.base_url + p for p in fetched}
    )
    assert all("page budget of 3 pages" in r["message"] for r in skipped)


def test_a_later_cycle_fetches_the_pages_again_but_not_the_media_already_hashed(
    local: LocalEnvironment, tmp_path: Path
) -> None:
    # GIVEN a board crawled once: every page and every media file fetched, hashed and recorded
    site = build_demo_site(bank_seeds=[], n_pages=3)
    crawl_table = local.settings().crawl_table
    with serve_site(site) as server:
        _deploy(local, tmp_path, server.base_url, depth=5)
        first = local.invoke("handle_dispatch_crawl", {})
        after_first = dict(server.hits)
        outcomes_after_first = CrawlState(crawl_table).media_outcomes()
        sightings_after_first = _object_count(local, "sightings/")
        # WHEN the next cycle runs
        second = local.invoke("handle_dispatch_crawl", {})
        after_second = dict(server.hits)
    # THEN it was another cycle, and it fetched every page again (new media could have appeared on them)
    assert first["cycle"] != second["cycle"]
    assert {page: after_second[page] for page in site.pages} == dict.fromkeys(site.pages, 2)
    # AND no media file was downloaded, stored or hashed a second time
    assert len(outcomes_after_first) == len(site.media_paths()) > 0
    assert {path: after_second[path] for path in site.media_paths()} == {
        path: after_first[path] for path in site.media_paths()
    }
    assert set(after_first[path] for path in site.media_paths()) == {1}
    assert len(CrawlState(crawl_table).media_outcomes()) == len(outcomes_after_first)
    assert _object_count(local, "sightings/") == sightings_after_first


def test_a_scheduled_retry_of_the_same_event_continues_its_cycle(
    local: LocalEnvironment, tmp_path: Path
) -> None:
    # GIVEN a board crawled by a scheduled event
    site = build_demo_site(bank_seeds=[], n_pages=2)
    event = {"source": "aws.events", "detail-type": "Scheduled Event", "time": "2027-01-15T08:00:00Z"}
    with serve_site(site) as server:
        _deploy(local, tmp_path, server.base_url, depth=5)
        first = local.invoke("handle_dispatch_crawl", event)
        # WHEN EventBridge delivers the same event again (a retry)
        second = local.invoke("handle_dispatch_crawl", event)
        hits = dict(server.hits)
    # THEN both are the same cycle, named by the scheduled time, and no page was fetched twice
    assert first["cycle"] == second["cycle"] == "20270115T080000Z"
    assert {page: hits[page] for page in site.pages} == dict.fromkeys(site.pages, 1)


def test_the_same_bytes_under_two_urls_of_one_page_are_stored_and_hashed_once(
    local: LocalEnvironment, tmp_path: Path
) -> None:
    # GIVEN a page showing one picture under two URLs (a cache-busting query), and another picture
    site = LoopbackSite()
    try:
        picture, other = image_bytes("PNG", seed=31), image_bytes("PNG", seed=32)
        site.serve(
            "/board",
            b'<html><body><img src="/p.png"><img src="/p.png?v=2"><img src="/q.png"></body></html>',
            content_type="text/html",
        )
        site.serve("/p.png", picture, content_type="image/png")
        site.serve("/p.png?v=2", picture, content_type="image/png")
        site.serve("/q.png", other, content_type="image/png")
        document = demo_sources(site.base_url)
        document["sources"][0].update(
            {"seeds": [site.url("/board")], "depth": 0, "requests_per_second": 1000.0}
        )
        path = tmp_path / "sources.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        local.stack.deploy_sources(path)  # type: ignore[union-attr]
        # WHEN one cycle runs
        local.invoke("handle_dispatch_crawl", {})
        requested = sorted(request.path for request in site.requests)
    finally:
        site.close()
    # THEN both URLs were fetched (the crawler cannot know they are the same before it has the bytes), but the
    # picture was stored and hashed once, with the other picture beside it
    assert requested == ["/board", "/p.png", "/p.png?v=2", "/q.png"]
    versions = boto3.client("s3").list_object_versions(
        Bucket=local.settings().evidence_bucket, Prefix="sightings/"
    )
    assert len(versions.get("Versions", [])) == 2  # the bucket is versioned: a second write would show
    digests = sorted(o["sha256"] for o in CrawlState(local.settings().crawl_table).media_outcomes())
    assert digests == sorted(hashlib.sha256(data).hexdigest() for data in (picture, other))
