"""After the notice: the hourly re-check function, its schedule, its grants, the re-check index and the settings."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from takedown import config as runtime
from takedown_infra import ids
from takedown_infra.constructs.follow_up import RECHECK_SCHEDULE
from takedown_infra.deployment import DeploymentConfig, DeploymentConfigError
from tests.infra.template_reading import (
    actions_of,
    logical_id,
    object_prefixes_allowed,
    resources_of,
    resources_of_type,
    role_policy_statements,
)

if TYPE_CHECKING:
    from tests.infra.conftest import SynthesizedStack


def _function(synthesized: SynthesizedStack) -> dict[str, Any]:
    resource: dict[str, Any] = synthesized.resources[logical_id(synthesized.stack.follow_up.recheck_function)]
    return resource


def _statements(synthesized: SynthesizedStack) -> list[dict[str, Any]]:
    role = synthesized.stack.follow_up.recheck_function.role
    assert role is not None
    return role_policy_statements(synthesized.resources, logical_id(role))


def test_an_hourly_rule_invokes_the_recheck_function(synthesized: SynthesizedStack) -> None:
    # GIVEN the rules that target the re-check function
    target = {"Fn::GetAtt": [logical_id(synthesized.stack.follow_up.recheck_function), "Arn"]}
    rules = [
        r["Properties"]
        for r in resources_of_type(synthesized.resources, "AWS::Events::Rule").values()
        if any(t["Arn"] == target for t in r["Properties"]["Targets"])
    ]

    # THEN one enabled rule runs it every hour, and EventBridge retries a failed invocation
    assert RECHECK_SCHEDULE == "rate(1 hour)"
    assert [(r["ScheduleExpression"], r["State"]) for r in rules] == [("rate(1 hour)", "ENABLED")]
    assert rules[0]["Targets"][0]["RetryPolicy"] == {"MaximumRetryAttempts": 2}


def test_the_recheck_function_gets_the_follow_up_settings(synthesized: SynthesizedStack) -> None:
    # GIVEN its environment
    variables = _function(synthesized)["Properties"]["Environment"]["Variables"]
    config = synthesized.config

    # THEN the settings come from the deployment file, the officer defaults to the first reviewer, and it knows
    # the one state machine it may start
    assert variables[runtime.ENV_RECHECK_INTERVAL_HOURS] == str(config.recheck_interval_hours)
    assert variables[runtime.ENV_FOLLOW_UP_INTERVAL_HOURS] == str(config.follow_up_interval_hours)
    assert variables[runtime.ENV_ESCALATE_AFTER_INTERVALS] == str(config.escalate_after_intervals)
    assert variables[runtime.ENV_FOLLOW_UP_POLICY] == config.follow_up_policy == "review"
    assert variables[runtime.ENV_OFFICER_IN_CHARGE] == config.reviewers[0]
    assert variables[runtime.ENV_STATE_MACHINE_ARN] == {
        "Ref": logical_id(synthesized.stack.workflow.state_machine)
    }


def test_the_recheck_function_may_start_executions_of_this_state_machine_only(
    synthesized: SynthesizedStack,
) -> None:
    # GIVEN every Step Functions permission of its role
    granted = [
        (action, resources_of(s))
        for s in _statements(synthesized)
        for action in actions_of(s)
        if action.startswith("states:")
    ]
    # THEN it is StartExecution, on the stack's state machine, and nothing else
    assert granted == [
        ("states:StartExecution", [{"Ref": logical_id(synthesized.stack.workflow.state_machine)}])
    ]


@pytest.mark.parametrize(
    ("action", "prefixes"),
    [("s3:GetObject", {"bank-index/"}), ("s3:PutObject", set()), ("s3:DeleteObject", set())],
)
def test_the_recheck_function_reads_only_the_bank_index_of_the_evidence_bucket(
    synthesized: SynthesizedStack, action: str, prefixes: set[str]
) -> None:
    role = synthesized.stack.follow_up.recheck_function.role
    assert role is not None
    bucket = logical_id(synthesized.stack.storage.evidence_bucket)
    assert object_prefixes_allowed(synthesized.resources, logical_id(role), bucket, action) == prefixes


def test_the_recheck_function_writes_cases_and_only_reads_the_bank(synthesized: SynthesizedStack) -> None:
    storage = synthesized.stack.storage
    writes = {
        r["Fn::GetAtt"][0]
        for s in _statements(synthesized)
        if "dynamodb:PutItem" in actions_of(s)
        for r in resources_of(s)
        if isinstance(r, dict) and "Fn::GetAtt" in r
    }
    assert writes == {logical_id(storage.cases_table)}


def test_the_cases_table_has_the_sparse_recheck_index(synthesized: SynthesizedStack) -> None:
    # GIVEN the cases table
    table = synthesized.resources[logical_id(synthesized.stack.storage.cases_table)]["Properties"]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}

    # THEN the re-check index is keyed on the partition and due time, and projects keys only
    index = indexes[runtime.RECHECK_DUE_INDEX]
    assert index["KeySchema"] == [
        {"AttributeName": runtime.RECHECK_PARTITION_ATTRIBUTE, "KeyType": "HASH"},
        {"AttributeName": runtime.RECHECK_DUE_ATTRIBUTE, "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_send_and_close_schedule_checks_with_the_deployment_interval(synthesized: SynthesizedStack) -> None:
    for construct_id in (ids.SEND_NOTICE_FUNCTION, ids.CLOSE_CASE_FUNCTION):
        function = synthesized.stack.functions[construct_id]
        variables = synthesized.resources[logical_id(function)]["Properties"]["Environment"]["Variables"]
        assert variables[runtime.ENV_RECHECK_INTERVAL_HOURS] == str(synthesized.config.recheck_interval_hours)
        assert variables[runtime.ENV_FOLLOW_UP_POLICY] == synthesized.config.follow_up_policy


# --- the deployment file ----------------------------------------------------------------------------------------


def _document(example_config: DeploymentConfig, **changes: Any) -> dict[str, Any]:
    base = {
        "stack_name": example_config.stack_name,
        "centre_name": example_config.centre_name,
        "sender": example_config.sender,
        "reply_to": example_config.reply_to,
        "reviewers": list(example_config.reviewers),
        "review_link_ttl_hours": example_config.review_link_ttl_hours,
        "approval_timeout_hours": example_config.approval_timeout_hours,
        "crawl_schedule": example_config.crawl_schedule,
        "sources_file": example_config.sources_file,
        "evidence_retention_days": example_config.evidence_retention_days,
        "phash_max_distance": example_config.phash_max_distance,
        "removal_policy": example_config.removal_policy,
        "max_media_bytes": example_config.max_media_bytes,
    }
    return {**base, **changes}


def test_follow_up_settings_default_to_daily_checks_three_intervals_a_rung_and_review(
    example_config: DeploymentConfig,
) -> None:
    config = DeploymentConfig.from_mapping(_document(example_config))
    assert (
        config.recheck_interval_hours,
        config.follow_up_interval_hours,
        config.escalate_after_intervals,
        config.follow_up_policy,
        config.officer_in_charge,
    ) == (24, 24, 3, "review", "")


def test_follow_up_settings_are_read_and_checked(example_config: DeploymentConfig) -> None:
    config = DeploymentConfig.from_mapping(
        _document(
            example_config,
            recheck_interval_hours=12,
            follow_up_interval_hours=48,
            escalate_after_intervals=2,
            follow_up_policy="auto-same-recipient",
            officer_in_charge="officer@example.org",
        )
    )
    assert replace(config) == config
    assert (
        config.recheck_interval_hours,
        config.follow_up_interval_hours,
        config.escalate_after_intervals,
    ) == (
        12,
        48,
        2,
    )
    assert (config.follow_up_policy, config.officer_in_charge) == (
        "auto-same-recipient",
        "officer@example.org",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"follow_up_policy": "auto"}, "follow_up_policy: must be one of review, auto-same-recipient"),
        ({"recheck_interval_hours": 0}, "recheck_interval_hours: must be between 1 and 720"),
        ({"follow_up_interval_hours": True}, "follow_up_interval_hours: must be an integer"),
        ({"escalate_after_intervals": 31}, "escalate_after_intervals: must be between 1 and 30"),
        ({"officer_in_charge": "Officer <o@example.org>"}, "officer_in_charge: 'Officer <o@example.org>'"),
    ],
)
def test_bad_follow_up_settings_are_refused_naming_the_key(
    example_config: DeploymentConfig, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(DeploymentConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        DeploymentConfig.from_mapping(_document(example_config, **change))
