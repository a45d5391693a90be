"""Count the AWS API calls a benchmark makes, by service and operation (``dynamodb.PutItem`` ...), and the
bytes put into S3.

On AWS a call is a network round trip and, for most services, a billed request, so calls per page or per
case are what turns a local run into latency and cost estimates. The counter listens to botocore's
``before-call`` event on boto3's default session, which every boto3 client copies when it is created: start
it before the clients you want counted exist (``takedown.local.seam.cold_start`` drops the functions'
cached clients). Calls moto makes to itself (a Step Functions task invoking a function) count too.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

import boto3


class AwsCallCounter:
    """Counts calls while started. A context manager; :meth:`snapshot` reads the counts at any time."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._s3_bytes_put = 0
        self._lock = threading.Lock()
        self._harness = threading.local()
        self._session: Any = None

    @contextlib.contextmanager
    def not_counting(self) -> Iterator[None]:
        """Calls this thread makes inside the block are the benchmark's own (polling), not counted."""
        self._harness.active = True
        try:
            yield
        finally:
            self._harness.active = False

    def _count(self, event_name: str, **_: Any) -> None:
        if getattr(self._harness, "active", False):
            return
        # before-call.<service>.<Operation>
        parts = event_name.split(".")
        key = f"{parts[1]}.{parts[2]}" if len(parts) >= 3 else event_name
        with self._lock:
            self._counts[key] += 1

    def _count_body(self, params: Any = None, **_: Any) -> None:
        # before-parameter-build.s3.PutObject: the caller's parameters, Body as given
        if getattr(self._harness, "active", False):
            return
        body = params.get("Body") if isinstance(params, dict) else None
        size = len(body) if isinstance(body, bytes | bytearray | str) else 0
        with self._lock:
            self._s3_bytes_put += size

    def start(self) -> AwsCallCounter:
        """Count the calls of every boto3 client created from now on in this process."""
        self._session = boto3._get_default_session()
        self._session.events.register("before-call", self._count, unique_id="bench-aws-call-counter")
        self._session.events.register(
            "before-parameter-build.s3.PutObject", self._count_body, unique_id="bench-aws-s3-bytes"
        )
        return self

    def stop(self) -> None:
        """Stop counting new clients' calls (clients created meanwhile keep a copy of the listener)."""
        if self._session is not None:
            self._session.events.unregister("before-call", unique_id="bench-aws-call-counter")
            self._session.events.unregister(
                "before-parameter-build.s3.PutObject", unique_id="bench-aws-s3-bytes"
            )
            self._session = None

    def snapshot(self) -> dict[str, int]:
        """The counts so far, by ``service.Operation``."""
        with self._lock:
            return dict(self._counts)

    def s3_bytes_put(self) -> int:
        """Bytes of the object bodies put into S3 so far (bodies given as bytes or text)."""
        with self._lock:
            return self._s3_bytes_put

    def __enter__(self) -> AwsCallCounter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def difference(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """Calls made between two snapshots, zero counts left out.

    >>> difference({"s3.PutObject": 5, "sqs.SendMessage": 2}, {"s3.PutObject": 1, "sqs.SendMessage": 2})
    {'s3.PutObject': 4}
    """
    return {key: count - before.get(key, 0) for key, count in after.items() if count - before.get(key, 0)}
