"""The local stack as the crawl, pipeline and load benchmarks use it, with what they change about it.

:func:`bench_local_stack` opens :class:`takedown.local.environment.LocalEnvironment` (moto, in this process,
built from the synthesized template) after preparing the process:

- in a dedicated worker process, every non-loopback connection is refused (:mod:`bench.loopback_guard`);
- moto's DynamoDB transactions back up the items they touch instead of whole tables
  (:mod:`bench.moto_fidelity`; why is said there); queries on a table's key read only their partition;
- our functions log warnings only (at INFO every Lambda call writes a line, which on 1,000 cases is
  measurable time and nothing to read), and moto logs nothing: its Step Functions interpreter logs an ERROR
  line each time a Choice's ``IsPresent`` test finds a path missing, which is the normal flow here;
- Powertools' "No application metrics to publish" warning is ignored (a function that added none), and
  standard output is discarded while the stack is up: with metrics disabled (as the local stack sets them)
  Powertools never flushes them, and prints the whole metric set as one JSON line each time a metric
  reaches 100 values (in a worker process of its own only).

Those are the only differences from ``takedown local``; each part that changes more (the crawl benchmark
drains the queue itself) says so.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from typing import TYPE_CHECKING

from bench import loopback_guard, moto_fidelity

if TYPE_CHECKING:
    from collections.abc import Iterator

    from takedown.local.environment import LocalEnvironment


class _Discard(io.TextIOBase):
    """A text stream that drops what it is given and is never closed."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


_DISCARD = _Discard()


@contextlib.contextmanager
def bench_local_stack(*, own_process: bool) -> Iterator[LocalEnvironment]:
    """The local stack, prepared for a benchmark (see the module docstring).

    ``own_process`` is True in a worker process started for the benchmark: only there is the network guard
    installed (the test suite has its own, pytest-socket, and the two should not stack).
    """
    if own_process:
        loopback_guard.install()
    moto_fidelity.install()
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    from takedown.local.environment import LocalEnvironment

    try:
        with (
            # Only in a worker of its own: the test suite captures output itself, and a sink swapped in
            # here would stay the stream of any Powertools handler created meanwhile.
            contextlib.redirect_stdout(_DISCARD) if own_process else contextlib.nullcontext(),
            LocalEnvironment(log_level="WARNING") as local,
        ):
            # Powertools reads its level once, when takedown.observability is first imported, which may have
            # happened before the environment set it.
            from takedown.observability import logger

            logger.setLevel(logging.WARNING)
            yield local
    finally:
        moto_fidelity.uninstall()
        if own_process:
            loopback_guard.uninstall()
