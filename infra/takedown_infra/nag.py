"""cdk-nag: the only place that attaches the AwsSolutions checks and records why a finding is accepted.

Every suppression names its rule, the exact resource path (built from the construct objects, so a renamed
construct fails loudly instead of silently widening a suppression), the exact finding where the rule reports
findings (``applies_to``), and a reason a reviewer can check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Aspects, CfnResource, Stack
from cdk_nag import AwsSolutionsChecks, NagPackSuppression, NagSuppressions

from takedown_infra import ids

if TYPE_CHECKING:
    from collections.abc import Sequence

    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_lambda as lambda_
    from constructs import IConstruct

    from takedown_infra.stack import TakedownStack

RULE_PREFIX = "AwsSolutions-"
# CDK's stack-level singleton that writes the bucket's notification configuration during deployments.
BUCKET_NOTIFICATIONS_HANDLER_PREFIX = "BucketNotificationsHandler"

RUNTIME_REASON = (
    "The dependency layers are built from CPython 3.12 manylinux wheels by layers/build_layers.py, so the "
    "runtime stays python3.12 until the layers are rebuilt and tested for a newer runtime in one deliberate upgrade."
)
KMS_REASON = (
    "CDK's encrypt and decrypt grant for the customer managed key of the tables, queues and evidence bucket; the "
    "resource is that single key ARN and the wildcards only cover the GenerateDataKey and ReEncrypt variants "
    "that DynamoDB, SQS and S3 call on the function's behalf."
)
XRAY_REASON = (
    "Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which do not support "
    "resource-level permissions, so the Service Authorization Reference requires Resource '*' for them; no other "
    "action in this policy is granted on '*'."
)
TRANSLATE_REASON = (
    "Holds xray:PutTraceSegments and xray:PutTelemetryRecords for tracing plus translate:TranslateText and "
    "comprehend:DetectDominantLanguage, which the deployment enabled for free text in notices: the Service "
    "Authorization Reference lists no required resource for either (Amazon Translate calls Comprehend for the "
    "caller when a page did not say its language), so they are granted on '*' to the render function alone."
)
MAIL_FEEDBACK_DLQ_REASON = (
    "This queue is itself the dead-letter queue of the mail events: the SNS subscription's redrive policy and "
    "the feedback function's on-failure destination point at it, which cdk-nag does not recognise as a "
    "dead-letter use; a dead-letter queue of a dead-letter queue would add nothing."
)
TASK_RESPONSE_REASON = (
    "Holds xray:PutTraceSegments and xray:PutTelemetryRecords for tracing plus states:SendTaskSuccess and "
    "states:SendTaskFailure. The Service Authorization Reference for AWS Step Functions lists no resource type "
    "for SendTaskSuccess or SendTaskFailure, meaning they do not support resource-level permissions and must be "
    "granted on '*'. Only this review function holds them, and the task token never leaves the server side."
)
S3_READ_ACTIONS_REASON = (
    "CDK's bucket read grant: s3:GetObject with its version, ACL and tagging variants and bucket-level Get and "
    "List calls on the evidence bucket only; object reads are limited to the prefixes named in the resources."
)
S3_ABORT_REASON = (
    "CDK's put grant adds s3:AbortMultipartUpload (the only s3:Abort action) so an interrupted upload can be "
    "cleaned up; it applies only to the prefixes this function is allowed to write."
)
S3_DELETE_REASON = (
    "Media that matched nothing under media/ (images) or video/ (videos) is deleted by the hashing function of "
    "that prefix only; CDK's delete grant covers DeleteObject and "
    "DeleteObjectVersion, and Object Lock governance retention still protects every stored version."
)
STATE_MACHINE_STAR_REASON = (
    "Step Functions needs the CloudWatch Logs vended-delivery actions (CreateLogDelivery, PutResourcePolicy and "
    "related) and the X-Ray tracing actions for execution logging and tracing; none of them support "
    "resource-level permissions, so AWS documents Resource '*' for them."
)
STATE_MACHINE_INVOKE_REASON = (
    "The LambdaInvoke tasks grant lambda:InvokeFunction on each workflow function's unqualified ARN and on its "
    "versions and aliases (ARN suffix ':*'); the wildcard never reaches beyond these eight functions."
)
LINK_KEY_ROTATION_REASON = (
    "The secret is the HMAC key of reviewer links: an automatic rotation would invalidate every outstanding "
    "review link at once, so rotation is a documented manual step taken between review rounds."
)
APIG4_REASON = (
    "Reviewers arrive from emailed links that carry an HMAC-SHA256 signature with an expiry bound to the reviewer; "
    "the review function verifies it (and a CSRF token on POST) before showing or deciding anything, so API "
    "Gateway has no identity to check."
)
COG4_REASON = (
    "No Cognito user pool: the signed review link is the credential and the review function verifies it; a "
    "reviewer sign-in with Cognito is a documented follow-up for listing reviews, which this stage refuses."
)
APIGW_CLOUDWATCH_ROLE_REASON = (
    "API Gateway writes access and execution logs through one account-level CloudWatch role, and "
    "AmazonAPIGatewayPushToCloudWatchLogs is the AWS managed policy made for exactly that role."
)
NOTIFICATIONS_HANDLER_REASON = (
    "CDK's singleton custom resource that writes the evidence bucket's notification configuration during "
    "deployments; the AWS managed basic execution policy only lets it write its own CloudWatch logs."
)


@dataclass(frozen=True)
class _BucketAccess:
    """The S3 findings one function's grants produce: wildcard actions and the prefixes it may touch."""

    reads: bool = False
    writes: bool = False
    deletes: bool = False
    prefixes: tuple[str, ...] = ()


