"""Which cases are due for a re-check: a sparse global secondary index of the cases table.

A case record carries ``due_pk = "RECHECK"`` and ``due_at = <ISO time>`` while it is monitored and has a check
scheduled (:attr:`takedown.cases.record.CaseRecord.recheck_due_at`); every other item lacks them and so is not in
the index. The re-check function reads the index from the oldest due time up to now: it never scans the table.
The index is eventually consistent, so the function re-reads each case and checks it is still due.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from takedown.aws.clients import client
from takedown.config import RECHECK_DUE_ATTRIBUTE, RECHECK_DUE_INDEX, RECHECK_PARTITION_ATTRIBUTE

if TYPE_CHECKING:
    from collections.abc import Iterator

    from takedown.cases.record import CaseRecord

RECHECK_PARTITION: Final = "RECHECK"


def recheck_index_attributes(record: CaseRecord) -> dict[str, Any]:
    """The index attributes of a case item: present only while the case is due for a re-check."""
    due = record.recheck_due_at
    if not due:
        return {}
    return {RECHECK_PARTITION_ATTRIBUTE: {"S": RECHECK_PARTITION}, RECHECK_DUE_ATTRIBUTE: {"S": due}}


class RecheckQueue:
    """Reads the re-check index of the cases table ``table``."""

    def __init__(self, table: str) -> None:
        self.table = table

    def due_case_ids(self, now_iso: str, *, limit: int) -> Iterator[str]:
        """The ids of cases due at or before ``now_iso``, oldest due first, at most ``limit``."""
        paginator = client("dynamodb").get_paginator("query")
        found = 0
        for page in paginator.paginate(
            TableName=self.table,
            IndexName=RECHECK_DUE_INDEX,
            KeyConditionExpression="#p = :partition AND #d <= :now",
            ExpressionAttributeNames={"#p": RECHECK_PARTITION_ATTRIBUTE, "#d": RECHECK_DUE_ATTRIBUTE},
            ExpressionAttributeValues={":partition": {"S": RECHECK_PARTITION}, ":now": {"S": now_iso}},
            PaginationConfig={"PageSize": min(limit, 100)},
        ):
            for item in page.get("Items", []):
                yield item["pk"]["S"].removeprefix("CASE#")
                found += 1
                if found >= limit:
                    return
