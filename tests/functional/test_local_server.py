"""``takedown local up`` keeps the stack running as a moto server that any boto3 client can talk to."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
import pytest

from takedown.local import server

from .conftest import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(autouse=True)
def own_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own `takedown local up` keeps running: the tests use their own state folder.
    monkeypatch.setenv("TAKEDOWN_LOCAL_STATE_DIR", str(tmp_path))


@pytest.fixture
def running_stack() -> Iterator[dict[str, object]]:
    state = server.up(port=free_port(), timeout=240)
    try:
        yield state
    finally:
        assert server.down() is True


def test_up_provisions_the_stack_for_other_processes_and_down_stops_it(
    running_stack: dict[str, object],
) -> None:
    # GIVEN the local stack running as a server
    endpoint = str(running_stack["endpoint"])
    assert endpoint.startswith("http://127.0.0.1:")
    client_args = {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    # WHEN a plain boto3 client (as a developer's script would) lists what is there
    tables = boto3.client("dynamodb", **client_args).list_tables()["TableNames"]
    machines = boto3.client("stepfunctions", **client_args).list_state_machines()["stateMachines"]
    buckets = [b["Name"] for b in boto3.client("s3", **client_args).list_buckets()["Buckets"]]
    # THEN it sees the stack's resources, named as the state file says
    outputs = running_stack["outputs"]
    assert isinstance(outputs, dict)
    assert len(tables) == 3 and len(machines) == 1
    assert any(name in buckets for name in outputs.values())
    assert server.read_state() is not None


def test_down_without_a_running_stack_says_so() -> None:
    assert server.read_state() is None
    assert server.down() is False
