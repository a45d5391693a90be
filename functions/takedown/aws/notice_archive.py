"""The text of every notice version as sent, in the cases table, never updated once the version went out:

- ``CASE#<id>`` / ``NOTICE#v<version>#<locale>``: the approved body of each locale, the same for every recipient;
- ``CASE#<id>`` / ``MESSAGE#v<version>#<recipient>``: exactly what one recipient was sent (subject, text and HTML:
  its addressing block before the approved body, in every locale), written before SES is asked to send it.

The drafts (``DRAFT#<locale>``) and addressing blocks (``ADDRESSING#<locale>``) are rewritten for each follow-up
notice; what each version said, and to whom, is kept here, so the record shows exactly what every recipient
received.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from takedown.aws.clients import client
from takedown.model import NoticeDraft
from takedown.notices.addressing import AddressedNotice, recipient_key

if TYPE_CHECKING:
    from collections.abc import Iterable


def _sk(version: int, locale: str) -> str:
    # Zero-padded, so the versions sort in order.
    return f"NOTICE#v{version:04d}#{locale}"


def _message_prefix(version: int) -> str:
    return f"MESSAGE#v{version:04d}#"


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

    def keep_messages(self, case_id: str, version: int, messages: Iterable[AddressedNotice]) -> None:
        """Keep what each recipient of notice ``version`` is sent, before it is sent.

        A message is composed only from stored, reviewed data, so a retried step writes the same message again.
        """
        for message in messages:
            client("dynamodb").put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": f"CASE#{case_id}"},
                    "sk": {"S": _message_prefix(version) + recipient_key(message.recipient)},
                    "doc": {"S": json.dumps(message.to_dict(), ensure_ascii=False)},
                },
            )

    def messages(self, case_id: str, version: int) -> list[AddressedNotice]:
        """What each recipient of notice ``version`` was sent (ordered by recipient)."""
        paginator = client("dynamodb").get_paginator("query")
        found: list[AddressedNotice] = []
        for page in paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={
                ":pk": {"S": f"CASE#{case_id}"},
                ":prefix": {"S": _message_prefix(version)},
            },
            ConsistentRead=True,
        ):
            found.extend(AddressedNotice.from_dict(json.loads(i["doc"]["S"])) for i in page.get("Items", []))
        return found

    def message(self, case_id: str, version: int, address: str) -> AddressedNotice | None:
        """What the recipient at ``address`` was sent as notice ``version``; None if it was sent nothing."""
        wanted = address.casefold()
        return next(
            (m for m in self.messages(case_id, version) if recipient_key(m.recipient) == wanted), None
        )
