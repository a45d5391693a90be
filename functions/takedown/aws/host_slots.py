"""Per-host request slots shared by every crawl worker, in the crawl table (``HOST#<host>`` / ``SLOT``).

The item holds the host's next free slot in integer microseconds since the epoch (integers, so the
condition compares exactly). A worker books a slot with one conditional update::

    SET next_free_us = max(seen, now) + interval   IF next_free_us = seen   (or: IF the item does not exist)

and, when another worker got there first, learns the current value from the failed condition
(``ReturnValuesOnConditionCheckFailure``) and tries again. Each worker remembers the last value it saw per
host, so an uncontended booking is one write. The arithmetic is :func:`takedown.crawl.pacing.book_slot`.
"""

from __future__ import annotations

import threading
from typing import Any, Final

from botocore.exceptions import ClientError

from takedown.aws.clients import client
from takedown.crawl.errors import FetchDeferred
from takedown.crawl.pacing import DEFERRED_HOST_RATE_LIMIT, SlotBooking, book_slot

_MICROS: Final = 1_000_000
# Slot items only matter while their slot is near; DynamoDB TTL removes them a day after.
_SLOT_ITEM_TTL_SECONDS: Final = 86_400


class HostSlotContention(RuntimeError):
    """Other workers kept booking the host's slots first, more times in a row than a booking may retry."""


def host_slot_key(host: str) -> dict[str, dict[str, str]]:
    """The crawl-table key of ``host``'s slot item."""
    return {"pk": {"S": f"HOST#{host}"}, "sk": {"S": "SLOT"}}


class DynamoHostSlots:
    """A :class:`takedown.crawl.pacing.HostSlotStore` on the crawl table.

    Parameters
    ----------
    table
        The crawl table's name.
    max_attempts
        How many conditional writes one booking may try before :class:`HostSlotContention`.
    """

    def __init__(self, table: str, *, max_attempts: int = 25) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
        self.table = table
        self.max_attempts = max_attempts
        self._seen: dict[str, int | None] = {}  # host -> the last next_free_us this worker saw
        self._lock = threading.Lock()

    def book(self, host: str, *, interval: float, now: float, latest_start: float) -> SlotBooking:
        """Book ``host``'s next slot; see :class:`takedown.crawl.pacing.HostSlotStore`.

        Raises
        ------
        FetchDeferred
            ``deferred:host-rate-limit`` when the slot would start after ``latest_start`` (nothing booked).
        HostSlotContention
            After ``max_attempts`` conditional writes lost to other workers.
        """
        now_us = round(now * _MICROS)
        interval_us = max(1, round(interval * _MICROS))
        with self._lock:
            seen = self._seen.get(host)
        for _ in range(self.max_attempts):
            booking = book_slot(seen, now=now_us, interval=interval_us)
            start_us, next_us = int(booking.start), int(booking.next_free)
            if start_us > round(latest_start * _MICROS):
                wait = (start_us - now_us) / _MICROS
                raise FetchDeferred(
                    host,
                    DEFERRED_HOST_RATE_LIMIT,
                    f"the host's next free request slot is {wait:.1f} s away, after this worker's deadline",
                    wait,
                )
            won, current = self._write(host, seen, next_us)
            with self._lock:
                self._seen[host] = next_us if won else current
            if won:
                return SlotBooking(start=start_us / _MICROS, next_free=next_us / _MICROS)
            seen = current
        raise HostSlotContention(
            f"host {host!r}: {self.max_attempts} slot bookings in a row lost to other workers"
        )

    def _write(self, host: str, seen: int | None, next_us: int) -> tuple[bool, int | None]:
        """Try to move the slot from ``seen`` to ``next_us``: (True, next_us), or (False, the current value)."""
        values: dict[str, Any] = {
            ":next": {"N": str(next_us)},
            ":expires": {"N": str(next_us // _MICROS + _SLOT_ITEM_TTL_SECONDS)},
        }
        if seen is None:
            condition = "attribute_not_exists(pk)"
        else:
            condition = "next_free_us = :seen"
            values[":seen"] = {"N": str(seen)}
        try:
            client("dynamodb").update_item(
                TableName=self.table,
                Key=host_slot_key(host),
                UpdateExpression="SET next_free_us = :next, expires_at = :expires",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            # Asked for with ReturnValuesOnConditionCheckFailure: the item as the winner left it.
            item: dict[str, Any] = dict(error.response.get("Item") or {})  # type: ignore[call-overload]
            current = item.get("next_free_us", {}).get("N")
            return False, int(current) if current is not None else None
        return True, next_us

    def booked_slot(self, host: str) -> float | None:
        """The host's next free slot as stored (seconds since the epoch), or None (for tests and tools)."""
        item = client("dynamodb").get_item(TableName=self.table, Key=host_slot_key(host), ConsistentRead=True)
        value = item.get("Item", {}).get("next_free_us", {}).get("N")
        return int(value) / _MICROS if value is not None else None
