"""Resident memory of this process, from ``/proc/self/status``, and a fresh process to measure it in.

Peak figures are ``VmHWM``, the resident high-water mark of this process since it started. It is what
``getrusage(RUSAGE_SELF).ru_maxrss`` reports for a process that was started fresh, but unlike
``ru_maxrss`` it does not carry a parent's peak over into a forked child. ``VmRSS`` is what is resident
now. Each of the crawl, pipeline and load benchmarks runs in a fresh ("spawn") worker process, so its
peak is its own: interpreter, libraries, moto's in-memory AWS and our code together.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import TYPE_CHECKING, Final, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

_KIB_PER_MIB: Final = 1024
_Result = TypeVar("_Result")


class MemoryReadError(RuntimeError):
    """``/proc/self/status`` lacks the line asked for. ``reason``: ``memory:unreadable``."""

    def __init__(self, field: str) -> None:
        super().__init__(f"memory:unreadable: /proc/self/status has no {field} line")
        self.reason = "memory:unreadable"


def _status_mib(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:  # noqa: PTH123 - a pseudo-file, read once
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / _KIB_PER_MIB  # reported in kB
    raise MemoryReadError(field)


def peak_rss_mib() -> float:
    """This process's resident high-water mark (``VmHWM``) in MiB.

    >>> peak_rss_mib() >= current_rss_mib() > 0
    True
    """
    return _status_mib("VmHWM")


def current_rss_mib() -> float:
    """What this process has resident now (``VmRSS``) in MiB."""
    return _status_mib("VmRSS")


def run_in_fresh_process(work: Callable[..., _Result], *args: object) -> _Result:
    """Run ``work(*args)`` in a new interpreter ("spawn") and return its result.

    A fresh process starts with no moto state, no warm caches and its own memory high-water mark.
    ``work`` and its arguments and result must pickle (module-level functions, dataclasses).
    """
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(work, *args).result()
