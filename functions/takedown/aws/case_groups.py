"""Which cases share a registered original: ``GROUP#<group>`` / ``CASE#<case id>`` items in the cases table.

Scoring files every matched case under each bank group it matched (the registered original's ``group_id``, or the
bank item for an item without a group), then asks the group for its other cases: those are re-uploads of the same
content (:mod:`takedown.cases.reuploads`). A query by partition key, never a scan.
"""

from __future__ import annotations

from takedown.aws.clients import client


def _group_pk(group: str) -> dict[str, str]:
    return {"S": f"GROUP#{group}"}


class CaseGroups:
    """The group index items of the cases table ``table``."""

    def __init__(self, table: str) -> None:
        self.table = table

    def file_case(self, group: str, case_id: str, *, page_url: str, at: str) -> None:
        """File ``case_id`` under ``group`` (idempotent: the same case filed twice is one item)."""
        client("dynamodb").put_item(
            TableName=self.table,
            Item={
                "pk": _group_pk(group),
                "sk": {"S": f"CASE#{case_id}"},
                "page_url": {"S": page_url},
                "filed_at": {"S": at},
            },
        )

    def cases_of(self, group: str) -> list[str]:
        """Every case filed under ``group``."""
        paginator = client("dynamodb").get_paginator("query")
        found: list[str] = []
        for page in paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :case)",
            ExpressionAttributeValues={":pk": _group_pk(group), ":case": {"S": "CASE#"}},
            ConsistentRead=True,
        ):
            found.extend(item["sk"]["S"].removeprefix("CASE#") for item in page.get("Items", []))
        return found
