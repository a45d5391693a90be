"""The crawl table: what the crawl remembers between pages, messages and cycles.

Items (``pk`` / ``sk``), each with a DynamoDB TTL on ``expires_at`` where it is only a memory:

=================================  ===============  ==========================================================
``URL#<sha256(url)>``              ``CYCLE#<id>``   a page claimed in one crawl cycle (queued or fetched once)
``URL#<sha256(url)>``              ``SEEN``         the same without a cycle: fetched within the re-crawl TTL
``MEDIAURL#<sha256(page, media)>`` ``SEEN``         a media URL already fetched from that page (not again)
``CONTENT#<sha256 of bytes>``      ``PAGE#<page>``  media bytes already stored for that page (not re-hashed)
``BUDGET#<source>``                ``CYCLE#<id>``   pages a source has spent of its page budget in one cycle
``HOST#<host>``                    ``SLOT``         the host's next free request slot (``aws/host_slots.py``)
``MEDIA#<sha256>``                 ``PAGE#<page>``  what hashing decided for the media on that page; also in the
                                                   sparse ``OutcomesByHour`` index (``outcome_hour``, ``recorded_at``)
``REFUSAL#<source>``               ``<time>#<url>`` a URL refused, skipped or deferred, with its reason
=================================  ===============  ==========================================================
"""

from __future__ import annotations

import enum
import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from takedown.aws.clients import client
from takedown.config import OUTCOME_HOUR_ATTRIBUTE, OUTCOME_RECORDED_ATTRIBUTE, OUTCOMES_BY_HOUR_INDEX
from takedown.model import iso_utc


def _outcome_hour(moment: datetime) -> str:
    """The ``OutcomesByHour`` partition of an outcome recorded at ``moment``.

    >>> _outcome_hour(datetime(2026, 11, 28, 7, 59, tzinfo=UTC))
    'OUTCOME#20261128T07'
    """
    return "OUTCOME#" + moment.astimezone(UTC).strftime("%Y%m%dT%H")


def _outcome(item: dict[str, Any]) -> dict[str, str]:
    return {
        "sha256": item["pk"]["S"].removeprefix("MEDIA#"),
        "page_url": item["page_url"]["S"],
        "outcome": item["outcome"]["S"],
        "reason": item["reason"]["S"],
        "media_url": item.get("media_url", {}).get("S", ""),
        "media_type": item.get("media_type", {}).get("S", ""),
    }


class PageClaim(enum.Enum):
    """The answer to "may this worker take this page?"."""

    NEW = "new"  # nobody had it: this worker took it
    MINE = "mine"  # the same claimer took it before: a redelivered message goes on, without counting again
    TAKEN = "taken"  # someone else has it: skip


def _url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _page_key(page_url: str) -> str:
    return hashlib.sha256(page_url.encode("utf-8")).hexdigest()[:24]


def _is_conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _moment(now: float | None) -> int:
    return int(now if now is not None else time.time())


