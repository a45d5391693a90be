"""The cases table: case records, their audit events, drafts and reviews.

Item layout (one table, ``pk``/``sk``):

- ``CASE#<id>`` / ``CASE``: the current :class:`CaseRecord` as JSON, with ``status`` and ``version`` beside it;
  every save is conditional on the version it read (optimistic locking), together with its audit event.
- ``CASE#<id>`` / ``EVENT#<time>#<n>``: one audit event each, never updated.
- ``CASE#<id>`` / ``DRAFT#<locale>``: the rendered notice in one locale.
- ``CASE#<id>`` / ``DELIVERY#<key>``: what SES reported about a sent notice for one recipient (bounce,
  complaint, delivery, rejection, delay), written once per event with its audit event.
- ``CASE#<id>`` / ``NOTE#reviewer``: a reviewing officer's note to the recipient, shown in the notice.
- ``CASE#<id>`` / ``ADDRESSING#<locale>``: each recipient's addressing block in one locale
  (``aws/addressing_store.py``).
- ``CASE#<id>`` / ``NOTICE#v<n>#<locale>`` and ``MESSAGE#v<n>#<recipient>``: the approved body of each notice
  version, and exactly what each recipient was sent (``aws/notice_archive.py``).
- ``CASE#<id>`` / ``SEND#<recipient hash>#v<n>``: the send ledger's claim (``aws/send_ledger.py``).
- ``GROUP#<group>`` / ``CASE#<id>``: the cases matched to a bank group, for re-uploads (``aws/case_groups.py``).
- The sparse ``RecheckDue`` index (``due_pk``/``due_at`` on monitored cases) lists the cases due a re-check
  (``aws/recheck_queue.py``).
- ``REVIEW#<id>`` / ``REVIEW``: a pending or decided review, holding the Step Functions task token. The token
  never leaves this table except to go back to Step Functions. While the review is pending it also carries
  ``pending_pk``/``pending_due``, the keys of the sparse ``PendingReviews`` index (which projects neither the
  token nor the decision): reminders and the reviewer's list read that index, never the whole table.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from takedown.aws.case_metrics import publish_case_transition
from takedown.aws.clients import client
from takedown.aws.recheck_queue import recheck_index_attributes
from takedown.cases.record import CaseRecord
from takedown.config import PENDING_DUE_ATTRIBUTE, PENDING_PARTITION_ATTRIBUTE, PENDING_REVIEWS_INDEX
from takedown.model import CaseEvent, NoticeDraft, Recipient, ReviewDecision
from takedown.notices.free_text import FreeText
from takedown.notices.mail_feedback import DeliveryOutcome

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


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


REVIEW_PENDING = "PENDING"
REVIEW_DECIDED = "DECIDED"
REVIEW_HANDED_OVER = "HANDED_OVER"
REVIEW_CLOSED = "CLOSED"  # its case ended without a decision (the approval timed out)
_PENDING_PARTITION = "PENDING"
# A review item outlives its link and its deadline by this long, so that a late click still gets a clear page
# ("expired", "handed over"); then DynamoDB's TTL (``expires_at``) removes it, task token and all.
REVIEW_ITEM_GRACE_SECONDS = 14 * 86_400


@dataclass(frozen=True)
class ReviewRecord:
    """A review as stored. ``task_token`` is secret: never log it, never render it.

    ``expires_at`` is the expiry of the link first sent; ``due_at`` is when the approval step times out (Unix
    seconds, 0 when unknown). ``recipients`` are the addresses the reviewer chose when approving.
    """

    review_id: str
    case_id: str
    reviewer: str
    task_token: str
    expires_at: int  # Unix seconds
    status: str  # REVIEW_PENDING | REVIEW_DECIDED | REVIEW_HANDED_OVER | REVIEW_CLOSED
    created_at: str
    decision: ReviewDecision | None = None
    due_at: int = 0
    reminded_at: str = ""
    handed_over_from: str = ""
    handed_over_to: str = ""
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class PendingReview:
    """A pending review as the ``PendingReviews`` index holds it: no task token, no decision."""

    review_id: str
    case_id: str
    reviewer: str
    expires_at: int
    due_at: int
    reminded_at: str


def _review_key(review_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"REVIEW#{review_id}"}, "sk": {"S": "REVIEW"}}


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
        # The one place transitions become metrics (counts, intervals): only after the save succeeded.
        publish_case_transition(record)

    def case_documents(self) -> Iterator[dict[str, Any]]:
        """Every case record as stored (JSON), in no particular order: a paginated scan, for reports only.

        Documents rather than records, so a reader can report a record it cannot load instead of stopping.
        """
        paginator = client("dynamodb").get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table,
            FilterExpression="sk = :case",
            ExpressionAttributeValues={":case": {"S": "CASE"}},
        ):
            for item in page.get("Items", []):
                document: dict[str, Any] = json.loads(item["doc"]["S"])
                yield document

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
            # In the sparse re-check index while the case is due for a re-check; a save without them leaves it.
            **recheck_index_attributes(record),
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

    # -- reviewer's note and delivery outcomes ------------------------------------------------------------------
    def put_reviewer_note(self, case_id: str, note: FreeText) -> None:
        """Store the reviewing officer's note to the recipient; notices rendered from now on show it."""
        client("dynamodb").put_item(
            TableName=self.table,
            Item={
                "pk": _case_pk(case_id),
                "sk": {"S": "NOTE#reviewer"},
                "doc": {"S": json.dumps({"text": note.text, "language": note.language}, ensure_ascii=False)},
            },
        )

    def reviewer_note(self, case_id: str) -> FreeText | None:
        """The reviewing officer's note to the recipient, or None."""
        item = (
            client("dynamodb")
            .get_item(
                TableName=self.table,
                Key={"pk": _case_pk(case_id), "sk": {"S": "NOTE#reviewer"}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        if not item:
            return None
        doc = json.loads(item["doc"]["S"])
        return FreeText.of("reviewer_note", str(doc.get("text", "")), str(doc.get("language", "")))

    def record_delivery(self, outcome: DeliveryOutcome, event: CaseEvent) -> bool:
        """Store what SES reported about one recipient of a notice, with its audit event, atomically.

        False when the same report was stored before (SNS delivers at least once): nothing is written twice.
        """
        try:
            client("dynamodb").transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {
                                "pk": _case_pk(outcome.case_id),
                                "sk": {"S": f"DELIVERY#{outcome.dedupe_key}"},
                                "doc": {
                                    "S": json.dumps(outcome.to_dict(), ensure_ascii=False, sort_keys=True)
                                },
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": self.table, "Item": _event_item(outcome.case_id, event)}},
                ]
            )
        except ClientError as error:
            if _is_conditional_failure(error):
                return False
            raise
        return True

    def deliveries(self, case_id: str) -> list[DeliveryOutcome]:
        """Every delivery outcome SES reported for the case's notices, oldest first."""
        outcomes = [DeliveryOutcome.from_dict(doc) for doc in self._query_docs(case_id, "DELIVERY#")]
        return sorted(outcomes, key=lambda outcome: outcome.at)

    def undeliverable_addresses(self, case_id: str) -> set[str]:
        """Addresses of this case that hard-bounced or complained: a follow-up must not use them again."""
        return {outcome.address for outcome in self.deliveries(case_id) if outcome.undeliverable}

    # -- reviews ----------------------------------------------------------------------------------------------
    def put_review(self, review: ReviewRecord) -> None:
        """Store a new review; a pending one with a deadline enters the ``PendingReviews`` index."""
        item: dict[str, Any] = {
            **_review_key(review.review_id),
            "case_id": {"S": review.case_id},
            "reviewer": {"S": review.reviewer},
            "task_token": {"S": review.task_token},
            "link_expires_at": {"N": str(review.expires_at)},
            # The table's TTL attribute: the item goes some time after both the link and the deadline have.
            "expires_at": {"N": str(max(review.expires_at, review.due_at) + REVIEW_ITEM_GRACE_SECONDS)},
            "review_status": {"S": review.status},
            "created_at": {"S": review.created_at},
            "due_at": {"N": str(review.due_at)},
        }
        if review.handed_over_from:
            item["handed_over_from"] = {"S": review.handed_over_from}
        if review.status == REVIEW_PENDING and review.due_at:
            item[PENDING_PARTITION_ATTRIBUTE] = {"S": _PENDING_PARTITION}
            item[PENDING_DUE_ATTRIBUTE] = {"N": str(review.due_at)}
        client("dynamodb").put_item(
            TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )

    def get_review(self, review_id: str) -> ReviewRecord | None:
        item = (
            client("dynamodb")
            .get_item(TableName=self.table, Key=_review_key(review_id), ConsistentRead=True)
            .get("Item")
        )
        if not item:
            return None
        decision = json.loads(item["decision"]["S"]) if "decision" in item else None
        # Reviews stored before links and the TTL were told apart carry the link's expiry in expires_at.
        link_expiry = item.get("link_expires_at", item["expires_at"])
        return ReviewRecord(
            review_id=review_id,
            case_id=item["case_id"]["S"],
            reviewer=item["reviewer"]["S"],
            task_token=item["task_token"]["S"],
            expires_at=int(link_expiry["N"]),
            status=item["review_status"]["S"],
            created_at=item["created_at"]["S"],
            decision=ReviewDecision.from_dict(decision) if decision else None,
            due_at=int(item.get("due_at", {"N": "0"})["N"]),
            reminded_at=item.get("reminded_at", {"S": ""})["S"],
            handed_over_from=item.get("handed_over_from", {"S": ""})["S"],
            handed_over_to=item.get("handed_over_to", {"S": ""})["S"],
            recipients=tuple(json.loads(item["recipients"]["S"])) if "recipients" in item else (),
        )

    def claim_review(
        self,
        review_id: str,
        decision: ReviewDecision,
        *,
        status: str = REVIEW_DECIDED,
        recipients: tuple[str, ...] = (),
        handed_over_to: str = "",
    ) -> bool:
        """Close a pending review with ``decision`` (and the reviewer's choice of recipients, or the reviewer it
        was handed to). False if it was no longer pending: each review is single-use."""
        values: dict[str, Any] = {
            ":closed": {"S": status},
            ":pending": {"S": REVIEW_PENDING},
            ":decision": {"S": json.dumps(decision.to_dict(), ensure_ascii=False)},
            ":recipients": {"S": json.dumps(list(recipients), ensure_ascii=False)},
        }
        update = "SET review_status = :closed, decision = :decision, recipients = :recipients"
        if handed_over_to:
            update += ", handed_over_to = :to"
            values[":to"] = {"S": handed_over_to}
        return self._conditional_review_update(
            review_id,
            f"{update} REMOVE {PENDING_PARTITION_ATTRIBUTE}, {PENDING_DUE_ATTRIBUTE}",
            "review_status = :pending",
            values,
        )

    def approved_recipients(self, record: CaseRecord) -> list[Recipient]:
        """The e-mail recipients the reviewer chose when approving ``record``'s review, in discovered order.

        A review decided without a recorded choice (before recipients could be chosen) gives the first discovered
        e-mail recipient, as the first notice always went to.
        """
        review = self.get_review(record.review_id) if record.review_id else None
        wanted = {a.casefold() for a in review.recipients} if review else set()
        with_address = [r for r in record.recipients if r.address]
        if not wanted:
            return with_address[:1]
        return [r for r in with_address if r.address.casefold() in wanted]

    def close_review(self, review_id: str) -> bool:
        """Take a pending review whose case ended without a decision out of the pending index."""
        return self._conditional_review_update(
            review_id,
            f"SET review_status = :closed REMOVE {PENDING_PARTITION_ATTRIBUTE}, {PENDING_DUE_ATTRIBUTE}",
            "review_status = :pending",
            {":closed": {"S": REVIEW_CLOSED}, ":pending": {"S": REVIEW_PENDING}},
        )

    def claim_reminder(self, review_id: str, at: str) -> bool:
        """Mark a pending review reminded; False if it was reminded already or is no longer pending."""
        return self._conditional_review_update(
            review_id,
            "SET reminded_at = :at",
            "review_status = :pending AND attribute_not_exists(reminded_at)",
            {":at": {"S": at}, ":pending": {"S": REVIEW_PENDING}},
        )

    def release_reminder(self, review_id: str) -> None:
        """Undo :meth:`claim_reminder` when the reminder could not be sent, so the next run tries again."""
        client("dynamodb").update_item(
            TableName=self.table, Key=_review_key(review_id), UpdateExpression="REMOVE reminded_at"
        )

    def pending_reviews(self, *, due_before: int | None = None) -> list[PendingReview]:
        """Pending reviews from the sparse index, soonest deadline first (only those due before ``due_before``)."""
        condition = "#p = :pending"
        names = {"#p": PENDING_PARTITION_ATTRIBUTE}
        values: dict[str, Any] = {":pending": {"S": _PENDING_PARTITION}}
        if due_before is not None:
            condition += " AND #d <= :before"
            names["#d"] = PENDING_DUE_ATTRIBUTE
            values[":before"] = {"N": str(due_before)}
        paginator = client("dynamodb").get_paginator("query")
        found: list[PendingReview] = []
        for page in paginator.paginate(
            TableName=self.table,
            IndexName=PENDING_REVIEWS_INDEX,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        ):
            found.extend(
                PendingReview(
                    review_id=item["pk"]["S"].removeprefix("REVIEW#"),
                    case_id=item["case_id"]["S"],
                    reviewer=item["reviewer"]["S"],
                    expires_at=int(item["link_expires_at"]["N"]),
                    due_at=int(item[PENDING_DUE_ATTRIBUTE]["N"]),
                    reminded_at=item.get("reminded_at", {"S": ""})["S"],
                )
                for item in page.get("Items", [])
            )
        return found

    def _conditional_review_update(
        self, review_id: str, update: str, condition: str, values: dict[str, Any]
    ) -> bool:
        try:
            client("dynamodb").update_item(
                TableName=self.table,
                Key=_review_key(review_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
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
