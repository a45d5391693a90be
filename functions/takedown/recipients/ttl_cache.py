"""A small in-memory cache whose entries expire, for answers that are slow to get and slow to change."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

K = TypeVar("K", bound="Hashable")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Keeps up to ``max_entries`` values for ``ttl_seconds`` each; the oldest entry goes first when full.

    A warm Lambda container keeps the cache between invocations, which is the point: one RDAP answer per
    network and hour, not one per crawled image. ``clock`` is injectable so tests can move time.

    >>> now = [0.0]
    >>> cache: TtlCache[str, int] = TtlCache(ttl_seconds=60, clock=lambda: now[0])
    >>> cache.put("a", 1); cache.get("a")
    1
    >>> now[0] = 61.0; cache.get("a") is None
    True
    """

    def __init__(
        self, *, ttl_seconds: float, max_entries: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not ttl_seconds > 0 or max_entries < 1:
            raise ValueError("ttl_seconds must be > 0 and max_entries >= 1")
        self._ttl = float(ttl_seconds)
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value stored under ``key``, or None when there is none or it has expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires_at, value = entry
            if self._clock() >= expires_at:
                del self._entries[key]
                return None
            return value

    def put(self, key: K, value: V) -> None:
        """Store ``value`` under ``key`` for the cache's time to live."""
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (self._clock() + self._ttl, value)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
