"""Monitoring: the dashboard and every alarm (metric, threshold, action), the alarm topic, and the optional email."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from takedown_infra import ids
from takedown_infra.constructs.monitoring import (
    MonitoredResources,
    MonitoringConstruct,
    find_dead_letter_queues,
)
from takedown_infra.deployment import DeploymentConfig, DeploymentConfigError
from tests.infra.repo_paths import EXAMPLE_CONFIG
from tests.infra.template_reading import logical_id, render_intrinsics, resources_of_type

if TYPE_CHECKING:
    from tests.infra.conftest import SynthesizedStack

# Keys under which CloudFormation resources name a dead-letter target (SQS redrive, Lambda DLQ and on-failure
# destination, SNS subscription redrive, EventBridge and Scheduler target DLQs).
_DEAD_LETTER_KEYS = ("deadletter", "redrive", "onfailure")


def _alarms(synthesized: SynthesizedStack) -> dict[str, dict[str, Any]]:
    return {
        lid: r["Properties"]
        for lid, r in resources_of_type(synthesized.resources, "AWS::CloudWatch::Alarm").items()
    }


def _alarm(synthesized: SynthesizedStack, construct_id: str) -> dict[str, Any]:
    alarm = synthesized.stack.monitoring.alarms[construct_id]
    return _alarms(synthesized)[logical_id(alarm)]


def _topic_ref(synthesized: SynthesizedStack) -> dict[str, str]:
    return {"Ref": logical_id(synthesized.stack.monitoring.alarm_topic)}


def _queue_targets(value: Any, under_dead_letter_key: bool, queues: set[str], found: set[str]) -> None:
    """Collect queues referenced (``Fn::GetAtt [queue, Arn]``) beneath a dead-letter key of ``value``."""
    if isinstance(value, dict):
        attribute = value.get("Fn::GetAtt")
        if under_dead_letter_key and isinstance(attribute, list) and attribute[0] in queues:
            found.add(attribute[0])
        for key, child in value.items():
            hit = under_dead_letter_key or any(mark in key.lower() for mark in _DEAD_LETTER_KEYS)
            _queue_targets(child, hit, queues, found)
    elif isinstance(value, list):
        for child in value:
            _queue_targets(child, under_dead_letter_key, queues, found)


def dead_letter_queues_in(resources: dict[str, dict[str, Any]]) -> set[str]:
    """Logical ids of every queue the template uses as a dead-letter target, whoever configured it."""
    queues = set(resources_of_type(resources, "AWS::SQS::Queue"))
    found: set[str] = set()
    for resource in resources.values():
        _queue_targets(resource.get("Properties", {}), False, queues, found)
    return found


def test_every_dead_letter_queue_has_an_alarm_on_any_message(synthesized: SynthesizedStack) -> None:
    # GIVEN every queue the template uses as a dead-letter target (at least the crawl queue's)
    dead_letter_queues = dead_letter_queues_in(synthesized.resources)
    assert logical_id(synthesized.stack.crawl.dead_letter_queue) in dead_letter_queues
    # WHEN the alarms on queue depth are collected
    alarmed = {
        alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0]: alarm
        for alarm in _alarms(synthesized).values()
        if alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
    }
    # THEN each dead-letter queue, and no other queue, alarms as soon as one message is visible, to the topic
    assert set(alarmed) == dead_letter_queues
    for alarm in alarmed.values():
        assert alarm["Namespace"] == "AWS/SQS" and alarm["Dimensions"][0]["Name"] == "QueueName"
        assert (alarm["Statistic"], alarm["Period"]) == ("Maximum", 300)
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
        assert alarm["AlarmActions"] == [_topic_ref(synthesized)]


@pytest.mark.parametrize(
    ("construct_id", "metric_name"),
    [
        (ids.FAILED_EXECUTIONS_ALARM, "ExecutionsFailed"),
        (ids.TIMED_OUT_EXECUTIONS_ALARM, "ExecutionsTimedOut"),
    ],
)
def test_failed_and_timed_out_executions_alarm_at_the_first(
    synthesized: SynthesizedStack, construct_id: str, metric_name: str
) -> None:
    alarm = _alarm(synthesized, construct_id)
    machine = logical_id(synthesized.stack.workflow.state_machine)
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/States", metric_name, "Sum")
    assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": machine}}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert alarm["AlarmActions"] == [_topic_ref(synthesized)]


def test_our_bounce_rate_is_bounced_over_sent_notices_per_day(synthesized: SynthesizedStack) -> None:
    alarm = _alarm(synthesized, ids.BOUNCE_RATE_ALARM)
    by_id = {m["Id"]: m for m in alarm["Metrics"]}
    (expression,) = [m for m in alarm["Metrics"] if "Expression" in m]
    assert expression["Expression"] == "IF(sent > 0, 100 * bounced / sent, 0)" and expression["ReturnData"]
    for metric_id, name in (("bounced", "NoticeBounced"), ("sent", "NoticesSent")):
        stat = by_id[metric_id]["MetricStat"]
        assert stat["Metric"] == {
            "Namespace": "Takedown",
            "MetricName": name,
            "Dimensions": [{"Name": "service", "Value": "takedown"}],
        }
        assert (stat["Stat"], stat["Period"]) == ("Sum", 86400)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (5, "GreaterThanThreshold")
    assert alarm["AlarmActions"] == [_topic_ref(synthesized)]


@pytest.mark.parametrize(
    ("construct_id", "metric_name", "threshold"),
    [
        (ids.SES_BOUNCE_RATE_ALARM, "Reputation.BounceRate", 0.05),
        (ids.SES_COMPLAINT_RATE_ALARM, "Reputation.ComplaintRate", 0.001),
    ],
)
def test_ses_reputation_alarms_where_ses_would_review_the_account(
    synthesized: SynthesizedStack, construct_id: str, metric_name: str, threshold: float
) -> None:
    alarm = _alarm(synthesized, construct_id)
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/SES",
        metric_name,
        "Maximum",
    )
    assert "Dimensions" not in alarm  # the account-level figure SES acts on
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (threshold, "GreaterThanThreshold")
    assert alarm["AlarmActions"] == [_topic_ref(synthesized)]


def test_reviews_near_timeout_alarm_on_the_reminders_metric(synthesized: SynthesizedStack) -> None:
    alarm = _alarm(synthesized, ids.REVIEWS_NEAR_TIMEOUT_ALARM)
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "Takedown",
        "ReviewsNearTimeout",
        "Sum",
    )
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "takedown"}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert alarm["TreatMissingData"] == "notBreaching"


def test_every_alarm_notifies_the_topic_when_it_fires_and_when_it_recovers(
    synthesized: SynthesizedStack,
) -> None:
    alarms = _alarms(synthesized)
    # THEN there are the six alarms above plus one per dead-letter queue, and nothing else
    assert len(alarms) == 6 + len(dead_letter_queues_in(synthesized.resources))
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [_topic_ref(synthesized)] == alarm["OKActions"]
        assert len(alarm["AlarmDescription"].split()) >= 8


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use_and_refuses_plain_http(
    synthesized: SynthesizedStack,
) -> None:
    monitoring = synthesized.stack.monitoring
    topic = synthesized.resources[logical_id(monitoring.alarm_topic)]["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = synthesized.resources[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    cloudwatch_statements = [
        s
        for s in key["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert [sorted(s["Action"]) for s in cloudwatch_statements] == [["kms:Decrypt", "kms:GenerateDataKey*"]]
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources_of_type(synthesized.resources, "AWS::SNS::TopicPolicy").values()
        if {"Ref": logical_id(monitoring.alarm_topic)} in p["Properties"]["Topics"]
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for statements in policies
        for s in statements
    )
    # AND the example deployment names no alarm email, so nothing subscribes
    subscriptions = resources_of_type(synthesized.resources, "AWS::SNS::Subscription").values()
    assert not [s for s in subscriptions if s["Properties"]["TopicArn"] == _topic_ref(synthesized)]


def _dashboard(synthesized: SynthesizedStack) -> dict[str, Any]:
    (dashboard,) = resources_of_type(synthesized.resources, "AWS::CloudWatch::Dashboard").values()
    body: dict[str, Any] = json.loads(render_intrinsics(dashboard["Properties"]["DashboardBody"]))
    return body


def _graphs(body: dict[str, Any]) -> dict[str, list[list[Any]]]:
    return {
        w["properties"]["title"]: w["properties"].get("metrics", [])
        for w in body["widgets"]
        if w["type"] == "metric"
    }


def test_the_dashboard_shows_each_interval_at_p50_and_p95(synthesized: SynthesizedStack) -> None:
    graphs = _graphs(_dashboard(synthesized))
    for title, metric in (
        ("first sighting -> notice drafted (p50, p95)", "TimeSightingToDrafted"),
        ("drafted -> approved (p50, p95)", "TimeDraftedToApproved"),
        ("approved -> sent (p50, p95)", "TimeApprovedToSent"),
        ("sent -> removed (p50, p95)", "TimeSentToRemoved"),
    ):
        assert [(m[:4], m[4]["stat"]) for m in graphs[title]] == [
            (["Takedown", metric, "service", "takedown"], "p50"),
            (["Takedown", metric, "service", "takedown"], "p95"),
        ]


def test_the_dashboard_shows_counts_and_their_breakdowns(synthesized: SynthesizedStack) -> None:
    graphs = _graphs(_dashboard(synthesized))
    assert [m[1] for m in graphs["Cases reaching each status"]] == [
        "CasesMatched",
        "CasesDrafted",
        "CasesApproved",
        "CasesNotified",
        "CasesRemoved",
    ]
    assert [m[1] for m in graphs["Notices, bounces and reviews"]] == [
        "NoticesSent",
        "NoticeBounced",
        "NoticeComplained",
        "ReviewsRequested",
        "ReviewsNearTimeout",
    ]
    ((per_country,),) = graphs["Cases notified per country"]
    assert per_country["expression"] == (
        "SEARCH('{Takedown,service,Country} MetricName=\"CasesNotified\"', 'Sum', 86400)"
    )
    ((per_recipient,),) = graphs["Cases notified per recipient domain"]
    assert "{Takedown,service,RecipientDomain}" in per_recipient["expression"]


def test_the_dashboard_shows_queues_executions_functions_and_ses(synthesized: SynthesizedStack) -> None:
    stack = synthesized.stack
    graphs = _graphs(_dashboard(synthesized))
    queues = {m[3] for m in graphs["Queue depth (crawl queue and dead letters)"]}
    expected = {logical_id(stack.crawl.queue), *dead_letter_queues_in(synthesized.resources)}
    assert queues == {"${" + lid + ".QueueName}" for lid in expected}
    assert [m[1] for m in graphs["Case workflow executions"]] == [
        "ExecutionsStarted",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
    ]
    for title, metric in (
        ("Lambda errors per function", "Errors"),
        ("Lambda throttles per function", "Throttles"),
    ):
        functions = {m[3] for m in graphs[title] if m[1] == metric}
        assert functions == {"${" + logical_id(f) + "}" for f in stack.functions.values()}
    assert [m[1] for m in graphs["SES reputation (bounce and complaint rates)"]] == [
        "Reputation.BounceRate",
        "Reputation.ComplaintRate",
    ]
    assert [m[1] for m in graphs["SES sends, bounces and complaints"]] == ["Send", "Bounce", "Complaint"]
    (alarm_widget,) = [w for w in _dashboard(synthesized)["widgets"] if w["type"] == "alarm"]
    assert len(alarm_widget["properties"]["alarms"]) == len(_alarms(synthesized))


def _small_stack(alarm_email: str) -> Template:
    """Monitoring alone, around a one-state machine and an inline function: fast to synthesize."""
    app = cdk.App()
    stack = cdk.Stack(app, "MonitoringOnly")
    queue = sqs.Queue(stack, "WorkQueue", enforce_ssl=True)
    dead_letters = sqs.Queue(stack, "ExampleDeadLetterQueue", enforce_ssl=True)
    function = lambda_.Function(
        stack,
        "Example",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )
    machine = sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Nothing"))
    )
    assert find_dead_letter_queues(stack) == {"ExampleDeadLetterQueue": dead_letters}
    MonitoringConstruct(
        stack,
        ids.MONITORING,
        resources=MonitoredResources(
            functions={"Example": function},
            state_machine=machine,
            work_queues={"WorkQueue": queue},
            dead_letter_queues=find_dead_letter_queues(stack),
        ),
        namespace="Takedown",
        service="takedown",
        alarm_email=alarm_email,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    return Template.from_stack(stack)


def test_alarm_email_subscribes_to_the_topic_only_when_configured() -> None:
    with_email = _small_stack("alarms@centre.example").to_json()["Resources"]
    without = _small_stack("").to_json()["Resources"]
    (subscription,) = resources_of_type(with_email, "AWS::SNS::Subscription").values()
    (topic_id,) = resources_of_type(with_email, "AWS::SNS::Topic")
    assert subscription["Properties"] == {
        "Protocol": "email",
        "TopicArn": {"Ref": topic_id},
        "Endpoint": "alarms@centre.example",
    }
    assert resources_of_type(without, "AWS::SNS::Subscription") == {}


def test_alarm_email_in_the_deployment_file_must_be_an_address() -> None:
    document = json.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    assert DeploymentConfig.from_mapping(document).alarm_email == ""
    assert DeploymentConfig.from_mapping(
        {**document, "alarm_email": "oncall@centre.example"}
    ).alarm_email == ("oncall@centre.example")
    with pytest.raises(DeploymentConfigError, match="alarm_email: 'on call' is not a plain email address"):
        DeploymentConfig.from_mapping({**document, "alarm_email": "on call"})
