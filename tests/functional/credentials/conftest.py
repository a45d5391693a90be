"""Fixtures of the tests of sources with credentials: the local stack logging at DEBUG (so a credential in any
log record is seen), the members-only board, and another loopback host a redirect may lead to."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from takedown.local.environment import LocalEnvironment, quiet_local_logs
from tests.functional.credentials.members_site import MembersOnlySite
from tests.unit.crawl.conftest import LoopbackSite

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def local() -> Iterator[LocalEnvironment]:
    """The local stack with the functions logging everything (DEBUG)."""
    with LocalEnvironment(log_level="DEBUG") as environment:
        yield environment
    quiet_local_logs("WARNING")  # the level other tests' functions run at


@pytest.fixture
def members_site() -> Iterator[MembersOnlySite]:
    server = MembersOnlySite()
    yield server
    server.close()


@pytest.fixture
def other_site() -> Iterator[LoopbackSite]:
    """Another loopback host (reached as ``localhost``, a name outside the sources' allowed hosts)."""
    server = LoopbackSite()
    yield server
    server.close()
