"""The approval API (routes, stage, validation, firewall) and the SES pieces."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from takedown_infra import ids
from tests.infra.template_reading import logical_id, render_intrinsics, resources_of_type

if TYPE_CHECKING:
    from tests.infra.conftest import SynthesizedStack

SIGNED_LINK_PARAMETERS = {
    "method.request.path.review_id": True,
    "method.request.querystring.e": True,
    "method.request.querystring.s": True,
}


def resource_paths(synthesized: SynthesizedStack) -> dict[str, str]:
    """API Gateway resource logical id -> full path, rebuilt from the parent links."""
    api_resources = resources_of_type(synthesized.resources, "AWS::ApiGateway::Resource")
    root = {"Fn::GetAtt": [logical_id(synthesized.stack.approval.api), "RootResourceId"]}

    def path_of(lid: str) -> str:
        properties = api_resources[lid]["Properties"]
        parent = properties["ParentId"]
        prefix = "" if parent == root else path_of(parent["Ref"])
        return f"{prefix}/{properties['PathPart']}"

    return {lid: path_of(lid) for lid in api_resources}


def methods_by_route(synthesized: SynthesizedStack) -> dict[tuple[str, str], dict[str, Any]]:
    paths = resource_paths(synthesized)
    methods = resources_of_type(synthesized.resources, "AWS::ApiGateway::Method").values()
    return {
        (m["Properties"]["HttpMethod"], paths[m["Properties"]["ResourceId"]["Ref"]]): m["Properties"]
        for m in methods
    }


def test_routes_are_exactly_the_three_review_routes(synthesized: SynthesizedStack) -> None:
    # GIVEN the API's methods WHEN they are listed by verb and path THEN there are exactly three
    assert set(methods_by_route(synthesized)) == {
        ("GET", "/reviews"),
        ("GET", "/reviews/{review_id}"),
        ("POST", "/reviews/{review_id}"),
    }


@pytest.mark.parametrize(
    "route", [("GET", "/reviews"), ("GET", "/reviews/{review_id}"), ("POST", "/reviews/{review_id}")]
)
def test_routes_proxy_to_the_review_function_through_the_validator(
    synthesized: SynthesizedStack, route: tuple[str, str]
) -> None:
    # GIVEN one route
    method = methods_by_route(synthesized)[route]
    approval = synthesized.stack.approval
    validators = resources_of_type(synthesized.resources, "AWS::ApiGateway::RequestValidator")

    # THEN it is a Lambda proxy to the review function, checked by a validator of this API
    integration = method["Integration"]
    assert integration["Type"] == "AWS_PROXY"
    assert integration["IntegrationHttpMethod"] == "POST"
    uri = str(integration["Uri"])
    assert logical_id(approval.review_function) in uri
    validator_id = method["RequestValidatorId"]["Ref"]
    assert validators[validator_id]["Properties"] == {
        "RestApiId": {"Ref": logical_id(approval.api)},
        "ValidateRequestBody": True,
        "ValidateRequestParameters": True,
    }


@pytest.mark.parametrize("verb", ["GET", "POST"])
def test_review_routes_require_the_signed_link_parts(synthesized: SynthesizedStack, verb: str) -> None:
    # GIVEN a review route THEN API Gateway refuses a request without the id, expiry or signature
    method = methods_by_route(synthesized)[(verb, "/reviews/{review_id}")]
    assert method["RequestParameters"] == SIGNED_LINK_PARAMETERS


def test_stage_throttles_logs_and_traces_without_data_tracing(synthesized: SynthesizedStack) -> None:
    # GIVEN the API's single stage
    stages = list(resources_of_type(synthesized.resources, "AWS::ApiGateway::Stage").values())
    assert len(stages) == 1
    stage = stages[0]["Properties"]

    # THEN it throttles at 5/s (burst 10), has metrics and tracing, and never logs request data
    assert stage["StageName"] == "v1"
    assert stage["TracingEnabled"] is True
    assert stage["MethodSettings"] == [
        {
            "DataTraceEnabled": False,
            "HttpMethod": "*",
            "LoggingLevel": "ERROR",
            "MetricsEnabled": True,
            "ResourcePath": "/*",
            "ThrottlingBurstLimit": 10,
            "ThrottlingRateLimit": 5,
        }
    ]


def test_access_logs_go_to_their_own_group_without_the_query_string(synthesized: SynthesizedStack) -> None:
    # GIVEN the stage's access log setting
    stage = next(iter(resources_of_type(synthesized.resources, "AWS::ApiGateway::Stage").values()))[
        "Properties"
    ]
    setting = stage["AccessLogSetting"]
    groups = resources_of_type(synthesized.resources, "AWS::Logs::LogGroup")

    # THEN the destination is a log group of the stack, and the format never includes the signed query
    access_group = logical_id(synthesized.stack.approval.node.find_child(ids.REVIEW_API_ACCESS_LOGS))
    assert access_group in groups
    assert render_intrinsics(setting["DestinationArn"]).endswith(":log-group:${" + access_group + "}")
    assert "$context.resourcePath" in setting["Format"]
    assert "querystring" not in setting["Format"].lower()
    assert "$context.path" not in setting["Format"]


def test_firewall_guards_the_stage(synthesized: SynthesizedStack) -> None:
    # GIVEN the web ACL and its association
    acls = resources_of_type(synthesized.resources, "AWS::WAFv2::WebACL")
    associations = list(resources_of_type(synthesized.resources, "AWS::WAFv2::WebACLAssociation").values())
    stage_id = logical_id(synthesized.stack.approval.api.deployment_stage)

    # THEN one regional ACL with a per-address rate rule is attached to the API's stage
    assert len(acls) == 1
    acl_id, acl = next(iter(acls.items()))
    assert acl["Properties"]["Scope"] == "REGIONAL"
    rules = {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}
    assert rules["RateLimitPerAddress"]["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    assert len(associations) == 1
    assert associations[0]["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert stage_id in str(associations[0]["Properties"]["ResourceArn"])


def test_firewall_uses_no_rule_group_that_inspects_bodies(synthesized: SynthesizedStack) -> None:
    # GIVEN the web ACL's managed rule groups
    acl = next(iter(resources_of_type(synthesized.resources, "AWS::WAFv2::WebACL").values()))
    groups = {
        rule["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for rule in acl["Properties"]["Rules"]
        if "ManagedRuleGroupStatement" in rule["Statement"]
    }

    # THEN an edited notice in a POST body cannot be blocked for its size or its HTML-looking text
    assert groups == {"AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesKnownBadInputsRuleSet"}


def test_ses_identity_is_the_configured_sender(synthesized: SynthesizedStack) -> None:
    # GIVEN the SES identities THEN there is one, for the deployment's sender address
    identities = list(resources_of_type(synthesized.resources, "AWS::SES::EmailIdentity").values())
    assert [i["Properties"]["EmailIdentity"] for i in identities] == [synthesized.config.sender]


def test_configuration_set_suppresses_bounces_and_reports_them(synthesized: SynthesizedStack) -> None:
    # GIVEN the configuration set and its event destination
    notifications = synthesized.stack.notifications
    configuration_set = synthesized.resources[logical_id(notifications.configuration_set)]["Properties"]
    destinations = list(
        resources_of_type(synthesized.resources, "AWS::SES::ConfigurationSetEventDestination").values()
    )

    # THEN bounces and complaints are suppressed and published to the mail events topic
    assert configuration_set["SuppressionOptions"] == {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]}
    assert len(destinations) == 1
    destination = destinations[0]["Properties"]
    assert destination["ConfigurationSetName"] == {"Ref": logical_id(notifications.configuration_set)}
    assert destination["EventDestination"]["SnsDestination"] == {
        "TopicARN": {"Ref": logical_id(notifications.events_topic)}
    }
    assert {"bounce", "complaint"} <= set(destination["EventDestination"]["MatchingEventTypes"])


def test_mail_events_topic_is_encrypted_and_ssl_only(synthesized: SynthesizedStack) -> None:
    # GIVEN the mail events topic and its policy
    notifications = synthesized.stack.notifications
    topic_id = logical_id(notifications.events_topic)
    topic = synthesized.resources[topic_id]["Properties"]
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources_of_type(synthesized.resources, "AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in p["Properties"]["Topics"]
    ]

    # THEN it uses its own rotating key and denies non-TLS publishing
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [logical_id(notifications.events_key), "Arn"]}
    assert len(policies) == 1
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policies[0]
    )
