"""Each recipient's addressing block of the drafted notice: ``CASE#<id>`` / ``ADDRESSING#<locale>`` in the cases
table, one item per locale holding the blocks of every recipient the notice may go to.

Written by the render step beside the draft of the same locale (``DRAFT#<locale>``) and rewritten with it for each
follow-up; read by the review page, which shows each recipient its block, and by the send step, which puts each
recipient's block before the approved body (:func:`takedown.notices.addressing.compose_notice`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from takedown.aws.clients import client
from takedown.notices.addressing import AddressingBlock

if TYPE_CHECKING:
    from collections.abc import Sequence

_PREFIX = "ADDRESSING#"


class AddressingStore:
    """Addressing blocks of the cases table ``table``."""

    def __init__(self, table: str) -> None:
        self.table = table

    def put(self, case_id: str, locale: str, blocks: Sequence[AddressingBlock]) -> None:
        """Store the blocks of ``locale`` (replacing the ones of an earlier notice version).

        Raises
        ------
        ValueError
            A block is in another locale.
        """
        strays = sorted({b.locale for b in blocks} - {locale})
        if strays:
            raise ValueError(f"addressing blocks in {strays} cannot be stored as locale {locale!r}")
        client("dynamodb").put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"CASE#{case_id}"},
                "sk": {"S": f"{_PREFIX}{locale}"},
                "doc": {"S": json.dumps({"blocks": [b.to_dict() for b in blocks]}, ensure_ascii=False)},
            },
        )

    def blocks(self, case_id: str) -> list[AddressingBlock]:
        """Every stored block of the case, any locale and recipient."""
        paginator = client("dynamodb").get_paginator("query")
        found: list[AddressingBlock] = []
        for page in paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": f"CASE#{case_id}"}, ":prefix": {"S": _PREFIX}},
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                found.extend(AddressingBlock.from_dict(b) for b in json.loads(item["doc"]["S"])["blocks"])
        return found
