"""Where the system keeps what it finds: the KMS key, the evidence bucket, its access-log bucket, the tables.

The same key encrypts the stack's CloudWatch log groups: its key policy lets CloudWatch Logs in this region use it,
only for log groups of this stack (the encryption context names the log group's ARN, and CloudFormation names a
log group ``<stack name>-<logical id>-<suffix>`` when the template gives no name, as none of ours does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from takedown import config as runtime
from takedown_infra import ids

if TYPE_CHECKING:
    from takedown_infra.deployment import DeploymentConfig

# Object key prefixes of the evidence bucket (see takedown.aws.evidence_store).
MEDIA_PREFIX = "media/"  # crawled images (and animated images); triggers HashMediaFunction
VIDEO_PREFIX = "video/"  # crawled videos; triggers HashVideoFunction
SIGHTINGS_PREFIX = "sightings/"
EVIDENCE_PREFIX = "evidence/"
CAPTURES_PREFIX = "captures/"  # WARC of each page with media, as fetched; locked when a case cites it
BANK_INDEX_PREFIX = "bank-index/"  # the published bank index snapshot and its pointer
THUMBNAILS_PREFIX = "thumbnails/"  # reviewers' small greyscale thumbnails of candidates (not evidence)
# A thumbnail serves the review only; no execution (and so no review) outlives the state machine's 30-day timeout.
THUMBNAIL_EXPIRY_DAYS = 30
TTL_ATTRIBUTE = "expires_at"
# What CloudWatch Logs needs of a customer managed key to encrypt a log group (CloudWatch Logs User Guide,
# "Encrypt log data in CloudWatch Logs using AWS KMS").
LOGS_KEY_ACTIONS = ("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*")
LOGS_ENCRYPTION_CONTEXT = "kms:EncryptionContext:aws:logs:arn"


def removal_policy_of(config: DeploymentConfig) -> RemovalPolicy:
    """Map the deployment file's ``removal_policy`` to CDK's value."""
    return RemovalPolicy.DESTROY if config.removal_policy == "destroy" else RemovalPolicy.RETAIN


class StorageConstruct(Construct):
    """The KMS key, the evidence bucket (Object Lock, versioned), its access-log bucket and three tables.

    Attributes
    ----------
    key
        Customer managed key (rotation on) for the evidence bucket, the tables, the queues, the topics and the
        log groups of this stack.
    evidence_bucket
        ``media/`` (crawled images, triggers image hashing), ``video/`` (crawled videos, triggers video
        hashing), ``sightings/`` (where each was seen), ``captures/`` (page WARCs), ``bank-index/`` (the
        bank index snapshot), ``evidence/`` (reports). Evidence objects are locked one by one (GOVERNANCE) for the retention period.
    access_log_bucket
        Server access logs of the evidence bucket (SSE-S3: S3 log delivery cannot write SSE-KMS).
    cases_table, bank_table, crawl_table
        ``pk``/``sk`` string keys, on-demand, point-in-time recovery, the CMK, TTL on ``expires_at``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        removal_policy = removal_policy_of(config)
        retention = Duration.days(config.evidence_retention_days)

        self.key = kms.Key(
            self,
            ids.DATA_KEY,
            description="Takedown evidence bucket, tables and crawl queues",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self._let_logs_use_the_key()
        self.access_log_bucket = s3.Bucket(
            self,
            ids.ACCESS_LOG_BUCKET,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Who read which evidence matters as long as the evidence itself.
            lifecycle_rules=[s3.LifecycleRule(expiration=retention, noncurrent_version_expiration=retention)],
            removal_policy=removal_policy,
        )
        self.evidence_bucket = s3.Bucket(
            self,
            ids.EVIDENCE_BUCKET,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Object Lock is on, without a bucket-wide default: the functions lock what is evidence (the media
            # and sighting of a case, its reports) object by object. Crawled media that matched nothing is not
            # evidence and must not be kept for years.
            object_lock_enabled=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="evidence-bucket/",
            lifecycle_rules=[
                # Page captures that no case cites expire; a cited one is locked and outlives this rule.
                s3.LifecycleRule(
                    id="ExpireUncitedCaptures",
                    prefix=CAPTURES_PREFIX,
                    expiration=Duration.days(config.capture_expiry_days),
                    noncurrent_version_expiration=Duration.days(1),
                ),
                # Unmatched media is deleted by the hashing function; its old version goes a day later.
                s3.LifecycleRule(
                    id="PurgeDeletedMedia",
                    prefix=MEDIA_PREFIX,
                    noncurrent_version_expiration=Duration.days(1),
                ),
                # The same for unmatched videos, which the video hashing function deletes.
                s3.LifecycleRule(
                    id="PurgeDeletedVideo",
                    prefix=VIDEO_PREFIX,
                    noncurrent_version_expiration=Duration.days(1),
                ),
                # Review thumbnails are never locked: they go once no review can still ask for them.
                s3.LifecycleRule(
                    id="ExpireThumbnails",
                    prefix=THUMBNAILS_PREFIX,
                    expiration=Duration.days(THUMBNAIL_EXPIRY_DAYS),
                    noncurrent_version_expiration=Duration.days(1),
                ),
            ],
            removal_policy=removal_policy,
        )
        self.cases_table = self._table(ids.CASES_TABLE, removal_policy)
        string, number = dynamodb.AttributeType.STRING, dynamodb.AttributeType.NUMBER
        # Sparse: only pending reviews carry its keys. No task token, no decision in it.
        _add_sparse_index(
            self.cases_table,
            runtime.PENDING_REVIEWS_INDEX,
            (runtime.PENDING_PARTITION_ATTRIBUTE, runtime.PENDING_DUE_ATTRIBUTE, number),
            dynamodb.ProjectionType.INCLUDE,
            ["case_id", "reviewer", "link_expires_at", "reminded_at"],
        )
        # Sparse: only monitored cases with a check scheduled carry these attributes (takedown.aws.recheck_queue).
        _add_sparse_index(
            self.cases_table,
            runtime.RECHECK_DUE_INDEX,
            (runtime.RECHECK_PARTITION_ATTRIBUTE, runtime.RECHECK_DUE_ATTRIBUTE, string),
            dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.bank_table = self._table(ids.BANK_TABLE, removal_policy)
        self.crawl_table = self._table(ids.CRAWL_TABLE, removal_policy)
        # Sparse: only media outcomes carry these attributes (takedown.aws.crawl_state), an hour a partition.
        _add_sparse_index(
            self.crawl_table,
            runtime.OUTCOMES_BY_HOUR_INDEX,
            (runtime.OUTCOME_HOUR_ATTRIBUTE, runtime.OUTCOME_RECORDED_ATTRIBUTE, string),
            dynamodb.ProjectionType.ALL,
        )

    def _let_logs_use_the_key(self) -> None:
        """Let CloudWatch Logs in this region encrypt and read this stack's log groups with the key, and no others."""
        stack = Stack.of(self)
        log_groups_of_this_stack = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{stack.stack_name}-*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsForThisStacksLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=list(LOGS_KEY_ACTIONS),
                resources=["*"],
                conditions={"ArnLike": {LOGS_ENCRYPTION_CONTEXT: log_groups_of_this_stack}},
            )
        )

    def _table(self, construct_id: str, removal_policy: RemovalPolicy) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            time_to_live_attribute=TTL_ATTRIBUTE,
            removal_policy=removal_policy,
        )


def _add_sparse_index(
    table: dynamodb.Table,
    name: str,
    keys: tuple[str, str, dynamodb.AttributeType],
    projection: dynamodb.ProjectionType,
    non_key_attributes: list[str] | None = None,
) -> None:
    """A global secondary index on a string partition attribute and a sort attribute of the given type (``keys``):
    sparse, because only the items that carry both attributes are in it."""
    partition, sort, sort_type = keys
    table.add_global_secondary_index(
        index_name=name,
        partition_key=dynamodb.Attribute(name=partition, type=dynamodb.AttributeType.STRING),
        sort_key=dynamodb.Attribute(name=sort, type=sort_type),
        projection_type=projection,
        non_key_attributes=non_key_attributes,
    )
