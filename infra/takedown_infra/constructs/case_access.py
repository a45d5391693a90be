"""Who may do what on the cases table: each function gets exactly the DynamoDB actions its code calls.

CDK's ``grant_read_write_data`` would give every function Scan, BatchWriteItem, DeleteItem, ConditionCheckItem and
the whole table's indexes. Instead, :data:`CASE_ACCESS` lists, per function, the item actions it uses on the table
and the actions it uses on each named index, read off the code (``takedown.aws.case_store`` and the other stores
on the cases table: ``send_ledger``, ``notice_archive``, ``case_groups``, ``addressing_store``, ``recheck_queue``).
A transaction's Put needs ``dynamodb:PutItem`` (IAM checks each item of TransactWriteItems as its own action), and a
paginated query ``dynamodb:Query``. ``tests/infra/test_infra_iam.py`` asserts the resulting policy per function, and
``tests/infra/test_case_access_in_use.py`` runs the functions on the local stack and checks that every call they
make on the table is one this table grants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from aws_cdk import aws_iam as iam

from takedown.config import PENDING_REVIEWS_INDEX, RECHECK_DUE_INDEX
from takedown_infra import ids

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_lambda as lambda_

GET: Final = "dynamodb:GetItem"
PUT: Final = "dynamodb:PutItem"
UPDATE: Final = "dynamodb:UpdateItem"
DELETE: Final = "dynamodb:DeleteItem"
QUERY: Final = "dynamodb:Query"
# What DynamoDB asks of the table's customer managed key for a caller that reads and writes items (as CDK grants).
KEY_ACTIONS: Final = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
)


@dataclass(frozen=True)
class CaseAccess:
    """One function's access to the cases table: actions on its items, and per index name the actions there."""

    items: frozenset[str]
    indexes: Mapping[str, frozenset[str]] = field(default_factory=dict)


# A case step: reads the case and saves it with its event (require/update: GetItem, then a transaction's Puts).
_CASE_STEP = frozenset({GET, PUT})

CASE_ACCESS: Final[Mapping[str, CaseAccess]] = {
    # Opens a case: a conditional Put (with its first event) in one transaction; nothing else.
    ids.HASH_MEDIA_FUNCTION: CaseAccess(frozenset({PUT})),
    ids.HASH_VIDEO_FUNCTION: CaseAccess(frozenset({PUT})),
    # Files the case under its bank groups and reads the other cases of a group (re-uploads).
    ids.SCORE_MATCH_FUNCTION: CaseAccess(_CASE_STEP | {QUERY}),
    ids.RESOLVE_RECIPIENTS_FUNCTION: CaseAccess(_CASE_STEP),
    # The report lists the case's timeline.
    ids.BUILD_REPORT_FUNCTION: CaseAccess(_CASE_STEP | {QUERY}),
    ids.DRAFT_NOTICE_FUNCTION: CaseAccess(_CASE_STEP),
    # Reads the reviewer's note; writes the draft, its addressing blocks and an event.
    ids.RENDER_NOTICE_LOCALE_FUNCTION: CaseAccess(_CASE_STEP),
    # Stores the review (a conditional Put holding the task token).
    ids.REQUEST_APPROVAL_FUNCTION: CaseAccess(_CASE_STEP),
    # The send ledger: claim (Put), confirm (Update), release (Delete), read back (Get); drafts, events, addressing
    # blocks and the notice archive (Query, Put).
    ids.SEND_NOTICE_FUNCTION: CaseAccess(_CASE_STEP | {QUERY, UPDATE, DELETE}),
    ids.CLOSE_CASE_FUNCTION: CaseAccess(_CASE_STEP),
    # Claims a review once (conditional Update), edits drafts, reads the timeline; lists a reviewer's pending reviews.
    ids.REVIEW_API_FUNCTION: CaseAccess(
        _CASE_STEP | {QUERY, UPDATE}, {PENDING_REVIEWS_INDEX: frozenset({QUERY})}
    ),
    # Claims and releases a reminder, closes a review past its deadline (Update); finds pending reviews by deadline.
    ids.REMIND_REVIEWERS_FUNCTION: CaseAccess(
        _CASE_STEP | {UPDATE}, {PENDING_REVIEWS_INDEX: frozenset({QUERY})}
    ),
    # Reads the cases due from the sparse re-check index and their delivery outcomes (Query).
    ids.RECHECK_CASES_FUNCTION: CaseAccess(_CASE_STEP | {QUERY}, {RECHECK_DUE_INDEX: frozenset({QUERY})}),
    # Records a delivery outcome once (a conditional Put in a transaction) on the case it names.
    ids.MAIL_FEEDBACK_FUNCTION: CaseAccess(_CASE_STEP),
}


class CaseAccessError(RuntimeError):
    """The table of case access does not match the stack's functions."""


def grant_case_access(table: dynamodb.ITable, function: lambda_.IFunction, access: CaseAccess) -> None:
    """Grant ``function`` exactly ``access`` on ``table``: item actions on the table, index actions per named index,
    and the use of the table's key."""
    iam.Grant.add_to_principal(
        grantee=function, actions=sorted(access.items), resource_arns=[table.table_arn]
    )
    for index, actions in sorted(access.indexes.items()):
        iam.Grant.add_to_principal(
            grantee=function, actions=sorted(actions), resource_arns=[f"{table.table_arn}/index/{index}"]
        )
    if table.encryption_key is not None:
        table.encryption_key.grant(function, *KEY_ACTIONS)


def grant_case_table_access(table: dynamodb.ITable, functions: Mapping[str, lambda_.IFunction]) -> None:
    """Grant each function of the stack (construct id -> function) its row of :data:`CASE_ACCESS`; a function
    without a row gets nothing on the table.

    Raises
    ------
    CaseAccessError
        When a row names a function the stack does not have (a renamed or removed function).
    """
    unknown = sorted(set(CASE_ACCESS) - set(functions))
    if unknown:
        raise CaseAccessError(f"CASE_ACCESS names functions the stack does not have: {unknown}")
    for construct_id, function in functions.items():
        access = CASE_ACCESS.get(construct_id)
        if access is not None:
            grant_case_access(table, function, access)
