"""Crawling: a schedule wakes the dispatcher, which queues the sources' seed pages for the crawl workers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from takedown import config as runtime
from takedown.crawl.sources import load_sources
from takedown_infra import ids
from takedown_infra.constructs.python_function import FunctionDefaults, create_python_function
from takedown_infra.constructs.storage import CAPTURES_PREFIX, MEDIA_PREFIX, SIGHTINGS_PREFIX, VIDEO_PREFIX

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from aws_cdk import aws_lambda as lambda_

    from takedown_infra.constructs.storage import StorageConstruct
    from takedown_infra.deployment import DeploymentConfig

CRAWL_PAGE_TIMEOUT = Duration.seconds(120)
# AWS's guidance for SQS-triggered functions: at least six times the function timeout, so a message is not
# handed to a second worker while the first may still be retrying it.
VISIBILITY_TIMEOUT_FACTOR = 6
MAX_RECEIVE_COUNT = 5
CRAWL_BATCH_SIZE = 5
# Few workers at once: the crawler visits other people's sites and should be gentle with them.
MAX_CRAWL_CONCURRENCY = 5
# Secrets Manager appends a hyphen and six random characters to a secret's name to make its ARN.
SECRET_ARN_SUFFIX = "-??????"  # noqa: S105 - an ARN pattern, not a secret


def source_secret_refs(sources_file: Path) -> list[str]:
    """The ``secret_ref`` of every source in the sources file, each once, in file order."""
    return list(
        dict.fromkeys(source.secret_ref for source in load_sources(sources_file) if source.secret_ref)
    )


def secret_arn_pattern(scope: Construct, secret_ref: str) -> str:
    """The ARN (pattern) IAM needs for a source's secret: a full ARN as given, a name with the random suffix."""
    if secret_ref.startswith("arn:"):
        return secret_ref
    return Stack.of(scope).format_arn(
        service="secretsmanager",
        resource="secret",
        resource_name=secret_ref + SECRET_ARN_SUFFIX,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


class CrawlConstruct(Construct):
    """The crawl queue with its dead-letter queue, the dispatcher on a schedule, and the page worker.

    Attributes
    ----------
    queue
        Pages to fetch (KMS, SSL only); a message that fails five times moves to ``dead_letter_queue``.
    dispatcher
        ``DispatchCrawlFunction``: reads the sources file and queues each source's seeds.
    worker
        ``CrawlPageFunction``: fetches a page, stores media and sightings, queues the links it may follow;
        it may read the Secrets Manager secrets named by the sources (``secret_refs``) and nothing else.
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
        secret_refs: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = sqs.Queue(
            self,
            ids.CRAWL_DEAD_LETTER_QUEUE,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=storage.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.queue = sqs.Queue(
            self,
            ids.CRAWL_QUEUE,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=storage.key,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(CRAWL_PAGE_TIMEOUT.to_seconds() * VISIBILITY_TIMEOUT_FACTOR),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=MAX_RECEIVE_COUNT, queue=self.dead_letter_queue
            ),
        )
        queue_environment = {runtime.ENV_CRAWL_QUEUE_URL: self.queue.queue_url}

        self.dispatcher = create_python_function(
            self,
            ids.DISPATCH_CRAWL_FUNCTION,
            handler_module="handle_dispatch_crawl",
            defaults=defaults,
            layers=layers,
            description="Queues the seed pages of every configured source",
            environment=queue_environment,
        )
        self.queue.grant_send_messages(self.dispatcher)
        events.Rule(
            self,
            ids.CRAWL_SCHEDULE,
            description="Starts a crawl round",
            schedule=events.Schedule.expression(config.crawl_schedule),
            targets=[targets.LambdaFunction(self.dispatcher, retry_attempts=2)],
        )

        self.worker = create_python_function(
            self,
            ids.CRAWL_PAGE_FUNCTION,
            handler_module="handle_crawl_page",
            defaults=defaults,
            layers=layers,
            description="Fetches one page, stores its media and queues its links",
            environment={
                **queue_environment,
                runtime.ENV_CRAWL_TABLE: storage.crawl_table.table_name,
                # Each page with media gets its server's country from the network's RDAP registration.
                runtime.ENV_RDAP_IP_URLS: ",".join(config.rdap_ip_base_urls),
            },
            timeout=CRAWL_PAGE_TIMEOUT,
            memory_size=512,
        )
        self.queue.grant_send_messages(self.worker)
        storage.crawl_table.grant_read_write_data(self.worker)
        if secret_refs:
            # Only the secrets the sources file names; the worker sends them to their source's hosts only.
            self.worker.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["secretsmanager:GetSecretValue"],
                    resources=[secret_arn_pattern(self, ref) for ref in secret_refs],
                )
            )
        storage.evidence_bucket.grant_put(self.worker, f"{MEDIA_PREFIX}*")
        # Videos go under their own prefix, which notifies the video hashing function.
        storage.evidence_bucket.grant_put(self.worker, f"{VIDEO_PREFIX}*")
        storage.evidence_bucket.grant_put(self.worker, f"{SIGHTINGS_PREFIX}*")
        storage.evidence_bucket.grant_put(self.worker, f"{CAPTURES_PREFIX}*")
        self.worker.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=CRAWL_BATCH_SIZE,
                report_batch_item_failures=True,
                max_concurrency=MAX_CRAWL_CONCURRENCY,
            )
        )
