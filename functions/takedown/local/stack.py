"""The whole stack on moto, built from the synthesized CloudFormation template.

What runs locally is what deploys: the tables, buckets, queues, secret, functions (with their environment), event
source mappings, bucket notifications, SES identity and the state machine definition all come from
``cdk.out/<stack>.template.json``. Lambda code runs in this process through :mod:`takedown.local.seam`, and the
approval API is served on 127.0.0.1 by :mod:`takedown.local.api_server`.

Local differences, each deliberate:
- Layers are not uploaded; a function's ``/opt/...`` paths are mapped to its layers' asset folders in ``cdk.out``.
- The review link base URL points at the local API server.
- One IAM role serves every function (moto does not enforce IAM); the infra tests check the real policies.
- Every state machine Retry waits one second, without growth or jitter: moto sleeps out each wait for real. What
  is retried, and how many times, is as deployed.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import string
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3

from takedown.config import ENV_REVIEW_BASE_URL, ENV_SOURCES_FILE
from takedown.local.cfn import Resolver

if TYPE_CHECKING:
    from pathlib import Path

REGION = "us-east-1"
ACCOUNT = "123456789012"
_LOCAL_ROLE = "takedown-local-lambda"
_FUNCTION_ARN = re.compile(r"function:([A-Za-z0-9_-]+)")


class LocalStackError(RuntimeError):
    """The template asks for something the local stack cannot stand up."""


def _with_short_retry_waits(node: Any) -> Any:
    """A state machine definition whose retriers wait 1 s each time (the least ASL allows), attempts unchanged."""
    if isinstance(node, list):
        return [_with_short_retry_waits(item) for item in node]
    if not isinstance(node, dict):
        return node
    copied = {key: _with_short_retry_waits(value) for key, value in node.items()}
    for retrier in copied.get("Retry", []):
        retrier.update({"IntervalSeconds": 1, "BackoffRate": 1.0})
        retrier.pop("MaxDelaySeconds", None)
        retrier.pop("JitterStrategy", None)
    return copied


@dataclass
class Route:
    method: str
    resource: str  # API Gateway resource path, e.g. /reviews/{review_id}
    function_name: str
    authorization: str = "NONE"  # the method's AuthorizationType, e.g. COGNITO_USER_POOLS


@dataclass
class LocalResources:
    """Physical names of what was created, by logical id, plus the pieces the CLI and tests look up."""

    physical: dict[str, str] = field(default_factory=dict)
    arns: dict[str, str] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)  # handler module -> function name
    routes: list[Route] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    schedule_targets: list[str] = field(default_factory=list)  # function names the schedule invokes
    environment: dict[str, dict[str, str]] = field(default_factory=dict)  # function name -> env


def _physical_name(stack_name: str, logical_id: str, max_len: int) -> str:
    base = f"{stack_name}-{logical_id}".lower()
    return re.sub(r"[^a-z0-9-]", "-", base)[:max_len].rstrip("-")


def _zip_placeholder() -> bytes:
    # moto stores a code package; the seam runs the installed takedown package instead.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "takedown runs in-process locally; see takedown.local.seam\n")
    return buffer.getvalue()


class LocalStack:
    """Create the template's resources in the moto backend that ``boto3`` currently reaches."""

    def __init__(self, template: dict[str, Any], cdk_out: Path, *, stack_name: str = "Takedown") -> None:
        self.template = template
        self.cdk_out = cdk_out
        self.stack_name = stack_name
        self.res = LocalResources()
        self._resources: dict[str, dict[str, Any]] = template.get("Resources", {})
        self._resolver = Resolver(
            region=REGION, account=ACCOUNT, stack_name=stack_name, ref=self._ref, get_att=self._get_att
        )

    # -- intrinsic lookups --------------------------------------------------------------------------------------
    def _ref(self, logical_id: str) -> str:
        if logical_id in self.res.physical:
            return self.res.physical[logical_id]
        if logical_id in self._resources:
            return logical_id  # a resource the local stack does not model (log group, alarm, ...)
        raise LocalStackError(f"Ref to unknown resource {logical_id}")

    def _get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "Arn" and logical_id in self.res.arns:
            return self.res.arns[logical_id]
        kind = self._resources.get(logical_id, {}).get("Type", "")
        name = self.res.physical.get(logical_id, logical_id)
        if kind == "AWS::SQS::Queue":
            return {"QueueName": name.rsplit("/", 1)[-1], "QueueUrl": name}.get(attribute, name)
        if kind == "AWS::S3::Bucket":
            return {
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
            }.get(attribute, f"arn:aws:s3:::{name}")
        if kind == "AWS::ApiGateway::RestApi" and attribute == "RootResourceId":
            return f"{logical_id}-root"
        return f"arn:aws:local:{REGION}:{ACCOUNT}:{logical_id}/{attribute}"

    def _props(self, logical_id: str) -> dict[str, Any]:
        resolved: dict[str, Any] = self._resolver.resolve(self._resources[logical_id].get("Properties", {}))
        return resolved

    def _of_type(self, kind: str) -> list[str]:
        return [lid for lid, r in self._resources.items() if r.get("Type") == kind]

    # -- provisioning -------------------------------------------------------------------------------------------
    def provision(self, *, api_base_url: str) -> LocalResources:
        """Create every modelled resource, in dependency order, and return what was created."""
        boto3.client("iam", region_name=REGION).create_role(
            RoleName=_LOCAL_ROLE,
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )
        for kind, create in (
            ("AWS::KMS::Key", self._create_key),
            ("AWS::SNS::Topic", self._create_topic),
            ("AWS::S3::Bucket", self._create_bucket),
            ("AWS::DynamoDB::Table", self._create_table),
            ("AWS::SQS::Queue", self._create_queue),
            ("AWS::SecretsManager::Secret", self._create_secret),
            ("AWS::SES::ConfigurationSet", self._create_configuration_set),
            ("AWS::SES::EmailIdentity", self._create_email_identity),
            ("AWS::Lambda::LayerVersion", self._record_layer),
            ("AWS::IAM::Role", self._record_role),
            ("AWS::ApiGateway::RestApi", self._record_plain),
            ("AWS::ApiGateway::Resource", self._record_plain),
            ("AWS::ApiGateway::Stage", self._record_plain),
            ("AWS::StepFunctions::StateMachine", self._reserve_state_machine),
        ):
            for logical_id in self._of_type(kind):
                create(logical_id)
        for logical_id in self._of_type("AWS::Lambda::Function"):
            self._create_function(logical_id, api_base_url)
        for logical_id in self._of_type("AWS::StepFunctions::StateMachine"):
            self._create_state_machine(logical_id)
        for logical_id in self._of_type("AWS::Lambda::EventSourceMapping"):
            self._create_event_source_mapping(logical_id)
        for logical_id in self._of_type("AWS::SNS::Subscription"):
            self._create_subscription(logical_id)
        for logical_id in self._of_type("Custom::S3BucketNotifications"):
            self._create_bucket_notifications(logical_id)
        for logical_id in self._of_type("AWS::ApiGateway::Method"):
            self._record_route(logical_id)
        for kind in ("AWS::Scheduler::Schedule", "AWS::Events::Rule"):
            for logical_id in self._of_type(kind):
                self._record_schedule(logical_id)
        for name, output in self.template.get("Outputs", {}).items():
            self.res.outputs[name] = str(self._resolver.resolve(output.get("Value", "")))
        return self.res

    def _create_key(self, logical_id: str) -> None:
        key = boto3.client("kms", region_name=REGION).create_key(Description=f"local {logical_id}")[
            "KeyMetadata"
        ]
        self.res.physical[logical_id] = key["KeyId"]
        self.res.arns[logical_id] = key["Arn"]

    def _create_topic(self, logical_id: str) -> None:
        props = self._props(logical_id)
        name = props.get("TopicName") or _physical_name(self.stack_name, logical_id, 256)
        arn = boto3.client("sns", region_name=REGION).create_topic(Name=name)["TopicArn"]
        self.res.physical[logical_id] = arn
        self.res.arns[logical_id] = arn

    def _create_subscription(self, logical_id: str) -> None:
        # moto delivers a publish to a lambda subscription by invoking the function, i.e. through the seam.
        props = self._props(logical_id)
        boto3.client("sns", region_name=REGION).subscribe(
            TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props["Endpoint"]
        )

    def _create_bucket(self, logical_id: str) -> None:
        props = self._props(logical_id)
        name = props.get("BucketName") or _physical_name(self.stack_name, logical_id, 63)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=bool(props.get("ObjectLockEnabled")))
        if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        self.res.physical[logical_id] = name
        self.res.arns[logical_id] = f"arn:aws:s3:::{name}"

    def _create_table(self, logical_id: str) -> None:
        props = self._props(logical_id)
        name = props.get("TableName") or _physical_name(self.stack_name, logical_id, 255)
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        table = dynamodb.create_table(**request)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        self.res.physical[logical_id] = name
        self.res.arns[logical_id] = table["TableArn"]

    def _create_queue(self, logical_id: str) -> None:
        props = self._props(logical_id)
        name = props.get("QueueName") or _physical_name(self.stack_name, logical_id, 80)
        attributes = {
            k: (json.dumps(v) if isinstance(v, dict) else str(v))
            for k, v in props.items()
            if k in {"VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy", "DelaySeconds"}
        }
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
        self.res.physical[logical_id] = url
        self.res.arns[logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    def _create_secret(self, logical_id: str) -> None:
        props = self._props(logical_id)
        name = props.get("Name") or _physical_name(self.stack_name, logical_id, 200)
        generate = props.get("GenerateSecretString", {})
        alphabet = string.ascii_letters + string.digits
        value = "".join(secrets.choice(alphabet) for _ in range(int(generate.get("PasswordLength", 64))))
        arn = boto3.client("secretsmanager", region_name=REGION).create_secret(Name=name, SecretString=value)[
            "ARN"
        ]
        self.res.physical[logical_id] = arn
        self.res.arns[logical_id] = arn

    def _create_configuration_set(self, logical_id: str) -> None:
        name = self._props(logical_id).get("Name") or _physical_name(self.stack_name, logical_id, 64)
        boto3.client("ses", region_name=REGION).create_configuration_set(ConfigurationSet={"Name": name})
        self.res.physical[logical_id] = name

    def _create_email_identity(self, logical_id: str) -> None:
        identity = self._props(logical_id)["EmailIdentity"]
        ses = boto3.client("ses", region_name=REGION)
        if "@" in identity:
            ses.verify_email_identity(EmailAddress=identity)
        else:
            ses.verify_domain_identity(Domain=identity)
        self.res.physical[logical_id] = identity

    def _record_layer(self, logical_id: str) -> None:
        self.res.physical[logical_id] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:{logical_id}:1"

    def _record_role(self, logical_id: str) -> None:
        self.res.physical[logical_id] = logical_id
        self.res.arns[logical_id] = f"arn:aws:iam::{ACCOUNT}:role/{logical_id}"

    def _record_plain(self, logical_id: str) -> None:
        self.res.physical[logical_id] = logical_id

    def _reserve_state_machine(self, logical_id: str) -> None:
        # Functions get the state machine's ARN in their environment before the machine itself exists.
        name = self._resources[logical_id].get("Properties", {}).get("StateMachineName") or _physical_name(
            self.stack_name, logical_id, 80
        )
        arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
        self.res.physical[logical_id] = arn
        self.res.arns[logical_id] = arn

    def _layer_dirs(self, layer_refs: list[Any]) -> list[Path]:
        dirs = []
        for ref in self._resources_referenced(layer_refs):
            path = self._resources[ref].get("Metadata", {}).get("aws:asset:path")
            if path:
                dirs.append((self.cdk_out / path).resolve())
        return dirs

    def _resources_referenced(self, values: list[Any]) -> list[str]:
        return [v["Ref"] for v in values if isinstance(v, dict) and v.get("Ref") in self._resources]

    def _local_environment(
        self, logical_id: str, environment: dict[str, str], api_base_url: str
    ) -> dict[str, str]:
        layers = self._layer_dirs(self._resources[logical_id].get("Properties", {}).get("Layers", []))
        local = dict(environment)
        for key, value in environment.items():
            if value.startswith("/opt/"):
                rest = value.removeprefix("/opt/")
                found = [d / rest for d in layers if (d / rest).exists()]
                if not found:
                    raise LocalStackError(f"{logical_id}: {key}={value} is in none of its layers' assets")
                local[key] = str(found[0])
        if ENV_REVIEW_BASE_URL in local:
            local[ENV_REVIEW_BASE_URL] = api_base_url.rstrip("/")
        return local

    def _create_function(self, logical_id: str, api_base_url: str) -> None:
        raw = self._resources[logical_id].get("Properties", {})
        props = self._props(logical_id)
        name = props.get("FunctionName") or logical_id[:64]
        environment = self._local_environment(
            logical_id,
            {k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()},
            api_base_url,
        )
        response = boto3.client("lambda", region_name=REGION).create_function(
            FunctionName=name,
            Runtime=raw.get("Runtime", "python3.12"),
            Role=f"arn:aws:iam::{ACCOUNT}:role/{_LOCAL_ROLE}",
            Handler=props["Handler"],
            Code={"ZipFile": _zip_placeholder()},
            Timeout=int(props.get("Timeout", 30)),
            MemorySize=int(props.get("MemorySize", 256)),
            Environment={"Variables": environment},
        )
        self.res.physical[logical_id] = name
        self.res.arns[logical_id] = response["FunctionArn"]
        self.res.functions[props["Handler"].rsplit(".", 1)[0].rsplit(".", 1)[-1]] = name
        self.res.environment[name] = environment

    def _create_state_machine(self, logical_id: str) -> None:
        props = self._props(logical_id)
        definition = props.get("DefinitionString") or json.dumps(props["Definition"])
        for key, value in (props.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        definition = json.dumps(_with_short_retry_waits(json.loads(definition)))
        name = self.res.physical[logical_id].rsplit(":", 1)[-1]
        boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name=name,
            definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/{_LOCAL_ROLE}",
            type="STANDARD",
        )

    def _create_event_source_mapping(self, logical_id: str) -> None:
        props = self._props(logical_id)
        request: dict[str, Any] = {
            "EventSourceArn": props["EventSourceArn"],
            "FunctionName": props["FunctionName"],
            "BatchSize": int(props.get("BatchSize", 10)),
        }
        if props.get("FunctionResponseTypes"):
            request["FunctionResponseTypes"] = props["FunctionResponseTypes"]
        boto3.client("lambda", region_name=REGION).create_event_source_mapping(**request)

    def _create_bucket_notifications(self, logical_id: str) -> None:
        props = self._props(logical_id)
        configuration = props.get("NotificationConfiguration", {})
        lambda_configs = [
            {k: v for k, v in c.items() if k in {"Events", "Filter", "LambdaFunctionArn", "Id"}}
            for c in configuration.get("LambdaFunctionConfigurations", [])
        ]
        boto3.client("s3", region_name=REGION).put_bucket_notification_configuration(
            Bucket=props["BucketName"],
            NotificationConfiguration={"LambdaFunctionConfigurations": lambda_configs},  # type: ignore[typeddict-item]
        )

    def _resource_path(self, resource_id: str) -> str:
        if resource_id.endswith("-root"):
            return ""
        props = self._resources[resource_id]["Properties"]
        parent = props["ParentId"]
        parent_id = (
            parent.get("Ref") if isinstance(parent, dict) and "Ref" in parent else f"{resource_id}-root"
        )
        parent_path = self._resource_path(parent_id) if parent_id in self._resources else ""
        return f"{parent_path}/{props['PathPart']}"

    def _record_route(self, logical_id: str) -> None:
        raw = self._resources[logical_id]["Properties"]
        uri = str(self._resolver.resolve(raw.get("Integration", {}).get("Uri", "")))
        found = _FUNCTION_ARN.search(uri)
        if not found:
            return
        resource = raw["ResourceId"]
        path = (
            self._resource_path(resource["Ref"]) if isinstance(resource, dict) and "Ref" in resource else "/"
        )
        self.res.routes.append(
            Route(
                method=raw["HttpMethod"],
                resource=path or "/",
                function_name=found.group(1),
                authorization=str(raw.get("AuthorizationType", "NONE")),
            )
        )

    def _record_schedule(self, logical_id: str) -> None:
        props = self._props(logical_id)
        targets = props.get("Targets") or ([props["Target"]] if props.get("Target") else [])
        for target in targets:
            found = _FUNCTION_ARN.search(str(target.get("Arn", "")))
            if found:
                self.res.schedule_targets.append(found.group(1))

    # -- operations the CLI and tests use -----------------------------------------------------------------------
    def deploy_sources(self, sources_file: Path) -> None:
        """Point every function at another sources file, as ``cdk deploy`` with an edited sources file would."""
        client = boto3.client("lambda", region_name=REGION)
        for name, environment in self.res.environment.items():
            if ENV_SOURCES_FILE in environment:
                environment[ENV_SOURCES_FILE] = str(sources_file.resolve())
                client.update_function_configuration(
                    FunctionName=name, Environment={"Variables": environment}
                )
