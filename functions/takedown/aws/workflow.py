"""Step Functions calls: start a case's execution, hand a reviewer's decision back."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from takedown.aws.clients import client


def start_case_execution(state_machine_arn: str, name: str, document: dict[str, object]) -> bool:
    """Start the execution ``name``. False when it already exists: a duplicate event collapses into it."""
    try:
        client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(document, ensure_ascii=False)
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            return False
        raise
    return True


def send_task_result(task_token: str, output: dict[str, object]) -> None:
    """Resume the waiting approval step with a structured decision."""
    client("stepfunctions").send_task_success(
        taskToken=task_token, output=json.dumps(output, ensure_ascii=False)
    )
