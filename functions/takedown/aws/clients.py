"""boto3 clients, created once per process and service.

boto3 honours ``AWS_ENDPOINT_URL`` (the local stack sets it when it runs as a server), so the same code talks to
AWS in a Lambda and to moto on a laptop.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode backs off with jitter on throttling and transient errors.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


def client(service: str) -> Any:
    """A client for ``service`` in the current region and endpoint."""
    return _cached_client(
        service,
        os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "")),
        os.environ.get("AWS_ENDPOINT_URL", ""),
    )


@functools.lru_cache(maxsize=32)
def _cached_client(service: str, region: str, endpoint: str) -> Any:
    return boto3.client(service, region_name=region or None, config=_CONFIG)  # type: ignore[call-overload]
