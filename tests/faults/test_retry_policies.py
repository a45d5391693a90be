"""Retries back off: the policies that make transient faults pass, asserted where they are configured (the boto
clients, the state machine, the crawl queue and its event source mapping), not by timing anything.

The local stack keeps every retry and waits one second each time (moto sleeps for real); the last test here
checks that. What happens once they are spent is in the other fault tests: the case closes as FAILED with the
error, or the message or event is kept in a dead-letter queue.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from takedown.aws.clients import client
from takedown.local.synth import synthesize
from tests.infra.template_reading import resources_of_type, state_machine_definition

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment

LAMBDA_TRANSIENT_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


@functools.cache
def template() -> dict[str, Any]:
    synthesized, _ = synthesize()
    return synthesized


def every_state(states: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """All states, those inside Map iterators included."""
    found: dict[str, dict[str, Any]] = {}
    for name, state in states.items():
        found[name] = state
        for processor in ("ItemProcessor", "Iterator"):
            if processor in state:
                found |= every_state(state[processor]["States"])
    return found


def top_level_states() -> dict[str, dict[str, Any]]:
    (machine,) = resources_of_type(template()["Resources"], "AWS::StepFunctions::StateMachine").values()
    states: dict[str, dict[str, Any]] = state_machine_definition(machine)["States"]
    return states


def workflow_states() -> dict[str, dict[str, Any]]:
    return every_state(top_level_states())


@pytest.mark.parametrize("service", ["dynamodb", "s3", "sesv2", "stepfunctions", "sqs", "secretsmanager"])
def test_every_aws_client_retries_with_backoff_and_gives_up_in_bounded_time(service: str) -> None:
    # GIVEN the client our code uses for a service
    config = client(service).meta.config
    # THEN it retries in botocore's standard mode (exponential backoff with jitter on throttling and transient
    # errors), a bounded number of times, with bounded connect and read timeouts
    assert config.retries["mode"] == "standard"
    assert 3 <= config.retries["total_max_attempts"] <= 10
    assert 0 < config.connect_timeout <= 10 and 0 < config.read_timeout <= 60


def test_every_workflow_task_retries_transient_lambda_errors_with_exponential_backoff() -> None:
    tasks = {name: s for name, s in workflow_states().items() if s["Type"] == "Task"}
    assert tasks
    for name, state in tasks.items():
        # THEN each Lambda task retries Lambda's own transient errors, waiting longer each time
        retried = [r for r in state.get("Retry", []) if set(r["ErrorEquals"]) & LAMBDA_TRANSIENT_ERRORS]
        assert {e for r in retried for e in r["ErrorEquals"]} >= LAMBDA_TRANSIENT_ERRORS, name
        for retry in retried:
            assert retry["IntervalSeconds"] >= 1 and retry["BackoffRate"] >= 1.5, name
            assert 3 <= retry["MaxAttempts"] <= 10, name


def test_every_work_task_ends_in_a_recorded_state_when_its_retries_are_spent() -> None:
    # (A task inside a Map fails its Map, whose own catch applies.)
    states = top_level_states()
    for name, state in states.items():
        if state["Type"] not in {"Task", "Map"} or name.startswith("Close"):
            continue
        # THEN any error left after the retries is caught and the case is closed with it (never a silent end)
        catches = [c for c in state.get("Catch", []) if "States.ALL" in c["ErrorEquals"]]
        assert catches, name
        assert all(states[c["Next"]]["Type"] == "Task" and c["Next"].startswith("Close") for c in catches), (
            name
        )
        assert all(c.get("ResultPath") == "$.error" for c in catches), name
    # AND every Choice has a default, so no input leaves a case without an end
    assert all("Default" in s for s in states.values() if s["Type"] == "Choice")


def test_the_crawl_queue_retries_a_failed_message_then_keeps_it() -> None:
    resources = template()["Resources"]
    mappings = list(resources_of_type(resources, "AWS::Lambda::EventSourceMapping").values())
    assert mappings
    for mapping in mappings:
        properties = mapping["Properties"]
        # THEN the worker's partial batch response is honoured (only failed messages come back) ...
        assert properties.get("FunctionResponseTypes") == ["ReportBatchItemFailures"]
        queue_id = properties["EventSourceArn"]["Fn::GetAtt"][0]
        queue = resources[queue_id]["Properties"]
        # ... a failed message comes back after the visibility timeout, a few times, then goes to the DLQ
        assert 3 <= queue["RedrivePolicy"]["maxReceiveCount"] <= 10
        function_id = properties["FunctionName"]["Ref"]
        assert queue["VisibilityTimeout"] >= resources[function_id]["Properties"]["Timeout"]


def retriers(states: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {name: state.get("Retry", []) for name, state in every_state(states).items()}


def test_the_local_stack_runs_every_retry_as_deployed_waiting_one_second(local: LocalEnvironment) -> None:
    # GIVEN the state machine the local stack created from the template, and the template's own
    (machine,) = boto3.client("stepfunctions", region_name="us-east-1").list_state_machines()["stateMachines"]
    described = boto3.client("stepfunctions", region_name="us-east-1").describe_state_machine(
        stateMachineArn=machine["stateMachineArn"]
    )
    local_retriers = retriers(json.loads(described["definition"])["States"])
    deployed_retriers = retriers(top_level_states())
    # THEN every task retries the same errors the same number of times as deployed (so the fault tests see every
    # retry) ...
    assert local_retriers.keys() == deployed_retriers.keys()
    for name, deployed in deployed_retriers.items():
        kept = [(r["ErrorEquals"], r.get("MaxAttempts")) for r in local_retriers[name]]
        assert kept == [(r["ErrorEquals"], r.get("MaxAttempts")) for r in deployed], name
        # ... only waiting one second each time: moto sleeps out every wait for real
        assert all(r["IntervalSeconds"] == 1 and r["BackoffRate"] == 1 for r in local_retriers[name]), name
        assert not any("MaxDelaySeconds" in r or "JitterStrategy" in r for r in local_retriers[name]), name
    assert any(r["IntervalSeconds"] > 1 for retries in deployed_retriers.values() for r in retries)
