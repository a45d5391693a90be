"""The case workflow: one Step Functions execution per notice of a case, from scoring to a sent (or closed) notice.

A first notice's execution (``case-<id>``) has the input ``{"case_id": "...", "phash": "...", "matches": [...]}``
(from the hashing function). A follow-up notice's execution (``case-<id>-v<n>``, started by the re-check function)
has ``{"case_id": "...", "follow_up": {"version": n, "policy_approved": bool}}`` and starts at the drafting. The
flow::

    IsFollowUp --follow_up--> DraftNotice (below)
      '--otherwise--> Score -> IsCandidate --candidate--> ResolveRecipients -> BuildReport -> DraftNotice
                              '--otherwise--> CloseNoMatch -> NoMatch
    DraftNotice (result at $.notice) -> RenderLocales (Map over $.notice.locales: RenderNoticeLocale)
      -> ReviewNeeded --follow_up.policy_approved--> ApprovedByPolicy -> SendNotice -> Sent
           '--otherwise--> RequestApproval (waitForTaskToken, timeout) -> ReviewDecision
                 |                                           |-- APPROVED --> SendNotice -> Sent
                 '-- States.Timeout -> CloseExpired -> Expired
                                                             '-- otherwise --> CloseRejected -> Rejected

Every task retries Lambda's own transient errors. Every task but ``RequestApproval`` also retries
``TransientAwsError``, which the handlers raise for an AWS error that outlasted botocore's retries (throttling,
5xx, timeouts): those steps are idempotent, so running one again is safe. ``RequestApproval`` is not retried on it:
its review email is not ledgered, so a retry after the email went out would send the reviewer a second, equally
valid link. Any other task failure goes to ``CloseFailed`` (with the error at ``$.error``) and then the ``Failed``
state.
The decision Choice defaults to rejection: only a structured ``{"decision": "APPROVED"}`` sends anything, and both
Choices default to the reviewed path. ``ApprovedByPolicy`` only marks the state: ``SendNotice`` itself checks the
case record (a follow-up requested under the deployment's policy, to recipients a reviewer approved) before it
sends. For a follow-up, the close states return the case to monitoring instead of closing it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from takedown import config as runtime
from takedown.aws.transient import TransientAwsError
from takedown_infra import ids
from takedown_infra.config_layer import RUNTIME_PLATFORMS_FILE
from takedown_infra.constructs.python_function import (
    FunctionDefaults,
    create_log_group,
    create_python_function,
)
from takedown_infra.constructs.storage import BANK_INDEX_PREFIX, CAPTURES_PREFIX, EVIDENCE_PREFIX
from takedown_infra.deployment import STATE_MACHINE_TIMEOUT_HOURS

if TYPE_CHECKING:
    from aws_cdk import aws_lambda as lambda_

    from takedown_infra.constructs.approval import ApprovalApiConstruct
    from takedown_infra.constructs.notifications import NotificationsConstruct
    from takedown_infra.constructs.storage import StorageConstruct
    from takedown_infra.deployment import DeploymentConfig

# Lambda throttling is worth waiting out too; the CDK's default retry covers the service errors.
THROTTLE_ERRORS = ["Lambda.TooManyRequestsException"]
# An AWS error our handlers met after botocore's own five attempts (takedown.aws.transient): wait longer, with full
# jitter so that cases throttled together do not come back together. Waits of up to 5, 10 and 20 s.
TRANSIENT_AWS_ERRORS = [TransientAwsError.__name__]
TRANSIENT_RETRY_INTERVAL = Duration.seconds(5)
TRANSIENT_RETRY_ATTEMPTS = 3
TRANSIENT_RETRY_BACKOFF = 2.0
TRANSIENT_RETRY_MAX_DELAY = Duration.seconds(60)
ERROR_PATH = "$.error"
REVIEW_PATH = "$.review"
NOTICE_PATH = (
    "$.notice"  # DraftNotice's result, beside the input (a follow-up's input must reach ReviewNeeded)
)
CASE_ID = sfn.JsonPath.string_at("$.case_id")


def follow_up_environment(config: DeploymentConfig) -> dict[str, str]:
    """The follow-up settings, for every function that schedules a re-check or decides a follow-up."""
    return {
        runtime.ENV_RECHECK_INTERVAL_HOURS: str(config.recheck_interval_hours),
        runtime.ENV_FOLLOW_UP_INTERVAL_HOURS: str(config.follow_up_interval_hours),
        runtime.ENV_ESCALATE_AFTER_INTERVALS: str(config.escalate_after_intervals),
        runtime.ENV_FOLLOW_UP_POLICY: config.follow_up_policy,
    }


class WorkflowConstruct(Construct):
    """The eight workflow functions and the STANDARD state machine that runs them.

    Attributes
    ----------
    functions
        Construct id -> function, for the stack's bookkeeping and the tests.
    state_machine
        Logging ALL (without execution data: cases carry personal data) and X-Ray tracing.
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
        approval: ApprovalApiConstruct,
    ) -> None:
        super().__init__(scope, construct_id)
        self.functions: dict[str, lambda_.Function] = {}
        self._config = config
        self._defaults = defaults
        self._layers = layers
        self._create_functions(notifications, approval)
        self._grant(storage, notifications, approval)
        self.state_machine = self._state_machine(defaults)

    def _function(
        self, construct_id: str, module: str, description: str, environment: dict[str, str] | None = None
    ) -> lambda_.Function:
        function = create_python_function(
            self,
            construct_id,
            handler_module=module,
            defaults=self._defaults,
            layers=self._layers,
            description=description,
            environment=environment,
        )
        self.functions[construct_id] = function
        return function

    def _create_functions(
        self, notifications: NotificationsConstruct, approval: ApprovalApiConstruct
    ) -> None:
        configuration_set = notifications.configuration_set.configuration_set_name
        self.score = self._function(
            ids.SCORE_MATCH_FUNCTION, "handle_score_match", "Confirms a candidate match against the hash bank"
        )
        self.resolve_recipients = self._function(
            ids.RESOLVE_RECIPIENTS_FUNCTION,
            "handle_resolve_recipients",
            "Finds who a notice goes to",
            {
                runtime.ENV_PLATFORMS_FILE: RUNTIME_PLATFORMS_FILE,
                runtime.ENV_RDAP_IP_URLS: ",".join(self._config.rdap_ip_base_urls),
                runtime.ENV_RDAP_DOMAIN_URLS: json.dumps(dict(self._config.rdap_domain_base_urls)),
            },
        )
        self.build_report = self._function(
            ids.BUILD_REPORT_FUNCTION, "handle_build_report", "Writes the case's evidence report"
        )
        self.draft_notice = self._function(
            ids.DRAFT_NOTICE_FUNCTION, "handle_draft_notice", "Chooses the notice's languages"
        )
        self.render_notice_locale = self._function(
            ids.RENDER_NOTICE_LOCALE_FUNCTION,
            "handle_render_notice_locale",
            "Renders the notice in one language",
        )
        self.request_approval = self._function(
            ids.REQUEST_APPROVAL_FUNCTION,
            "handle_request_approval",
            "Emails a reviewer a signed link and waits for the decision",
            {
                runtime.ENV_REVIEWERS: ",".join(self._config.reviewers),
                runtime.ENV_REVIEW_BASE_URL: approval.review_base_url,
                runtime.ENV_LINK_KEY_SECRET: approval.link_key_secret.secret_arn,
                runtime.ENV_LINK_TTL_HOURS: str(self._config.review_link_ttl_hours),
                runtime.ENV_CONFIGURATION_SET: configuration_set,
            },
        )
        self.send_notice = self._function(
            ids.SEND_NOTICE_FUNCTION,
            "handle_send_notice",
            "Sends the approved notice",
            {runtime.ENV_CONFIGURATION_SET: configuration_set, **follow_up_environment(self._config)},
        )
        self.close_case = self._function(
            ids.CLOSE_CASE_FUNCTION,
            "handle_close_case",
            "Records how a case ended",
            follow_up_environment(self._config),
        )

    def _grant(
        self, storage: StorageConstruct, notifications: NotificationsConstruct, approval: ApprovalApiConstruct
    ) -> None:
        # The cases table: each function's own actions, granted by the stack (constructs/case_access.py).
        storage.bank_table.grant_read_data(self.score)
        # Scoring re-checks the candidate against the published bank index snapshot, as hashing matched it.
        storage.evidence_bucket.grant_read(self.score, f"{BANK_INDEX_PREFIX}*")
        storage.evidence_bucket.grant_put(self.build_report, f"{EVIDENCE_PREFIX}*")
        # Recipient discovery reads the page as captured (its contact links and mailto addresses).
        storage.evidence_bucket.grant_read(self.resolve_recipients, f"{CAPTURES_PREFIX}*")
        # The report cites the page capture: it reads the WARC back to write its manifest.
        storage.evidence_bucket.grant_read(self.build_report, f"{CAPTURES_PREFIX}*")
        self.build_report.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObjectRetention"],
                resources=[storage.evidence_bucket.arn_for_objects(f"{EVIDENCE_PREFIX}*")],
            )
        )
        approval.link_key_secret.grant_read(self.request_approval)
        notifications.grant_send_email(self.request_approval)
        notifications.grant_send_email(self.send_notice)

    def _invoke(
        self,
        state_name: str,
        function: lambda_.IFunction,
        payload: sfn.TaskInput | None = None,
        *,
        result_path: str | None = None,
    ) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            state_name,
            lambda_function=function,
            payload=payload,
            result_path=result_path,
            payload_response_only=True,
            retry_on_service_exceptions=True,
        )
        task.add_retry(errors=THROTTLE_ERRORS, interval=Duration.seconds(2), max_attempts=6, backoff_rate=2)
        # Every step run through here is idempotent (RequestApproval is built on its own, without this retry).
        task.add_retry(
            errors=TRANSIENT_AWS_ERRORS,
            interval=TRANSIENT_RETRY_INTERVAL,
            max_attempts=TRANSIENT_RETRY_ATTEMPTS,
            backoff_rate=TRANSIENT_RETRY_BACKOFF,
            max_delay=TRANSIENT_RETRY_MAX_DELAY,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return task

    def _close(self, state_name: str, outcome: str, *, with_error: bool = False) -> tasks.LambdaInvoke:
        payload: dict[str, object] = {"case_id": CASE_ID, "outcome": outcome}
        if with_error:
            payload["error"] = sfn.JsonPath.object_at(ERROR_PATH)
        return self._invoke(state_name, self.close_case, sfn.TaskInput.from_object(payload))

    def _definition(self) -> sfn.IChainable:
        close_failed = self._close(ids.STATE_CLOSE_FAILED, "FAILED", with_error=True).next(
            sfn.Fail(
                self,
                ids.STATE_FAILED,
                error="CaseFailed",
                cause="A step failed after its retries; the case was closed as FAILED.",
            )
        )

        def on_failure(state: tasks.LambdaInvoke | sfn.Map) -> None:
            state.add_catch(close_failed, errors=[sfn.Errors.ALL], result_path=ERROR_PATH)

        score = self._invoke(ids.STATE_SCORE, self.score)
        resolve = self._invoke(ids.STATE_RESOLVE_RECIPIENTS, self.resolve_recipients)
        report = self._invoke(ids.STATE_BUILD_REPORT, self.build_report)
        draft = self._invoke(ids.STATE_DRAFT_NOTICE, self.draft_notice, result_path=NOTICE_PATH)
        render_locales = sfn.Map(
            self,
            ids.STATE_RENDER_LOCALES,
            items_path=f"{NOTICE_PATH}.locales",
            item_selector={
                "case_id": CASE_ID,
                "locale": sfn.JsonPath.string_at("$$.Map.Item.Value"),
            },
            # The rendered drafts are stored by the function; the state keeps case_id and locales.
            result_path=sfn.JsonPath.DISCARD,
        ).item_processor(self._invoke(ids.STATE_RENDER_NOTICE_LOCALE, self.render_notice_locale))
        request_approval = tasks.LambdaInvoke(
            self,
            ids.STATE_REQUEST_APPROVAL,
            lambda_function=self.request_approval,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object({"case_id": CASE_ID, "task_token": sfn.JsonPath.task_token}),
            task_timeout=sfn.Timeout.duration(Duration.hours(self._config.approval_timeout_hours)),
            result_path=REVIEW_PATH,
            # Safe to retry: a service error or throttle means the function never ran, so no email went out.
            retry_on_service_exceptions=True,
        )
        request_approval.add_retry(
            errors=THROTTLE_ERRORS, interval=Duration.seconds(2), max_attempts=6, backoff_rate=2
        )
        send = self._invoke(
            ids.STATE_SEND_NOTICE,
            self.send_notice,
            sfn.TaskInput.from_object({"case_id": CASE_ID, "review": sfn.JsonPath.object_at(REVIEW_PATH)}),
        )
        for state in (score, resolve, report, draft, render_locales, send):
            on_failure(state)
        # Order matters: the timeout is an expected outcome, every other error a failure.
        request_approval.add_catch(
            self._close(ids.STATE_CLOSE_EXPIRED, "EXPIRED").next(sfn.Succeed(self, ids.STATE_EXPIRED)),
            errors=[sfn.Errors.TIMEOUT],
            result_path=ERROR_PATH,
        )
        on_failure(request_approval)

        approved = sfn.Condition.and_(
            sfn.Condition.is_present("$.review.decision"),
            sfn.Condition.string_equals("$.review.decision", "APPROVED"),
        )
        sending = send.next(sfn.Succeed(self, ids.STATE_SENT))
        review_decision = (
            sfn.Choice(self, ids.STATE_REVIEW_DECISION)
            .when(approved, sending)
            .otherwise(
                self._close(ids.STATE_CLOSE_REJECTED, "REJECTED").next(sfn.Succeed(self, ids.STATE_REJECTED))
            )
        )
        # Marks the state only: SendNotice checks the case record before sending anything nobody reviewed.
        approved_by_policy = sfn.Pass(
            self,
            ids.STATE_APPROVED_BY_POLICY,
            result=sfn.Result.from_object({"decision": "POLICY", "policy": "auto-same-recipient"}),
            result_path=REVIEW_PATH,
        )
        by_policy = sfn.Condition.and_(
            sfn.Condition.is_present("$.follow_up.policy_approved"),
            sfn.Condition.boolean_equals("$.follow_up.policy_approved", True),
        )
        review_needed = (
            sfn.Choice(self, ids.STATE_REVIEW_NEEDED)
            .when(by_policy, approved_by_policy.next(send))
            .otherwise(request_approval.next(review_decision))
        )
        draft.next(render_locales).next(review_needed)
        candidate = sfn.Condition.and_(
            sfn.Condition.is_present("$.candidate"),
            sfn.Condition.boolean_equals("$.candidate", True),
        )
        is_candidate = (
            sfn.Choice(self, ids.STATE_IS_CANDIDATE)
            .when(candidate, resolve.next(report).next(draft))
            .otherwise(
                self._close(ids.STATE_CLOSE_NO_MATCH, "NO_MATCH").next(sfn.Succeed(self, ids.STATE_NO_MATCH))
            )
        )
        return (
            sfn.Choice(self, ids.STATE_IS_FOLLOW_UP)
            .when(sfn.Condition.is_present("$.follow_up"), draft)
            .otherwise(score.next(is_candidate))
        )

    def _state_machine(self, defaults: FunctionDefaults) -> sfn.StateMachine:
        log_group = create_log_group(self, ids.STATE_MACHINE_LOGS, defaults)
        return sfn.StateMachine(
            self,
            ids.STATE_MACHINE,
            definition_body=sfn.DefinitionBody.from_chainable(self._definition()),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=Duration.hours(STATE_MACHINE_TIMEOUT_HOURS),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
