"""The takedown stack: everything one deployment needs, in one CloudFormation stack.

Shape (each box is a construct in ``takedown_infra.constructs``)::

    Storage        KMS key, evidence bucket (Object Lock) + access-log bucket, Cases/Bank/Crawl tables
    Layers         base (powertools, jinja2, requests, babel), imaging (pillow, numpy, imagehash, ...),
                   video (PyAV, numpy, pillow), config (templates + sources.json, staged at synth time into
                   build/config-layer)
    Notifications  SES identity, configuration set, mail events topic -> MailFeedbackFunction (+ DLQ)
    Approval       review-link secret, ReviewApiFunction, ReviewApi (REST, WAF), the only SendTask* grant;
                   RemindReviewersFunction (hourly); reviewers' Cognito pool guarding GET /reviews (optional)
    Workflow       Score ... SendNotice functions and the STANDARD state machine (waitForTaskToken approval)
    Hashing        HashMediaFunction on S3 ObjectCreated under media/, HashVideoFunction under video/;
                   both start executions
    Crawl          schedule -> DispatchCrawlFunction -> SQS (+DLQ) -> CrawlPageFunction -> media/, video/ in S3
    FollowUp       hourly schedule -> RecheckCasesFunction: re-checks notified cases, starts follow-up notices
    Monitoring     CloudWatch dashboard; alarms (every DLQ, failed executions, bounce rate, reviews near timeout)
                   to an encrypted SNS topic, optionally emailed to ``alarm_email``

Every function runs python3.12 on x86_64 from the ``functions/`` folder, with its own role, log group and
X-Ray tracing, and gets the environment variables named in ``takedown.config``. Deployment settings come
from the deployment file (``DeploymentConfig``), never from code.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_cdk import CfnOutput, Stack

from takedown import config as runtime
from takedown_infra import ids
from takedown_infra.config_layer import RUNTIME_SOURCES_FILE, RUNTIME_TEMPLATES_DIR, stage_config_layer
from takedown_infra.constructs.approval import ApprovalApiConstruct
from takedown_infra.constructs.case_access import grant_case_table_access
from takedown_infra.constructs.crawl import CrawlConstruct, source_secret_refs
from takedown_infra.constructs.follow_up import FollowUpConstruct
from takedown_infra.constructs.hashing import HashingConstruct
from takedown_infra.constructs.layers import LayersConstruct
from takedown_infra.constructs.monitoring import (
    MonitoredResources,
    MonitoringConstruct,
    find_dead_letter_queues,
)
from takedown_infra.constructs.notifications import NotificationsConstruct
from takedown_infra.constructs.python_function import FunctionDefaults, functions_code
from takedown_infra.constructs.storage import StorageConstruct, removal_policy_of
from takedown_infra.constructs.translation import configure_free_text_translation
from takedown_infra.constructs.workflow import WorkflowConstruct

if TYPE_CHECKING:
    from aws_cdk import RemovalPolicy
    from aws_cdk import aws_lambda as lambda_
    from constructs import Construct

    from takedown_infra.deployment import DeploymentConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
POWERTOOLS_SERVICE_NAME = "takedown"
POWERTOOLS_METRICS_NAMESPACE = "Takedown"


def resolve_repo_path(repo_root: Path, path: str) -> Path:
    """Resolve a path from the deployment file: relative paths are relative to the repository root."""
    candidate = Path(path)
    return candidate if candidate.is_absolute() else repo_root / candidate


class TakedownStack(Stack):
    """All takedown resources.

    Parameters
    ----------
    scope, construct_id
        As for any stack; the app uses ``config.stack_name`` as the id.
    config
        The validated deployment settings.
    repo_root
        The checkout holding ``functions/``, ``templates/`` and the sources file.
    layers_dir
        Where the built dependency layers are (default ``<repo_root>/layers/build``); tests point it at
        empty stand-ins so they never run pip.
    build_dir
        Where the config layer is staged (default ``<repo_root>/build``).
    **kwargs
        Further ``StackProps`` (env, description, ...).

    Attributes
    ----------
    functions
        Construct id (``ids.*_FUNCTION``) -> function, for every Lambda function of the stack.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        repo_root: Path = REPO_ROOT,
        layers_dir: Path | None = None,
        build_dir: Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        removal_policy = removal_policy_of(config)
        config_layer_dir = stage_config_layer(
            templates_dir=repo_root / "templates",
            sources_file=resolve_repo_path(repo_root, config.sources_file),
            destination=(build_dir or repo_root / "build") / "config-layer",
            platforms_file=resolve_repo_path(repo_root, config.platforms_file),
        )

        self.storage = StorageConstruct(self, ids.STORAGE, config=config)
        self.layers = LayersConstruct(
            self,
            ids.LAYERS,
            layers_dir=layers_dir or repo_root / "layers" / "build",
            config_layer_dir=config_layer_dir,
        )
        defaults = FunctionDefaults(
            code=functions_code(repo_root / "functions"),
            environment=self._shared_environment(),
            removal_policy=removal_policy,
            log_key=self.storage.key,
        )
        common_layers: list[lambda_.ILayerVersion] = [self.layers.base, self.layers.config]
        imaging_layers: list[lambda_.ILayerVersion] = [
            self.layers.base,
            self.layers.imaging,
            self.layers.config,
        ]
        # Never imaging and video together: with base they would pass Lambda's 250 MB unzipped limit.
        video_layers: list[lambda_.ILayerVersion] = [
            self.layers.base,
            self.layers.video,
            self.layers.config,
        ]

        self.notifications = NotificationsConstruct(
            self,
            ids.NOTIFICATIONS,
            config=config,
            removal_policy=removal_policy,
            defaults=defaults,
            layers=common_layers,
            storage=self.storage,
        )
        self.approval = ApprovalApiConstruct(
            self,
            ids.APPROVAL,
            config=config,
            defaults=defaults,
            layers=common_layers,
            storage=self.storage,
            notifications=self.notifications,
        )
        self.workflow = WorkflowConstruct(
            self,
            ids.WORKFLOW,
            config=config,
            defaults=defaults,
            layers=common_layers,
            storage=self.storage,
            notifications=self.notifications,
            approval=self.approval,
        )
        # The review's deadline (the approval task's timeout) is stored with it, for the reminder and the list.
        self.workflow.request_approval.add_environment(
            runtime.ENV_APPROVAL_TIMEOUT_HOURS, str(config.approval_timeout_hours)
        )
        self.hashing = HashingConstruct(
            self,
            ids.HASHING,
            defaults=defaults,
            image_layers=imaging_layers,
            video_layers=video_layers,
            storage=self.storage,
            state_machine=self.workflow.state_machine,
        )
        self.crawl = CrawlConstruct(
            self,
            ids.CRAWL,
            config=config,
            defaults=defaults,
            layers=common_layers,
            storage=self.storage,
            secret_refs=source_secret_refs(resolve_repo_path(repo_root, config.sources_file)),
        )
        # Re-fetched images are hashed again, so the re-check runs with the imaging layer.
        self.follow_up = FollowUpConstruct(
            self,
            ids.FOLLOW_UP,
            config=config,
            defaults=defaults,
            layers=imaging_layers,
            storage=self.storage,
            notifications=self.notifications,
            state_machine=self.workflow.state_machine,
            secret_refs=source_secret_refs(resolve_repo_path(repo_root, config.sources_file)),
        )
        self.functions: dict[str, lambda_.Function] = {
            ids.DISPATCH_CRAWL_FUNCTION: self.crawl.dispatcher,
            ids.CRAWL_PAGE_FUNCTION: self.crawl.worker,
            ids.HASH_MEDIA_FUNCTION: self.hashing.media_function,
            ids.HASH_VIDEO_FUNCTION: self.hashing.video_function,
            ids.REVIEW_API_FUNCTION: self.approval.review_function,
            ids.REMIND_REVIEWERS_FUNCTION: self.approval.reminder_function,
            **self.workflow.functions,
            ids.RECHECK_CASES_FUNCTION: self.follow_up.recheck_function,
            ids.MAIL_FEEDBACK_FUNCTION: self.notifications.feedback_function,
        }
        # Each function's own actions on the cases table, no more (constructs/case_access.py).
        grant_case_table_access(self.storage.cases_table, self.functions)
        configure_free_text_translation(
            self.workflow.render_notice_locale, enabled=config.translate_free_text
        )
        self._add_monitoring(removal_policy)
        self._add_outputs()

    def _add_monitoring(self, removal_policy: RemovalPolicy) -> None:
        """Dashboard and alarms. Created after every other construct: it finds the dead-letter queues by walking
        the stack, so a queue added after this call would have no alarm (the infra tests check there is none)."""
        self.monitoring = MonitoringConstruct(
            self,
            ids.MONITORING,
            resources=MonitoredResources(
                functions=self.functions,
                state_machine=self.workflow.state_machine,
                work_queues={ids.CRAWL_QUEUE: self.crawl.queue},
                dead_letter_queues=find_dead_letter_queues(self),
            ),
            namespace=POWERTOOLS_METRICS_NAMESPACE,
            service=POWERTOOLS_SERVICE_NAME,
            alarm_email=self.config.alarm_email,
            removal_policy=removal_policy,
        )

    def _shared_environment(self) -> dict[str, str]:
        """Variables every function gets: the settings ``Settings.from_env`` requires, plain deployment
        values, and where the config layer puts its files. Resource handles that imply a permission (queue,
        state machine, secret, configuration set) go only to the functions granted that permission."""
        config = self.config
        return {
            "POWERTOOLS_SERVICE_NAME": POWERTOOLS_SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": POWERTOOLS_METRICS_NAMESPACE,
            runtime.ENV_EVIDENCE_BUCKET: self.storage.evidence_bucket.bucket_name,
            runtime.ENV_CASES_TABLE: self.storage.cases_table.table_name,
            runtime.ENV_BANK_TABLE: self.storage.bank_table.table_name,
            runtime.ENV_SENDER: config.sender,
            runtime.ENV_REPLY_TO: config.reply_to,
            runtime.ENV_CENTRE_NAME: config.centre_name,
            runtime.ENV_SOURCES_FILE: RUNTIME_SOURCES_FILE,
            runtime.ENV_TEMPLATES_DIR: RUNTIME_TEMPLATES_DIR,
            runtime.ENV_PHASH_MAX_DISTANCE: str(config.phash_max_distance),
            runtime.ENV_MAX_MEDIA_BYTES: str(config.max_media_bytes),
            runtime.ENV_EVIDENCE_RETENTION_DAYS: str(config.evidence_retention_days),
        }

    def _add_outputs(self) -> None:
        outputs = {
            ids.OUTPUT_EVIDENCE_BUCKET: (self.storage.evidence_bucket.bucket_name, "Evidence bucket"),
            ids.OUTPUT_CASES_TABLE: (self.storage.cases_table.table_name, "Cases table (the audit trail)"),
            ids.OUTPUT_BANK_TABLE: (self.storage.bank_table.table_name, "Hash bank table"),
            ids.OUTPUT_CRAWL_TABLE: (self.storage.crawl_table.table_name, "Crawl state table"),
            ids.OUTPUT_CRAWL_QUEUE_URL: (self.crawl.queue.queue_url, "Crawl queue"),
            ids.OUTPUT_STATE_MACHINE_ARN: (self.workflow.state_machine.state_machine_arn, "Case workflow"),
            ids.OUTPUT_REVIEW_API_URL: (self.approval.review_base_url, "Base URL of reviewer links"),
        }
        for key, (value, description) in outputs.items():
            CfnOutput(self, key, value=value, description=description)
