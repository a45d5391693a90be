"""The approval endpoint: the review-link key, the review function, the reminder, the REST API reviewers click
into, and (optionally) the reviewers' sign-in for the list of pending reviews.

Reviewers reach ``/reviews/{review_id}?e=<expiry>&s=<signature>`` from their email. The link's HMAC signature
is the authorisation (checked by the function); API Gateway only insists that the signed parts are present.
GET shows the case and changes nothing, POST acts on it, and only this function may hand the decision back to
Step Functions. ``GET /reviews`` lists a signed-in reviewer's pending reviews: a Cognito user pool (MFA required,
no self sign-up, one user per configured reviewer) and API Gateway's Cognito authorizer guard that route alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from takedown import config as runtime
from takedown_infra import ids
from takedown_infra.constructs.python_function import FunctionDefaults, create_python_function
from takedown_infra.constructs.storage import EVIDENCE_PREFIX, THUMBNAILS_PREFIX

if TYPE_CHECKING:
    from aws_cdk import aws_lambda as lambda_

    from takedown_infra.constructs.notifications import NotificationsConstruct
    from takedown_infra.constructs.storage import StorageConstruct
    from takedown_infra.deployment import DeploymentConfig

REVIEW_HANDLER_MODULE = "handle_review_http"
REMINDER_HANDLER_MODULE = "handle_remind_reviewers"
STAGE_NAME = "v1"
# A reviewer opens a handful of pages per case; anything faster is not a person.
THROTTLE_RATE_PER_SECOND = 5
THROTTLE_BURST = 10
FIREWALL_REQUESTS_PER_5_MINUTES_PER_IP = 300
LINK_KEY_LENGTH = 64
TASK_RESPONSE_ACTIONS: tuple[str, ...] = ("states:SendTaskSuccess", "states:SendTaskFailure")
# The reminder looks for reviews due within the window this often; hourly keeps a 12-hour window honest.
REMINDER_SCHEDULE = "rate(1 hour)"
# The signed parts of a review link (see takedown.approval.links).
SIGNED_LINK_PARAMETERS: dict[str, bool] = {
    "method.request.path.review_id": True,
    "method.request.querystring.e": True,
    "method.request.querystring.s": True,
}
REVIEWER_IDENTITY_SOURCE = "method.request.header.Authorization"


class ApprovalApiConstruct(Construct):
    """The review-link secret, ``ReviewApiFunction``, ``RemindReviewersFunction`` and the ``ReviewApi`` REST API
    with its firewall and, when ``reviewer_sign_in`` is on, its reviewer user pool.

    Attributes
    ----------
    link_key_secret
        64 generated characters (no punctuation) that sign review links. Rotating it invalidates every
        outstanding link, so rotation is a documented manual step, not a schedule.
    review_function
        ``takedown.handlers.handle_review_http.handler``, the only principal allowed ``states:SendTask*``. It
        emails a hand-over's new reviewer, so it may send through SES too.
    reminder_function
        ``takedown.handlers.handle_remind_reviewers.handler`` on an hourly schedule: one reminder per pending
        review before its approval times out.
    api
        ``GET /reviews``, ``GET /reviews/{review_id}``, ``POST /reviews/{review_id}``.
    review_methods
        The methods without an authorizer (the signed-link routes, and the list when sign-in is off), for the
        nag helper's authorisation suppressions.
    list_method
        ``GET /reviews``.
    reviewer_pool, reviewer_pool_client
        The reviewers' Cognito user pool and its app client (no secret, SRP sign-in), or None when sign-in is off.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        defaults: FunctionDefaults,
        layers: list[lambda_.ILayerVersion],
        storage: StorageConstruct,
        notifications: NotificationsConstruct,
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
        self.api = self._rest_api(defaults)
        configuration_set = notifications.configuration_set.configuration_set_name
        # Links in the emails these functions send point at the API's stage. Built from the API's id (not its
        # deployment stage, which depends on the methods and so on the review function itself).
        own_base_url = (
            f"https://{self.api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/{STAGE_NAME}/"
        )
        link_environment = {
            runtime.ENV_LINK_KEY_SECRET: self.link_key_secret.secret_arn,
            runtime.ENV_LINK_TTL_HOURS: str(config.review_link_ttl_hours),
            runtime.ENV_REVIEW_BASE_URL: own_base_url,
            runtime.ENV_CONFIGURATION_SET: configuration_set,
        }
        self.review_function = create_python_function(
            self,
            ids.REVIEW_API_FUNCTION,
            handler_module=REVIEW_HANDLER_MODULE,
            defaults=defaults,
            layers=layers,
            description="Shows a review (GET), records the reviewer's decision or hand-over (POST), lists reviews",
            environment={**link_environment, runtime.ENV_REVIEWERS: ",".join(config.reviewers)},
            timeout=Duration.seconds(15),
        )
        self._grant_review_function(storage, notifications)
        self.reminder_function = create_python_function(
            self,
            ids.REMIND_REVIEWERS_FUNCTION,
            handler_module=REMINDER_HANDLER_MODULE,
            defaults=defaults,
            layers=layers,
            description="Reminds reviewers once before a pending review times out",
            environment={
                **link_environment,
                runtime.ENV_REVIEW_REMINDER_HOURS: str(config.review_reminder_hours),
            },
            timeout=Duration.seconds(60),
        )
        self.link_key_secret.grant_read(self.reminder_function)
        notifications.grant_send_email(self.reminder_function)
        events.Rule(
            self,
            ids.REVIEW_REMINDER_SCHEDULE,
            description="Reminds reviewers of reviews close to their approval timeout",
            schedule=events.Schedule.expression(REMINDER_SCHEDULE),
            targets=[targets.LambdaFunction(self.reminder_function, retry_attempts=2)],
        )
        self.reviewer_pool: cognito.UserPool | None = None
        self.reviewer_pool_client: cognito.UserPoolClient | None = None
        authorizer = self._reviewer_sign_in(config, defaults) if config.reviewer_sign_in else None
        self.list_method, signed_link_methods = self._add_routes(authorizer)
        self.review_methods = signed_link_methods if authorizer else [self.list_method, *signed_link_methods]
        self._add_firewall()

    def _grant_review_function(
        self, storage: StorageConstruct, notifications: NotificationsConstruct
    ) -> None:
        function = self.review_function
        storage.evidence_bucket.grant_read(function, f"{EVIDENCE_PREFIX}*")
        # The thumbnail a reviewer asks for; never the media itself.
        storage.evidence_bucket.grant_read(function, f"{THUMBNAILS_PREFIX}*")
        self.link_key_secret.grant_read(function)
        notifications.grant_send_email(function)
        iam.Grant.add_to_principal(grantee=function, actions=list(TASK_RESPONSE_ACTIONS), resource_arns=["*"])

    def _rest_api(self, defaults: FunctionDefaults) -> apigw.RestApi:
        access_logs = logs.LogGroup(
            self,
            ids.REVIEW_API_ACCESS_LOGS,
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=defaults.log_key,
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

    def _reviewer_sign_in(
        self, config: DeploymentConfig, defaults: FunctionDefaults
    ) -> apigw.CognitoUserPoolsAuthorizer:
        """The reviewers' user pool (one user per configured reviewer), its app client and the authorizer."""
        pool = cognito.UserPool(
            self,
            ids.REVIEWER_POOL,
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=False)
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            # Reviewers handle the most sensitive material there is: adaptive threat protection (compromised
            # credentials, risky sign-ins) is worth the Plus tier for a handful of users.
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=defaults.removal_policy == RemovalPolicy.RETAIN,
            removal_policy=defaults.removal_policy,
        )
        client = pool.add_client(
            ids.REVIEWER_POOL_CLIENT,
            auth_flows=cognito.AuthFlow(user_srp=True),
            # Reviewers sign in with SRP from a tool or front end of the deployment's choosing; no hosted UI
            # redirect is configured here.
            disable_o_auth=True,
            generate_secret=False,
            prevent_user_existence_errors=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(12),
        )
        # The deployment file's reviewers are the pool's users; Cognito emails each a temporary password.
        for index, reviewer in enumerate(config.reviewers):
            cognito.CfnUserPoolUser(
                self,
                f"{ids.REVIEWER_USER_PREFIX}{index}",
                user_pool_id=pool.user_pool_id,
                username=reviewer,
                desired_delivery_mediums=["EMAIL"],
                user_attributes=[
                    cognito.CfnUserPoolUser.AttributeTypeProperty(name="email", value=reviewer),
                    cognito.CfnUserPoolUser.AttributeTypeProperty(name="email_verified", value="true"),
                ],
            )
        self.reviewer_pool, self.reviewer_pool_client = pool, client
        for key, value, description in (
            (ids.OUTPUT_REVIEWER_POOL_ID, pool.user_pool_id, "Reviewers' Cognito user pool"),
            (
                ids.OUTPUT_REVIEWER_POOL_CLIENT_ID,
                client.user_pool_client_id,
                "App client reviewers sign in with",
            ),
        ):
            CfnOutput(self, key, value=value, description=description).override_logical_id(key)
        return apigw.CognitoUserPoolsAuthorizer(
            self, ids.REVIEWER_AUTHORIZER, cognito_user_pools=[pool], identity_source=REVIEWER_IDENTITY_SOURCE
        )

    def _add_routes(
        self, authorizer: apigw.CognitoUserPoolsAuthorizer | None
    ) -> tuple[apigw.Method, list[apigw.Method]]:
        validator = self.api.add_request_validator(
            ids.REVIEW_API_VALIDATOR, validate_request_parameters=True, validate_request_body=True
        )
        integration = apigw.LambdaIntegration(self.review_function, proxy=True)
        reviews = self.api.root.add_resource("reviews")
        review = reviews.add_resource("{review_id}")
        if authorizer is None:
            list_method = reviews.add_method("GET", integration, request_validator=validator)
        else:
            list_method = reviews.add_method(
                "GET",
                integration,
                request_validator=validator,
                authorizer=authorizer,
                authorization_type=apigw.AuthorizationType.COGNITO,
                request_parameters={REVIEWER_IDENTITY_SOURCE: True},
            )
        return list_method, [
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