# Mirrors the grants in the constructs; a grant added there without a line here shows up as a nag error.
_BUCKET_ACCESS: dict[str, _BucketAccess] = {
    ids.CRAWL_PAGE_FUNCTION: _BucketAccess(writes=True, prefixes=("media", "video", "sightings", "captures")),
    ids.HASH_MEDIA_FUNCTION: _BucketAccess(
        reads=True,
        deletes=True,
        prefixes=("media", "sightings", "captures", "bank-index", "thumbnails"),
    ),
    ids.HASH_VIDEO_FUNCTION: _BucketAccess(
        reads=True,
        deletes=True,
        prefixes=("video", "sightings", "captures", "bank-index", "thumbnails"),
    ),
    ids.SCORE_MATCH_FUNCTION: _BucketAccess(reads=True, prefixes=("bank-index",)),
    ids.RECHECK_CASES_FUNCTION: _BucketAccess(reads=True, prefixes=("bank-index",)),
    ids.BUILD_REPORT_FUNCTION: _BucketAccess(reads=True, writes=True, prefixes=("evidence", "captures")),
    ids.RESOLVE_RECIPIENTS_FUNCTION: _BucketAccess(reads=True, prefixes=("captures",)),
    ids.REVIEW_API_FUNCTION: _BucketAccess(reads=True, prefixes=("evidence", "thumbnails")),
}


# The functions granted the crawl table (its data, through CDK's table grants).
_CRAWL_TABLE_USERS = frozenset({ids.CRAWL_PAGE_FUNCTION, ids.HASH_MEDIA_FUNCTION, ids.HASH_VIDEO_FUNCTION})
CRAWL_INDEX_REASON = (
    "CDK's table grant names <table>/index/* once a table has a secondary index. The crawl table's only index is "
    "the sparse OutcomesByHour (media outcomes by the hour they were recorded, for the operator's CLI): these "
    "functions write the items DynamoDB indexes and never query it, and the wildcard stops at this table's "
    "indexes."
)


def attach_nag(scope: IConstruct) -> None:
    """Run the AwsSolutions rule pack over ``scope`` at synth time (errors and warnings become annotations)."""
    Aspects.of(scope).add(AwsSolutionsChecks(verbose=True))


def apply_suppressions(stack: TakedownStack) -> None:
    """Record every accepted AwsSolutions finding of ``stack`` with its reason.

    Raises
    ------
    RuntimeError
        When an expected construct is missing (cdk-nag itself raises when a path matches nothing).
    """
    for construct_id, function in stack.functions.items():
        _suppress_function(stack, construct_id, function)
    _suppress_state_machine(stack)
    _suppress(stack, stack.approval.link_key_secret, "SMG4", LINK_KEY_ROTATION_REASON)
    _suppress(stack, stack.notifications.feedback_dead_letter_queue, "SQS3", MAIL_FEEDBACK_DLQ_REASON)
    for method in stack.approval.review_methods:
        _suppress(stack, method, "APIG4", APIG4_REASON)
        _suppress(stack, method, "COG4", COG4_REASON)
    cloud_watch_role = stack.approval.api.node.find_child("CloudWatchRole")
    _suppress(
        stack,
        cloud_watch_role,
        "IAM4",
        APIGW_CLOUDWATCH_ROLE_REASON,
        ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"],
    )
    _suppress(
        stack,
        _bucket_notifications_handler(stack).node.find_child("Role"),
        "IAM4",
        NOTIFICATIONS_HANDLER_REASON,
        ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
    )


