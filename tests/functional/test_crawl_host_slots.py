"""Per-host rate limits shared by concurrent crawl workers, on the local stack's crawl table (moto).

Each worker is a thread with its own :class:`DynamoHostSlots` (its own memory of the last slot it saw, as
separate Lambda containers have); time is an injected number, never slept.
"""

from __future__ import annotations

import itertools
import json
import threading
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from takedown.aws.crawl_state import CrawlState
from takedown.aws.host_slots import DynamoHostSlots
from takedown.crawl.crawl_step import PageTask
from takedown.crawl.errors import FetchDeferred
from takedown.handlers.handle_crawl_page import crawl_batch
from tests.unit.crawl.conftest import LoopbackSite
from tests.unit.crawl.samples import image_bytes

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from takedown.local.environment import LocalEnvironment

HOST = "board.example"


@pytest.fixture
def atomic_conditional_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB checks a write's condition and applies the write atomically; moto does both without a lock,
    so two threads can both pass one condition. Give moto's backend that one guarantee of the real service,
    so the test observes our booking logic and not moto's race."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("update_item", "put_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    server = LoopbackSite()
    yield server
    server.close()


def _crawl_table(local: LocalEnvironment) -> str:
    return local.settings("handle_crawl_page").crawl_table


def test_concurrent_workers_book_distinct_slots_spaced_by_the_interval(
    local: LocalEnvironment, atomic_conditional_writes: None
) -> None:
    # GIVEN eight workers that all start booking slots on one host at 4 requests per second
    table = _crawl_table(local)
    workers, per_worker, interval = 8, 6, 0.25
    start_line = threading.Barrier(workers)
    booked: list[float] = []
    failures: list[BaseException] = []

    def worker() -> None:
        # Each lost condition means another booking won, so a worker can lose at most every other booking: with
        # that many attempts none gives up, however unfairly a loaded machine schedules the threads.
        slots = DynamoHostSlots(table, max_attempts=workers * per_worker)
        start_line.wait()
        try:
            for request in range(per_worker):
                now = 1000.0 + request * 0.01  # each worker's clock moves a little between its requests
                booked.append(slots.book(HOST, interval=interval, now=now, latest_start=5000.0).start)
        except BaseException as error:  # surfaced below: a thread's exception would otherwise vanish
            failures.append(error)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    # WHEN they book at the same time
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # THEN every request got its own slot, back to back at the interval from the first: none shared, none lost
    assert failures == []
    slots = sorted(booked)
    assert len(slots) == workers * per_worker
    assert slots == [1000.0 + interval * n for n in range(workers * per_worker)]
    assert all(later - earlier >= interval for earlier, later in itertools.pairwise(slots))
    # AND the host's next free slot follows the last one booked
    assert DynamoHostSlots(table).booked_slot(HOST) == slots[-1] + interval


def test_a_slot_after_the_workers_deadline_is_not_booked(local: LocalEnvironment) -> None:
    # GIVEN a host booked until t=1000.75 by three requests at 4 per second
    table = _crawl_table(local)
    busy = DynamoHostSlots(table)
    for _ in range(3):
        busy.book(HOST, interval=0.25, now=1000.0, latest_start=1000.5)
    # WHEN another worker, which may start requests only until t=1000.5, asks for a slot
    with pytest.raises(FetchDeferred) as deferred:
        DynamoHostSlots(table).book(HOST, interval=0.25, now=1000.0, latest_start=1000.5)
    # THEN it is told how long the host is busy, and the host's slots are as they were
    assert deferred.value.reason == "deferred:host-rate-limit"
    assert deferred.value.retry_after == 0.75
    assert DynamoHostSlots(table).booked_slot(HOST) == 1000.75


def _deploy_one_source(local: LocalEnvironment, tmp_path: Path, site: LoopbackSite) -> None:
    source = {
        "id": "busy-board",
        "kind": "community",
        "seeds": [site.url("/board")],
        "allowed_hosts": ["127.0.0.1"],
        "depth": 0,
        "requests_per_second": 1.0 / 30,  # one request per 30 seconds: a patient source
        "allow_private_addresses": True,
    }
    path = tmp_path / "sources.json"
    path.write_text(json.dumps({"version": 1, "sources": [source]}), encoding="utf-8")
    local.stack.deploy_sources(path)  # type: ignore[union-attr]


