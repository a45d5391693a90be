"""Stand the whole stack up locally: moto (in-process, or as a threaded server), the seam, the resources from the
synthesized template, and the approval API on 127.0.0.1.

In-process (tests, ``takedown demo``)::

    with LocalEnvironment() as local:
        local.invoke("handle_dispatch_crawl", {})

As a server (``takedown local up``), the same provisioning runs inside the server process and a state file tells
other processes (the CLI, a developer's boto3 script with ``AWS_ENDPOINT_URL``) where to connect.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import TYPE_CHECKING, Any

import boto3

from takedown.config import ENV_CASES_TABLE, Settings, function_environment
from takedown.local import seam
from takedown.local.api_server import LocalApiServer
from takedown.local.stack import REGION, LocalResources, LocalStack
from takedown.local.synth import synthesize

if TYPE_CHECKING:
    from pathlib import Path

    from moto.core.models import MockAWS

# Set before any handler module is imported: Powertools reads these once, at import.
LOCAL_PROCESS_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_SERVICE_NAME": "takedown",
    "POWERTOOLS_METRICS_NAMESPACE": "Takedown",
}


def quiet_local_logs(level: str) -> None:
    """Keep local runs' output to what matters.

    The functions log at INFO for CloudWatch, and ``takedown.observability`` may be imported (through the case
    store) before the local environment sets ``POWERTOOLS_LOG_LEVEL``, so its level is set again here. moto's Step
    Functions interpreter logs an error each time a Choice state tests ``IsPresent`` on a field the input lacks (a
    first notice has no ``follow_up``); AWS does not, so only those records are dropped.
    """
    from takedown.observability import logger

    logger.setLevel(level)
    moto_choice_log = logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component")
    if _absent_path_filter not in moto_choice_log.filters:
        moto_choice_log.addFilter(_absent_path_filter)


def _absent_path_filter(record: logging.LogRecord) -> bool:
    return "Exception=NoSuchJsonPathError" not in record.getMessage()


class LocalEnvironment:
    """The local stack in this process. A context manager; see the module docstring."""

    def __init__(self, *, config_path: Path | None = None, log_level: str = "WARNING") -> None:
        self.config_path = config_path
        self.log_level = log_level
        self._mock: MockAWS | None = None
        self.api: LocalApiServer | None = None
        self.stack: LocalStack | None = None
        self.resources = LocalResources()

    def __enter__(self) -> LocalEnvironment:
        for key, value in {**LOCAL_PROCESS_ENV, "POWERTOOLS_LOG_LEVEL": self.log_level}.items():
            os.environ.setdefault(key, value)
        from moto import mock_aws

        quiet_local_logs(self.log_level)
        template, cdk_out = synthesize(self.config_path)
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        seam.install()
        seam.cold_start()
        self.api = LocalApiServer().start()
        self.stack = LocalStack(template, cdk_out)
        self.resources = self.stack.provision(api_base_url=self.api.base_url)
        self.api.routes = self.resources.routes
        return self

    def __exit__(self, *exc: object) -> None:
        if self.api:
            self.api.close()
        if self._mock:
            self._mock.stop()
        seam.uninstall()

    # -- helpers for the CLI, the demo and tests ----------------------------------------------------------------
    def function_name(self, handler_module: str) -> str:
        return self.resources.functions[handler_module]

    def settings(self, handler_module: str = "handle_hash_media") -> Settings:
        """The settings a function sees (its environment as deployed, with local paths)."""
        with function_environment(self.resources.environment[self.function_name(handler_module)]):
            return Settings.from_env()

    def invoke(self, handler_module: str, event: dict[str, Any]) -> dict[str, Any]:
        """Invoke a function through moto's Lambda API, as AWS would; raise if the function errored."""
        response = boto3.client("lambda", region_name=REGION).invoke(
            FunctionName=self.function_name(handler_module), Payload=json.dumps(event).encode("utf-8")
        )
        payload: dict[str, Any] = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            raise RuntimeError(
                f"{handler_module} failed: {payload.get('errorType')}: {payload.get('errorMessage')}"
            )
        return payload

    def executions(self) -> list[dict[str, Any]]:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machines = sfn.list_state_machines()["stateMachines"]
        found: list[dict[str, Any]] = []
        for machine in machines:
            for page in sfn.get_paginator("list_executions").paginate(
                stateMachineArn=machine["stateMachineArn"]
            ):
                found.extend(dict(e) for e in page["executions"])
        return found

    def wait_for(self, predicate: Any, *, timeout: float = 60.0, interval: float = 0.05) -> bool:
        """Poll ``predicate()`` until it is true or ``timeout`` passes (executions run in moto's threads)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(interval)
        return bool(predicate())

    def cases_table(self) -> str:
        return self.resources.environment[self.function_name("handle_hash_media")][ENV_CASES_TABLE]