def _suppress_function(stack: TakedownStack, construct_id: str, function: lambda_.Function) -> None:
    _suppress(stack, function, "L1", RUNTIME_REASON)
    policy = _default_policy(function.role)
    _suppress(stack, policy, "IAM5", KMS_REASON, ["Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"])
    star_reason = TASK_RESPONSE_REASON if construct_id == ids.REVIEW_API_FUNCTION else XRAY_REASON
    if construct_id == ids.RENDER_NOTICE_LOCALE_FUNCTION and stack.config.translate_free_text:
        star_reason = TRANSLATE_REASON
    _suppress(stack, policy, "IAM5", star_reason, ["Resource::*"])
    if construct_id in _CRAWL_TABLE_USERS:
        crawl_table = _logical_id(stack, stack.storage.crawl_table)
        _suppress(stack, policy, "IAM5", CRAWL_INDEX_REASON, [f"Resource::<{crawl_table}.Arn>/index/*"])
    access = _BUCKET_ACCESS.get(construct_id)
    if access is None:
        return
    bucket = _logical_id(stack, stack.storage.evidence_bucket)
    if access.reads:
        _suppress(
            stack,
            policy,
            "IAM5",
            S3_READ_ACTIONS_REASON,
            ["Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*"],
        )
    if access.writes:
        _suppress(stack, policy, "IAM5", S3_ABORT_REASON, ["Action::s3:Abort*"])
    if access.deletes:
        _suppress(stack, policy, "IAM5", S3_DELETE_REASON, ["Action::s3:DeleteObject*"])
    for prefix in access.prefixes:
        _suppress(
            stack,
            policy,
            "IAM5",
            f"Object keys under {prefix}/ are made at run time (content hashes, page keys, case ids, bank index "
            f"snapshot versions), so the "
            f"object ARN needs a wildcard; the grant stops at the {prefix}/ prefix of the evidence bucket.",
            [f"Resource::<{bucket}.Arn>/{prefix}/*"],
        )


def _suppress_state_machine(stack: TakedownStack) -> None:
    workflow = stack.workflow
    policy = _default_policy(workflow.state_machine.role)
    _suppress(stack, policy, "IAM5", STATE_MACHINE_STAR_REASON, ["Resource::*"])
    _suppress(
        stack,
        policy,
        "IAM5",
        STATE_MACHINE_INVOKE_REASON,
        [f"Resource::<{_logical_id(stack, function)}.Arn>:*" for function in workflow.functions.values()],
    )


def _suppress(
    stack: Stack, construct: IConstruct, rule: str, reason: str, applies_to: Sequence[str] | None = None
) -> None:
    """Suppress ``rule`` on the one CloudFormation resource behind ``construct``, by its exact path."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if resource is None:
        raise RuntimeError(f"{construct.node.path} has no CloudFormation resource to suppress {rule} on")
    NagSuppressions.add_resource_suppressions_by_path(
        stack,
        f"/{resource.node.path}",
        [
            NagPackSuppression(
                id=f"{RULE_PREFIX}{rule}", reason=reason, applies_to=list(applies_to or []) or None
            )
        ],
    )


def _default_policy(role: iam.IRole | None) -> IConstruct:
    if role is None:
        raise RuntimeError("expected a role with grants")
    return role.node.find_child("DefaultPolicy")


def _logical_id(stack: Stack, construct: IConstruct) -> str:
    resource = construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise RuntimeError(f"{construct.node.path} has no CloudFormation resource")
    return stack.get_logical_id(resource)


def _bucket_notifications_handler(stack: Stack) -> IConstruct:
    handlers = [c for c in stack.node.children if c.node.id.startswith(BUCKET_NOTIFICATIONS_HANDLER_PREFIX)]
    if len(handlers) != 1:
        raise RuntimeError(f"expected one {BUCKET_NOTIFICATIONS_HANDLER_PREFIX}, found {len(handlers)}")
    return handlers[0]
