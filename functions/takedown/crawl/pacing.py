"""Keep a source's request rate: the crawler is a guest on sites it reports to.

Two pacers share one interface, :class:`Pacer` (``wait(url)`` before each request):

- :class:`RequestPacer` spaces the requests of one worker. It keeps no shared state: tools and tests.
- :class:`SharedHostPacer` spaces the requests to each host across every concurrent worker. Each request
  books the next free slot of its host in a shared :class:`HostSlotStore` (the crawl table in AWS,
  ``takedown.aws.host_slots``), then sleeps until that slot. A slot later than the worker may start a
  request ends the wait with :class:`~takedown.crawl.errors.FetchDeferred` instead, and nothing is booked.

The slot arithmetic is here, pure: :func:`book_slot`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from takedown.crawl.errors import FetchDeferred
from takedown.crawl.urls import UrlError, host_of

if TYPE_CHECKING:
    from collections.abc import Callable

DEFERRED_HOST_RATE_LIMIT: Final = "deferred:host-rate-limit"
DEFERRED_WORKER_DEADLINE: Final = "deferred:worker-deadline"


def interval_for(requests_per_second: float) -> float:
    """Seconds between two requests to one host at ``requests_per_second``.

    >>> interval_for(4.0)
    0.25
    """
    if not (math.isfinite(requests_per_second) and requests_per_second > 0):
        raise ValueError(f"requests_per_second must be > 0, got {requests_per_second}")
    return 1.0 / requests_per_second


@dataclass(frozen=True)
class SlotBooking:
    """One request's place in a host's queue.

    ``start`` is when the request may go out; ``next_free`` is the host's next free slot once this one is
    taken (``start + interval``).
    """

    start: float
    next_free: float

    def wait_from(self, now: float) -> float:
        """Seconds from ``now`` until the slot (0 when it is already due)."""
        return max(0.0, self.start - now)


def book_slot(next_free: float | None, *, now: float, interval: float) -> SlotBooking:
    """The slot a request gets when the host's next free slot is ``next_free`` (None: never booked).

    A slot in the past is not saved up: an idle host does not let a burst through later.

    Examples
    --------
    >>> book_slot(None, now=10.0, interval=0.5)
    SlotBooking(start=10.0, next_free=10.5)
    >>> book_slot(12.0, now=10.0, interval=0.5)
    SlotBooking(start=12.0, next_free=12.5)
    >>> book_slot(3.0, now=10.0, interval=0.5)
    SlotBooking(start=10.0, next_free=10.5)
    """
    if not interval > 0:
        raise ValueError(f"interval must be > 0, got {interval}")
    start = now if next_free is None else max(next_free, now)
    return SlotBooking(start=start, next_free=start + interval)


class Pacer(Protocol):
    """Something the crawl step asks before each request."""

    def wait(self, url: str) -> None:
        """Return when a request to ``url`` may go out; raise :class:`FetchDeferred` to give it up."""


class HostSlotStore(Protocol):
    """Where the hosts' next free slots are kept, shared by every worker."""

    def book(self, host: str, *, interval: float, now: float, latest_start: float) -> SlotBooking:
        """Book ``host``'s next slot for a request, atomically against other workers.

        Raises :class:`FetchDeferred` (``deferred:host-rate-limit``), booking nothing, when the slot would
        start after ``latest_start``.
        """


class RequestPacer:
    """Spaces one worker's requests at least ``1 / requests_per_second`` seconds apart.

    The clock and sleep are injectable so tests can check the spacing without waiting.

    Examples
    --------
    >>> now = [0.0]
    >>> pacer = RequestPacer(2.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    >>> pacer.wait(); pacer.wait(); now[0]
    0.5
    """

    def __init__(
        self,
        requests_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval_for(requests_per_second)
        self._clock = clock
        self._sleep = sleep
        self._next_free: float | None = None

    def wait(self, url: str = "") -> None:
        """Block until the next request may go out, and book that slot (``url`` is not used)."""
        del url
        now = self._clock()
        booking = book_slot(self._next_free, now=now, interval=self.interval)
        if booking.start > now:
            self._sleep(booking.start - now)
        self._next_free = booking.next_free


class SharedHostPacer:
    """Spaces requests per host across every worker, through a shared :class:`HostSlotStore`.

    Parameters
    ----------
    store
        The shared slots.
    requests_per_second
        The source's politeness: at most this many requests per second to any one host.
    latest_start
        The latest time (on ``clock``) at which this worker may still start a request: its deadline less
        the time one fetch may take. A slot after it raises :class:`FetchDeferred` instead of waiting.
    clock, sleep
        Wall-clock seconds (shared by all workers, so epoch time) and how to wait; injectable for tests.

    Examples
    --------
    >>> class Store:
    ...     next_free = None
    ...     def book(self, host, *, interval, now, latest_start):
    ...         booking = book_slot(self.next_free, now=now, interval=interval)
    ...         self.next_free = booking.next_free
    ...         return booking
    >>> now, slept = [100.0], []
    >>> pacer = SharedHostPacer(Store(), 2.0, latest_start=200.0, clock=lambda: now[0], sleep=slept.append)
    >>> pacer.wait("https://board.example/a"); pacer.wait("https://board.example/b"); slept
    [0.5]
    """

    def __init__(
        self,
        store: HostSlotStore,
        requests_per_second: float,
        *,
        latest_start: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval_for(requests_per_second)
        self.latest_start = latest_start
        self._store = store
        self._clock = clock
        self._sleep = sleep

    def wait(self, url: str) -> None:
        """Book the next slot of ``url``'s host and sleep until it.

        Raises
        ------
        FetchDeferred
            ``deferred:worker-deadline`` when this worker may not start another request, or
            ``deferred:host-rate-limit`` when the host's next slot is after ``latest_start``.
        """
        try:
            host = host_of(url)
        except UrlError:
            return  # the fetch itself refuses the URL, with its reason; there is no host to pace
        now = self._clock()
        if now > self.latest_start:
            raise FetchDeferred(
                url, DEFERRED_WORKER_DEADLINE, "the worker has no time left for another request", 0.0
            )
        try:
            booking = self._store.book(host, interval=self.interval, now=now, latest_start=self.latest_start)
        except FetchDeferred as deferred:
            # The store knows the host, not the URL; the worker records and re-queues by URL.
            raise FetchDeferred(url, deferred.reason, deferred.message, deferred.retry_after) from None
        wait = booking.wait_from(now)
        if wait > 0:
            self._sleep(wait)
