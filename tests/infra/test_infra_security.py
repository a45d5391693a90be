"""Security of the deployment, asserted over EVERY resource of its kind in the synthesized template.

The other infra tests check named resources; these iterate over whatever the template holds, so a table, bucket,
queue, topic, secret, log group or function added later is covered without editing this file: encryption with a
key of this stack, TLS-only resource policies, no public access, Object Lock where evidence is locked, point-in-
time recovery, secrets only in Secrets Manager, IAM scoped per function, failed asynchronous events kept.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from tests.infra.template_reading import (
    actions_of,
    nag_suppressions,
    render_intrinsics,
    resources_of,
    resources_of_type,
    role_policy_statements,
)

if TYPE_CHECKING:
    from tests.infra.conftest import SynthesizedStack

# Actions without resource-level permissions (Service Authorization Reference): "*" is the only resource IAM
# accepts for them. Every other write may only name resources of this stack.
ACTIONS_WITHOUT_RESOURCE_TYPES = frozenset(
    {
        "xray:puttracesegments",
        "xray:puttelemetryrecords",
        "xray:getsamplingrules",
        "xray:getsamplingtargets",
        "states:sendtasksuccess",
        "states:sendtaskfailure",
        "states:sendtaskheartbeat",
        "logs:createlogdelivery",
        "logs:deletelogdelivery",
        "logs:describeloggroups",
        "logs:describeresourcepolicies",
        "logs:getlogdelivery",
        "logs:listlogdeliveries",
        "logs:putresourcepolicy",
        "logs:updatelogdelivery",
        "cloudwatch:putmetricdata",
    }
)
# Verbs that change, send or start something (read-only verbs are Get, List, Describe, Query, Scan, ...).
WRITE_VERBS = (
    "put",
    "delete",
    "update",
    "create",
    "send",
    "start",
    "stop",
    "write",
    "batchwrite",
    "transactwrite",
    "publish",
    "invoke",
    "tag",
    "untag",
    "restore",
    "abort",
    "replicate",
    "bypass",
    "encrypt",
    "reencrypt",
    "generatedatakey",
)
# cdk-nag rules that guard encryption, TLS, public access and recovery: they are never to be suppressed.
NEVER_SUPPRESSED_RULES = frozenset(
    {
        "AwsSolutions-S2",
        "AwsSolutions-S10",
        "AwsSolutions-SQS2",
        "AwsSolutions-SQS4",
        "AwsSolutions-SNS2",
        "AwsSolutions-SNS3",
        "AwsSolutions-DDB3",
        "AwsSolutions-KMS5",
        "AwsSolutions-SF1",
        "AwsSolutions-SF2",
    }
)
SECRET_LOOKING_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE|API_?KEY|AUTH)", re.I)
# Literal environment values that may be long and varied without being secrets.
NOT_A_SECRET = re.compile(r"^(/|https?://|arn:|[^@\s]+@[^@\s]+$|rate\(|cron\()")
PUBLIC_PRINCIPALS = ("*", {"AWS": "*"})


# ---------------------------------------------------------------------------------------------------------------
# Readers


def of_type(synthesized: SynthesizedStack, *kinds: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        found |= resources_of_type(synthesized.resources, kind)
    return found


def key_ids(synthesized: SynthesizedStack) -> set[str]:
    return set(of_type(synthesized, "AWS::KMS::Key"))


def names_a_stack_key(synthesized: SynthesizedStack, value: Any) -> bool:
    """Whether ``value`` is the ARN or id of a customer managed key of this stack (not an AWS managed alias)."""
    if isinstance(value, dict):
        target = value.get("Ref") or (value.get("Fn::GetAtt") or [None])[0]
        return target in key_ids(synthesized)
    return False


def refers_to(value: Any, logical_id: str) -> bool:
    """Whether a property value references ``logical_id`` (Ref or GetAtt, possibly inside Fn::Join)."""
    if isinstance(value, dict):
        if value.get("Ref") == logical_id:
            return True
        get_att = value.get("Fn::GetAtt")
        if isinstance(get_att, list) and get_att and get_att[0] == logical_id:
            return True
        return any(refers_to(v, logical_id) for v in value.values())
    if isinstance(value, list):
        return any(refers_to(v, logical_id) for v in value)
    return False


def policy_statements_for(
    synthesized: SynthesizedStack, policy_type: str, target_key: str, logical_id: str
) -> list[dict[str, Any]]:
    """Statements of the resource policies (``AWS::S3::BucketPolicy`` ...) attached to ``logical_id``."""
    statements: list[dict[str, Any]] = []
    for policy in of_type(synthesized, policy_type).values():
        if refers_to(policy["Properties"].get(target_key), logical_id):
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def denies_plain_http(statement: dict[str, Any]) -> bool:
    return (
        statement.get("Effect") == "Deny"
        and statement.get("Principal") in PUBLIC_PRINCIPALS
        and statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    )


def is_write_action(action: str) -> bool:
    verb = action.lower().partition(":")[2]
    return verb == "*" or verb.startswith(WRITE_VERBS)


def function_roles(synthesized: SynthesizedStack) -> dict[str, str]:
    """Function logical id -> its role's logical id."""
    roles: dict[str, str] = {}
    for function_id, function in of_type(synthesized, "AWS::Lambda::Function").items():
        role = function["Properties"]["Role"]
        assert isinstance(role, dict) and "Fn::GetAtt" in role, f"{function_id}: role is not a stack role"
        roles[function_id] = role["Fn::GetAtt"][0]
    return roles