class CrawlState:
    """Claims and memories of the crawl, on the crawl table (see the module documentation)."""

    def __init__(self, table: str) -> None:
        self.table = table

    def _claim(
        self, key: dict[str, Any], attributes: dict[str, Any], *, ttl_seconds: int, now: float | None
    ) -> bool:
        """Put ``key`` unless a live item holds it; True when this call took it."""
        moment = _moment(now)
        try:
            client("dynamodb").put_item(
                TableName=self.table,
                Item={
                    **key,
                    **attributes,
                    "seen_at": {"N": str(moment)},
                    "expires_at": {"N": str(moment + ttl_seconds)},
                },
                # TTL deletion lags, so an expired item is treated as absent here too.
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(moment)}},
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                return False
            raise
        return True

    def claim_page(
        self, url: str, *, cycle: str, claimer: str, ttl_seconds: int, now: float | None = None
    ) -> PageClaim:
        """Claim a page for one crawl cycle, or, for ``cycle`` "", for ``ttl_seconds``.

        ``claimer`` (the SQS message id of the task that claims it) makes a redelivered message find its own
        claim (:attr:`PageClaim.MINE`) instead of skipping the page it never finished.
        """
        moment = _moment(now)
        item: dict[str, Any] = {
            "pk": {"S": f"URL#{_url_key(url)}"},
            "sk": {"S": f"CYCLE#{cycle}" if cycle else "SEEN"},
            "url": {"S": url[:2048]},
            "claimed_by": {"S": claimer or "-"},
            "seen_at": {"N": str(moment)},
            "expires_at": {"N": str(moment + ttl_seconds)},
        }
        condition = "attribute_not_exists(pk) OR expires_at < :now"
        values: dict[str, Any] = {":now": {"N": str(moment)}}
        if claimer:
            condition += " OR claimed_by = :claimer"
            values[":claimer"] = {"S": claimer}
        try:
            response = client("dynamodb").put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                return PageClaim.TAKEN
            raise
        old = response.get("Attributes") or {}
        still_live = int(old.get("expires_at", {}).get("N", "0")) >= moment
        if old and still_live and claimer and old.get("claimed_by", {}).get("S") == claimer:
            return PageClaim.MINE
        return PageClaim.NEW

    def claim_url(self, url: str, *, ttl_seconds: int, now: float | None = None) -> bool:
        """Record ``url`` as fetched; False when it was fetched within ``ttl_seconds`` (skip it)."""
        key = {"pk": {"S": f"URL#{_url_key(url)}"}, "sk": {"S": "SEEN"}}
        return self._claim(key, {"url": {"S": url[:2048]}}, ttl_seconds=ttl_seconds, now=now)

    def claim_media_url(
        self, page_url: str, media_url: str, *, ttl_seconds: int, now: float | None = None
    ) -> bool:
        """Remember that ``media_url`` is fetched from ``page_url``; False when it was within ``ttl_seconds``."""
        key = {"pk": {"S": f"MEDIAURL#{_url_key(f'{page_url} -> {media_url}')}"}, "sk": {"S": "SEEN"}}
        return self._claim(key, {"url": {"S": media_url[:2048]}}, ttl_seconds=ttl_seconds, now=now)

    def release_media_url(self, page_url: str, media_url: str) -> None:
        """Forget a media URL claimed by :meth:`claim_media_url` but not fetched (it was deferred)."""
        key = {"pk": {"S": f"MEDIAURL#{_url_key(f'{page_url} -> {media_url}')}"}, "sk": {"S": "SEEN"}}
        client("dynamodb").delete_item(TableName=self.table, Key=key)

    def claim_content(
        self, sha256: str, page_url: str, *, ttl_seconds: int, now: float | None = None
    ) -> bool:
        """Remember that these bytes were stored for this page; False when they were within ``ttl_seconds``.

        Another URL serving the same bytes on the same page (a size variant, a cache-busting query) is then
        not stored and hashed again.
        """
        key = {"pk": {"S": f"CONTENT#{sha256}"}, "sk": {"S": f"PAGE#{_page_key(page_url)}"}}
        return self._claim(key, {"page_url": {"S": page_url[:2048]}}, ttl_seconds=ttl_seconds, now=now)

    def release_content(self, sha256: str, page_url: str) -> None:
        """Forget a content claim whose media could not be stored, so a later visit stores it."""
        key = {"pk": {"S": f"CONTENT#{sha256}"}, "sk": {"S": f"PAGE#{_page_key(page_url)}"}}
        client("dynamodb").delete_item(TableName=self.table, Key=key)

    def claim_page_budget(
        self, source_id: str, cycle: str, *, budget: int, ttl_seconds: int, now: float | None = None
    ) -> bool:
        """Count one more page of ``source_id`` in ``cycle``; False (nothing counted) when ``budget`` is spent."""
        moment = _moment(now)
        try:
            client("dynamodb").update_item(
                TableName=self.table,
                Key={"pk": {"S": f"BUDGET#{source_id}"}, "sk": {"S": f"CYCLE#{cycle}"}},
                UpdateExpression="ADD pages :one SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(pages) OR pages < :budget",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":budget": {"N": str(budget)},
                    ":expires": {"N": str(moment + ttl_seconds)},
                },
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                return False
            raise
        return True

    def pages_counted(self, source_id: str, cycle: str) -> int:
        """How many pages ``source_id`` has spent of its budget in ``cycle``."""
        item = client("dynamodb").get_item(
            TableName=self.table,
            Key={"pk": {"S": f"BUDGET#{source_id}"}, "sk": {"S": f"CYCLE#{cycle}"}},
            ConsistentRead=True,
        )
        return int(item.get("Item", {}).get("pages", {}).get("N", "0"))

    def record_media_outcome(
        self,
        sha256: str,
        page_url: str,
        *,
        outcome: str,
        reason: str,
        media_url: str = "",
        media_type: str = "",
        now: datetime | None = None,
    ) -> None:
        """Remember what hashing decided for one media file on one page (the sighting's recorded outcome), at
        ``now`` (the clock by default)."""
        page = _page_key(page_url)
        now = now or datetime.now(UTC)
        client("dynamodb").put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"MEDIA#{sha256}"},
                "sk": {"S": f"PAGE#{page}"},
                OUTCOME_HOUR_ATTRIBUTE: {"S": _outcome_hour(now)},
                OUTCOME_RECORDED_ATTRIBUTE: {"S": iso_utc(now)},
                "page_url": {"S": page_url[:2048]},
                "outcome": {"S": outcome},
                "reason": {"S": reason[:500]},
                "media_url": {"S": media_url[:2048]},
                "media_type": {"S": media_type[:100]},
                "at": {"N": str(int(now.timestamp()))},
            },
        )

    def media_outcomes(self, *, since: datetime | None = None) -> list[dict[str, str]]:
        """The media outcomes recorded since ``since`` (UTC), oldest first, read from the ``OutcomesByHour`` index
        an hour at a time; every outcome ever recorded when ``since`` is None (a scan: for the local stack and
        tests, never for a deployment's table)."""
        if since is None:
            items = (
                item
                for page in client("dynamodb").get_paginator("scan").paginate(TableName=self.table)
                for item in page.get("Items", [])
                if item["pk"]["S"].startswith("MEDIA#")
            )
            return [_outcome(item) for item in items]
        start = since.astimezone(UTC)
        hour, last = start.replace(minute=0, second=0, microsecond=0), datetime.now(UTC)
        found: list[dict[str, str]] = []
        paginator = client("dynamodb").get_paginator("query")
        while hour <= last:
            pages = paginator.paginate(
                TableName=self.table,
                IndexName=OUTCOMES_BY_HOUR_INDEX,
                KeyConditionExpression="#hour = :hour AND #at >= :since",
                ExpressionAttributeNames={"#hour": OUTCOME_HOUR_ATTRIBUTE, "#at": OUTCOME_RECORDED_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":hour": {"S": _outcome_hour(hour)},
                    ":since": {"S": iso_utc(start)},
                },
            )
            found += [_outcome(item) for page in pages for item in page.get("Items", [])]
            hour += timedelta(hours=1)
        return found

    def record_refusal(self, *, source_id: str, url: str, reason: str, message: str, at: str) -> None:
        """Remember a URL the crawler refused or could not fetch, with its reason (kept 30 days)."""
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
        client("dynamodb").put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"REFUSAL#{source_id}"},
                "sk": {"S": f"{at}#{key}"},
                "url": {"S": url[:2048]},
                "reason": {"S": reason[:200]},
                "message": {"S": message[:500]},
                "expires_at": {"N": str(int(time.time()) + 30 * 86400)},
            },
        )

    def refusals(self, source_id: str, *, since: str = "") -> list[dict[str, str]]:
        """Refusals of one source, oldest first, optionally only those at or after ``since`` (ISO UTC)."""
        found: list[dict[str, str]] = []
        paginator = client("dynamodb").get_paginator("query")
        # DynamoDB refuses an empty string in a key condition: without ``since``, the whole partition.
        condition, values = "pk = :pk", {":pk": {"S": f"REFUSAL#{source_id}"}}
        if since:
            condition, values[":since"] = "pk = :pk AND sk >= :since", {"S": since}
        for page in paginator.paginate(
            TableName=self.table, KeyConditionExpression=condition, ExpressionAttributeValues=values
        ):
            for item in page.get("Items", []):
                found.append(
                    {
                        "at": item["sk"]["S"].split("#", 1)[0],
                        "url": item["url"]["S"],
                        "reason": item["reason"]["S"],
                        "message": item["message"]["S"],
                    }
                )
        return found
