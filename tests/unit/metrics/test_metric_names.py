"""The metrics the dashboard and alarms read are the ones the functions publish, and each handler that moves a
case flushes Powertools' metrics."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from takedown import metric_names as names

HANDLERS = Path(__file__).resolve().parents[3] / "functions" / "takedown" / "handlers"


def _string_literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


@pytest.mark.parametrize(
    "metric",
    [
        names.NOTICES_SENT,
        names.NOTICE_BOUNCED,
        names.NOTICE_COMPLAINED,
        names.REVIEWS_REQUESTED,
        names.REVIEWS_NEAR_TIMEOUT,
    ],
)
def test_each_message_metric_the_alarms_read_is_published_by_a_handler(metric: str) -> None:
    # GIVEN the handlers' source WHEN their string constants are collected THEN the metric name is among them
    publishers = [p.name for p in sorted(HANDLERS.glob("handle_*.py")) if metric in _string_literals(p)]
    assert publishers, f"no handler publishes {metric}, which the dashboard or an alarm reads"


def _decorators(function: ast.FunctionDef) -> list[str]:
    return [ast.unparse(d) for d in function.decorator_list]


def test_every_handler_that_stores_cases_flushes_its_metrics() -> None:
    # GIVEN every handler module that uses the case store
    missing = []
    for path in sorted(HANDLERS.glob("handle_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports_case_store = any(
            isinstance(node, ast.ImportFrom) and node.module == "takedown.aws.case_store"
            for node in ast.walk(tree)
        )
        if not imports_case_store:
            continue
        # THEN its Lambda entry point is wrapped in Powertools' metrics flush
        entry = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "handler"]
        if not entry or "metrics.log_metrics" not in _decorators(entry[0]):
            missing.append(path.name)
    assert missing == []