def shannon_bits_per_char(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_like_a_secret(value: str) -> bool:
    """A long, varied token of letters and digits: what a key, password or token looks like."""
    if NOT_A_SECRET.match(value) or len(value) < 20 or " " in value:
        return False
    has_digits = any(c.isdigit() for c in value)
    has_letters = any(c.isalpha() for c in value)
    return has_digits and has_letters and shannon_bits_per_char(value) > 3.5


# ---------------------------------------------------------------------------------------------------------------
# Stores: encryption, recovery, no public access


def test_every_table_is_encrypted_with_a_stack_key_and_recoverable(synthesized: SynthesizedStack) -> None:
    # GIVEN every DynamoDB table of the stack
    tables = of_type(synthesized, "AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")
    assert tables
    for table_id, table in tables.items():
        properties = table["Properties"]
        # THEN each is encrypted with a customer managed key of this stack and has point-in-time recovery
        sse = properties.get("SSESpecification", {})
        assert sse.get("SSEEnabled") is True and sse.get("SSEType") == "KMS", table_id
        assert names_a_stack_key(synthesized, sse.get("KMSMasterKeyId")), table_id
        recovery = properties.get("PointInTimeRecoverySpecification", {})
        assert recovery.get("PointInTimeRecoveryEnabled") is True, table_id


def log_target_buckets(synthesized: SynthesizedStack) -> set[str]:
    """Buckets that receive S3 server access logs (which S3 can only write with SSE-S3, not SSE-KMS)."""
    targets: set[str] = set()
    for bucket in of_type(synthesized, "AWS::S3::Bucket").values():
        destination = bucket["Properties"].get("LoggingConfiguration", {}).get("DestinationBucketName")
        if isinstance(destination, dict) and "Ref" in destination:
            targets.add(destination["Ref"])
    return targets


def test_every_bucket_is_encrypted_private_owner_enforced_and_versioned(
    synthesized: SynthesizedStack,
) -> None:
    # GIVEN every bucket, and the buckets that only receive server access logs
    buckets = of_type(synthesized, "AWS::S3::Bucket")
    log_targets = log_target_buckets(synthesized)
    assert buckets
    for bucket_id, bucket in buckets.items():
        properties = bucket["Properties"]
        rule = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        by_default = rule["ServerSideEncryptionByDefault"]
        # THEN data buckets use this stack's KMS key; an access-log target uses SSE-S3, the only kind S3 logging
        # can write to, and holds nothing but request logs
        if bucket_id in log_targets:
            assert by_default["SSEAlgorithm"] == "AES256", bucket_id
        else:
            assert by_default["SSEAlgorithm"] == "aws:kms", bucket_id
            assert names_a_stack_key(synthesized, by_default.get("KMSMasterKeyID")), bucket_id
        # AND no public access of any kind, no ACLs, every version kept
        assert properties["PublicAccessBlockConfiguration"] == dict.fromkeys(
            ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
        ), bucket_id
        assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}], (
            bucket_id
        )
        assert properties.get("AccessControl", "Private") == "Private", bucket_id
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}, bucket_id
        assert "WebsiteConfiguration" not in properties, bucket_id


