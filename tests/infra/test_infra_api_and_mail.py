"""The approval API (routes, stage, validation, firewall, reviewer sign-in), the reminder, the review
thumbnails and the pending-reviews index, and the SES pieces."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from takedown import config as runtime
from takedown_infra import ids
from tests.infra.template_reading import (
    actions_of,
    logical_id,
    object_prefixes_allowed,
    render_intrinsics,
    resources_of_type,
    role_policy_statements,
)

if TYPE_CHECKING:
    from pathlib import Path

    from takedown_infra.deployment import DeploymentConfig
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


# --- reviewer sign-in, reminder, thumbnails, pending index -----------------------------------------------------


def test_only_the_list_route_needs_a_signed_in_reviewer(synthesized: SynthesizedStack) -> None:
    # GIVEN the routes and the API's authorizers
    methods = methods_by_route(synthesized)
    authorizers = resources_of_type(synthesized.resources, "AWS::ApiGateway::Authorizer")
    pool = synthesized.stack.approval.reviewer_pool
    assert pool is not None

    # THEN GET /reviews goes through the Cognito authorizer of the reviewer pool, reading the Authorization header
    listing = methods[("GET", "/reviews")]
    assert listing["AuthorizationType"] == "COGNITO_USER_POOLS"
    [(authorizer_id, authorizer)] = authorizers.items()
    assert listing["AuthorizerId"] == {"Ref": authorizer_id}
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    assert authorizer["Properties"]["ProviderARNs"] == [{"Fn::GetAtt": [logical_id(pool), "Arn"]}]
    assert authorizer["Properties"]["IdentitySource"] == "method.request.header.Authorization"
    # AND the signed-link routes keep the link as their only credential
    for verb in ("GET", "POST"):
        assert methods[(verb, "/reviews/{review_id}")]["AuthorizationType"] == "NONE"


def test_reviewers_sign_in_with_mfa_to_a_closed_pool(synthesized: SynthesizedStack) -> None:
    # GIVEN the reviewer pool, its client and its users
    approval = synthesized.stack.approval
    assert approval.reviewer_pool is not None and approval.reviewer_pool_client is not None
    pool = synthesized.resources[logical_id(approval.reviewer_pool)]["Properties"]
    client = synthesized.resources[logical_id(approval.reviewer_pool_client)]["Properties"]
    users = resources_of_type(synthesized.resources, "AWS::Cognito::UserPoolUser").values()

    # THEN nobody signs themselves up, every sign-in needs an authenticator app, and passwords are strong
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert (pool["MfaConfiguration"], pool["EnabledMfas"]) == ("ON", ["SOFTWARE_TOKEN_MFA"])
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 14
    assert all(
        policy[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")
    )
    assert pool["UserPoolTier"] == "PLUS"
    # AND the app client has no secret, signs in by SRP only, with short-lived tokens and no hosted redirect
    assert client["GenerateSecret"] is False
    assert set(client["ExplicitAuthFlows"]) == {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert "AllowedOAuthFlows" not in client and "CallbackURLs" not in client
    assert (client["IdTokenValidity"], client["TokenValidityUnits"]["IdToken"]) == (60, "minutes")
    # AND the users are exactly the configured reviewers, their addresses verified
    assert sorted(u["Properties"]["Username"] for u in users) == sorted(synthesized.config.reviewers)
    assert all(
        {"Name": "email_verified", "Value": "true"} in u["Properties"]["UserAttributes"] for u in users
    )
    # AND the deployment can find the pool and the client
    assert synthesized.outputs[ids.OUTPUT_REVIEWER_POOL_ID]["Value"] == {
        "Ref": logical_id(approval.reviewer_pool)
    }
    assert synthesized.outputs[ids.OUTPUT_REVIEWER_POOL_CLIENT_ID]["Value"] == {
        "Ref": logical_id(approval.reviewer_pool_client)
    }


def test_the_reminder_runs_hourly_with_only_what_it_needs(synthesized: SynthesizedStack) -> None:
    # GIVEN the reminder function, its schedule and its role
    function = synthesized.stack.functions[ids.REMIND_REVIEWERS_FUNCTION]
    function_id = logical_id(function)
    rules = [
        r["Properties"]
        for r in resources_of_type(synthesized.resources, "AWS::Events::Rule").values()
        if any(function_id in str(t["Arn"]) for t in r["Properties"].get("Targets", []))
    ]
    assert function.role is not None
    role = logical_id(function.role)

    # THEN one rule runs it every hour
    assert [r["ScheduleExpression"] for r in rules] == ["rate(1 hour)"]
    # AND it may read and update the cases table (and its indexes), read the link key and send mail; nothing else
    actions = {a for s in role_policy_statements(synthesized.resources, role) for a in actions_of(s)}
    assert {
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "secretsmanager:GetSecretValue",
        "ses:SendEmail",
    } <= actions
    assert not {a for a in actions if a.startswith(("s3:", "states:"))}
    variables = synthesized.resources[function_id]["Properties"]["Environment"]["Variables"]
    assert variables[runtime.ENV_REVIEW_REMINDER_HOURS] == str(synthesized.config.review_reminder_hours)


def test_the_review_function_reads_thumbnails_and_reports_but_never_media(
    synthesized: SynthesizedStack,
) -> None:
    # GIVEN the review function's object reads, and the hashing functions' thumbnail writes
    bucket = logical_id(synthesized.stack.storage.evidence_bucket)
    review_role = synthesized.stack.functions[ids.REVIEW_API_FUNCTION].role
    assert review_role is not None
    reads = object_prefixes_allowed(synthesized.resources, logical_id(review_role), bucket, "s3:GetObject")
    # THEN the review function reads evidence reports and thumbnails only
    assert reads == {"evidence/", "thumbnails/"}
    # AND each hashing function may write thumbnails
    for construct_id in (ids.HASH_MEDIA_FUNCTION, ids.HASH_VIDEO_FUNCTION):
        role = synthesized.stack.functions[construct_id].role
        assert role is not None
        writes = object_prefixes_allowed(synthesized.resources, logical_id(role), bucket, "s3:PutObject")
        assert "thumbnails/" in writes


def test_thumbnails_expire_and_the_pending_index_holds_no_token(synthesized: SynthesizedStack) -> None:
    # GIVEN the evidence bucket's lifecycle and the cases table's indexes
    storage = synthesized.stack.storage
    rules = synthesized.resources[logical_id(storage.evidence_bucket)]["Properties"]["LifecycleConfiguration"]
    table = synthesized.resources[logical_id(storage.cases_table)]["Properties"]
    # THEN thumbnails go after 30 days (no review outlives the state machine's timeout)
    [thumbnails] = [r for r in rules["Rules"] if r.get("Prefix") == "thumbnails/"]
    assert (thumbnails["ExpirationInDays"], thumbnails["Status"]) == (30, "Enabled")
    # AND the pending-reviews index is keyed by deadline and projects no task token and no decision
    [index] = [i for i in table["GlobalSecondaryIndexes"] if i["IndexName"] == runtime.PENDING_REVIEWS_INDEX]
    assert index["KeySchema"] == [
        {"AttributeName": runtime.PENDING_PARTITION_ATTRIBUTE, "KeyType": "HASH"},
        {"AttributeName": runtime.PENDING_DUE_ATTRIBUTE, "KeyType": "RANGE"},
    ]
    assert index["Projection"]["ProjectionType"] == "INCLUDE"
    assert not {"task_token", "decision"} & set(index["Projection"]["NonKeyAttributes"])


def test_without_sign_in_the_list_route_has_no_pool_and_stays_nag_clean(
    example_config: DeploymentConfig, tmp_path: Path
) -> None:
    # GIVEN the stack of a deployment that turns reviewer sign-in off
    from aws_cdk.assertions import Annotations, Match, Template

    from tests.infra.conftest import build_stack

    _, stack = build_stack(replace(example_config, reviewer_sign_in=False), tmp_path)
    resources = Template.from_stack(stack).to_json()["Resources"]
    # THEN there is no user pool and no authorizer, and cdk-nag reports nothing unsuppressed
    assert resources_of_type(resources, "AWS::Cognito::UserPool") == {}
    assert resources_of_type(resources, "AWS::ApiGateway::Authorizer") == {}
    assert stack.approval.list_method in stack.approval.review_methods
    errors = Annotations.from_stack(stack).find_error(
        "/Takedown/Approval/*", Match.string_like_regexp("AwsSolutions-.*")
    )
    assert [f"{e.id}: {e.entry.data}" for e in errors] == []
