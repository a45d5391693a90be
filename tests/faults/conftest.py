"""Fault injection for the local stack, at the botocore level on the real (moto) clients.

Every AWS call our code makes goes through a client from :func:`takedown.aws.clients.client`. A fault is a
``before-call.<service>.<Operation>`` handler on that client's event system that raises a real ``ClientError``
(what botocore raises once its own retries are spent) the first ``times`` calls after ``skip`` calls: nothing of
our code is replaced, and the handlers, the workflow and moto run as they do without the fault.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from takedown.aws.clients import client
from takedown.local.environment import LocalEnvironment

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

_IDS = itertools.count()


@dataclass
class Fault:
    """One injected failure: ``operation`` of ``service`` answers ``code`` for ``times`` calls (None: always)."""

    service: str
    operation: str
    code: str
    times: int | None
    skip: int = 0
    http_status: int = 400
    message: str = "injected by the fault tests"
    matching: Callable[[str], bool] | None = None
    exception: Callable[[], Exception] | None = None
    response: dict[str, Any] = field(default_factory=dict)
    injected: int = 0
    passed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, **kwargs: Any) -> None:
        if self.matching is not None and not self.matching(_request_text(kwargs.get("params", {}))):
            return
        with self._lock:
            if self.passed < self.skip:
                self.passed += 1
                return
            if self.times is not None and self.injected >= self.times:
                return
            self.injected += 1
        if self.exception is not None:
            raise self.exception()
        error_response: Any = {
            "Error": {"Code": self.code, "Message": self.message},
            "ResponseMetadata": {"HTTPStatusCode": self.http_status},
            **self.response,
        }
        raise ClientError(error_response, self.operation)


def _request_text(request: dict[str, Any]) -> str:
    """The serialized request botocore is about to send (``before-call`` sees it), as text to match on."""
    body = request.get("body", b"")
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return f"{request.get('url_path', '')} {request.get('query_string', '')} {text}"


class FaultInjector:
    """Registers faults on the process's cached clients and removes them at the end of the test."""

    def __init__(self) -> None:
        self._registered: list[tuple[Any, str, str]] = []

    def fail(
        self,
        service: str,
        operation: str,
        code: str,
        *,
        times: int | None = 1,
        skip: int = 0,
        http_status: int = 400,
        matching: Callable[[str], bool] | None = None,
        exception: Callable[[], Exception] | None = None,
        response: dict[str, Any] | None = None,
    ) -> Fault:
        """Make the next calls of ``operation`` fail with ``code`` (after letting ``skip`` calls through).

        ``matching`` limits the fault to calls whose serialized request (body and URL) it accepts; ``exception`` raises something
        other than a ``ClientError`` (a read timeout, say); ``response`` adds fields to the error response (the
        ``CancellationReasons`` of a cancelled transaction).
        """
        fault = Fault(
            service,
            operation,
            code,
            times,
            skip=skip,
            http_status=http_status,
            matching=matching,
            exception=exception,
            response=response or {},
        )
        target = client(service)
        event = f"before-call.{target.meta.service_model.service_id.hyphenize()}.{operation}"
        unique_id = f"takedown-fault-{next(_IDS)}"
        target.meta.events.register(event, fault, unique_id=unique_id)
        self._registered.append((target, event, unique_id))
        return fault

    def clear(self) -> None:
        for target, event, unique_id in self._registered:
            target.meta.events.unregister(event, unique_id=unique_id)
        self._registered.clear()


@pytest.fixture
def local() -> Iterator[LocalEnvironment]:
    with LocalEnvironment() as environment:
        yield environment


@pytest.fixture
def faults(local: LocalEnvironment) -> Iterator[FaultInjector]:
    """Faults on the clients of ``local`` (created after its cold start, so the handlers use the same ones)."""
    injector = FaultInjector()
    yield injector
    injector.clear()