def test_every_data_bucket_writes_its_access_logs_somewhere(synthesized: SynthesizedStack) -> None:
    # GIVEN the buckets that hold data (not the log targets)
    log_targets = log_target_buckets(synthesized)
    data_buckets = {k: v for k, v in of_type(synthesized, "AWS::S3::Bucket").items() if k not in log_targets}
    assert data_buckets and log_targets
    # THEN each logs its requests to a log bucket of this stack
    for bucket_id, bucket in data_buckets.items():
        destination = bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"]
        assert destination["Ref"] in log_targets, bucket_id


def test_every_bucket_refuses_plain_http_on_bucket_and_objects(synthesized: SynthesizedStack) -> None:
    for bucket_id in of_type(synthesized, "AWS::S3::Bucket"):
        # GIVEN the policies attached to the bucket
        statements = policy_statements_for(synthesized, "AWS::S3::BucketPolicy", "Bucket", bucket_id)
        # THEN one of them denies every S3 action without TLS, on the bucket and on its objects
        denials = [s for s in statements if denies_plain_http(s) and "s3:*" in actions_of(s)]
        assert denials, f"{bucket_id} accepts plain HTTP"
        covered = {render_intrinsics(r) for s in denials for r in resources_of(s)}
        assert "${" + bucket_id + ".Arn}" in covered, bucket_id
        assert "${" + bucket_id + ".Arn}/*" in covered, bucket_id


def test_no_resource_policy_allows_the_public(synthesized: SynthesizedStack) -> None:
    # GIVEN every resource policy of the stack (buckets, queues, topics, keys)
    policies: list[tuple[str, dict[str, Any]]] = []
    for kind, field in (
        ("AWS::S3::BucketPolicy", "PolicyDocument"),
        ("AWS::SQS::QueuePolicy", "PolicyDocument"),
        ("AWS::SNS::TopicPolicy", "PolicyDocument"),
        ("AWS::KMS::Key", "KeyPolicy"),
    ):
        for policy_id, policy in of_type(synthesized, kind).items():
            policies.extend((policy_id, s) for s in policy["Properties"][field]["Statement"])
    assert policies
    # THEN no Allow names an anonymous principal, and a service principal is always held to this account or to
    # a resource of this stack
    for policy_id, statement in policies:
        if statement["Effect"] != "Allow":
            continue
        principal = statement["Principal"]
        assert principal not in PUBLIC_PRINCIPALS, policy_id
        if "Service" in principal:
            condition = str(statement.get("Condition", {})).lower()
            held = "aws:sourceaccount" in condition or "aws:sourcearn" in condition
            assert held or limited_to_this_stacks_log_groups(synthesized, statement), policy_id


def evidence_locking_buckets(synthesized: SynthesizedStack) -> set[str]:
    """Buckets on whose objects some role may set Object Lock retention (they hold evidence)."""
    locking: set[str] = set()
    for role_id in of_type(synthesized, "AWS::IAM::Role"):
        for statement in role_policy_statements(synthesized.resources, role_id):
            if statement.get("Effect") != "Allow":
                continue
            if not any(a.lower() in {"s3:putobjectretention", "s3:*"} for a in actions_of(statement)):
                continue
            for resource in resources_of(statement):
                rendered = render_intrinsics(resource)
                locking |= {b for b in of_type(synthesized, "AWS::S3::Bucket") if "${" + b + "." in rendered}
    return locking


