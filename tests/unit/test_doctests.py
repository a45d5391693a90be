"""The examples in the package's docstrings are true: each module's doctests run as a test."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import takedown

MODULES = sorted(m.name for m in pkgutil.walk_packages(takedown.__path__, "takedown."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    # GIVEN a module of the package WHEN its docstring examples run THEN each gives what it shows
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=False)
    assert result.failed == 0, (
        f"{result.failed} of {result.attempted} examples in {name} failed (run doctest -v)"
    )


def test_the_package_has_examples() -> None:
    # A guard against the collection above silently finding nothing
    attempted = sum(
        doctest.testmod(importlib.import_module(name), report=False).attempted
        for name in ("takedown.model", "takedown.cases.reporting", "takedown.crawl.urls")
    )
    assert attempted >= 5
