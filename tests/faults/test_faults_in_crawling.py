"""Duplicated SQS deliveries and storage failures under the crawl worker: each media file is fetched and stored
once however often its page's message arrives, and a message whose storing fails is reported alone (partial
batch response) for SQS to retry, then to keep in the crawl dead-letter queue.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from takedown.aws.crawl_state import CrawlState
from tests.hostile.corpus import encode, scene
from tests.hostile.sites import HostileSite, static

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from takedown.local.environment import LocalEnvironment
    from tests.faults.conftest import FaultInjector

PAGES = ("/a", "/b")


@pytest.fixture
def board(local: LocalEnvironment, tmp_path: Path) -> Iterator[HostileSite]:
    """Two loopback pages with two pictures each, deployed as the only source."""
    routes: dict[str, Any] = {}
    for page_number, page in enumerate(PAGES):
        picture_paths = [f"{page}/{n}.png" for n in range(2)]
        routes[page] = static("".join(f'<img src="{p}">' for p in picture_paths).encode(), "text/html")
        for n, picture_path in enumerate(picture_paths):
            routes[picture_path] = static(picture(page_number, n), "image/png")
    with HostileSite(routes) as site:
        sources = {
            "version": 1,
            "sources": [
                {
                    "id": "board",
                    "kind": "community",
                    "seeds": [site.url(p) for p in PAGES],
                    "allowed_hosts": ["127.0.0.1"],
                    "depth": 0,
                    "requests_per_second": 50.0,
                    "allow_private_addresses": True,
                }
            ],
        }
        path = tmp_path / "sources.json"
        path.write_text(json.dumps(sources), encoding="utf-8")
        assert local.stack is not None
        local.stack.deploy_sources(path)
        yield site


def message(site: HostileSite, page: str, message_id: str) -> dict[str, Any]:
    body = {"source_id": "board", "url": site.url(page), "depth": 0, "cycle": "20261128T070000Z"}
    return {"messageId": message_id, "body": json.dumps(body)}


def media_hits(site: HostileSite) -> dict[str, int]:
    return {path: n for path, n in site.hits.items() if path.endswith(".png")}


def sightings(local: LocalEnvironment) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=local.settings().evidence_bucket, Prefix="sightings/")
    return [o["Key"] for o in listed.get("Contents", [])]


def test_a_page_message_delivered_again_and_twice_in_a_batch_stores_each_picture_once(
    local: LocalEnvironment, board: HostileSite
) -> None:
    # GIVEN the same page's message twice in one batch (SQS at-least-once), then redelivered, then a copy with
    # another message id
    batches = [
        {"Records": [message(board, "/a", "m1"), message(board, "/a", "m1")]},
        {"Records": [message(board, "/a", "m1")]},
        {"Records": [message(board, "/a", "m2"), message(board, "/b", "m3")]},
    ]
    # WHEN the worker gets each batch
    results = [local.invoke("handle_crawl_page", batch) for batch in batches]
    # THEN no delivery failed, each picture was fetched once, and has one sighting and one recorded outcome
    assert results == [{"batchItemFailures": []}] * 3
    assert media_hits(board) == {f"{p}/{n}.png": 1 for p in PAGES for n in range(2)}
    assert len(sightings(local)) == 4
    outcomes = CrawlState(local.settings().crawl_table).media_outcomes()
    assert sorted(o["media_url"] for o in outcomes) == sorted(
        board.url(f"{p}/{n}.png") for p in PAGES for n in range(2)
    )


def test_a_message_whose_storing_fails_is_reported_alone_and_its_retry_stores_it(
    local: LocalEnvironment, board: HostileSite, faults: FaultInjector
) -> None:
    # GIVEN S3 refusing to store the sighting records of page /a's pictures (written before each picture)
    page_a = {picture_sha256(0, n) for n in range(2)}
    fault = faults.fail(
        "s3",
        "PutObject",
        "InternalError",
        times=None,
        http_status=500,
        matching=lambda r: "/sightings/" in r and any(sha in r for sha in page_a),
    )
    # WHEN a batch with pages /a and /b arrives
    first = local.invoke(
        "handle_crawl_page", {"Records": [message(board, "/a", "m1"), message(board, "/b", "m2")]}
    )
    # THEN only /a's message is reported failed (SQS retries it alone; after five receives the DLQ keeps it)
    assert first == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert fault.injected >= 1
    # WHEN S3 recovers and SQS delivers /a's message again
    faults.clear()
    second = local.invoke("handle_crawl_page", {"Records": [message(board, "/a", "m1")]})
    # THEN it is stored this time: every picture of both pages has its sighting and its outcome
    assert second == {"batchItemFailures": []}
    outcomes = CrawlState(local.settings().crawl_table).media_outcomes()
    assert {o["media_url"] for o in outcomes} == {board.url(f"{p}/{n}.png") for p in PAGES for n in range(2)}
    assert len(sightings(local)) == 4


def picture_sha256(page_number: int, n: int) -> str:
    return hashlib.sha256(picture(page_number, n)).hexdigest()


def picture(page_number: int, n: int) -> bytes:
    return encode(scene(60 + 10 * page_number + n), "PNG")
