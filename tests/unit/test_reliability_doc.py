"""docs/RELIABILITY.md cannot drift from the suite: every test it names exists, every hardening test is named in
it, and the counts it marks as checked are the sizes of the corpora the tests run."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.hostile.corpus import hostile_media
from tests.hostile.test_hostile_recipients import HOSTILE_ADDRESSES, MALFORMED_RDAP
from tests.hostile.test_hostile_review_links import BAD_FORMS, hostile_link_paths
from tests.property.test_decoder_fuzz import seeds

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "RELIABILITY.md"
TEST_REFERENCE = re.compile(r"(tests/[\w/]+\.py)::(\w+)")
CHECKED_COUNT = re.compile(r"<!-- checked: (\w+) -->\s*(\d+)")
# Every test of these must be named in the doc.
HARDENING_TESTS = ("tests/hostile", "tests/faults", "tests/property", "tests/infra/test_infra_security.py")


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    }


def named_in_doc() -> set[tuple[str, str]]:
    return set(TEST_REFERENCE.findall(DOC.read_text(encoding="utf-8")))


def test_every_test_the_doc_names_exists() -> None:
    # GIVEN every path::test the doc names
    named = named_in_doc()
    assert named
    # THEN each file exists and defines that test
    missing = [f"{path}::{name}" for path, name in named if name not in defined_tests(REPO_ROOT / path)]
    assert missing == []


def test_every_hardening_test_is_in_the_doc() -> None:
    # GIVEN every test of the hostile, fault, property and deployment-security suites
    named = named_in_doc()
    files = [
        file
        for root in HARDENING_TESTS
        for file in (
            (REPO_ROOT / root).rglob("test_*.py") if (REPO_ROOT / root).is_dir() else [REPO_ROOT / root]
        )
    ]
    assert files
    # THEN each is named in a row of the doc
    absent = [
        f"{file.relative_to(REPO_ROOT)}::{name}"
        for file in files
        for name in sorted(defined_tests(file))
        if (str(file.relative_to(REPO_ROOT)), name) not in named
    ]
    assert absent == []


def corpus_sizes() -> dict[str, int]:
    return {
        "media": len(hostile_media()),
        "links": len(hostile_link_paths("r", "1", "s", "t")),
        "forms": len(BAD_FORMS),
        "rdap": len(MALFORMED_RDAP),
        "addresses": len(HOSTILE_ADDRESSES),
        "seeds": len(seeds()),
    }


def test_the_counts_the_doc_marks_as_checked_are_the_corpus_sizes() -> None:
    # GIVEN the counts marked <!-- checked: name --> in the doc
    marked = {name: int(count) for name, count in CHECKED_COUNT.findall(DOC.read_text(encoding="utf-8"))}
    # THEN they are exactly the sizes of the corpora the tests run
    assert marked == corpus_sizes()


def test_the_load_figures_the_doc_points_to_exist() -> None:
    # GIVEN the doc's Load section THEN the benchmarks page it links to exists
    assert "](BENCHMARKS.md)" in DOC.read_text(encoding="utf-8")
    assert (REPO_ROOT / "docs" / "BENCHMARKS.md").is_file()
