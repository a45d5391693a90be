"""Request pacing: the slot arithmetic, the per-worker pacer and the shared per-host pacer (fake clock)."""

from __future__ import annotations

import pytest

from takedown.crawl.errors import FetchDeferred
from takedown.crawl.pacing import (
    DEFERRED_HOST_RATE_LIMIT,
    DEFERRED_WORKER_DEADLINE,
    RequestPacer,
    SharedHostPacer,
    SlotBooking,
    book_slot,
    interval_for,
)


class InMemorySlots:
    """A HostSlotStore kept in a dict: the same rule as the DynamoDB store, without sharing across processes."""

    def __init__(self) -> None:
        self.next_free: dict[str, float] = {}
        self.booked: list[tuple[str, float]] = []

    def book(self, host: str, *, interval: float, now: float, latest_start: float) -> SlotBooking:
        booking = book_slot(self.next_free.get(host), now=now, interval=interval)
        if booking.start > latest_start:
            raise FetchDeferred(host, DEFERRED_HOST_RATE_LIMIT, "too far", booking.start - now)
        self.next_free[host] = booking.next_free
        self.booked.append((host, booking.start))
        return booking


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_slot_queues_behind_the_last_booking_and_an_idle_host_saves_nothing_up() -> None:
    # GIVEN a host booked until t=12, and one last booked long ago
    # WHEN a request at t=10 books a slot on each
    busy = book_slot(12.0, now=10.0, interval=0.5)
    idle = book_slot(3.0, now=10.0, interval=0.5)
    fresh = book_slot(None, now=10.0, interval=0.5)
    # THEN the busy host's request waits for its turn, and the others start now
    assert (busy.start, busy.next_free, busy.wait_from(10.0)) == (12.0, 12.5, 2.0)
    assert (idle.start, idle.next_free, idle.wait_from(10.0)) == (10.0, 10.5, 0.0)
    assert fresh == idle


@pytest.mark.parametrize("rate", [0.0, -1.0, float("inf"), float("nan")])
def test_a_rate_that_is_not_a_positive_number_is_refused(rate: float) -> None:
    # GIVEN a rate that is zero, negative or not finite WHEN an interval or a pacer is made THEN it is refused
    with pytest.raises(ValueError, match="requests_per_second"):
        interval_for(rate)
    with pytest.raises(ValueError, match="requests_per_second"):
        SharedHostPacer(InMemorySlots(), rate, latest_start=0.0)


def test_book_slot_refuses_a_non_positive_interval() -> None:
    with pytest.raises(ValueError, match="interval"):
        book_slot(None, now=0.0, interval=0.0)


def test_request_pacer_spaces_one_workers_requests() -> None:
    # GIVEN a pacer at 4 requests per second on a fake clock
    clock = FakeClock(50.0)
    pacer = RequestPacer(4.0, clock=clock, sleep=clock.sleep)
    # WHEN three requests go out back to back
    for _ in range(3):
        pacer.wait("https://board.example/")
    # THEN the second and third each waited a quarter second
    assert clock.slept == [0.25, 0.25]


def test_shared_pacer_spaces_requests_per_host_across_workers() -> None:
    # GIVEN two workers sharing one slot store, at 2 requests per second, on one fake clock
    clock = FakeClock(1000.0)
    slots = InMemorySlots()
    first = SharedHostPacer(slots, 2.0, latest_start=2000.0, clock=clock, sleep=clock.sleep)
    second = SharedHostPacer(slots, 2.0, latest_start=2000.0, clock=clock, sleep=clock.sleep)
    # WHEN they take turns requesting one host, and one request goes to another host
    first.wait("https://board.example/a")
    second.wait("https://board.example/b")
    second.wait("https://cdn.example/c.jpg")
    first.wait("https://board.example/d")
    # THEN requests to the board are half a second apart whoever sends them; the CDN did not wait
    board = [start for host, start in slots.booked if host == "board.example"]
    assert board == [1000.0, 1000.5, 1001.0]
    assert [start for host, start in slots.booked if host == "cdn.example"] == [1000.5]
    assert clock.slept == [0.5, 0.5]


def test_shared_pacer_defers_a_slot_after_the_workers_deadline_and_books_nothing() -> None:
    # GIVEN a host whose next slot is 30 s away, and a worker that may start requests for 10 s more
    clock = FakeClock(1000.0)
    slots = InMemorySlots()
    slots.next_free["board.example"] = 1030.0
    pacer = SharedHostPacer(slots, 1.0, latest_start=1010.0, clock=clock, sleep=clock.sleep)
    # WHEN it asks for a slot
    with pytest.raises(FetchDeferred) as deferred:
        pacer.wait("https://board.example/page")
    # THEN the request is put off with the page's URL and the wait, nothing was booked and nobody slept
    assert (deferred.value.url, deferred.value.reason) == (
        "https://board.example/page",
        DEFERRED_HOST_RATE_LIMIT,
    )
    assert deferred.value.retry_after == 30.0
    assert slots.booked == []
    assert clock.slept == []


def test_shared_pacer_defers_everything_once_the_worker_is_out_of_time() -> None:
    # GIVEN a worker past the last moment it may start a request
    clock = FakeClock(1011.0)
    slots = InMemorySlots()
    pacer = SharedHostPacer(slots, 1.0, latest_start=1010.0, clock=clock, sleep=clock.sleep)
    # WHEN it asks for a slot on an idle host
    with pytest.raises(FetchDeferred) as deferred:
        pacer.wait("https://board.example/page")
    # THEN it is put off for the worker's deadline, not the host's rate, and nothing was booked
    assert deferred.value.reason == DEFERRED_WORKER_DEADLINE
    assert slots.booked == []


def test_shared_pacer_leaves_a_url_without_a_host_to_the_fetcher() -> None:
    # GIVEN a URL the fetcher will refuse
    clock = FakeClock(0.0)
    slots = InMemorySlots()
    pacer = SharedHostPacer(slots, 1.0, latest_start=100.0, clock=clock, sleep=clock.sleep)
    # WHEN the pacer is asked THEN it books nothing and does not wait (the fetch records the refusal)
    pacer.wait("not a url")
    assert slots.booked == []
    assert clock.slept == []
