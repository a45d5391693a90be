"""Least privilege: who may resume the workflow, start it, send mail, read the link key, touch what."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from takedown_infra import ids
from tests.infra.template_reading import (
    actions_of,
    logical_id,
    object_prefixes_allowed,
    render_intrinsics,
    resource_allowed,
    resources_of,
    resources_of_type,
    role_policy_statements,
    roles_allowed,
)

if TYPE_CHECKING:
    from aws_cdk import aws_iam as iam

    from tests.infra.conftest import SynthesizedStack

# Actions that IAM cannot scope to a resource; nothing else may be granted on "*".
ACTIONS_ALLOWED_ON_STAR = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "states:SendTaskSuccess",
    "states:SendTaskFailure",
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
}


# construct id -> S3 action -> the evidence bucket prefixes it may act on (every other prefix: refused).
EXPECTED_OBJECT_ACCESS: dict[str, dict[str, set[str]]] = {
    ids.HASH_MEDIA_FUNCTION: {
        "s3:GetObject": {"media/", "sightings/", "bank-index/"},
        "s3:DeleteObject": {"media/"},
        "s3:PutObjectRetention": {"media/", "sightings/", "captures/"},
        # The reviewer's thumbnail of a candidate: a plain put, never a retention (thumbnails are not evidence).
        "s3:PutObject": {"thumbnails/"},
    },
    ids.HASH_VIDEO_FUNCTION: {
        "s3:GetObject": {"video/", "sightings/", "bank-index/"},
        "s3:DeleteObject": {"video/"},
        "s3:PutObjectRetention": {"video/", "sightings/", "captures/"},
        "s3:PutObject": {"thumbnails/"},
    },
    ids.SCORE_MATCH_FUNCTION: {
        "s3:GetObject": {"bank-index/"},
        "s3:DeleteObject": set(),
        "s3:PutObjectRetention": set(),
        "s3:PutObject": set(),
    },
    ids.CRAWL_PAGE_FUNCTION: {
        "s3:GetObject": set(),
        "s3:DeleteObject": set(),
        # CDK's put grant carries PutObjectRetention (and LegalHold) for the prefixes it writes.
        "s3:PutObjectRetention": {"media/", "video/", "sightings/", "captures/"},
        "s3:PutObject": {"media/", "video/", "sightings/", "captures/"},
    },
    # The report and, when a reviewer asks, the thumbnail; never the media itself.
    ids.REVIEW_API_FUNCTION: {
        "s3:GetObject": {"evidence/", "thumbnails/"},
        "s3:DeleteObject": set(),
        "s3:PutObjectRetention": set(),
        "s3:PutObject": set(),
    },
}
OBJECT_ACCESS_CASES = [
    (construct_id, action, prefixes)
    for construct_id, by_action in EXPECTED_OBJECT_ACCESS.items()
    for action, prefixes in by_action.items()
]


MAIL_SENDERS = (
    ids.REQUEST_APPROVAL_FUNCTION,
    ids.REVIEW_API_FUNCTION,
    ids.REMIND_REVIEWERS_FUNCTION,
    ids.SEND_NOTICE_FUNCTION,
    ids.RECHECK_CASES_FUNCTION,
)


def role_id(synthesized: SynthesizedStack, construct_id: str) -> str:
    role: iam.IRole | None = synthesized.stack.functions[construct_id].role
    assert role is not None
    return logical_id(role)


def function_roles(synthesized: SynthesizedStack, *construct_ids: str) -> set[str]:
    return {role_id(synthesized, cid) for cid in construct_ids}


@pytest.mark.parametrize("action", ["states:SendTaskSuccess", "states:SendTaskFailure"])
def test_only_the_review_function_may_resume_the_workflow(synthesized: SynthesizedStack, action: str) -> None:
    # GIVEN every role of the stack WHEN those allowed to send task results are found
    # THEN it is the review API function's role alone
    assert roles_allowed(synthesized.resources, action) == function_roles(
        synthesized, ids.REVIEW_API_FUNCTION
    )


def test_only_hashing_and_recheck_may_start_executions_of_this_state_machine(
    synthesized: SynthesizedStack,
) -> None:
    # GIVEN the roles allowed states:StartExecution
    allowed = roles_allowed(synthesized.resources, "states:StartExecution")
    starters = function_roles(
        synthesized, ids.HASH_MEDIA_FUNCTION, ids.HASH_VIDEO_FUNCTION, ids.RECHECK_CASES_FUNCTION
    )

    # THEN only the two hashing functions (first notices) and the re-check (follow-ups) have it, each on the
    # stack's state machine only
    assert allowed == starters
    for hashing_role in starters:
        granted = [
            resources_of(s)
            for s in role_policy_statements(synthesized.resources, hashing_role)
            if "states:StartExecution" in actions_of(s)
        ]
        assert granted == [[{"Ref": logical_id(synthesized.stack.workflow.state_machine)}]]


@pytest.mark.parametrize("action", ["states:SendTaskSuccess", "states:SendTaskFailure"])
def test_video_hashing_may_not_resume_the_workflow(synthesized: SynthesizedStack, action: str) -> None:
    # GIVEN the video hashing function's role WHEN the roles allowed to send task results are found
    # THEN it is not among them: starting a case is all it may do to the workflow
    assert role_id(synthesized, ids.HASH_VIDEO_FUNCTION) not in roles_allowed(synthesized.resources, action)


@pytest.mark.parametrize("action", ["ses:SendEmail", "ses:SendRawEmail"])
def test_only_approval_and_notice_functions_send_mail(synthesized: SynthesizedStack, action: str) -> None:
    # GIVEN the roles allowed to send through SES
    allowed = roles_allowed(synthesized.resources, action)

    # THEN they are the functions that email reviewers (the approval request, the review function for a
    # hand-over, the reminder), the send-notice function, and the re-check (the officer's email)
    assert allowed == function_roles(synthesized, *MAIL_SENDERS)


@pytest.mark.parametrize("construct_id", MAIL_SENDERS)
def test_mail_is_scoped_to_the_sender_identity_and_configuration_set(
    synthesized: SynthesizedStack, construct_id: str
) -> None:
    # GIVEN the SES statement of a sending function
    statements = [
        s
        for s in role_policy_statements(synthesized.resources, role_id(synthesized, construct_id))
        if "ses:SendEmail" in actions_of(s)
    ]

    # THEN it names exactly the sender identity and the configuration set
    notifications = synthesized.stack.notifications
    assert len(statements) == 1
    arns = sorted(render_intrinsics(resource) for resource in resources_of(statements[0]))
    prefix = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}"
    assert arns == [
        f"{prefix}:configuration-set/${{{logical_id(notifications.configuration_set)}}}",
        f"{prefix}:identity/${{{logical_id(notifications.identity)}}}",
    ]


@pytest.mark.parametrize("action", ["secretsmanager:GetSecretValue"])
def test_only_link_signers_and_checkers_read_the_link_key(synthesized: SynthesizedStack, action: str) -> None:
    # GIVEN the roles allowed to read secrets
    allowed = roles_allowed(synthesized.resources, action)

    # THEN they are the functions that sign links (the approval request, the reminder) and the review function
    # (which checks them, and signs a hand-over's), on the link key only
    assert allowed == function_roles(
        synthesized, ids.REQUEST_APPROVAL_FUNCTION, ids.REVIEW_API_FUNCTION, ids.REMIND_REVIEWERS_FUNCTION
    )
    secret = {"Ref": logical_id(synthesized.stack.approval.link_key_secret)}
    for role in allowed:
        granted = [
            resources_of(s)
            for s in role_policy_statements(synthesized.resources, role)
            if action in actions_of(s)
        ]
        assert granted == [[secret]]


def test_only_hashing_deletes_objects(synthesized: SynthesizedStack) -> None:
    # GIVEN the roles allowed to delete S3 objects THEN only hashing (unmatched media and videos) may
    assert roles_allowed(synthesized.resources, "s3:DeleteObject") == function_roles(
        synthesized, ids.HASH_MEDIA_FUNCTION, ids.HASH_VIDEO_FUNCTION
    )


def test_nobody_writes_the_hash_bank(synthesized: SynthesizedStack) -> None:
    # GIVEN the bank table
    bank = logical_id(synthesized.stack.storage.bank_table)

    # WHEN the statements that allow writing items are collected
    writers = [
        s
        for role in resources_of_type(synthesized.resources, "AWS::IAM::Role")
        for s in role_policy_statements(synthesized.resources, role)
        if {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"} & set(actions_of(s))
    ]

    # THEN none of them reaches the bank table (banks are loaded by operators, not by the pipeline)
    assert writers
    assert all(bank not in str(resources_of(s)) for s in writers)


def test_nothing_else_is_granted_on_star(synthesized: SynthesizedStack) -> None:
    # GIVEN every Allow statement of every role
    on_star = {
        action
        for role in resources_of_type(synthesized.resources, "AWS::IAM::Role")
        for s in role_policy_statements(synthesized.resources, role)
        if s.get("Effect") == "Allow" and "*" in resources_of(s)
        for action in actions_of(s)
    }

    # THEN only actions without resource-level permissions are granted on "*"
    assert on_star
    assert on_star <= ACTIONS_ALLOWED_ON_STAR


def test_no_action_wildcard_covers_a_whole_service(synthesized: SynthesizedStack) -> None:
    # GIVEN every action of every role
    actions = {
        action
        for role in resources_of_type(synthesized.resources, "AWS::IAM::Role")
        for s in role_policy_statements(synthesized.resources, role)
        for action in actions_of(s)
    }

    # THEN no grant is "*" or "service:*"
    assert actions
    assert not [a for a in actions if a == "*" or a.endswith(":*")]


@pytest.mark.parametrize("construct_id", ids.ALL_FUNCTIONS)
def test_function_roles_have_no_managed_policies(synthesized: SynthesizedStack, construct_id: str) -> None:
    # GIVEN a function's role THEN its permissions come only from the grants, never from a managed policy
    role = synthesized.resources[role_id(synthesized, construct_id)]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]


def test_only_the_state_machine_invokes_workflow_functions(synthesized: SynthesizedStack) -> None:
    # GIVEN the roles allowed lambda:InvokeFunction
    allowed = roles_allowed(synthesized.resources, "lambda:InvokeFunction")

    # THEN it is the state machine's role alone
    role = synthesized.stack.workflow.state_machine.role
    assert allowed == {logical_id(role)}


@pytest.mark.parametrize(("construct_id", "action", "prefixes"), OBJECT_ACCESS_CASES)
def test_evidence_bucket_object_access_per_prefix(
    synthesized: SynthesizedStack, construct_id: str, action: str, prefixes: set[str]
) -> None:
    # GIVEN a function's role and the evidence bucket
    bucket = logical_id(synthesized.stack.storage.evidence_bucket)

    # WHEN the object prefixes it may act on are collected
    allowed = object_prefixes_allowed(
        synthesized.resources, role_id(synthesized, construct_id), bucket, action
    )

    # THEN they are exactly its own (never the whole bucket)
    assert allowed == prefixes


@pytest.mark.parametrize("construct_id", [ids.HASH_MEDIA_FUNCTION, ids.HASH_VIDEO_FUNCTION])
def test_hashing_table_access(synthesized: SynthesizedStack, construct_id: str) -> None:
    # GIVEN a hashing function's role and the three tables
    storage = synthesized.stack.storage
    role = role_id(synthesized, construct_id)

    def may(action: str, table: str) -> bool:
        return resource_allowed(synthesized.resources, role, table, action)

    bank, cases, crawl = (
        logical_id(t) for t in (storage.bank_table, storage.cases_table, storage.crawl_table)
    )

    # THEN it reads the bank without writing it, opens cases (a Put) without reading or changing them, and writes
    # crawl outcomes
    assert may("dynamodb:Query", bank)
    assert not may("dynamodb:PutItem", bank)
    assert may("dynamodb:PutItem", cases)
    assert not may("dynamodb:GetItem", cases)
    assert not may("dynamodb:UpdateItem", cases)
    assert may("dynamodb:PutItem", crawl)


def test_scoring_reads_the_bank_table_and_index(synthesized: SynthesizedStack) -> None:
    # GIVEN the score function's role
    role = role_id(synthesized, ids.SCORE_MATCH_FUNCTION)
    storage = synthesized.stack.storage

    # THEN it keeps its read of the bank table, and may decrypt what it reads from the bucket's key
    assert resource_allowed(synthesized.resources, role, logical_id(storage.bank_table), "dynamodb:Query")
    assert resource_allowed(synthesized.resources, role, logical_id(storage.key), "kms:Decrypt")


# construct id -> the DynamoDB actions it may use on the cases table's items, and on each of its indexes, by name.
# Read off the code of each handler and the stores it calls (see infra/takedown_infra/constructs/case_access.py).
# A transaction's Put is dynamodb:PutItem to IAM; a paginated query is dynamodb:Query.
CASE_STEP = {"dynamodb:GetItem", "dynamodb:PutItem"}
EXPECTED_CASE_ACCESS: dict[str, tuple[set[str], dict[str, set[str]]]] = {
    ids.DISPATCH_CRAWL_FUNCTION: (set(), {}),
    ids.CRAWL_PAGE_FUNCTION: (set(), {}),
    ids.HASH_MEDIA_FUNCTION: ({"dynamodb:PutItem"}, {}),
    ids.HASH_VIDEO_FUNCTION: ({"dynamodb:PutItem"}, {}),
    ids.SCORE_MATCH_FUNCTION: (CASE_STEP | {"dynamodb:Query"}, {}),
    ids.RESOLVE_RECIPIENTS_FUNCTION: (CASE_STEP, {}),
    ids.BUILD_REPORT_FUNCTION: (CASE_STEP | {"dynamodb:Query"}, {}),
    ids.DRAFT_NOTICE_FUNCTION: (CASE_STEP, {}),
    ids.RENDER_NOTICE_LOCALE_FUNCTION: (CASE_STEP, {}),
    ids.REQUEST_APPROVAL_FUNCTION: (CASE_STEP, {}),
    ids.SEND_NOTICE_FUNCTION: (
        CASE_STEP | {"dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
        {},
    ),
    ids.CLOSE_CASE_FUNCTION: (CASE_STEP, {}),
    ids.REVIEW_API_FUNCTION: (
        CASE_STEP | {"dynamodb:Query", "dynamodb:UpdateItem"},
        {"PendingReviews": {"dynamodb:Query"}},
    ),
    ids.REMIND_REVIEWERS_FUNCTION: (
        CASE_STEP | {"dynamodb:UpdateItem"},
        {"PendingReviews": {"dynamodb:Query"}},
    ),
    ids.RECHECK_CASES_FUNCTION: (CASE_STEP | {"dynamodb:Query"}, {"RecheckDue": {"dynamodb:Query"}}),
    ids.MAIL_FEEDBACK_FUNCTION: (CASE_STEP, {}),
}


def case_table_grants(synthesized: SynthesizedStack, construct_id: str) -> dict[str, set[str]]:
    """Resource on the cases table (``""`` for the table, ``index/<name>`` for an index, ``index/*``) -> actions."""
    table = "${" + logical_id(synthesized.stack.storage.cases_table) + ".Arn}"
    grants: dict[str, set[str]] = {}
    for statement in role_policy_statements(synthesized.resources, role_id(synthesized, construct_id)):
        if statement.get("Effect") != "Allow":
            continue
        for resource in resources_of(statement):
            arn = render_intrinsics(resource)
            if arn == table or arn.startswith(table + "/"):
                part = arn.removeprefix(table).removeprefix("/")
                grants.setdefault(part, set()).update(actions_of(statement))
    return grants


def test_every_function_is_in_the_case_access_table() -> None:
    # GIVEN the stack's functions THEN each has a row saying what it may do on the cases table
    assert set(EXPECTED_CASE_ACCESS) == set(ids.ALL_FUNCTIONS)


@pytest.mark.parametrize("construct_id", sorted(EXPECTED_CASE_ACCESS))
def test_each_function_has_only_the_case_table_actions_its_code_uses(
    synthesized: SynthesizedStack, construct_id: str
) -> None:
    # GIVEN what a function's role may do on the cases table and its indexes
    grants = case_table_grants(synthesized, construct_id)
    items, indexes = EXPECTED_CASE_ACCESS[construct_id]
    # THEN it is exactly the item actions its code calls on the table, and Query on the indexes it reads, each
    # named: no Scan, no batch writes, no index wildcard, nothing it does not call
    expected = ({"": items} if items else {}) | {
        f"index/{name}": actions for name, actions in indexes.items()
    }
    assert grants == expected


def test_nobody_may_scan_batch_write_or_delete_cases(synthesized: SynthesizedStack) -> None:
    # GIVEN the cases table
    table = logical_id(synthesized.stack.storage.cases_table)
    # THEN no role may scan it or batch-write it, and only the send step (releasing a claim SES refused) may delete
    for action in ("dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem"):
        assert not [
            r
            for r in resources_of_type(synthesized.resources, "AWS::IAM::Role")
            if resource_allowed(synthesized.resources, r, table, action)
        ], action
    deleters = {
        r
        for r in resources_of_type(synthesized.resources, "AWS::IAM::Role")
        if resource_allowed(synthesized.resources, r, table, "dynamodb:DeleteItem")
    }
    assert deleters == function_roles(synthesized, ids.SEND_NOTICE_FUNCTION)


@pytest.mark.parametrize("construct_id", sorted(c for c, (items, _) in EXPECTED_CASE_ACCESS.items() if items))
def test_functions_that_use_cases_may_use_the_tables_key(
    synthesized: SynthesizedStack, construct_id: str
) -> None:
    # GIVEN a function with access to the cases table THEN it may encrypt and decrypt with the table's key
    key = logical_id(synthesized.stack.storage.key)
    role = role_id(synthesized, construct_id)
    for action in ("kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"):
        assert resource_allowed(synthesized.resources, role, key, action), action
