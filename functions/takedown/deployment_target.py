"""Which deployment a CLI command works on: the running local stack, or a CloudFormation stack in AWS."""

from __future__ import annotations

import os
from dataclasses import dataclass

from takedown import config


class NoDeploymentError(RuntimeError):
    """Neither a local stack nor the named CloudFormation stack could be found."""


@dataclass(frozen=True)
class DeploymentTarget:
    name: str
    evidence_bucket: str
    bank_table: str
    cases_table: str
    crawl_table: str


def _from_outputs(name: str, outputs: dict[str, str]) -> DeploymentTarget:
    try:
        return DeploymentTarget(
            name=name,
            evidence_bucket=outputs[config.OUTPUT_EVIDENCE_BUCKET],
            bank_table=outputs[config.OUTPUT_BANK_TABLE],
            cases_table=outputs[config.OUTPUT_CASES_TABLE],
            crawl_table=outputs[config.OUTPUT_CRAWL_TABLE],
        )
    except KeyError as missing:
        raise NoDeploymentError(f"{name}: output {missing} is missing; is it a takedown stack?") from missing


def resolve_target(stack_name: str | None = None) -> DeploymentTarget:
    """The running local stack (``takedown local up``) unless a stack name is given, then that AWS stack.

    For the local stack the process is pointed at its endpoint (``AWS_ENDPOINT_URL``), as a boto3 script would be.
    """
    if stack_name is None:
        from takedown.local.server import read_state

        state = read_state()
        if state is None:
            raise NoDeploymentError("no local stack is running (takedown local up), and no --stack was given")
        os.environ.setdefault("AWS_ENDPOINT_URL", str(state["endpoint"]))
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            os.environ.setdefault(key, value)
        return _from_outputs("local", dict(state["outputs"]))
    from takedown.aws.clients import client

    stacks = client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return _from_outputs(stack_name, outputs)
