"""The scheduled crawl on the local stack: dispatcher -> SQS -> crawl worker -> S3 -> hashing."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import boto3

from takedown.aws.case_store import CaseStore
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
