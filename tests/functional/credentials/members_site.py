"""A members-only loopback board and its Secrets Manager secret, for the tests of sources with credentials.

The board answers 403 to any request without the members' key header and session cookie. The local stack is
run with its functions logging everything (DEBUG), so a credential in any log record is seen; ``caplog`` holds
the records whole (the functions' handlers write to the stream they found at import, which ``capsys`` may not
see). The fixtures are in this folder's ``conftest.py``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import boto3

from tests.unit.crawl.conftest import LoopbackSite, Route

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

    import pytest

SECRET_NAME = "takedown/crawl/members-board"
KEY_VALUE = "synthetic-key-5f0c2e"
SESSION_VALUE = "synthetic-session-91ab"


class MembersOnlySite(LoopbackSite):
    """A loopback site that answers 403 unless the request carries the members' key header and cookie."""

    def answer(self, handler: BaseHTTPRequestHandler, route: Route) -> None:
        allowed = handler.headers.get("X-Members-Key") == KEY_VALUE and f"session={SESSION_VALUE}" in (
            handler.headers.get("Cookie") or ""
        )
        super().answer(handler, route if allowed else Route(status=403, body=b"members only"))


def store_members_secret() -> None:
    """The board's credentials (a header and a cookie) as a secret named ``SECRET_NAME``."""
    boto3.client("secretsmanager").create_secret(
        Name=SECRET_NAME,
        SecretString=json.dumps(
            {"headers": {"X-Members-Key": KEY_VALUE}, "cookies": {"session": SESSION_VALUE}}
        ),
    )


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    """Every log record caught, all its fields, as text to search for a value."""
    return "\n".join(json.dumps(vars(record), default=str) for record in caplog.records)
