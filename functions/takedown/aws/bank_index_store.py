"""The bank index snapshot in S3, and its warm-container cache.

Writers (``takedown bank ...``) rebuild the snapshot from the bank table after every change and publish it:
``bank-index/<version>.bin`` first, then the pointer ``bank-index/current.json``. Readers (the hashing functions)
load the snapshot once per warm container and look at the pointer again when their copy is older than
``max_age_seconds``: a new or disabled item takes effect within that bound. HMA never refreshed a warm matcher's
index; this cache does.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from takedown.aws.bank_store import BankStore
from takedown.aws.clients import client
from takedown.hashing.bank_index import BankIndex
from takedown.model import iso_utc, utc_now

if TYPE_CHECKING:
    from collections.abc import Callable

POINTER_KEY = "bank-index/current.json"
DEFAULT_MAX_AGE_SECONDS = 60.0


@dataclass(frozen=True)
class PublishedIndex:
    version: str
    key: str
    items: int
    rejected: int
    built_at: str


def publish_bank_index(bank_table: str, bucket: str) -> PublishedIndex:
    """Rebuild the index from every bank item and publish it (snapshot first, then the pointer)."""
    index = BankIndex.build(BankStore(bank_table).items())
    key = f"bank-index/{index.version}.bin"
    s3 = client("s3")
    s3.put_object(Bucket=bucket, Key=key, Body=index.to_bytes(), ContentType="application/octet-stream")
    published = PublishedIndex(
        version=index.version,
        key=key,
        items=len(index),
        rejected=len(getattr(index, "rejected", [])),
        built_at=iso_utc(utc_now()),
    )
    s3.put_object(
        Bucket=bucket,
        Key=POINTER_KEY,
        Body=json.dumps(published.__dict__).encode("utf-8"),
        ContentType="application/json",
    )
    return published


def _read_pointer(bucket: str) -> dict[str, Any] | None:
    try:
        body = client("s3").get_object(Bucket=bucket, Key=POINTER_KEY)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            return None
        raise
    pointer: dict[str, Any] = json.loads(body)
    return pointer


class BankIndexCache:
    """One loaded index per bucket, re-checked against the pointer at most every ``max_age_seconds``."""

    def __init__(
        self, *, max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS, clock: Callable[[], float] = time.monotonic
    ):
        self.max_age_seconds = max_age_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._loaded: dict[str, tuple[float, str, BankIndex]] = {}

    def get(self, bucket: str, bank_table: str) -> BankIndex:
        """The current index. Without a published snapshot (a new deployment), it is built from the table."""
        with self._lock:
            now = self._clock()
            loaded = self._loaded.get(bucket)
            if loaded is not None and now - loaded[0] < self.max_age_seconds:
                return loaded[2]
            pointer = _read_pointer(bucket)
            if pointer is None:
                index = BankIndex.build(BankStore(bank_table).items())
                version = f"table:{index.version}"
            elif loaded is not None and loaded[1] == pointer["version"]:
                index, version = loaded[2], loaded[1]
            else:
                body = client("s3").get_object(Bucket=bucket, Key=pointer["key"])["Body"].read()
                index, version = BankIndex.from_bytes(body), str(pointer["version"])
            self._loaded[bucket] = (now, version, index)
            return index

    def clear(self) -> None:
        with self._lock:
            self._loaded.clear()