class FakeClock:
    """Epoch seconds that move only when the worker sleeps."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _deliver(local: LocalEnvironment, task: PageTask, message_id: str, clock: FakeClock) -> dict[str, Any]:
    """One SQS delivery of ``task`` to the worker, with the two minutes a crawl invocation has."""
    return crawl_batch(
        local.settings("handle_crawl_page"),
        {"Records": [{"messageId": message_id, "body": json.dumps(task.to_dict())}]},
        deadline=clock.now + 120,
        clock=clock,
        sleep=clock.sleep,
    )


def _delayed_messages(local: LocalEnvironment) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=local.settings("handle_crawl_page").crawl_queue_url,
        AttributeNames=["ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesDelayed"])


def _recorded(local: LocalEnvironment) -> list[dict[str, str]]:
    return CrawlState(local.settings("handle_crawl_page").crawl_table).refusals("busy-board")


def _sightings(local: LocalEnvironment) -> int:
    answer = boto3.client("s3").list_objects_v2(Bucket=local.settings().evidence_bucket, Prefix="sightings/")
    return int(answer["KeyCount"])


CYCLE = "20270115T080000Z"
NOW = 1_800_000_000.0


def test_a_page_whose_host_is_busy_past_the_deadline_is_queued_again_not_waited_for(
    local: LocalEnvironment, tmp_path: Path, site: LoopbackSite
) -> None:
    # GIVEN a page on a host another worker booked for the next five minutes; a worker has two minutes
    site.serve("/board", b'<html><body><img src="/pic.png"></body></html>', content_type="text/html")
    site.serve("/pic.png", image_bytes("PNG", seed=3), content_type="image/png")
    _deploy_one_source(local, tmp_path, site)
    DynamoHostSlots(_crawl_table(local)).book("127.0.0.1", interval=300.0, now=NOW, latest_start=NOW)
    clock = FakeClock(NOW)
    # WHEN the worker gets the page's message
    result = _deliver(local, PageTask("busy-board", site.url("/board"), 0, cycle=CYCLE), "m-1", clock)
    # THEN the message succeeded without a request or a wait, the page is queued again with a five-minute
    # delay, and the deferral is recorded with its reason
    assert result == {"batchItemFailures": []}
    assert site.requests == []
    assert clock.slept == []
    assert _delayed_messages(local) == 1
    recorded = _recorded(local)
    assert [(r["url"], r["reason"]) for r in recorded] == [(site.url("/board"), "deferred:host-rate-limit")]
    assert "queued again in 300 s" in recorded[0]["message"]

    # WHEN the re-queued message arrives once the host is free
    clock.now = NOW + 300
    again = PageTask("busy-board", site.url("/board"), 0, cycle=CYCLE, deferrals=1)
    result = _deliver(local, again, "m-2", clock)
    # THEN the page is fetched in its slot and its picture in the next, 30 s later; the page counted once
    assert result == {"batchItemFailures": []}
    assert [request.path for request in site.requests] == ["/board", "/pic.png"]
    assert clock.slept == [30.0]
    assert _sightings(local) == 1
    assert CrawlState(_crawl_table(local)).pages_counted("busy-board", CYCLE) == 1


def test_media_beyond_the_deadline_are_fetched_by_the_page_queued_again(
    local: LocalEnvironment, tmp_path: Path, site: LoopbackSite
) -> None:
    # GIVEN a page with three pictures at one request per 30 s: the page and two pictures fit in a worker's
    # two minutes (the last request must start 50 s before the end), the third does not
    site.serve(
        "/board",
        b'<html><body><img src="/1.png"><img src="/2.png"><img src="/3.png"></body></html>',
        content_type="text/html",
    )
    for number in (1, 2, 3):
        site.serve(f"/{number}.png", image_bytes("PNG", seed=20 + number), content_type="image/png")
    _deploy_one_source(local, tmp_path, site)
    clock = FakeClock(NOW)
    # WHEN the worker gets the page's message
    _deliver(local, PageTask("busy-board", site.url("/board"), 0, cycle=CYCLE), "m-1", clock)
    # THEN it kept what it fetched, and queued the page again for when the host's next slot is due
    assert [request.path for request in site.requests] == ["/board", "/1.png", "/2.png"]
    assert _sightings(local) == 2
    assert [(r["url"], r["reason"]) for r in _recorded(local)] == [
        (site.url("/3.png"), "deferred:host-rate-limit")
    ]
    assert "queued again in 30 s" in _recorded(local)[0]["message"]
    # WHEN the re-queued message arrives 30 s later
    clock.now += 30
    _deliver(local, PageTask("busy-board", site.url("/board"), 0, cycle=CYCLE, deferrals=1), "m-2", clock)
    # THEN the page is read again and only the picture still missing is fetched
    assert [request.path for request in site.requests][3:] == ["/board", "/3.png"]
    assert _sightings(local) == 3
    assert CrawlState(_crawl_table(local)).pages_counted("busy-board", CYCLE) == 1


def test_a_page_put_off_too_often_is_given_up_and_recorded(
    local: LocalEnvironment, tmp_path: Path, site: LoopbackSite
) -> None:
    # GIVEN a page already put off ten times, on a host that is still busy
    site.serve("/board", b"<html></html>", content_type="text/html")
    _deploy_one_source(local, tmp_path, site)
    DynamoHostSlots(_crawl_table(local)).book("127.0.0.1", interval=300.0, now=NOW, latest_start=NOW)
    task = PageTask("busy-board", site.url("/board"), 0, cycle=CYCLE, deferrals=10)
    # WHEN it comes round again
    _deliver(local, task, "m-3", FakeClock(NOW))
    # THEN it is not queued again: the give-up is recorded instead
    assert _delayed_messages(local) == 0
    assert [r["reason"] for r in _recorded(local)] == ["deferred:gave-up"]
