"""Fixtures for the hostile-input corpus: the local stack (moto, in-process) and loopback servers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from takedown.local.environment import LocalEnvironment

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def local() -> Iterator[LocalEnvironment]:
    with LocalEnvironment() as environment:
        yield environment
