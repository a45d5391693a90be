"""Transient AWS failures: which errors may pass on their own, the error the state machine retries, and a short
in-function retry for the writes that must not be given up lightly.

botocore already retries throttling, 5xx answers and dropped connections (standard mode, five attempts with
jittered backoff; ``takedown.aws.clients``). An error that outlasts those is still worth trying again a little
later, from the top of an idempotent step: the workflow's handlers raise :class:`TransientAwsError` for it, and the
state machine retries a task that fails with that error name (``infra/takedown_infra/constructs/workflow.py``). Any
other error (a refused message, a failed condition, bad input) is not retried: it closes the case with its reason.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Final, ParamSpec, TypeVar

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

if TYPE_CHECKING:
    from collections.abc import Callable

P = ParamSpec("P")
R = TypeVar("R")

# botocore's own lists (botocore.retries.standard), plus the 5xx codes services name without a status.
THROTTLING_CODES: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "RequestThrottled",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "SlowDown",
        "EC2ThrottledException",
        "KMSThrottlingException",
    }
)
TRANSIENT_CODES: Final = THROTTLING_CODES | frozenset(
    {
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ServiceException",
    }
)
# Why a DynamoDB transaction was cancelled, per item, when the cause may pass ("None": the item was fine).
TRANSIENT_CANCELLATIONS: Final = frozenset(
    {"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"}
)
_MESSAGE_CHARS: Final = 500


class TransientAwsError(RuntimeError):
    """An AWS call failed in a way that may pass on its own (throttling, a 5xx answer, a timeout), after botocore's
    retries. Its class name is the error name the state machine retries: keep it.

    Parameters
    ----------
    operation
        The API operation that failed (``TransactWriteItems``), or ``""`` when the error does not say.
    code
        The AWS error code, or the botocore exception's class name for a timeout or dropped connection.
    detail
        The error's own message, cut to 500 characters.
    """

    def __init__(self, operation: str, code: str, detail: str) -> None:
        self.operation = operation
        self.code = code
        where = f"{operation}: " if operation else ""
        super().__init__(f"{where}{code}: {detail[:_MESSAGE_CHARS]} (transient; retried by the workflow)")


def _cancellation_codes(error: ClientError) -> set[str]:
    reasons = error.response.get("CancellationReasons", [])
    return {str(reason.get("Code", "")) for reason in reasons if isinstance(reason, dict)}


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is a throttle, a server-side failure, a timeout or a dropped connection.

    Examples
    --------
    >>> throttled = ClientError({"Error": {"Code": "ThrottlingException"}}, "Query")
    >>> refused = ClientError({"Error": {"Code": "MessageRejected"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "X")
    >>> is_transient(throttled), is_transient(refused), is_transient(ValueError("bad input"))
    (True, False, False)
    """
    # Already judged (a retried write inside the step), or a read or connect timeout, a dropped or refused connection.
    if isinstance(error, TransientAwsError | HTTPClientError | BotocoreConnectionError):
        return True
    if not isinstance(error, ClientError):
        return False
    code = str(error.response.get("Error", {}).get("Code", ""))
    if code in TRANSIENT_CODES:
        return True
    if code == "TransactionCanceledException":
        causes = _cancellation_codes(error) - {"None", ""}
        return bool(causes) and causes <= TRANSIENT_CANCELLATIONS
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return status == 429 or status >= 500


def as_transient(error: BaseException) -> TransientAwsError:
    """The :class:`TransientAwsError` for a transient ``error`` (see :func:`is_transient`)."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return TransientAwsError(
            error.operation_name, str(details.get("Code", "")), str(details.get("Message", ""))
        )
    return TransientAwsError("", type(error).__name__, str(error))


def raise_transient_as_retryable(handler: Callable[P, R]) -> Callable[P, R]:
    """Wrap a workflow handler so that a transient AWS error leaves it as :class:`TransientAwsError`.

    Only for the handlers of idempotent steps: the state machine runs the whole step again.
    """

    @functools.wraps(handler)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return handler(*args, **kwargs)
        except TransientAwsError:
            raise
        except Exception as error:
            if is_transient(error):
                raise as_transient(error) from error
            raise

    return wrapped


def retry_transient(
    call: Callable[[], R],
    *,
    attempts: int = 4,
    first_delay_seconds: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
) -> R:
    """Run ``call``; on a transient AWS error wait and try again, doubling the wait, ``attempts`` times in all.

    For a write that must not be given up within one invocation (recording a notice SES accepted). Any other
    error, and the last transient one, is raised as it is.

    Parameters
    ----------
    call
        The write, without arguments (a lambda or :func:`functools.partial`).
    attempts
        Tries in all, at least 1.
    first_delay_seconds
        The first wait; later waits double (0.25, 0.5, 1 s by default: 1.75 s in all).
    sleep
        How to wait (tests may pass a recorder).

    Examples
    --------
    >>> answers = iter([ClientError({"Error": {"Code": "ThrottlingException"}}, "PutItem"), "stored"])
    >>> def put() -> str:
    ...     answer = next(answers)
    ...     if isinstance(answer, Exception):
    ...         raise answer
    ...     return answer
    >>> waits: list[float] = []
    >>> retry_transient(put, sleep=waits.append), waits
    ('stored', [0.25])
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    delay = first_delay_seconds
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as error:
            if attempt == attempts or not is_transient(error):
                raise
        sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")
