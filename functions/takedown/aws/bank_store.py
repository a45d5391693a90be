"""The hash bank table: ``BANK#<bank>`` / ``ITEM#<item id>``. Only hashes and the centre's own reference."""

from __future__ import annotations

from typing import Any

from takedown.aws.clients import client
from takedown.model import BankItem


class BankStore:
    """Read and write bank items."""

    def __init__(self, table: str) -> None:
        self.table = table

    def put_item(self, item: BankItem) -> None:
        record: dict[str, Any] = {
            "pk": {"S": f"BANK#{item.bank}"},
            "sk": {"S": f"ITEM#{item.item_id}"},
            "item_id": {"S": item.item_id},
            "bank": {"S": item.bank},
            "algorithm": {"S": item.algorithm},
            "hash_hex": {"S": item.hash_hex},
            "case_ref": {"S": item.case_ref},
            "enabled": {"BOOL": item.enabled},
            "added_at": {"S": item.added_at},
            "group_id": {"S": item.group_id},
            "variant": {"S": item.variant},
            "media_kind": {"S": item.media_kind},
        }
        if item.quality is not None:
            record["quality"] = {"N": str(item.quality)}
        client("dynamodb").put_item(TableName=self.table, Item=record)

    def items(self) -> list[BankItem]:
        """Every item of every bank, enabled or not."""
        found: list[BankItem] = []
        for page in client("dynamodb").get_paginator("scan").paginate(TableName=self.table):
            for raw in page.get("Items", []):
                if not raw["sk"]["S"].startswith("ITEM#"):
                    continue
                found.append(
                    BankItem(
                        item_id=raw["item_id"]["S"],
                        bank=raw["bank"]["S"],
                        algorithm=raw["algorithm"]["S"],
                        hash_hex=raw["hash_hex"]["S"],
                        case_ref=raw.get("case_ref", {}).get("S", ""),
                        quality=int(raw["quality"]["N"]) if "quality" in raw else None,
                        enabled=bool(raw.get("enabled", {}).get("BOOL", True)),
                        added_at=raw.get("added_at", {}).get("S", ""),
                        group_id=raw.get("group_id", {}).get("S", ""),
                        variant=raw.get("variant", {}).get("S", ""),
                        media_kind=raw.get("media_kind", {}).get("S", "image"),
                    )
                )
        return found
