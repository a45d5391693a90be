"""Storage resources: the key, the evidence and log buckets, the three tables, the crawl queues."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk.assertions import Match, Template

from takedown import config as runtime
from takedown_infra import ids
from tests.infra.conftest import build_stack
from tests.infra.template_reading import logical_id, resources_of_type

if TYPE_CHECKING:
    from pathlib import Path

    from aws_cdk import aws_dynamodb as dynamodb

    from takedown_infra.deployment import DeploymentConfig
    from tests.infra.conftest import SynthesizedStack


def ssl_only_statement(resource_policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s
        for s in resource_policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny"
        and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]


def test_one_data_key_with_rotation_and_one_for_mail_events(synthesized: SynthesizedStack) -> None:
    # GIVEN the synthesized stack
    # WHEN its KMS keys are listed
    keys = resources_of_type(synthesized.resources, "AWS::KMS::Key")

    # THEN there are three (data, mail events, alarms topic), all rotating, one of them the storage data key
    assert len(keys) == 3
    assert all(key["Properties"]["EnableKeyRotation"] is True for key in keys.values())
    assert logical_id(synthesized.stack.storage.key) in keys


def test_evidence_bucket_is_locked_down(synthesized: SynthesizedStack) -> None:
    # GIVEN the evidence bucket
    storage = synthesized.stack.storage
    bucket = synthesized.resources[logical_id(storage.evidence_bucket)]["Properties"]

    # THEN it is KMS-encrypted with the data key, private, versioned, object-locked and logged
    encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {
        "Fn::GetAtt": [logical_id(storage.key), "Arn"]
    }
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["ObjectLockEnabled"] is True
    # No bucket-wide default retention: evidence is locked object by object, unmatched media is not kept.
    assert "Rule" not in bucket.get("ObjectLockConfiguration", {})
    assert bucket["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": logical_id(storage.access_log_bucket)
    }


@pytest.mark.parametrize("bucket_attribute", ["evidence_bucket", "access_log_bucket"])
def test_buckets_refuse_plain_http(synthesized: SynthesizedStack, bucket_attribute: str) -> None:
    # GIVEN a bucket of the stack
    bucket_id = logical_id(getattr(synthesized.stack.storage, bucket_attribute))

    # WHEN its bucket policy is found
    policies = [
        p
        for p in resources_of_type(synthesized.resources, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]

    # THEN it denies every request that is not over TLS
    assert len(policies) == 1
    assert ssl_only_statement(policies[0])


def test_access_log_bucket_is_private_and_not_kms(synthesized: SynthesizedStack) -> None:
    # GIVEN the access-log bucket (S3 log delivery cannot write SSE-KMS objects)
    bucket = synthesized.resources[logical_id(synthesized.stack.storage.access_log_bucket)]["Properties"]

    # THEN it is SSE-S3 encrypted and blocks public access
    encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(bucket["PublicAccessBlockConfiguration"].values())


def test_retain_policy_keeps_stateful_resources(synthesized: SynthesizedStack) -> None:
    # GIVEN the example config's removal policy "retain"
    assert synthesized.config.removal_policy == "retain"
    storage = synthesized.stack.storage

    # THEN the buckets, tables and key survive a stack deletion
    for construct in (
        storage.key,
        storage.evidence_bucket,
        storage.access_log_bucket,
        storage.cases_table,
        storage.bank_table,
        storage.crawl_table,
    ):
        resource = synthesized.resources[logical_id(construct)]
        assert resource["DeletionPolicy"] == "Retain", construct.node.path


@pytest.mark.parametrize("table_attribute", ["cases_table", "bank_table", "crawl_table"])
def test_tables_have_keys_pitr_kms_and_ttl(synthesized: SynthesizedStack, table_attribute: str) -> None:
    # GIVEN one of the three tables
    storage = synthesized.stack.storage
    table = synthesized.resources[logical_id(getattr(storage, table_attribute))]["Properties"]

    # THEN it has pk/sk string keys, on-demand billing, PITR, the data key and TTL on expires_at
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    # (any other attribute defined is a key of a secondary index, e.g. the cases table's sparse re-check index)
    index_keys = {
        key["AttributeName"]
        for index in table.get("GlobalSecondaryIndexes", [])
        for key in index["KeySchema"]
    }
    defined = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert {"pk": "S", "sk": "S"}.items() <= defined.items()
    assert set(defined) - {"pk", "sk"} == index_keys
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"] == {
        "KMSMasterKeyId": {"Fn::GetAtt": [logical_id(storage.key), "Arn"]},
        "SSEEnabled": True,
        "SSEType": "KMS",
    }
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_the_secondary_indexes_are_the_sparse_ones_the_functions_query(synthesized: SynthesizedStack) -> None:
    # GIVEN the three tables
    storage = synthesized.stack.storage

    def indexes(table: dynamodb.Table) -> dict[str, str]:
        properties = synthesized.resources[logical_id(table)]["Properties"]
        return {
            index["IndexName"]: index["Projection"]["ProjectionType"]
            for index in properties.get("GlobalSecondaryIndexes", [])
        }

    # THEN the cases table has the two sparse indexes (pending reviews without their task token, cases due for
    # a re-check by key only), the crawl table the media outcomes by hour, and the bank table none
    assert indexes(storage.cases_table) == {
        runtime.PENDING_REVIEWS_INDEX: "INCLUDE",
        runtime.RECHECK_DUE_INDEX: "KEYS_ONLY",
    }
    assert indexes(storage.bank_table) == {}
    assert indexes(storage.crawl_table) == {runtime.OUTCOMES_BY_HOUR_INDEX: "ALL"}


def test_exactly_three_tables(synthesized: SynthesizedStack) -> None:
    # GIVEN the template WHEN tables are counted THEN there are the cases, bank and crawl tables only
    synthesized.template.resource_count_is("AWS::DynamoDB::Table", 3)


def test_crawl_queue_uses_the_key_a_dead_letter_queue_and_a_long_visibility(
    synthesized: SynthesizedStack,
) -> None:
    # GIVEN the crawl queue and its dead-letter queue
    crawl = synthesized.stack.crawl
    storage_key = {"Fn::GetAtt": [logical_id(synthesized.stack.storage.key), "Arn"]}
    queue = synthesized.resources[logical_id(crawl.queue)]["Properties"]
    dead_letters = synthesized.resources[logical_id(crawl.dead_letter_queue)]["Properties"]
    worker_timeout = synthesized.resources[logical_id(crawl.worker)]["Properties"]["Timeout"]

    # THEN both use the data key, and the queue hands a message over only after six worker timeouts
    assert queue["KmsMasterKeyId"] == storage_key
    assert dead_letters["KmsMasterKeyId"] == storage_key
    assert queue["VisibilityTimeout"] >= 6 * worker_timeout
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [logical_id(crawl.dead_letter_queue), "Arn"]},
        "maxReceiveCount": 5,
    }


def test_queues_refuse_plain_http(synthesized: SynthesizedStack) -> None:
    # GIVEN the two queues
    crawl = synthesized.stack.crawl
    queue_ids = {logical_id(crawl.queue), logical_id(crawl.dead_letter_queue)}

    # WHEN their queue policies are read
    policies = resources_of_type(synthesized.resources, "AWS::SQS::QueuePolicy").values()
    protected = {
        queue["Ref"]
        for policy in policies
        if ssl_only_statement(policy)
        for queue in policy["Properties"]["Queues"]
    }

    # THEN each denies non-TLS requests
    assert queue_ids <= protected


def test_link_key_secret_is_generated_without_punctuation(synthesized: SynthesizedStack) -> None:
    # GIVEN the review-link secret
    secret = synthesized.resources[logical_id(synthesized.stack.approval.link_key_secret)]["Properties"]

    # THEN Secrets Manager generates 64 characters without punctuation
    assert secret["GenerateSecretString"] == {"ExcludePunctuation": True, "PasswordLength": 64}


def test_outputs_name_every_handle_a_cloud_team_needs(synthesized: SynthesizedStack) -> None:
    # GIVEN the stack outputs
    stack = synthesized.stack
    expected = {
        ids.OUTPUT_EVIDENCE_BUCKET: {"Ref": logical_id(stack.storage.evidence_bucket)},
        ids.OUTPUT_CASES_TABLE: {"Ref": logical_id(stack.storage.cases_table)},
        ids.OUTPUT_BANK_TABLE: {"Ref": logical_id(stack.storage.bank_table)},
        ids.OUTPUT_CRAWL_TABLE: {"Ref": logical_id(stack.storage.crawl_table)},
        ids.OUTPUT_CRAWL_QUEUE_URL: {"Ref": logical_id(stack.crawl.queue)},
        ids.OUTPUT_STATE_MACHINE_ARN: {"Ref": logical_id(stack.workflow.state_machine)},
    }

    # THEN each refers to its resource, and the review URL is built from the API and its stage
    for key, value in expected.items():
        assert synthesized.outputs[key]["Value"] == value, key
    synthesized.template.has_output(
        ids.OUTPUT_REVIEW_API_URL,
        {"Value": {"Fn::Join": ["", Match.array_with([{"Ref": logical_id(stack.approval.api)}])]}},
    )


def test_deleted_media_versions_are_purged_once_the_lock_allows(synthesized: SynthesizedStack) -> None:
    # GIVEN the evidence bucket's lifecycle rules
    bucket = synthesized.resources[logical_id(synthesized.stack.storage.evidence_bucket)]["Properties"]
    rules = bucket["LifecycleConfiguration"]["Rules"]

    # THEN uncited page captures expire after the configured days (30 by default), and noncurrent versions under media/ and video/
    # (unmatched images and videos the hashing functions deleted) after a day; reviewers' thumbnails (never
    # locked, not evidence) go after 30 days, when no review can still ask for them
    assert rules == [
        {
            "ExpirationInDays": synthesized.config.capture_expiry_days,
            "Id": "ExpireUncitedCaptures",
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            "Prefix": "captures/",
            "Status": "Enabled",
        },
        {
            "Id": "PurgeDeletedMedia",
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            "Prefix": "media/",
            "Status": "Enabled",
        },
        {
            "Id": "PurgeDeletedVideo",
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            "Prefix": "video/",
            "Status": "Enabled",
        },
        {
            "ExpirationInDays": 30,
            "Id": "ExpireThumbnails",
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            "Prefix": "thumbnails/",
            "Status": "Enabled",
        },
    ]


def test_destroy_policy_lets_stateful_resources_go(example_config: DeploymentConfig, tmp_path: Path) -> None:
    # GIVEN a deployment file that asks for removal_policy "destroy" (a test account)
    config = dataclasses.replace(example_config, removal_policy="destroy")
    _, stack = build_stack(config, tmp_path)

    # WHEN it is synthesized
    resources = Template.from_stack(stack).to_json()["Resources"]

    # THEN the buckets, tables and key are deleted with the stack
    storage = stack.storage
    for construct in (storage.key, storage.evidence_bucket, storage.cases_table, storage.crawl_table):
        assert resources[logical_id(construct)]["DeletionPolicy"] == "Delete", construct.node.path
