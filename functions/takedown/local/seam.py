"""The one seam between moto and our code: run Lambda functions in-process instead of in Docker.

moto invokes a function through ``LambdaFunction._invoke_lambda(self, event) -> (payload_json, errored, logs)``
(moto 5.2.x; pinned in pyproject.toml). That one method is what Step Functions tasks, S3 event notifications and
SQS event source mappings all end up calling. We replace it with a call of the handler named in the function's
configuration, with the function's environment applied for the duration of the call.

Each invocation gets its function's environment through :func:`takedown.config.function_environment` (a context
variable), not by changing ``os.environ``: functions run concurrently in moto's threads (Step Functions executions,
the threaded server), and one handler can trigger another synchronously (an S3 put notifies the hashing function).
"""

from __future__ import annotations

import importlib
import json
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.models import LambdaFunction

from takedown.config import function_environment

_ORIGINAL = LambdaFunction._invoke_lambda


@dataclass
class LocalLambdaContext:
    """The attributes of the Lambda context object that Powertools and our handlers read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _load_handler(spec: str) -> Any:
    module_name, _, attribute = spec.rpartition(".")
    if not module_name.startswith("takedown.handlers."):
        raise ImportError(f"refusing to run handler {spec!r}: only takedown.handlers.* run locally")
    return getattr(importlib.import_module(module_name), attribute)


def invoke_in_process(function: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    """Run ``function``'s handler on ``event`` in this process; moto's ``_invoke_lambda`` contract."""
    payload = json.loads(event) if isinstance(event, str | bytes) else (event or {})
    context = LocalLambdaContext(
        function_name=function.function_name,
        memory_limit_in_mb=int(function.memory_size or 128),
        invoked_function_arn=function.function_arn,
    )
    with function_environment({k: str(v) for k, v in (function.environment_vars or {}).items()}):
        try:
            result = _load_handler(str(function.handler))(payload, context)
        except Exception as error:  # a handler error is the function's error, as Lambda reports it
            body = {
                "errorType": type(error).__name__,
                "errorMessage": str(error)[:4000],
                "stackTrace": traceback.format_exception(error)[-8:],
            }
            return json.dumps(body), True, f"{type(error).__name__}: {error}"
    return json.dumps(result), False, ""


def install() -> None:
    """Route every moto Lambda invocation through :func:`invoke_in_process`. Idempotent."""
    LambdaFunction._invoke_lambda = invoke_in_process  # type: ignore[method-assign, assignment]


def uninstall() -> None:
    LambdaFunction._invoke_lambda = _ORIGINAL  # type: ignore[method-assign]


def is_installed() -> bool:
    return LambdaFunction._invoke_lambda is invoke_in_process  # type: ignore[comparison-overlap]


def cold_start() -> None:
    """Forget what warm containers keep between invocations (bank, sources, link key, clients).

    A new local stack is a new deployment: in AWS its functions start cold, so they do here too.
    """
    from takedown.aws import clients, secrets
    from takedown.handlers import (
        deployed_sources,
        handle_crawl_page,
        handle_hash_media,
        handle_recheck_cases,
        handle_resolve_recipients,
    )

    handle_hash_media.BANK_INDEX.clear()
    handle_resolve_recipients.platform_registry.cache_clear()
    handle_resolve_recipients._rdap_client.cache_clear()
    deployed_sources.sources_by_id.cache_clear()
    handle_crawl_page.forget_warm_state()
    handle_recheck_cases.forget_warm_state()
    secrets.link_key.cache_clear()
    clients._cached_client.cache_clear()
