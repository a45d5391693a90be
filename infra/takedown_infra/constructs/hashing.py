"""Hashing: every file the crawler stores under ``media/`` or ``video/`` is hashed, matched, and may start a case.

Images and videos go to two functions running the same code: they differ in their layers (imagehash and scipy
for stills, PyAV with its FFmpeg for videos; both together pass Lambda's 250 MB unzipped limit) and in their
sizing (a video's sampled frames are held in memory and decoding takes longer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from takedown import config as runtime
from takedown_infra import ids
from takedown_infra.constructs.python_function import FunctionDefaults, create_python_function
from takedown_infra.constructs.storage import (
    BANK_INDEX_PREFIX,
    CAPTURES_PREFIX,
    MEDIA_PREFIX,
    SIGHTINGS_PREFIX,
    THUMBNAILS_PREFIX,
    VIDEO_PREFIX,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_stepfunctions as sfn

    from takedown_infra.constructs.storage import StorageConstruct


@dataclass(frozen=True)
class HashingFunctionSpec:
    """What sets one hashing function apart from the other: its trigger prefix, handler, layers and sizing."""

    construct_id: str
    handler_module: str
    prefix: str
    layers: Sequence[lambda_.ILayerVersion]
    description: str
    timeout: Duration
    memory_size: int


class HashingConstruct(Construct):
    """``HashMediaFunction`` on S3 ObjectCreated under ``media/``, ``HashVideoFunction`` under ``video/``.

    Each reads its file and the sighting, matches the hashes against the bank index, records the outcome,
    deletes a file that matched nothing, and starts one workflow execution per candidate.

    Attributes
    ----------
    media_function
        Images (stills and animated), with the imaging layer; 120 s, 1024 MB.
    video_function
        Videos, with the video layer (PyAV); 300 s, 2048 MB, since the sampled frames are kept in memory.
    dead_letter_queue
        S3 events either function failed on after Lambda's two retries, with the error (KMS, SSL only, 14 days).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        defaults: FunctionDefaults,
        image_layers: Sequence[lambda_.ILayerVersion],
        video_layers: Sequence[lambda_.ILayerVersion],
        storage: StorageConstruct,
        state_machine: sfn.StateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        # S3 invokes the hashing functions asynchronously: Lambda retries a failed event twice and then drops it
        # unless it has somewhere to go. Here it is kept, with Lambda's ErrorCode and ErrorMessage attributes, so
        # no sighting is lost without a trace.
        self.dead_letter_queue = sqs.Queue(
            self,
            ids.HASHING_DEAD_LETTER_QUEUE,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=storage.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.media_function = self._hashing_function(
            HashingFunctionSpec(
                construct_id=ids.HASH_MEDIA_FUNCTION,
                handler_module="handle_hash_media",
                prefix=MEDIA_PREFIX,
                layers=image_layers,
                description="Hashes crawled images and starts a case for each candidate match",
                timeout=Duration.seconds(120),
                memory_size=1024,
            ),
            defaults=defaults,
            storage=storage,
            state_machine=state_machine,
        )
        self.video_function = self._hashing_function(
            HashingFunctionSpec(
                construct_id=ids.HASH_VIDEO_FUNCTION,
                handler_module="handle_hash_video",
                prefix=VIDEO_PREFIX,
                layers=video_layers,
                description="Hashes crawled videos frame by frame and starts a case for each candidate match",
                timeout=Duration.seconds(300),
                memory_size=2048,
            ),
            defaults=defaults,
            storage=storage,
            state_machine=state_machine,
        )

    def _hashing_function(
        self,
        spec: HashingFunctionSpec,
        *,
        defaults: FunctionDefaults,
        storage: StorageConstruct,
        state_machine: sfn.StateMachine,
    ) -> lambda_.Function:
        function = create_python_function(
            self,
            spec.construct_id,
            handler_module=spec.handler_module,
            defaults=defaults,
            layers=spec.layers,
            description=spec.description,
            environment={
                runtime.ENV_CRAWL_TABLE: storage.crawl_table.table_name,
                runtime.ENV_STATE_MACHINE_ARN: state_machine.state_machine_arn,
            },
            timeout=spec.timeout,
            memory_size=spec.memory_size,
            dead_letter_queue=self.dead_letter_queue,
        )
        bucket = storage.evidence_bucket
        bucket.grant_read(function, f"{spec.prefix}*")
        bucket.grant_read(function, f"{SIGHTINGS_PREFIX}*")
        # The bank index snapshot (published by `takedown bank ...`), re-checked at most once a minute.
        bucket.grant_read(function, f"{BANK_INDEX_PREFIX}*")
        # A file that matched nothing is not evidence of anything and is deleted (a delete marker under
        # versioning; Object Lock keeps the version until its retention ends). Only its own prefix.
        bucket.grant_delete(function, f"{spec.prefix}*")
        # A candidate's small greyscale thumbnail, for the reviewer who asks for it (approval.thumbnail): a plain
        # put, no retention (thumbnails are not evidence and expire).
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[bucket.arn_for_objects(f"{THUMBNAILS_PREFIX}*")]
            )
        )
        storage.key.grant_encrypt(function)
        storage.bank_table.grant_read_data(function)
        storage.crawl_table.grant_write_data(function)
        state_machine.grant_start_execution(function)
        # A candidate's file, sighting and page capture become evidence: the function locks them (Object Lock
        # retention).
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObjectRetention"],
                resources=[
                    bucket.arn_for_objects(f"{spec.prefix}*"),
                    bucket.arn_for_objects(f"{SIGHTINGS_PREFIX}*"),
                    bucket.arn_for_objects(f"{CAPTURES_PREFIX}*"),
                ],
            )
        )
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.LambdaDestination(function),
            s3.NotificationKeyFilter(prefix=spec.prefix),
        )
        return function
