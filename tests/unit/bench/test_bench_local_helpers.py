"""The pieces the crawl, pipeline and load benchmarks are built from: the generated site, the timing of a
case from its execution history, the loopback guard, and the per-item rollback of moto's transactions."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import requests
from bench import loopback_guard, moto_fidelity
from bench.aws_calls import AwsCallCounter, difference
from bench.case_timing import (
    HASHING_SEGMENT,
    TRANSITIONS_SEGMENT,
    TimingError,
    percentile,
    segments_from_history,
    shares,
)
from bench.crawl_site import BLOCK_KINDS, CrawlSite, CrawlSiteError, CrawlSitePlan, CrawlSiteServer
from bench.load import CORRUPT, MATCHING, UNRELATED, LoadBenchmarkError, LoadPlan, media_kind
from botocore.exceptions import ClientError
from moto import mock_aws

from takedown.crawl.html_media import extract_page
from takedown.crawl.media_types import sniff_media_type

if TYPE_CHECKING:
    from collections.abc import Iterator


# ---------------------------------------------------------------------------------------------------------
# The generated site


def test_site_serves_every_page_and_every_placed_media_url() -> None:
    # GIVEN the smallest site, served on loopback
    site = CrawlSite(CrawlSitePlan.smoke())
    with CrawlSiteServer(site) as server:
        # WHEN every page is fetched and its media references are extracted with the crawler's own parser
        per_page = 0
        found: set[str] = set()
        for path in site.page_paths():
            answer = requests.get(server.base_url + path, timeout=10)
            assert answer.status_code == 200
            extract = extract_page(answer.content, server.base_url + path, content_type="text/html")
            urls = {ref.url for ref in extract.media}
            per_page += len(urls)
            found |= urls
        # THEN the page count is the plan's, the parser finds as many media URLs as the site says it placed,
        # and each is served as a real image or video
        assert len(site.page_paths()) == CrawlSitePlan.smoke().pages
        assert per_page == sum(site.media_urls_placed().values())
        for url in found:
            body = requests.get(url, timeout=10).content
            assert sniff_media_type(body[:64]) is not None, url
        assert requests.get(server.base_url + "/post/9/9/9", timeout=10).status_code == 404
        assert server.counts().errors == []


def test_full_site_has_over_5000_pages_and_every_kind_of_media_block() -> None:
    # GIVEN the default plan
    site = CrawlSite(CrawlSitePlan())

    # WHEN its layout is counted (no picture is made for that)
    placed = site.media_urls_placed()

    # THEN it is big enough and uses each way of serving media
    assert CrawlSitePlan().pages == len(site.page_paths()) >= 5000
    assert all(placed[kind] > 0 for kind in BLOCK_KINDS)


def test_site_plan_refuses_an_empty_site() -> None:
    with pytest.raises(CrawlSiteError) as raised:
        CrawlSitePlan(sections=0)
    assert raised.value.reason == "plan:invalid"


# ---------------------------------------------------------------------------------------------------------
# Timing a case from its history


def _entered(kind: str, at: float, name: str) -> dict[str, Any]:
    return {"type": f"{kind}StateEntered", "timestamp": at, "stateEnteredEventDetails": {"name": name}}


def _exited(kind: str, at: float, name: str) -> dict[str, Any]:
    return {"type": f"{kind}StateExited", "timestamp": at, "stateExitedEventDetails": {"name": name}}


def test_segments_count_a_map_as_one_state_and_stop_when_the_reviewer_is_emailed() -> None:
    # GIVEN a history: started 1 s after the object was created, Score, a Map with two inner tasks, the
    # approval task, and events after it was submitted (the wait for the reviewer)
    events = [
        {"type": "ExecutionStarted", "timestamp": 101.0},
        _entered("Task", 101.1, "Score"),
        _exited("Task", 101.3, "Score"),
        _entered("Map", 101.4, "RenderLocales"),
        _entered("Task", 101.4, "RenderNoticeLocale"),
        _entered("Task", 101.5, "RenderNoticeLocale"),
        _exited("Task", 101.9, "RenderNoticeLocale"),
        _exited("Task", 102.0, "RenderNoticeLocale"),
        _exited("Map", 102.0, "RenderLocales"),
        _entered("Task", 102.1, "RequestApproval"),
        {"type": "TaskSubmitted", "timestamp": 102.6},
        {"type": "TaskSucceeded", "timestamp": 900.0},
    ]

    # WHEN the segments are computed
    segments = segments_from_history(events, created_at=100.0)

    # THEN hashing, each top-level state and the transitions add up to created -> emailed
    assert {name: round(value, 3) for name, value in segments.items()} == {
        HASHING_SEGMENT: 1.0,
        "Score": 0.2,
        "RenderLocales": 0.6,
        "RequestApproval": 0.5,
        TRANSITIONS_SEGMENT: 0.3,
    }
    assert round(sum(segments.values()), 3) == 2.6
    assert list(shares({"a": 1.0, "b": 3.0})) == ["b", "a"]


def test_a_history_without_a_start_and_an_empty_sample_are_refused() -> None:
    with pytest.raises(TimingError) as no_start:
        segments_from_history([{"type": "TaskStateEntered", "timestamp": 1.0}], created_at=0.0)
    with pytest.raises(TimingError) as empty:
        percentile([], 0.5)
    assert (no_start.value.reason, empty.value.reason) == ("history:not-started", "sample:empty")
    assert percentile([3.0, 1.0, 2.0], 0.95) == pytest.approx(2.9)


# ---------------------------------------------------------------------------------------------------------
# The load mix


def test_load_mix_is_interleaved_and_its_plan_checked() -> None:
    # GIVEN the default plan
    plan = LoadPlan()

    # WHEN the media kinds are counted
    kinds = [media_kind(index, plan) for index in range(plan.media)]

    # THEN about 3% match and 1% are corrupt, spread through the run
    assert kinds.count(MATCHING) == plan.matching_count == 300
    assert kinds.count(CORRUPT) == 99
    assert kinds.count(UNRELATED) == plan.media - 300 - 99
    assert MATCHING in kinds[:100] and MATCHING in kinds[-100:]
    with pytest.raises(LoadBenchmarkError):
        LoadPlan(media=100, checkpoints=(50,))


# ---------------------------------------------------------------------------------------------------------
# The loopback guard


@pytest.fixture
def guarded() -> Iterator[None]:
    loopback_guard.install()
    try:
        yield
    finally:
        loopback_guard.uninstall()


def test_guard_refuses_other_addresses_and_names_but_lets_loopback_through(guarded: None) -> None:
    # GIVEN the guard, and a listener on loopback
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        # WHEN a connection to loopback is made THEN it goes through
        with socket.create_connection(listener.getsockname(), timeout=5):
            pass
    # WHEN a connection to a documentation address, or a lookup of a name, is tried
    with socket.socket() as outside, pytest.raises(loopback_guard.LoopbackOnlyError) as refused:
        outside.connect(("192.0.2.1", 80))
    with pytest.raises(loopback_guard.LoopbackOnlyError):
        socket.getaddrinfo("board.example", 80)
    # THEN each is refused with its reason before anything leaves the machine
    assert refused.value.reason == "address:not-loopback"
    assert loopback_guard.is_loopback_host("[::1]") and not loopback_guard.is_loopback_host("10.1.2.3")


# ---------------------------------------------------------------------------------------------------------
# moto with per-item transaction backups and partition-only queries


@pytest.fixture
def transactions() -> Iterator[Any]:
    with mock_aws():
        moto_fidelity.install()
        try:
            dynamodb = boto3.client("dynamodb", region_name="us-east-1")
            dynamodb.create_table(
                TableName="t",
                KeySchema=[
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                BillingMode="PAY_PER_REQUEST",
            )
            yield dynamodb
        finally:
            moto_fidelity.uninstall()


def _item(pk: str, sk: str = "A", value: str = "1") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, "value": {"S": value}}


def test_a_failed_transaction_undoes_its_own_writes_only(transactions: Any) -> None:
    # GIVEN an item the transaction will overwrite, and one it does not touch
    dynamodb = transactions
    dynamodb.put_item(TableName="t", Item=_item("kept", value="old"))
    dynamodb.put_item(TableName="t", Item=_item("other", value="untouched"))

    # WHEN a transaction writes two items and its last condition fails
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": _item("kept", value="new")}},
                {"Put": {"TableName": "t", "Item": _item("fresh")}},
                {
                    "Put": {
                        "TableName": "t",
                        "Item": _item("other", value="clobbered"),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    # THEN nothing it wrote remains, and the untouched item is as it was
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert dynamodb.get_item(TableName="t", Key={"pk": {"S": "kept"}, "sk": {"S": "A"}})["Item"]["value"] == {
        "S": "old"
    }
    assert "Item" not in dynamodb.get_item(TableName="t", Key={"pk": {"S": "fresh"}, "sk": {"S": "A"}})
    assert dynamodb.get_item(TableName="t", Key={"pk": {"S": "other"}, "sk": {"S": "A"}})["Item"][
        "value"
    ] == {"S": "untouched"}
    # AND a transaction that succeeds writes everything
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "t", "Item": _item("kept", value="new")}},
            {"Put": {"TableName": "t", "Item": _item("fresh")}},
        ]
    )
    assert dynamodb.scan(TableName="t")["Count"] == 3
    assert moto_fidelity.is_installed()


def _query_pages(dynamodb: Any, pk: str) -> list[list[str]]:
    pages, start = [], None
    while True:
        extra = {"ExclusiveStartKey": start} if start else {}
        answer = dynamodb.query(
            TableName="t",
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": pk}, ":prefix": {"S": "EVENT#"}},
            Limit=2,
            **extra,
        )
        pages.append([item["sk"]["S"] for item in answer["Items"]])
        start = answer.get("LastEvaluatedKey")
        if not start:
            return pages


def test_a_query_on_the_table_key_answers_as_moto_does_from_its_partition_alone(transactions: Any) -> None:
    # GIVEN two partitions, written out of order
    dynamodb = transactions
    for pk in ("case-b", "case-a"):
        for sk in ("EVENT#3", "CASE", "EVENT#1", "EVENT#2", "DRAFT#ko"):
            dynamodb.put_item(TableName="t", Item=_item(pk, sk))

    # WHEN one partition is queried page by page, with the change and without it
    changed = _query_pages(dynamodb, "case-a")
    moto_fidelity.uninstall()
    try:
        original = _query_pages(dynamodb, "case-a")
    finally:
        moto_fidelity.install()

    # THEN the pages are the same, in range-key order, and hold nothing of the other partition
    assert changed == original == [["EVENT#1", "EVENT#2"], ["EVENT#3"]]


def test_sqs_receives_answer_as_before_with_the_cheaper_retention_check() -> None:
    with mock_aws():
        # GIVEN a queue with messages, and the change installed
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="bench-q", Attributes={"MessageRetentionPeriod": "120"})["QueueUrl"]
        for number in range(7):
            sqs.send_message(QueueUrl=url, MessageBody=f"m{number}")
        moto_fidelity.install()
        try:
            # WHEN they are received in batches
            received = [
                m["Body"]
                for _ in range(3)
                for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3).get("Messages", [])
            ]
        finally:
            moto_fidelity.uninstall()
        # THEN each message was handed out once
        assert sorted(received) == [f"m{number}" for number in range(7)]


# ---------------------------------------------------------------------------------------------------------
# Counting AWS calls


def test_counter_counts_calls_by_operation_and_the_bytes_put_into_s3() -> None:
    with mock_aws():
        # GIVEN a counter started before the client exists
        with AwsCallCounter() as counter:
            s3 = boto3.client("s3", region_name="us-east-1")
            s3.create_bucket(Bucket="bench-counter")
            before = counter.snapshot()
            # WHEN two objects are put and one read
            s3.put_object(Bucket="bench-counter", Key="a", Body=b"x" * 1000)
            s3.put_object(Bucket="bench-counter", Key="b", Body=b"y" * 24)
            s3.get_object(Bucket="bench-counter", Key="a")
        # THEN each call is counted under its operation, and the bodies' bytes are summed
        assert difference(counter.snapshot(), before) == {"s3.PutObject": 2, "s3.GetObject": 1}
        assert counter.s3_bytes_put() == 1024
