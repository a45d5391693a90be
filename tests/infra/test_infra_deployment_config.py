"""DeploymentConfig.load: the example file loads, and every kind of bad value is refused by name."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from takedown_infra.deployment import (
    DeploymentConfig,
    DeploymentConfigError,
    is_email_address,
    schedule_expression_problem,
)
from tests.infra.repo_paths import EXAMPLE_CONFIG

if TYPE_CHECKING:
    from pathlib import Path


def example_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    return document


def write_config(tmp_path: Path, **changes: Any) -> Path:
    document = example_document()
    for key, value in changes.items():
        if value is _REMOVE:
            del document[key]
        else:
            document[key] = value
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


_REMOVE = object()


def test_example_file_loads_with_every_value() -> None:
    # GIVEN the deployment file shipped in config/
    # WHEN it is loaded
    config = DeploymentConfig.load(EXAMPLE_CONFIG)

    # THEN every key has the file's value, with reviewers as a tuple
    document = example_document()
    assert config.stack_name == document["stack_name"]
    assert config.sender == document["sender"]
    assert config.reply_to == document["reply_to"]
    assert config.reviewers == tuple(document["reviewers"])
    assert config.crawl_schedule == document["crawl_schedule"]
    assert config.evidence_retention_days == document["evidence_retention_days"]
    assert config.removal_policy == document["removal_policy"]
    assert config.max_media_bytes == document["max_media_bytes"]


def test_example_file_uses_only_example_org_addresses() -> None:
    # GIVEN the shipped deployment file
    config = DeploymentConfig.load(EXAMPLE_CONFIG)

    # WHEN its addresses are listed
    addresses = [config.sender, config.reply_to, *config.reviewers]

    # THEN none of them could reach a real mailbox
    assert all(address.endswith("@example.org") for address in addresses)


def test_unknown_key_is_refused_by_name(tmp_path: Path) -> None:
    # GIVEN a file with a misspelt key
    path = write_config(tmp_path, reviewer=["a@example.org"])

    # WHEN it is loaded THEN the error names the unknown key
    with pytest.raises(DeploymentConfigError, match=r"reviewer: unknown key"):
        DeploymentConfig.load(path)


def test_missing_key_is_refused_by_name(tmp_path: Path) -> None:
    # GIVEN a file without the sender
    path = write_config(tmp_path, sender=_REMOVE)

    # WHEN it is loaded THEN the error names the missing key
    with pytest.raises(DeploymentConfigError, match=r"sender: missing"):
        DeploymentConfig.load(path)


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("review_link_ttl_hours", "72", "must be an integer, got str"),
        ("approval_timeout_hours", True, "must be an integer, got bool"),
        ("evidence_retention_days", 3.5, "must be an integer, got float"),
        ("centre_name", 7, "must be a string, got int"),
        ("reviewers", "reviewer@example.org", "must be a list of email addresses, got str"),
    ],
)
def test_wrong_type_is_refused(tmp_path: Path, key: str, value: Any, reason: str) -> None:
    # GIVEN a value of the wrong JSON type
    path = write_config(tmp_path, **{key: value})

    # WHEN it is loaded THEN the error names the key and the type found
    with pytest.raises(DeploymentConfigError, match=rf"{key}: {reason}"):
        DeploymentConfig.load(path)


@pytest.mark.parametrize(
    ("key", "value", "where"),
    [
        ("sender", "notices.example.org", "sender"),
        ("reply_to", "Desk <desk@example.org>", "reply_to"),
        ("reviewers", ["reviewer@example.org", "not an address"], r"reviewers\[1\]"),
    ],
)
def test_bad_email_is_refused(tmp_path: Path, key: str, value: Any, where: str) -> None:
    # GIVEN an address that is not a plain local@domain
    path = write_config(tmp_path, **{key: value})

    # WHEN it is loaded THEN the error points at the exact entry
    with pytest.raises(DeploymentConfigError, match=rf"{where}: .*not a plain email address"):
        DeploymentConfig.load(path)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("rate(1 hours)", "singular unit"),
        ("rate(5 hour)", "plural unit"),
        ("rate(0 minutes)", "at least 1"),
        ("rate(2 weeks)", "expected 'rate"),
        ("cron(0 * * *)", "needs 6 fields"),
        ("every hour", "expected 'rate"),
    ],
)
def test_bad_schedule_expression_is_refused(tmp_path: Path, expression: str, reason: str) -> None:
    # GIVEN a schedule EventBridge would reject
    path = write_config(tmp_path, crawl_schedule=expression)

    # WHEN it is loaded THEN the error says what is wrong with it
    with pytest.raises(DeploymentConfigError, match=rf"crawl_schedule: .*{reason}"):
        DeploymentConfig.load(path)


@pytest.mark.parametrize(
    "expression", ["rate(1 minute)", "rate(15 minutes)", "rate(2 days)", "cron(0 3 * * ? *)"]
)
def test_valid_schedule_expressions_are_accepted(tmp_path: Path, expression: str) -> None:
    # GIVEN a valid rate or cron expression
    path = write_config(tmp_path, crawl_schedule=expression)

    # WHEN it is loaded
    config = DeploymentConfig.load(path)

    # THEN it is kept as written
    assert config.crawl_schedule == expression
    assert schedule_expression_problem(expression) is None


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"reviewers": []}, "reviewers: needs at least one reviewer"),
        ({"reviewers": ["a@example.org", "A@example.org"]}, r"reviewers\[1\]: .*listed twice"),
        ({"removal_policy": "snapshot"}, "removal_policy: must be one of retain, destroy"),
        ({"stack_name": "1takedown"}, "stack_name: .*not a CloudFormation stack name"),
        ({"approval_timeout_hours": 24 * 30}, "approval_timeout_hours: must be between 1 and 696"),
        ({"phash_max_distance": 65}, "phash_max_distance: must be between 0 and 64"),
        ({"max_media_bytes": 0}, "max_media_bytes: must be between 1 and"),
        ({"centre_name": "  "}, "centre_name: must not be empty"),
        ({"capture_expiry_days": 0}, "capture_expiry_days: must be between 1 and"),
    ],
)
def test_out_of_range_values_are_refused(tmp_path: Path, changes: dict[str, Any], pattern: str) -> None:
    # GIVEN a value of the right type that makes no sense for a deployment
    path = write_config(tmp_path, **changes)

    # WHEN it is loaded THEN the error names the key and the rule
    with pytest.raises(DeploymentConfigError, match=pattern):
        DeploymentConfig.load(path)


def test_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    # GIVEN a file with a syntax error
    path = tmp_path / "deployment.json"
    path.write_text('{"stack_name": "Takedown",}', encoding="utf-8")

    # WHEN it is loaded THEN the error says it is not JSON
    with pytest.raises(DeploymentConfigError, match="not valid JSON"):
        DeploymentConfig.load(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    # GIVEN a path with no file
    # WHEN it is loaded THEN the error says the file is missing
    with pytest.raises(DeploymentConfigError, match="deployment file not found"):
        DeploymentConfig.load(tmp_path / "absent.json")


def test_top_level_must_be_an_object(tmp_path: Path) -> None:
    # GIVEN a JSON list instead of an object
    path = tmp_path / "deployment.json"
    path.write_text("[]", encoding="utf-8")

    # WHEN it is loaded THEN the error says so
    with pytest.raises(DeploymentConfigError, match="top level must be a JSON object"):
        DeploymentConfig.load(path)


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        ("desk@example.org", True),
        ("first.last+tag@sub.example.org", True),
        ("desk@localhost", False),
        ("desk@@example.org", False),
        ("desk example@example.org", False),
        ("", False),
    ],
)
def test_email_address_check(address: str, valid: bool) -> None:
    # GIVEN an address WHEN it is checked THEN only plain local@domain.tld passes
    assert is_email_address(address) is valid


def test_uncited_captures_are_kept_30_days_unless_the_file_says_otherwise(tmp_path: Path) -> None:
    # GIVEN the example file, and one that keeps uncited page captures two days
    default = DeploymentConfig.load(write_config(tmp_path))
    short = DeploymentConfig.load(write_config(tmp_path, capture_expiry_days=2))
    # THEN the default is 30 days and the setting is read
    assert (default.capture_expiry_days, short.capture_expiry_days) == (30, 2)
