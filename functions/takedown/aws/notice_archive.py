"""The text of every notice version as sent: ``CASE#<id>`` / ``NOTICE#v<version>#<locale>`` items in the cases table.

The drafts (``DRAFT#<locale>``) are rewritten for each follow-up notice; what each version said when it went out is
kept here, never updated, so the record shows exactly what every recipient received and when.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from takedown.aws.clients import client
from takedown.model import NoticeDraft

if TYPE_CHECKING:
    from collections.abc import Iterable


def _sk(version: int, locale: str) -> str:
    # Zero-padded, so the versions sort in order.
    return f"NOTICE#v{version:04d}#{locale}"


class NoticeArchive:
    """Sent notice texts of the cases table ``table``."""

    def __init__(self, table: str) -> None:
        self.table = table

    def keep(self, case_id: str, version: int, drafts: Iterable[NoticeDraft], *, sent_at: str) -> None:
        """Keep the drafts that went out as notice ``version`` (a repeat writes the same items again)."""
        for draft in drafts:
            client("dynamodb").put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": f"CASE#{case_id}"},
                    "sk": {"S": _sk(version, draft.locale)},
                    "sent_at": {"S": sent_at},
                    "doc": {"S": json.dumps(draft.to_dict(), ensure_ascii=False)},
                },
            )

    def sent(self, case_id: str, version: int) -> list[NoticeDraft]:
        """The drafts notice ``version`` went out with, by locale."""
        response = client("dynamodb").query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={
                ":pk": {"S": f"CASE#{case_id}"},
                ":prefix": {"S": f"NOTICE#v{version:04d}#"},
            },
            ConsistentRead=True,
        )
        return [NoticeDraft.from_dict(json.loads(item["doc"]["S"])) for item in response.get("Items", [])]
