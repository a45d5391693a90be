"""Hashing: every file the crawler stores under ``media/`` is hashed, matched, and may start a case."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct

from takedown import config as runtime
from takedown_infra import ids
from takedown_infra.constructs.python_function import FunctionDefaults, create_python_function
from takedown_infra.constructs.storage import (
    BANK_INDEX_PREFIX,
    CAPTURES_PREFIX,
    MEDIA_PREFIX,
    SIGHTINGS_PREFIX,
)

if TYPE_CHECKING:
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_stepfunctions as sfn

    from takedown_infra.constructs.storage import StorageConstruct


class HashingConstruct(Construct):
    """``HashMediaFunction`` on S3 ObjectCreated events under ``media/`` of the evidence bucket.

    Attributes
    ----------
    function
        Reads the media and its sighting, matches the hashes against the bank, records the outcome, deletes
        media that matched nothing, and starts one workflow execution per candidate.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        defaults: FunctionDefaults,
        layers: list[lambda_.ILayerVersion],
        storage: StorageConstruct,
        state_machine: sfn.StateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = create_python_function(
            self,
            ids.HASH_MEDIA_FUNCTION,
            handler_module="handle_hash_media",
            defaults=defaults,
            layers=layers,
            description="Hashes crawled media and starts a case for each candidate match",
            environment={
                runtime.ENV_CRAWL_TABLE: storage.crawl_table.table_name,
                runtime.ENV_STATE_MACHINE_ARN: state_machine.state_machine_arn,
            },
            timeout=Duration.seconds(120),
            memory_size=1024,
        )
        bucket = storage.evidence_bucket
        bucket.grant_read(self.function, f"{MEDIA_PREFIX}*")
        bucket.grant_read(self.function, f"{SIGHTINGS_PREFIX}*")
        # The bank index snapshot (published by `takedown bank ...`), re-checked at most once a minute.
        bucket.grant_read(self.function, f"{BANK_INDEX_PREFIX}*")
        # Media that matched nothing is not evidence of anything and is deleted (a delete marker under
        # versioning; Object Lock keeps the version until its retention ends).
        bucket.grant_delete(self.function, f"{MEDIA_PREFIX}*")
        storage.bank_table.grant_read_data(self.function)
        storage.cases_table.grant_read_write_data(self.function)
        storage.crawl_table.grant_write_data(self.function)
        state_machine.grant_start_execution(self.function)
        # A candidate's media and sighting become evidence: the function locks them (Object Lock retention).
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObjectRetention"],
                resources=[
                    bucket.arn_for_objects(f"{MEDIA_PREFIX}*"),
                    bucket.arn_for_objects(f"{SIGHTINGS_PREFIX}*"),
                    bucket.arn_for_objects(f"{CAPTURES_PREFIX}*"),
                ],
            )
        )
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.LambdaDestination(self.function),
            s3.NotificationKeyFilter(prefix=MEDIA_PREFIX),
        )
