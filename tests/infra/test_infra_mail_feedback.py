"""Mail feedback (SES events -> SNS -> MailFeedbackFunction, with a dead-letter queue) and the free-text
translation option of the render function."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk.assertions import Annotations, Match, Template

from takedown import config as runtime
from takedown_infra import ids
from takedown_infra.constructs.translation import TRANSLATE_ACTIONS
from takedown_infra.deployment import DeploymentConfig, DeploymentConfigError
from tests.infra.conftest import build_stack
from tests.infra.repo_paths import EXAMPLE_CONFIG
from tests.infra.template_reading import (
    actions_of,
    logical_id,
    resource_allowed,
    resources_of,
    resources_of_type,
    role_policy_statements,
    roles_allowed,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.infra.conftest import SynthesizedStack


def _function_role(synthesized: SynthesizedStack, construct_id: str) -> str:
    function = synthesized.stack.functions[construct_id]
    assert function.role is not None
    return logical_id(function.role)


def _only(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    assert len(resources) == 1, sorted(resources)
    return next(iter(resources.values()))


def test_the_feedback_function_runs_its_handler(synthesized: SynthesizedStack) -> None:
    function = synthesized.stack.functions[ids.MAIL_FEEDBACK_FUNCTION]
    assert function is synthesized.stack.notifications.feedback_function
    properties = synthesized.resources[logical_id(function)]["Properties"]
    assert properties["Handler"] == "takedown.handlers.handle_mail_feedback.handler"
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert runtime.ENV_CASES_TABLE in properties["Environment"]["Variables"]


def test_the_topic_delivers_to_the_function_and_undeliverable_events_to_the_queue(
    synthesized: SynthesizedStack,
) -> None:
    # GIVEN the mail events topic, the feedback function and its dead-letter queue
    notifications = synthesized.stack.notifications
    topic = logical_id(notifications.events_topic)
    function = logical_id(notifications.feedback_function)
    queue = logical_id(notifications.feedback_dead_letter_queue)
    # THEN the one subscription is the function's, with the queue for what SNS cannot deliver
    subscription = _only(resources_of_type(synthesized.resources, "AWS::SNS::Subscription"))["Properties"]
    assert subscription["Protocol"] == "lambda"
    assert subscription["TopicArn"] == {"Ref": topic}
    assert subscription["Endpoint"] == {"Fn::GetAtt": [function, "Arn"]}
    assert subscription["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [queue, "Arn"]}}
    # AND SNS (from this topic only) may invoke the function
    permissions = [
        p["Properties"]
        for p in resources_of_type(synthesized.resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function, "Arn"]}
    ]
    assert [(p["Principal"], p["SourceArn"]) for p in permissions] == [("sns.amazonaws.com", {"Ref": topic})]
    # AND what the function fails on after two retries goes to the same queue
    invoke_config = _only(resources_of_type(synthesized.resources, "AWS::Lambda::EventInvokeConfig"))
    assert invoke_config["Properties"]["MaximumRetryAttempts"] == 2
    assert invoke_config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": [queue, "Arn"]
    }


def test_the_dead_letter_queue_is_encrypted_with_the_topics_key_and_sns_may_use_it(
    synthesized: SynthesizedStack,
) -> None:
    notifications = synthesized.stack.notifications
    key = logical_id(notifications.events_key)
    queue = synthesized.resources[logical_id(notifications.feedback_dead_letter_queue)]["Properties"]
    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    assert queue["MessageRetentionPeriod"] == 14 * 86_400
    statements = synthesized.resources[key]["Properties"]["KeyPolicy"]["Statement"]
    sns_statement = next(s for s in statements if s.get("Sid") == "AllowSnsToDeadLetterMailEvents")
    assert sns_statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert set(actions_of(sns_statement)) == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert "aws:SourceAccount" in sns_statement["Condition"]["StringEquals"]


def test_deliveries_are_published_besides_bounces_and_complaints(synthesized: SynthesizedStack) -> None:
    destination = _only(
        resources_of_type(synthesized.resources, "AWS::SES::ConfigurationSetEventDestination")
    )
    events = set(destination["Properties"]["EventDestination"]["MatchingEventTypes"])
    assert events == {"bounce", "complaint", "reject", "deliveryDelay", "delivery"}


def test_the_feedback_function_writes_cases_and_nothing_else(synthesized: SynthesizedStack) -> None:
    # GIVEN the feedback function's role
    role = _function_role(synthesized, ids.MAIL_FEEDBACK_FUNCTION)
    storage = synthesized.stack.storage
    queue = logical_id(synthesized.stack.notifications.feedback_dead_letter_queue)
    # THEN it reads and writes the cases table, may dead-letter events, and cannot send mail or read the bank
    assert resource_allowed(synthesized.resources, role, logical_id(storage.cases_table), "dynamodb:PutItem")
    assert resource_allowed(synthesized.resources, role, queue, "sqs:SendMessage")
    assert not resource_allowed(synthesized.resources, role, logical_id(storage.bank_table), "dynamodb:Query")
    assert role not in roles_allowed(synthesized.resources, "ses:SendRawEmail")
    assert role not in roles_allowed(synthesized.resources, "s3:GetObject")


def test_translation_is_off_by_default_and_nobody_may_translate(synthesized: SynthesizedStack) -> None:
    # GIVEN the example deployment, which does not enable free-text translation
    assert synthesized.config.translate_free_text is False
    render = synthesized.stack.functions[ids.RENDER_NOTICE_LOCALE_FUNCTION]
    variables = synthesized.resources[logical_id(render)]["Properties"]["Environment"]["Variables"]
    # THEN the render function is told so, and no role may call Amazon Translate
    assert variables[runtime.ENV_TRANSLATE_FREE_TEXT] == "false"
    for action in TRANSLATE_ACTIONS:
        assert roles_allowed(synthesized.resources, action) == set()


@pytest.fixture(scope="module")
def translating(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any], Annotations]:
    """The stack of a deployment that enables free-text translation (a second synth: slow)."""
    config = dataclasses.replace(DeploymentConfig.load(EXAMPLE_CONFIG), translate_free_text=True)
    _, stack = build_stack(config, tmp_path_factory.mktemp("takedown-translate"))
    return stack, Template.from_stack(stack).to_json()["Resources"], Annotations.from_stack(stack)


def test_with_the_option_only_the_render_function_may_translate(
    translating: tuple[Any, dict[str, Any], Annotations],
) -> None:
    # GIVEN the stack of a deployment with translate_free_text on
    stack, resources, annotations = translating
    render = stack.functions[ids.RENDER_NOTICE_LOCALE_FUNCTION]
    # THEN the render function is told to translate
    variables = resources[logical_id(render)]["Properties"]["Environment"]["Variables"]
    assert variables[runtime.ENV_TRANSLATE_FREE_TEXT] == "true"
    # AND its role, and no other, may call TranslateText (and the language detection it relies on), on "*"
    role = logical_id(render.role)
    for action in TRANSLATE_ACTIONS:
        assert roles_allowed(resources, action) == {role}
    # (CDK merges the statement with the tracing one, which is on "*" too)
    on_star = {
        action
        for s in role_policy_statements(resources, role)
        if resources_of(s) == ["*"]
        for action in actions_of(s)
    }
    assert on_star == {*TRANSLATE_ACTIONS, "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    # AND cdk-nag accepts it, with the reason recorded
    errors = annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert [f"{e.id}: {e.entry.data}" for e in errors] == []
    metadata = json.dumps(resources[next(iter(_policy_ids(resources, role)))].get("Metadata", {}))
    assert "Amazon Translate" in metadata


def _policy_ids(resources: dict[str, dict[str, Any]], role: str) -> list[str]:
    return [
        lid
        for lid, policy in resources_of_type(resources, "AWS::IAM::Policy").items()
        if {"Ref": role} in policy["Properties"].get("Roles", [])
    ]


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_the_translation_option_must_be_a_boolean(value: object, tmp_path: Path) -> None:
    document = {**json.loads(EXAMPLE_CONFIG.read_text("utf-8")), "translate_free_text": value}
    with pytest.raises(DeploymentConfigError, match="translate_free_text: must be true or false"):
        DeploymentConfig.from_mapping(document, source=tmp_path / "deployment.json")