def test_buckets_that_lock_evidence_have_object_lock_without_a_default_retention(
    synthesized: SynthesizedStack,
) -> None:
    # GIVEN the buckets whose objects the functions lock as evidence
    locking = evidence_locking_buckets(synthesized)
    assert locking
    for bucket_id in locking:
        properties = synthesized.resources[bucket_id]["Properties"]
        # THEN Object Lock is on, and there is no default retention (unmatched media must stay deletable)
        assert properties["ObjectLockEnabled"] is True, bucket_id
        assert "Rule" not in properties.get("ObjectLockConfiguration", {}), bucket_id


def dead_letter_references(value: Any) -> list[Any]:
    """Every place a template sends what failed: redrive policies (queues, SNS subscriptions), function and rule
    target dead-letter configs, and Lambda on-failure destinations."""
    found: list[Any] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "deadLetterTargetArn":
                found.append(inner)
            elif key == "DeadLetterConfig" and isinstance(inner, dict):
                found.append(inner.get("TargetArn") or inner.get("Arn"))
            elif key == "OnFailure" and isinstance(inner, dict):
                found.append(inner.get("Destination"))
            else:
                found.extend(dead_letter_references(inner))
    elif isinstance(value, list):
        for inner in value:
            found.extend(dead_letter_references(inner))
    return found


def test_every_queue_is_encrypted_tls_only_and_failures_have_somewhere_to_go(
    synthesized: SynthesizedStack,
) -> None:
    queues = of_type(synthesized, "AWS::SQS::Queue")
    assert queues
    dead_letter_targets = {
        queue_id
        for queue_id in queues
        if any(refers_to(target, queue_id) for target in dead_letter_references(synthesized.resources))
    }
    for queue_id, queue in queues.items():
        properties = queue["Properties"]
        # THEN each queue is encrypted with a key of this stack (not the SQS-managed key)
        assert names_a_stack_key(synthesized, properties.get("KmsMasterKeyId")), queue_id
        # AND refuses plain HTTP
        statements = policy_statements_for(synthesized, "AWS::SQS::QueuePolicy", "Queues", queue_id)
        assert any(denies_plain_http(s) and "sqs:*" in actions_of(s) for s in statements), queue_id
        # AND is either a dead-letter queue itself, or hands repeated failures to one
        assert queue_id in dead_letter_targets or "RedrivePolicy" in properties, queue_id


def test_every_topic_is_encrypted_and_tls_only(synthesized: SynthesizedStack) -> None:
    for topic_id, topic in of_type(synthesized, "AWS::SNS::Topic").items():
        # THEN each topic is encrypted with a key of this stack and refuses publishing without TLS
        assert names_a_stack_key(synthesized, topic["Properties"].get("KmsMasterKeyId")), topic_id
        statements = policy_statements_for(synthesized, "AWS::SNS::TopicPolicy", "Topics", topic_id)
        assert any(denies_plain_http(s) and "sns:Publish" in actions_of(s) for s in statements), topic_id


def test_every_key_rotates_and_is_administered_from_this_account_only(synthesized: SynthesizedStack) -> None:
    keys = of_type(synthesized, "AWS::KMS::Key")
    assert keys
    for key_id, key in keys.items():
        # THEN rotation is on and the key is only administered from this account
        assert key["Properties"]["EnableKeyRotation"] is True, key_id
        admin = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if "kms:*" in actions_of(s)]
        assert [render_intrinsics(s["Principal"]["AWS"]) for s in admin] == [
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
        ], key_id


def this_stacks_log_group_arns(synthesized: SynthesizedStack) -> str:
    """The ARN pattern of the log groups CloudFormation names for this stack (``<stack name>-<logical id>-...``)."""
    account = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}"
    return f"{account}:log-group:{synthesized.stack.stack_name}-*"


