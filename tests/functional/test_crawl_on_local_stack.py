"""The scheduled crawl on the local stack: dispatcher -> SQS -> crawl worker -> S3 -> hashing."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import boto3

from takedown.aws.case_store import CaseStore
from takedown.aws.clients import client
from takedown.aws.crawl_state import CrawlState
from takedown.aws.evidence_store import EvidenceStore
from takedown.demo.run import demo_sources, register_bank
from takedown.demo.site import build_demo_site, serve_site
from takedown.evidence.manifest import EvidenceManifest, verify_manifest
from takedown.model import CaseStatus

if TYPE_CHECKING:
    from pathlib import Path

    from takedown.local.environment import LocalEnvironment


def test_one_cycle_stores_every_media_file_with_its_sighting(local: LocalEnvironment, tmp_path: Path) -> None:
    # GIVEN a loopback site deployed as the only source
    site = build_demo_site(bank_seeds=[5], n_pages=3)
    with serve_site(site) as server:
        sources = tmp_path / "sources.json"
        sources.write_text(json.dumps(demo_sources(server.base_url)), encoding="utf-8")
        local.stack.deploy_sources(sources)  # type: ignore[union-attr]
        # WHEN the schedule fires the dispatcher
        result = local.invoke("handle_dispatch_crawl", {})
    # THEN every page was fetched and every media file reached the hashing step with its sighting record
    assert {k: result[k] for k in ("sources", "pages_enqueued")} == {"sources": 1, "pages_enqueued": 1}
    assert {page: server.hits.get(page, 0) for page in site.pages} == dict.fromkeys(site.pages, 1)
    outcomes = CrawlState(local.settings().crawl_table).media_outcomes()
    assert len(outcomes) == len(site.media_paths())
    assert {o["page_url"].removeprefix(server.base_url) for o in outcomes} <= set(site.pages)
    s3 = boto3.client("s3")
    sightings = s3.list_objects_v2(Bucket=local.settings().evidence_bucket, Prefix="sightings/")["KeyCount"]
    assert sightings == len(outcomes)


def test_outcomes_since_a_moment_come_from_the_hourly_index_without_a_scan(
    local: LocalEnvironment, tmp_path: Path
) -> None:
    # GIVEN an outcome recorded two hours ago and a crawl cycle run now
    state = CrawlState(local.settings().crawl_table)
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    state.record_media_outcome(
        "ab" * 32, "https://old.example/p", outcome="NO_MATCH", reason="", now=two_hours_ago
    )
    started = datetime.now(UTC)
    site = build_demo_site(bank_seeds=[5], n_pages=3)
    with serve_site(site) as server:
        sources = tmp_path / "sources.json"
        sources.write_text(json.dumps(demo_sources(server.base_url)), encoding="utf-8")
        local.stack.deploy_sources(sources)  # type: ignore[union-attr]
        local.invoke("handle_dispatch_crawl", {})
    # WHEN the outcomes since the crawl started are read, counting the calls made
    calls: list[str] = []
    dynamodb = client("dynamodb")
    dynamodb.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    since_start = state.media_outcomes(since=started)
    # THEN they are this cycle's media, read by querying the index an hour at a time, never by a scan
    assert len(since_start) == len(site.media_paths())
    assert all(o["page_url"].startswith(server.base_url) for o in since_start)
    assert calls and set(calls) == {"Query"}
    # AND reading from before the old outcome finds it too, from its own hour's partition
    assert len(state.media_outcomes(since=two_hours_ago - timedelta(minutes=1))) == len(since_start) + 1
    assert len(state.media_outcomes()) == len(since_start) + 1  # the whole table, for local tools


def test_a_candidate_cites_the_page_capture_and_its_manifest_verifies(
    local: LocalEnvironment, tmp_path: Path
) -> None:
    # GIVEN a site with an altered copy of a registered image, crawled once
    site = build_demo_site(bank_seeds=[9], n_pages=2)
    register_bank(local.settings(), site.bank_images())
    with serve_site(site) as server:
        sources = tmp_path / "sources.json"
        sources.write_text(json.dumps(demo_sources(server.base_url)), encoding="utf-8")
        local.stack.deploy_sources(sources)  # type: ignore[union-attr]
        local.invoke("handle_dispatch_crawl", {})
    cases = CaseStore(local.settings().cases_table)
    case_ids = [
        o["reason"]
        for o in CrawlState(local.settings().crawl_table).media_outcomes()
        if o["outcome"] == "CANDIDATE"
    ]
    assert len(case_ids) == 1
    assert local.wait_for(lambda: cases.require(case_ids[0]).status is CaseStatus.AWAITING_REVIEW, timeout=60)
    # WHEN the stored report, capture and manifest are read back
    record = cases.require(case_ids[0])
    store = EvidenceStore(local.settings().evidence_bucket)
    report = store.get_json(record.report_key.replace(".html", ".json"))
    cited = {o["kind"]: o for o in report["evidence_objects"]}
    warc = store.get_bytes(record.sighting.capture_key)
    manifest = EvidenceManifest.from_dict(store.get_json(cited["capture manifest"]["key"]))
    # THEN the report cites the WARC by key and digest, and every digest in the manifest matches the stored bytes
    assert cited["capture (WARC)"]["key"] == record.sighting.capture_key
    assert cited["capture (WARC)"]["sha256"] == hashlib.sha256(warc).hexdigest()
    assert verify_manifest(warc, manifest) == []
    targets = {r.target_uri for r in manifest.records if r.type == "response"}
    assert record.sighting.page_url in targets and record.sighting.media_url in targets
    # AND the capture is locked as evidence
    head = boto3.client("s3").head_object(
        Bucket=local.settings().evidence_bucket, Key=record.sighting.capture_key
    )
    assert head["ObjectLockMode"] == "GOVERNANCE"


def test_a_bad_message_fails_alone_and_is_reported_for_retry(local: LocalEnvironment) -> None:
    # GIVEN a batch with a task for an unknown source and a malformed body
    event = {
        "Records": [
            {
                "messageId": "m-unknown",
                "body": json.dumps({"source_id": "nope", "url": "http://a.example/", "depth": 0}),
            },
            {"messageId": "m-garbage", "body": "{not json"},
        ]
    }
    # WHEN the worker gets it
    result = local.invoke("handle_crawl_page", event)
    # THEN each failure is reported by id (partial batch response) and nothing else happened
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-unknown"}, {"itemIdentifier": "m-garbage"}]}
