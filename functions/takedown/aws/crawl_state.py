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

    def record_media_outcome(self, sha256: str, page_url: str, *, outcome: str, reason: str) -> None:
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
                        }
                    )
        return found