def limited_to_this_stacks_log_groups(synthesized: SynthesizedStack, statement: dict[str, Any]) -> bool:
    """A key policy statement for CloudWatch Logs whose encryption context must name a log group of this stack."""
    arn_like = statement.get("Condition", {}).get("ArnLike", {})
    condition = arn_like.get("kms:EncryptionContext:aws:logs:arn")
    return condition is not None and render_intrinsics(condition) == this_stacks_log_group_arns(synthesized)


def test_every_log_group_is_encrypted_with_a_stack_key_that_logs_may_use_for_this_stack_only(
    synthesized: SynthesizedStack,
) -> None:
    log_groups = of_type(synthesized, "AWS::Logs::LogGroup")
    assert log_groups
    for group_id, group in log_groups.items():
        properties = group["Properties"]
        # THEN each log group is encrypted with a customer managed key of this stack ...
        key = properties.get("KmsKeyId")
        assert names_a_stack_key(synthesized, key), group_id
        # ... is named by CloudFormation, so its ARN starts with this stack's name ...
        assert "LogGroupName" not in properties, group_id
        # ... and that key's policy lets CloudWatch Logs of this region use it for this stack's log groups only
        statements = synthesized.resources[key["Fn::GetAtt"][0]]["Properties"]["KeyPolicy"]["Statement"]
        for_logs = [
            s
            for s in statements
            if s["Effect"] == "Allow"
            and render_intrinsics(s["Principal"].get("Service", "")) == "logs.${AWS::Region}.amazonaws.com"
        ]
        assert len(for_logs) == 1, group_id
        assert {"kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"} <= set(actions_of(for_logs[0]))
        assert limited_to_this_stacks_log_groups(synthesized, for_logs[0]), for_logs[0].get("Condition")


def test_every_log_group_keeps_its_logs_for_a_bounded_time(synthesized: SynthesizedStack) -> None:
    log_groups = of_type(synthesized, "AWS::Logs::LogGroup")
    assert log_groups
    for group_id, group in log_groups.items():
        # THEN each has a retention (logs carry case ids and URLs: not forever, not unbounded)
        assert 30 <= group["Properties"]["RetentionInDays"] <= 3653, group_id


def test_no_nag_rule_guarding_encryption_tls_or_recovery_is_suppressed(synthesized: SynthesizedStack) -> None:
    # GIVEN every cdk-nag suppression in the template
    suppressed = {(lid, rule["id"]) for lid, rule in nag_suppressions(synthesized.resources)}
    # THEN none of them silences a data-protection rule
    assert not {(lid, rule) for lid, rule in suppressed if rule in NEVER_SUPPRESSED_RULES}


# ---------------------------------------------------------------------------------------------------------------
# Secrets


def test_secrets_are_generated_in_secrets_manager_never_written_in_the_template(
    synthesized: SynthesizedStack,
) -> None:
    secrets = of_type(synthesized, "AWS::SecretsManager::Secret")
    assert secrets
    for secret_id, secret in secrets.items():
        # THEN the value is generated at deploy time; no secret value is in the template
        assert "SecretString" not in secret["Properties"], secret_id
        assert "GenerateSecretString" in secret["Properties"], secret_id
    # AND no other place holds one: no plain parameters or secure strings
    assert not of_type(synthesized, "AWS::SSM::Parameter")


def test_no_function_environment_carries_a_secret(synthesized: SynthesizedStack) -> None:
    secrets = set(of_type(synthesized, "AWS::SecretsManager::Secret"))
    functions = of_type(synthesized, "AWS::Lambda::Function")
    assert functions
    for function_id, function in functions.items():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        for name, value in variables.items():
            # THEN AWS credentials are never set ...
            assert not name.upper().startswith(("AWS_ACCESS_KEY", "AWS_SECRET", "AWS_SESSION")), function_id
            # ... a secret-named variable only points at a Secrets Manager secret ...
            if SECRET_LOOKING_NAME.search(name):
                assert any(refers_to(value, s) for s in secrets), f"{function_id}: {name} is not a secret ref"
            # ... and no literal value looks like a key, password or token
            if isinstance(value, str):
                assert not looks_like_a_secret(value), f"{function_id}: {name} looks like a secret"


