"""After the notice: a schedule re-checks notified cases, and starts follow-up notices in the case workflow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from takedown import config as runtime
from takedown_infra import ids
from takedown_infra.constructs.crawl import secret_arn_pattern
from takedown_infra.constructs.python_function import FunctionDefaults, create_python_function
from takedown_infra.constructs.storage import BANK_INDEX_PREFIX
from takedown_infra.constructs.workflow import follow_up_environment

if TYPE_CHECKING:
    from collections.abc import Sequence

    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_stepfunctions as sfn

    from takedown_infra.constructs.notifications import NotificationsConstruct
    from takedown_infra.constructs.storage import StorageConstruct
    from takedown_infra.deployment import DeploymentConfig

# How often the function looks for due cases; each case's own interval (recheck_interval_hours) decides when it
# is due, so this only bounds how late a check can be.
RECHECK_SCHEDULE: Final = "rate(1 hour)"
RECHECK_TIMEOUT: Final = Duration.minutes(10)


class FollowUpConstruct(Construct):
    """``RecheckCasesFunction`` on an hourly schedule.

    It reads the cases table (its re-check index) and writes the cases back, re-fetches pages and media from the
    internet (no VPC: like the crawler, under the SSRF guard), hashes re-fetched images (imaging layer; it reads
    the published bank index under ``bank-index/``), starts follow-up executions of the case workflow (only that
    state machine), and emails the officer in charge through the configuration set. Like the crawl worker, it may
    read the Secrets Manager secrets named by the sources (``secret_refs``) and nothing else: a members-only
    page is re-checked with its source's credentials.

    Attributes
    ----------
    recheck_function
        The function; the stack lists it in ``functions``.
    schedule
        The EventBridge rule that invokes it.
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
        state_machine: sfn.StateMachine,
        secret_refs: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.recheck_function = create_python_function(
            self,
            ids.RECHECK_CASES_FUNCTION,
            handler_module="handle_recheck_cases",
            defaults=defaults,
            layers=layers,
            description="Re-checks notified cases; sends follow-ups and escalates while the content is up",
            environment={
                runtime.ENV_STATE_MACHINE_ARN: state_machine.state_machine_arn,
                runtime.ENV_CONFIGURATION_SET: notifications.configuration_set.configuration_set_name,
                runtime.ENV_OFFICER_IN_CHARGE: config.officer_in_charge or config.reviewers[0],
                **follow_up_environment(config),
            },
            timeout=RECHECK_TIMEOUT,
            memory_size=1024,
        )
        storage.bank_table.grant_read_data(self.recheck_function)
        storage.evidence_bucket.grant_read(self.recheck_function, f"{BANK_INDEX_PREFIX}*")
        state_machine.grant_start_execution(self.recheck_function)
        notifications.grant_send_email(self.recheck_function)
        if secret_refs:
            # Only the secrets the sources file names; they are sent to their source's hosts only.
            self.recheck_function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[secret_arn_pattern(self, ref) for ref in secret_refs],
                )
            )
        self.schedule = events.Rule(
            self,
            ids.RECHECK_SCHEDULE,
            description="Re-checks the notified cases that are due",
            schedule=events.Schedule.expression(RECHECK_SCHEDULE),
            targets=[targets.LambdaFunction(self.recheck_function, retry_attempts=2)],
        )
