"""The cases table: case records, their audit events, drafts and reviews.

Item layout (one table, ``pk``/``sk``):

- ``CASE#<id>`` / ``CASE``: the current :class:`CaseRecord` as JSON, with ``status`` and ``version`` beside it;
  every save is conditional on the version it read (optimistic locking), together with its audit event.
- ``CASE#<id>`` / ``EVENT#<time>#<n>``: one audit event each, never updated.
- ``CASE#<id>`` / ``DRAFT#<locale>``: the rendered notice in one locale.
- ``REVIEW#<id>`` / ``REVIEW``: a pending or decided review, holding the Step Functions task token. The token
  never leaves this table except to go back to Step Functions.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from takedown.aws.clients import client
from takedown.cases.record import CaseRecord
from takedown.model import CaseEvent, NoticeDraft, ReviewDecision

if TYPE_CHECKING:
    from collections.abc import Callable


class StaleCaseError(RuntimeError):
    """Someone else saved the case since it was read; the caller reloads and retries or stops."""


def _case_pk(case_id: str) -> dict[str, Any]:
    return {"S": f"CASE#{case_id}"}


def _event_item(case_id: str, event: CaseEvent) -> dict[str, Any]:
    return {
        "pk": _case_pk(case_id),
        "sk": {"S": f"EVENT#{event.at}#{secrets.token_hex(3)}"},
        "doc": {"S": json.dumps(event.to_dict(), ensure_ascii=False, sort_keys=True)},
    }


def _is_conditional_failure(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = error.response.get("CancellationReasons", [])
        return any(
            r.get("Code") == "ConditionalCheckFailed" for r in reasons
        ) or "ConditionalCheckFailed" in str(error)
    return False


@dataclass(frozen=True)
class ReviewRecord:
    """A review as stored. ``task_token`` is secret: never log it, never render it."""

    review_id: str
    case_id: str
    reviewer: str
    task_token: str
    expires_at: int
    status: str  # "PENDING" | "DECIDED"
    created_at: str
    decision: ReviewDecision | None = None


class CaseStore:
    """Read and write cases, events, drafts and reviews."""

    def __init__(self, table: str) -> None:
        self.table = table

    # -- cases ------------------------------------------------------------------------------------------------
    def create(self, record: CaseRecord, event: CaseEvent) -> bool:
        """Store a new case with its first event. False if the case already exists (a duplicate sighting)."""
        try:
            client("dynamodb").transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": self._case_item(record),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": self.table, "Item": _event_item(record.case_id, event)}},
                ]
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                return False
            raise
        return True

    def get(self, case_id: str) -> CaseRecord | None:
        item = (
            client("dynamodb")
            .get_item(
                TableName=self.table, Key={"pk": _case_pk(case_id), "sk": {"S": "CASE"}}, ConsistentRead=True
            )
            .get("Item")
        )
        return CaseRecord.from_dict(json.loads(item["doc"]["S"])) if item else None

    def require(self, case_id: str) -> CaseRecord:
        record = self.get(case_id)
        if record is None:
            raise KeyError(f"no case {case_id}")
        return record

    def save(self, record: CaseRecord, event: CaseEvent) -> None:
        """Store ``record`` (whose version was bumped by ``advance``) and its event, atomically.

        Raises :class:`StaleCaseError` when the stored version is not the one this record was derived from.
        """
        try:
            client("dynamodb").transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": self._case_item(record),
                            "ConditionExpression": "#v = :previous",
                            "ExpressionAttributeNames": {"#v": "version"},
                            "ExpressionAttributeValues": {":previous": {"N": str(record.version - 1)}},
                        }
                    },
                    {"Put": {"TableName": self.table, "Item": _event_item(record.case_id, event)}},
                ]
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                raise StaleCaseError(f"case {record.case_id} changed since it was read") from error
            raise

    def append_event(self, case_id: str, event: CaseEvent) -> None:
        client("dynamodb").put_item(TableName=self.table, Item=_event_item(case_id, event))

    def events(self, case_id: str) -> list[CaseEvent]:
        return [CaseEvent.from_dict(doc) for doc in self._query_docs(case_id, "EVENT#")]

    def _case_item(self, record: CaseRecord) -> dict[str, Any]:
        return {
            "pk": _case_pk(record.case_id),
            "sk": {"S": "CASE"},
            "status": {"S": record.status.value},
            "updated_at": {"S": record.updated_at},
            "version": {"N": str(record.version)},
            "doc": {"S": json.dumps(record.to_dict(), ensure_ascii=False, sort_keys=True)},
        }

    def _query_docs(self, case_id: str, prefix: str) -> list[dict[str, Any]]:
        paginator = client("dynamodb").get_paginator("query")
        docs: list[dict[str, Any]] = []
        for page in paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": _case_pk(case_id), ":prefix": {"S": prefix}},
            ConsistentRead=True,
        ):
            docs.extend(json.loads(item["doc"]["S"]) for item in page.get("Items", []))
        return docs

    # -- drafts -----------------------------------------------------------------------------------------------
    def put_draft(self, case_id: str, draft: NoticeDraft) -> None:
        client("dynamodb").put_item(
            TableName=self.table,
            Item={
                "pk": _case_pk(case_id),
                "sk": {"S": f"DRAFT#{draft.locale}"},
                "doc": {"S": json.dumps(draft.to_dict(), ensure_ascii=False)},
            },
        )

    def drafts(self, case_id: str) -> list[NoticeDraft]:
        return [NoticeDraft.from_dict(doc) for doc in self._query_docs(case_id, "DRAFT#")]

    # -- reviews ----------------------------------------------------------------------------------------------
    def put_review(self, review: ReviewRecord) -> None:
        client("dynamodb").put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"REVIEW#{review.review_id}"},
                "sk": {"S": "REVIEW"},
                "case_id": {"S": review.case_id},
                "reviewer": {"S": review.reviewer},
                "task_token": {"S": review.task_token},
                "expires_at": {"N": str(review.expires_at)},
                "review_status": {"S": review.status},
                "created_at": {"S": review.created_at},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get_review(self, review_id: str) -> ReviewRecord | None:
        item = (
            client("dynamodb")
            .get_item(
                TableName=self.table,
                Key={"pk": {"S": f"REVIEW#{review_id}"}, "sk": {"S": "REVIEW"}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        if not item:
            return None
        decision = json.loads(item["decision"]["S"]) if "decision" in item else None
        return ReviewRecord(
            review_id=review_id,
            case_id=item["case_id"]["S"],
            reviewer=item["reviewer"]["S"],
            task_token=item["task_token"]["S"],
            expires_at=int(item["expires_at"]["N"]),
            status=item["review_status"]["S"],
            created_at=item["created_at"]["S"],
            decision=ReviewDecision.from_dict(decision) if decision else None,
        )

    def claim_review(self, review_id: str, decision: ReviewDecision) -> bool:
        """Mark a pending review decided. False if it was already decided: each review is single-use."""
        try:
            client("dynamodb").update_item(
                TableName=self.table,
                Key={"pk": {"S": f"REVIEW#{review_id}"}, "sk": {"S": "REVIEW"}},
                UpdateExpression="SET review_status = :decided, decision = :decision",
                ConditionExpression="review_status = :pending",
                ExpressionAttributeValues={
                    ":decided": {"S": "DECIDED"},
                    ":pending": {"S": "PENDING"},
                    ":decision": {"S": json.dumps(decision.to_dict(), ensure_ascii=False)},
                },
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                return False
            raise
        return True

    def update(
        self, case_id: str, change: Callable[[CaseRecord], tuple[CaseRecord, CaseEvent]]
    ) -> CaseRecord:
        """Load the case, apply ``change``, save; on a concurrent save reload and apply again (three tries)."""
        for attempt in range(3):
            record, event = change(self.require(case_id))
            try:
                self.save(record, event)
            except StaleCaseError:
                if attempt == 2:
                    raise
                continue
            return record
        raise AssertionError("unreachable")
