"""The approval endpoint: the review-link key, the review function and the REST API reviewers click into.

Reviewers reach ``/reviews/{review_id}?e=<expiry>&s=<signature>`` from their email. The link's HMAC signature
is the authorisation (checked by the function); API Gateway only insists that the signed parts are present.
GET shows the case and changes nothing, POST decides, and only this function may hand the decision back to
Step Functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from takedown import config as runtime
from takedown_infra import ids
from takedown_infra.constructs.python_function import FunctionDefaults, create_python_function
from takedown_infra.constructs.storage import EVIDENCE_PREFIX

if TYPE_CHECKING:
    from aws_cdk import aws_lambda as lambda_

    from takedown_infra.constructs.storage import StorageConstruct

REVIEW_HANDLER_MODULE = "handle_review_http"
STAGE_NAME = "v1"
# A reviewer opens a handful of pages per case; anything faster is not a person.
THROTTLE_RATE_PER_SECOND = 5
THROTTLE_BURST = 10
FIREWALL_REQUESTS_PER_5_MINUTES_PER_IP = 300
LINK_KEY_LENGTH = 64
TASK_RESPONSE_ACTIONS: tuple[str, ...] = ("states:SendTaskSuccess", "states:SendTaskFailure")
# The signed parts of a review link (see takedown.approval.links).
SIGNED_LINK_PARAMETERS: dict[str, bool] = {
    "method.request.path.review_id": True,
    "method.request.querystring.e": True,
    "method.request.querystring.s": True,
}


class ApprovalApiConstruct(Construct):
    """The review-link secret, ``ReviewApiFunction`` and the ``ReviewApi`` REST API with its firewall.

    Attributes
    ----------
    link_key_secret
        64 generated characters (no punctuation) that sign review links. Rotating it invalidates every
        outstanding link, so rotation is a documented manual step, not a schedule.
    review_function
        ``takedown.handlers.handle_review_http.handler``, the only principal allowed ``states:SendTask*``.
    api
        ``GET /reviews``, ``GET /reviews/{review_id}``, ``POST /reviews/{review_id}``.
    review_methods
        The three methods, for the nag helper's authorisation suppressions.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        defaults: FunctionDefaults,
        layers: list[lambda_.ILayerVersion],
        storage: StorageConstruct,
    ) -> None:
        super().__init__(scope, construct_id)
        self.link_key_secret = secretsmanager.Secret(
            self,
            ids.REVIEW_LINK_KEY,
            description="HMAC key that signs reviewer links; rotating it invalidates outstanding links",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=LINK_KEY_LENGTH, exclude_punctuation=True
            ),
            removal_policy=defaults.removal_policy,
        )
        self.review_function = create_python_function(
            self,
            ids.REVIEW_API_FUNCTION,
            handler_module=REVIEW_HANDLER_MODULE,
            defaults=defaults,
            layers=layers,
            description="Shows a review (GET) and records the reviewer's decision (POST)",
            environment={runtime.ENV_LINK_KEY_SECRET: self.link_key_secret.secret_arn},
            timeout=Duration.seconds(15),
        )
        self._grant_review_function(storage)
        self.api = self._rest_api(defaults)
        self.review_methods = self._add_routes()
        self._add_firewall()

    def _grant_review_function(self, storage: StorageConstruct) -> None:
        function = self.review_function
        storage.cases_table.grant_read_write_data(function)
        storage.evidence_bucket.grant_read(function, f"{EVIDENCE_PREFIX}*")
        self.link_key_secret.grant_read(function)
        iam.Grant.add_to_principal(grantee=function, actions=list(TASK_RESPONSE_ACTIONS), resource_arns=["*"])

    def _rest_api(self, defaults: FunctionDefaults) -> apigw.RestApi:
        access_logs = logs.LogGroup(
            self,
            ids.REVIEW_API_ACCESS_LOGS,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=defaults.removal_policy,
        )
        return apigw.RestApi(
            self,
            ids.REVIEW_API,
            description="Reviewer approval links for takedown notices",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # API Gateway writes access and execution logs through the account-level CloudWatch role.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=defaults.removal_policy,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                throttling_rate_limit=THROTTLE_RATE_PER_SECOND,
                throttling_burst_limit=THROTTLE_BURST,
                # Request bodies carry the reviewer's edits and CSRF token: never into execution logs.
                data_trace_enabled=False,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                metrics_enabled=True,
                tracing_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                # Resource path (the template, not the review id), never the query string with the signature.
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
            ),
        )

    def _add_routes(self) -> list[apigw.Method]:
        validator = self.api.add_request_validator(
            ids.REVIEW_API_VALIDATOR, validate_request_parameters=True, validate_request_body=True
        )
        integration = apigw.LambdaIntegration(self.review_function, proxy=True)
        reviews = self.api.root.add_resource("reviews")
        review = reviews.add_resource("{review_id}")
        return [
            reviews.add_method("GET", integration, request_validator=validator),
            review.add_method(
                "GET", integration, request_validator=validator, request_parameters=SIGNED_LINK_PARAMETERS
            ),
            review.add_method(
                "POST", integration, request_validator=validator, request_parameters=SIGNED_LINK_PARAMETERS
            ),
        ]

    def _add_firewall(self) -> None:
        rules = [
            _rate_rule(priority=0),
            _managed_rule("AWSManagedRulesAmazonIpReputationList", priority=1),
            _managed_rule("AWSManagedRulesKnownBadInputsRuleSet", priority=2),
        ]
        acl = wafv2.CfnWebACL(
            self,
            ids.REVIEW_API_FIREWALL,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("TakedownReviewApi"),
            rules=rules,
        )
        wafv2.CfnWebACLAssociation(
            self,
            ids.REVIEW_API_FIREWALL_ASSOCIATION,
            resource_arn=self.api.deployment_stage.stage_arn,
            web_acl_arn=acl.attr_arn,
        )

    @property
    def review_base_url(self) -> str:
        """The API's base URL (``https://.../v1/``) that review links are appended to."""
        return self.api.url_for_path("/")


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )


def _rate_rule(*, priority: int) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name="RateLimitPerAddress",
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(block={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                limit=FIREWALL_REQUESTS_PER_5_MINUTES_PER_IP, aggregate_key_type="IP"
            )
        ),
        visibility_config=_visibility("RateLimitPerAddress"),
    )


def _managed_rule(name: str, *, priority: int) -> wafv2.CfnWebACL.RuleProperty:
    # Only rule groups that cannot block a reviewer's edited notice text (no body size or XSS rules).
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=name
            )
        ),
        visibility_config=_visibility(name),
    )