def test_the_secret_check_would_notice_a_token() -> None:
    # GIVEN a generated-looking key and values the stack does carry THEN only the key is taken for a secret
    assert looks_like_a_secret("q8ZrT2vW9xLm4KpN7bYc3HdF6gJs")
    for harmless in (
        "/opt/templates",
        "notices@example.org",
        "52428800",
        "takedown",
        "https://rdap.example/x",
    ):
        assert not looks_like_a_secret(harmless)


# ---------------------------------------------------------------------------------------------------------------
# IAM and invocation


def test_every_function_has_a_role_of_its_own(synthesized: SynthesizedStack) -> None:
    roles = function_roles(synthesized)
    # THEN no two functions share a role, so each grant reaches one function only
    shared = {role for role, n in Counter(roles.values()).items() if n > 1}
    assert not shared
    for role_id in roles.values():
        trust = synthesized.resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}], role_id


def test_writes_name_resources_of_this_stack_never_a_wildcard(synthesized: SynthesizedStack) -> None:
    stack_ids = set(synthesized.resources)
    for role_id in function_roles(synthesized).values():
        for statement in role_policy_statements(synthesized.resources, role_id):
            if statement.get("Effect") != "Allow":
                continue
            writes = [a for a in actions_of(statement) if is_write_action(a)]
            if not writes:
                continue
            for resource in resources_of(statement):
                if resource == "*":
                    # THEN "*" only carries actions IAM cannot scope
                    assert {a.lower() for a in writes} <= ACTIONS_WITHOUT_RESOURCE_TYPES, (role_id, writes)
                    continue
                rendered = render_intrinsics(resource)
                if "*" not in rendered:
                    continue
                # AND any other wildcard only widens the key space inside one resource of this stack
                # (objects under a prefix, a table's indexes, a function's versions)
                owner = re.match(r"\$\{([A-Za-z0-9]+)[.}]", rendered)
                assert owner and owner.group(1) in stack_ids, (role_id, rendered)
                assert rendered.index("*") > rendered.index("}"), (role_id, rendered)


def test_only_the_review_function_may_resume_any_execution(synthesized: SynthesizedStack) -> None:
    # GIVEN every role that may send a task result (IAM cannot scope these to a state machine)
    senders = {
        role_id
        for role_id in of_type(synthesized, "AWS::IAM::Role")
        for s in role_policy_statements(synthesized.resources, role_id)
        if s.get("Effect") == "Allow" and any(a.lower().startswith("states:sendtask") for a in actions_of(s))
    }
    # THEN it is the role of the one function routed from the review API
    functions = set(of_type(synthesized, "AWS::Lambda::Function"))
    review_functions = {
        function_id
        for m in of_type(synthesized, "AWS::ApiGateway::Method").values()
        for function_id in functions
        if refers_to(m["Properties"].get("Integration", {}).get("Uri"), function_id)
    }
    assert len(review_functions) == 1
    assert senders == {function_roles(synthesized)[next(iter(review_functions))]}


def test_other_step_functions_actions_name_this_state_machine(synthesized: SynthesizedStack) -> None:
    machines = set(of_type(synthesized, "AWS::StepFunctions::StateMachine"))
    for role_id in of_type(synthesized, "AWS::IAM::Role"):
        for statement in role_policy_statements(synthesized.resources, role_id):
            actions = [a for a in actions_of(statement) if a.lower().startswith("states:")]
            if statement.get("Effect") != "Allow" or not actions:
                continue
            if all(a.lower().startswith("states:sendtask") for a in actions):
                continue
            # THEN starting, stopping or reading executions is granted on this stack's state machine only
            for resource in resources_of(statement):
                assert any(refers_to(resource, m) for m in machines) or any(
                    m in render_intrinsics(resource) for m in machines
                ), (role_id, resource)


