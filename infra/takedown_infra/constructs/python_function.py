"""One way to make a takedown Lambda function: same runtime, code asset, tracing, logging and role shape.

Each function gets its own role with no managed policy (the grants add exactly what it needs) and its own
log group with a retention, encrypted with the stack's key, written to through that role only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_sqs as sqs
    from constructs import Construct

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.X86_64
HANDLER_PACKAGE = "takedown.handlers"
HANDLER_FUNCTION = "handler"
# Local tooling, the demo and the CLI never run in Lambda; caches and build metadata are noise.
CODE_EXCLUDES: tuple[str, ...] = (
    "takedown/local",
    "takedown/demo",
    "takedown/cli.py",
    "**/__pycache__",
    "*.egg-info",
)
LOG_RETENTION = logs.RetentionDays.ONE_YEAR


def handler_for(module: str) -> str:
    """Return the Lambda handler string of a module in ``takedown.handlers``.

    >>> handler_for("handle_score_match")
    'takedown.handlers.handle_score_match.handler'
    """
    return f"{HANDLER_PACKAGE}.{module}.{HANDLER_FUNCTION}"


def functions_code(functions_dir: Path) -> lambda_.Code:
    """The code asset shared by every function: the ``functions/`` folder minus local-only modules."""
    return lambda_.Code.from_asset(str(functions_dir), exclude=list(CODE_EXCLUDES))


@dataclass(frozen=True)
class FunctionDefaults:
    """What every takedown function shares; built once by the stack.

    ``log_key`` encrypts every log group of the stack (functions, state machine, API access logs); its key policy
    lets CloudWatch Logs use it for this stack's log groups only (``StorageConstruct``).
    """

    code: lambda_.Code
    environment: Mapping[str, str]
    removal_policy: RemovalPolicy
    log_key: kms.IKey


def create_log_group(scope: Construct, construct_id: str, defaults: FunctionDefaults) -> logs.LogGroup:
    """A log group of this stack: the retention every log group keeps, encrypted with the stack's key.

    Its name is left to CloudFormation (``<stack name>-<logical id>-<suffix>``), which the key policy's condition
    on the log group ARN relies on.
    """
    return logs.LogGroup(
        scope,
        construct_id,
        retention=LOG_RETENTION,
        encryption_key=defaults.log_key,
        removal_policy=defaults.removal_policy,
    )


def create_python_function(
    scope: Construct,
    construct_id: str,
    *,
    handler_module: str,
    defaults: FunctionDefaults,
    layers: Sequence[lambda_.ILayerVersion],
    description: str,
    environment: Mapping[str, str] | None = None,
    timeout: Duration | None = None,
    memory_size: int = 256,
    dead_letter_queue: sqs.IQueue | None = None,
) -> lambda_.Function:
    """Create a function ``construct_id`` running ``takedown.handlers.<handler_module>.handler``.

    Parameters
    ----------
    scope
        The construct that owns the function (the one that wires its trigger).
    construct_id
        The function's construct id (see ``ids``); its role and log group take it as a prefix.
    handler_module
        The module in ``takedown.handlers``.
    defaults
        Code asset, shared environment and removal policy.
    layers
        Layer versions, in the order Lambda should stack them.
    description
        One line shown in the console.
    environment
        Variables for this function only, added to the shared ones.
    timeout
        30 seconds unless given.
    memory_size
        In MB.
    dead_letter_queue
        For a function invoked asynchronously (S3 events): where an event goes, with its error, once Lambda's
        retries are spent. The function is granted sending to it.

    Returns
    -------
    aws_lambda.Function
        The function; grant it access with the resources' ``grant_*`` methods.
    """
    log_group = create_log_group(scope, f"{construct_id}Logs", defaults)
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"Runs {construct_id}; grants are added by the resources it uses.",
    )
    # Only stream creation and event writes, only on this function's own group.
    log_group.grant_write(role)
    return lambda_.Function(
        scope,
        construct_id,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler=handler_for(handler_module),
        code=defaults.code,
        layers=list(layers),
        role=role,
        log_group=log_group,
        tracing=lambda_.Tracing.ACTIVE,
        timeout=timeout or Duration.seconds(30),
        memory_size=memory_size,
        description=description,
        environment={**defaults.environment, **(environment or {})},
        dead_letter_queue=dead_letter_queue,
    )
