"""Which AWS errors are transient, the error the state machine retries, and the in-step retry of a write."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from takedown.aws.transient import (
    TransientAwsError,
    as_transient,
    is_transient,
    raise_transient_as_retryable,
    retry_transient,
)


def client_error(code: str, status: int = 400, **response: Any) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} happened"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        | response,  # type: ignore[arg-type]
        "TransactWriteItems",
    )


def cancelled(*reasons: str) -> ClientError:
    return client_error(
        "TransactionCanceledException", CancellationReasons=[{"Code": reason} for reason in reasons]
    )


@pytest.mark.parametrize(
    "error",
    [
        client_error("ThrottlingException"),
        client_error("ProvisionedThroughputExceededException"),
        client_error("TooManyRequestsException", 429),
        client_error("SlowDown", 503),
        client_error("InternalServerError", 500),
        client_error("SomethingNew", 502),  # any 5xx
        client_error("SomethingNew", 429),
        cancelled("None", "ThrottlingError"),
        cancelled("TransactionConflict"),
        ReadTimeoutError(endpoint_url="https://dynamodb.example"),
        ConnectTimeoutError(endpoint_url="https://dynamodb.example"),
        EndpointConnectionError(endpoint_url="https://dynamodb.example"),
        TransientAwsError("PutItem", "ThrottlingException", "already judged"),
    ],
    ids=repr,
)
def test_throttles_server_errors_and_timeouts_are_transient(error: Exception) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        client_error("ConditionalCheckFailedException"),
        client_error("MessageRejected"),
        client_error("AccessDeniedException", 403),
        client_error("ValidationException"),
        cancelled("ConditionalCheckFailed", "None"),
        cancelled("ConditionalCheckFailed", "ThrottlingError"),  # a lost race is not worth waiting out
        cancelled("None"),
        ValueError("bad input"),
        KeyError("no case"),
    ],
    ids=repr,
)
def test_refusals_conditions_and_our_own_errors_are_not(error: Exception) -> None:
    assert not is_transient(error)


def test_the_retryable_error_names_operation_and_code_and_keeps_the_message_short() -> None:
    # GIVEN a throttle with a very long message, and a timeout
    throttled = as_transient(client_error("Throttling"))
    long = ClientError({"Error": {"Code": "SlowDown", "Message": "x" * 5000}}, "GetObject")
    timeout = as_transient(ReadTimeoutError(endpoint_url="https://s3.example"))
    # THEN each says what failed and how, bounded
    assert str(throttled).startswith("TransactWriteItems: Throttling: Throttling happened")
    assert (throttled.operation, throttled.code) == ("TransactWriteItems", "Throttling")
    assert len(str(as_transient(long))) < 600
    assert timeout.code == "ReadTimeoutError" and "s3.example" in str(timeout)


def test_a_wrapped_handler_raises_transient_errors_by_the_retried_name_and_others_as_they_are() -> None:
    # GIVEN a handler wrapped for the workflow
    @raise_transient_as_retryable
    def handler(error: Exception | None) -> str:
        if error is not None:
            raise error
        return "done"

    # THEN a transient error leaves it as TransientAwsError (chained to the original), any other as it is
    assert handler(None) == "done"
    with pytest.raises(TransientAwsError) as retried:
        handler(client_error("ThrottlingException"))
    assert isinstance(retried.value.__cause__, ClientError)
    refused = client_error("MessageRejected")
    with pytest.raises(ClientError) as passed_through:
        handler(refused)
    assert passed_through.value is refused


class Flaky:
    """A write that fails with the given errors, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "stored"


def test_a_write_is_retried_with_doubling_waits_until_it_succeeds() -> None:
    # GIVEN a write that is throttled twice
    write = Flaky(client_error("ThrottlingException"), client_error("InternalServerError", 500))
    waits: list[float] = []
    # WHEN it is retried
    result = retry_transient(write, sleep=waits.append)
    # THEN it succeeded on the third call, after waiting 0.25 s then 0.5 s
    assert (result, write.calls, waits) == ("stored", 3, [0.25, 0.5])


def test_a_write_that_stays_throttled_raises_its_last_error_after_every_attempt() -> None:
    errors = [client_error("ThrottlingException") for _ in range(5)]
    write = Flaky(*errors)
    waits: list[float] = []
    with pytest.raises(ClientError) as raised:
        retry_transient(write, attempts=4, sleep=waits.append)
    assert raised.value is errors[3]
    assert write.calls == 4 and waits == [0.25, 0.5, 1.0]


def test_a_refusal_is_not_retried() -> None:
    refusal = client_error("ConditionalCheckFailedException")
    write = Flaky(refusal)
    waits: list[float] = []
    with pytest.raises(ClientError) as raised:
        retry_transient(write, sleep=waits.append)
    assert raised.value is refusal and write.calls == 1 and waits == []


def test_at_least_one_attempt_is_required() -> None:
    with pytest.raises(ValueError, match="attempts"):
        retry_transient(Flaky(), attempts=0)