def test_services_may_invoke_functions_only_from_this_stack(synthesized: SynthesizedStack) -> None:
    permissions = of_type(synthesized, "AWS::Lambda::Permission")
    assert permissions
    for permission_id, permission in permissions.items():
        properties = permission["Properties"]
        # THEN no anonymous caller, and every service call comes from one named resource
        assert properties["Principal"] not in ("*",), permission_id
        assert properties["Principal"].endswith(".amazonaws.com"), permission_id
        assert "SourceArn" in properties, permission_id
    # AND no function has a public URL
    assert not of_type(synthesized, "AWS::Lambda::Url")


# Services that invoke a function asynchronously: Lambda retries a failed event twice, then drops it unless it
# has a dead-letter queue or an on-failure destination. (The crawl schedule is left out: a failed dispatch has no
# data to lose, and the next schedule dispatches again.)
ASYNCHRONOUS_CALLERS = ("s3.amazonaws.com", "sns.amazonaws.com")


def asynchronously_invoked_functions(synthesized: SynthesizedStack) -> set[str]:
    invoked: set[str] = set()
    for permission in of_type(synthesized, "AWS::Lambda::Permission").values():
        if permission["Properties"]["Principal"] in ASYNCHRONOUS_CALLERS:
            invoked.add(permission["Properties"]["FunctionName"]["Fn::GetAtt"][0])
    return invoked


def failure_queue_of(synthesized: SynthesizedStack, function_id: str) -> Any:
    """The queue a function's failed asynchronous events go to: its dead-letter config or on-failure destination."""
    properties = synthesized.resources[function_id]["Properties"]
    if "DeadLetterConfig" in properties:
        return properties["DeadLetterConfig"]["TargetArn"]
    for config in of_type(synthesized, "AWS::Lambda::EventInvokeConfig").values():
        if refers_to(config["Properties"]["FunctionName"], function_id):
            return config["Properties"].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    return None


def test_failed_asynchronous_events_are_kept_in_a_queue_with_their_error(
    synthesized: SynthesizedStack,
) -> None:
    # GIVEN the functions S3 or SNS invoke asynchronously
    invoked = asynchronously_invoked_functions(synthesized)
    assert invoked
    queues = of_type(synthesized, "AWS::SQS::Queue")
    roles = function_roles(synthesized)
    for function_id in invoked:
        # THEN each sends what it could not handle, once Lambda's retries are spent, to an encrypted queue of this
        # stack (Lambda adds the error: ErrorCode and ErrorMessage attributes, or the on-failure record)
        target = failure_queue_of(synthesized, function_id)
        assert isinstance(target, dict) and target.get("Fn::GetAtt", [None])[0] in queues, function_id
        # AND its role may send to that queue
        assert any(
            any(a.lower() == "sqs:sendmessage" for a in actions_of(s)) and target in resources_of(s)
            for s in role_policy_statements(synthesized.resources, roles[function_id])
        ), function_id


def test_functions_are_traced_and_log_to_their_own_group(synthesized: SynthesizedStack) -> None:
    groups = set(of_type(synthesized, "AWS::Logs::LogGroup"))
    used: list[str] = []
    for function_id, function in of_type(synthesized, "AWS::Lambda::Function").items():
        properties = function["Properties"]
        if function_id.startswith("BucketNotificationsHandler"):
            continue  # CDK's deploy-time custom resource: no data passes through it
        # THEN every function traces with X-Ray and writes to a log group of this stack (with its retention)
        assert properties.get("TracingConfig") == {"Mode": "Active"}, function_id
        group = properties["LoggingConfig"]["LogGroup"]["Ref"]
        assert group in groups, function_id
        used.append(group)
    assert len(used) == len(set(used))
