"""The crawl table: which URLs were fetched recently (``URL#<url>``), so a cycle does not fetch them again."""

from __future__ import annotations

import hashlib
import time

from botocore.exceptions import ClientError

from takedown.aws.clients import client


class CrawlState:
    """Seen-URL memory with a re-crawl horizon (DynamoDB TTL on ``expires_at``)."""

    def __init__(self, table: str) -> None:
        self.table = table

    def claim_url(self, url: str, *, ttl_seconds: int, now: float | None = None) -> bool:
        """Record ``url`` as fetched; False when it was fetched within ``ttl_seconds`` (skip it)."""
        moment = int(now if now is not None else time.time())
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()
        try:
            client("dynamodb").put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": f"URL#{key}"},
                    "sk": {"S": "SEEN"},
                    "url": {"S": url[:2048]},
                    "seen_at": {"N": str(moment)},
                    "expires_at": {"N": str(moment + ttl_seconds)},
                },
                # TTL deletion lags, so an expired item is treated as absent here too.
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(moment)}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def record_media_outcome(
        self,
        sha256: str,
        page_url: str,
        *,
        outcome: str,
        reason: str,
        media_url: str = "",
        media_type: str = "",
    ) -> None:
        """Remember what hashing decided for one media file on one page (the sighting's recorded outcome)."""
        page = hashlib.sha256(page_url.encode("utf-8")).hexdigest()[:24]
        client("dynamodb").put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"MEDIA#{sha256}"},
                "sk": {"S": f"PAGE#{page}"},
                "page_url": {"S": page_url[:2048]},
                "outcome": {"S": outcome},
                "reason": {"S": reason[:500]},
                "media_url": {"S": media_url[:2048]},
                "media_type": {"S": media_type[:100]},
                "at": {"N": str(int(time.time()))},
            },
        )

    def media_outcomes(self) -> list[dict[str, str]]:
        """Every recorded media outcome (for the demo summary and tests; a scan)."""
        found: list[dict[str, str]] = []
        for page in client("dynamodb").get_paginator("scan").paginate(TableName=self.table):
            for item in page.get("Items", []):
                if item["pk"]["S"].startswith("MEDIA#"):
                    found.append(
                        {
                            "sha256": item["pk"]["S"].removeprefix("MEDIA#"),
                            "page_url": item["page_url"]["S"],
                            "outcome": item["outcome"]["S"],
                            "reason": item["reason"]["S"],
                            "media_url": item.get("media_url", {}).get("S", ""),
                            "media_type": item.get("media_type", {}).get("S", ""),
                        }
                    )
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
        for page in paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk >= :since",
            ExpressionAttributeValues={":pk": {"S": f"REFUSAL#{source_id}"}, ":since": {"S": since}},
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
