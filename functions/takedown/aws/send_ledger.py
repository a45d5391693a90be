"""The send ledger: one item per (case, recipient, notice version), claimed before SES is called, so that a
retried or replayed step never sends the same notice twice."""

from __future__ import annotations

import hashlib

from botocore.exceptions import ClientError

from takedown.aws.clients import client


class SendLedger:
    """Claims in the cases table under ``CASE#<id>`` / ``SEND#<recipient hash>#v<version>``."""

    def __init__(self, table: str) -> None:
        self.table = table

    def _key(self, case_id: str, recipient: str, version: int) -> dict[str, dict[str, str]]:
        who = hashlib.sha256(recipient.lower().encode("utf-8")).hexdigest()[:16]
        return {"pk": {"S": f"CASE#{case_id}"}, "sk": {"S": f"SEND#{who}#v{version}"}}

    def claim(self, case_id: str, recipient: str, version: int, at: str) -> bool:
        """True if this send is ours to make; False if it was already made (or is being made)."""
        try:
            client("dynamodb").put_item(
                TableName=self.table,
                Item={**self._key(case_id, recipient, version), "state": {"S": "SENDING"}, "at": {"S": at}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def message_id(self, case_id: str, recipient: str, version: int) -> str:
        """The SES message id of a send that completed, or "" (never claimed, or claimed and not confirmed)."""
        item = (
            client("dynamodb")
            .get_item(TableName=self.table, Key=self._key(case_id, recipient, version), ConsistentRead=True)
            .get("Item", {})
        )
        return str(item.get("message_id", {}).get("S", ""))

    def release(self, case_id: str, recipient: str, version: int) -> None:
        """SES refused the message: free the claim so a retry may send it."""
        client("dynamodb").delete_item(TableName=self.table, Key=self._key(case_id, recipient, version))

    def confirm(self, case_id: str, recipient: str, version: int, message_id: str) -> None:
        client("dynamodb").update_item(
            TableName=self.table,
            Key=self._key(case_id, recipient, version),
            UpdateExpression="SET #s = :sent, message_id = :id",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":sent": {"S": "SENT"}, ":id": {"S": message_id}},
        )
