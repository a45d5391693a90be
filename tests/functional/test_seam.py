"""The seam with moto is one private method; these tests fail loudly if a moto upgrade moves it."""

from __future__ import annotations

import inspect
import json

import boto3
from moto import mock_aws
from moto.awslambda.models import LambdaFunction

from takedown.local import seam


def test_moto_still_has_the_method_the_seam_replaces() -> None:
    original = seam._ORIGINAL
    assert list(inspect.signature(original).parameters) == ["self", "event"]
    assert "tuple[str, bool, str]" in str(inspect.signature(original).return_annotation)


def _function(client: object, handler: str) -> str:
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client.create_function(  # type: ignore[attr-defined]
        FunctionName="f",
        Runtime="python3.12",
        Role=role,
        Handler=handler,
        Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
        Environment={
            "Variables": {
                "TAKEDOWN_CASES_TABLE": "no-such-table",
                "TAKEDOWN_EVIDENCE_BUCKET": "b",
                "TAKEDOWN_BANK_TABLE": "t",
            }
        },
    )
    return "f"


@mock_aws
def test_installed_seam_runs_our_handler_in_process_and_reports_its_error() -> None:
    # GIVEN the seam and a function whose handler raises on this input (unknown outcome)
    seam.install()
    try:
        client = boto3.client("lambda", region_name="us-east-1")
        name = _function(client, "takedown.handlers.handle_close_case.handler")
        # WHEN it is invoked through moto's Lambda API
        response = client.invoke(FunctionName=name, Payload=json.dumps({"case_id": "c", "outcome": "BOGUS"}))
        payload = json.loads(response["Payload"].read())
        # THEN our handler ran (its own error message) and Lambda reports a function error
        assert response["FunctionError"] == "Handled"
        assert payload["errorType"] == "ValueError" and "unknown outcome" in payload["errorMessage"]
        assert LambdaFunction._invoke_lambda is seam.invoke_in_process
    finally:
        seam.uninstall()
    assert not seam.is_installed()


@mock_aws
def test_the_seam_refuses_handlers_outside_our_package() -> None:
    seam.install()
    try:
        client = boto3.client("lambda", region_name="us-east-1")
        name = _function(client, "os.system")
        response = client.invoke(FunctionName=name, Payload=b"{}")
        assert response["FunctionError"] == "Handled"
        assert "refusing to run handler" in json.loads(response["Payload"].read())["errorMessage"]
    finally:
        seam.uninstall()
