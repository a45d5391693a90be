"""Fixtures for the metrics tests: a cases table on moto, and Powertools metrics switched on for one test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import boto3
import pytest

from takedown.model import Recipient, Sighting

if TYPE_CHECKING:
    from collections.abc import Iterator

FETCHED_AT = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


@pytest.fixture
def cases_table() -> Iterator[str]:
    """A cases table shaped like the stack's (``pk``/``sk`` strings) in an in-process moto."""
    from moto import mock_aws

    with mock_aws():
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName="cases",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield "cases"


@pytest.fixture
def metrics_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Powertools writes EMF to stdout, as in Lambda (the test session disables metrics by default)."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Takedown")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "takedown")


def at(minutes: float) -> datetime:
    """``minutes`` after the first sighting."""
    return FETCHED_AT + timedelta(minutes=minutes)


def sighting(page: int = 1, *, server_country: str = "KR") -> Sighting:
    return Sighting(
        media_key=f"media/{'ab' * 32}/p{page}",
        sha256=f"{page:02x}" * 32,
        md5="cd" * 16,
        page_url=f"https://board.example/p/{page}",
        media_url=f"https://board.example/m/{page}.png",
        fetched_at=FETCHED_AT.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        content_type="image/png",
        source_id="example-community",
        size_bytes=1234,
        server_country=server_country,
    )


HOST = Recipient(address="abuse@noc.hoster.com", role="host", found_at="RDAP abuse contact", confidence=0.8)
SITE = Recipient(address="admin@board.example", role="site", found_at="mailto link", confidence=0.7)
