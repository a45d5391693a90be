"""The crawl worker's extra reach: the sources' secrets (each by name, nothing else; the re-check function reads
them too, for members-only pages) and the RDAP base URLs."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk.assertions import Annotations, Match, Template

from takedown import config as runtime
from takedown_infra.deployment import DeploymentConfig
from tests.infra.conftest import build_stack
from tests.infra.repo_paths import EXAMPLE_CONFIG
from tests.infra.template_reading import (
    actions_of,
    logical_id,
    render_intrinsics,
    resources_of,
    role_policy_statements,
    roles_allowed,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from takedown_infra.stack import TakedownStack
    from tests.infra.conftest import SynthesizedStack

SECRET_ARN = "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:takedown/crawl/full-arn-AbCdEf"
SOURCE_SECRETS = [
    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:takedown/crawl/members-??????",
    SECRET_ARN,
]


def _source(source_id: str, secret_ref: str = "") -> dict[str, Any]:
    source: dict[str, Any] = {
        "id": source_id,
        "kind": "community",
        "seeds": [f"https://{source_id}.example/"],
        "allowed_hosts": [f"{source_id}.example"],
    }
    if secret_ref:
        source["secret_ref"] = secret_ref
    return source


@pytest.fixture(scope="module")
def with_secrets(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[TakedownStack, dict[str, Any], Annotations]:
    """A deployment whose sources name two secrets (one twice) and an RDAP server (a second synth: slow)."""
    work = tmp_path_factory.mktemp("takedown-crawl-secrets")
    sources = work / "sources.json"
    document = {
        "version": 1,
        "sources": [
            _source("members", "takedown/crawl/members"),
            _source("open"),
            _source("members-mirror", "takedown/crawl/members"),
            _source("archive", SECRET_ARN),
        ],
    }
    sources.write_text(json.dumps(document), encoding="utf-8")
    config = dataclasses.replace(
        DeploymentConfig.load(EXAMPLE_CONFIG),
        sources_file=str(sources),
        rdap_ip_base_urls=("https://rdap.example.net/",),
    )
    _, stack = build_stack(config, work)
    return stack, Template.from_stack(stack).to_json()["Resources"], Annotations.from_stack(stack)


def _worker_role(stack: TakedownStack) -> str:
    role = stack.crawl.worker.role
    assert role is not None
    return logical_id(role)


def _recheck_role(stack: TakedownStack) -> str:
    role = stack.follow_up.recheck_function.role
    assert role is not None
    return logical_id(role)


def _secrets_granted(resources: dict[str, Any], role: str) -> list[str]:
    """Every resource a role may ``secretsmanager:GetSecretValue``, intrinsics rendered."""
    return [
        render_intrinsics(resource)
        for statement in role_policy_statements(resources, role)
        if "secretsmanager:GetSecretValue" in actions_of(statement)
        for resource in resources_of(statement)
    ]


def _secret_actions(resources: dict[str, Any], role: str) -> set[str]:
    return {
        action
        for statement in role_policy_statements(resources, role)
        for action in actions_of(statement)
        if action.startswith("secretsmanager:")
    }


def test_without_secrets_in_the_sources_nobody_reads_a_source_secret(synthesized: SynthesizedStack) -> None:
    # GIVEN the example deployment, whose sources name no secret
    # THEN neither the crawl worker nor the re-check function may read any secret
    for role in (_worker_role(synthesized.stack), _recheck_role(synthesized.stack)):
        assert _secret_actions(synthesized.resources, role) == set(), role


@pytest.mark.parametrize("role_of", [_worker_role, _recheck_role], ids=["crawl-worker", "recheck"])
def test_the_worker_and_the_recheck_may_read_exactly_the_secrets_the_sources_name(
    with_secrets: tuple[TakedownStack, dict[str, Any], Annotations], role_of: Callable[[TakedownStack], str]
) -> None:
    # GIVEN a deployment whose sources name a secret by name (twice) and one by full ARN
    stack, resources, _ = with_secrets
    role = role_of(stack)
    # WHEN the statements that allow the role to read secrets are found
    granted = _secrets_granted(resources, role)
    # THEN it may get those two secrets' values and nothing else: the name with Secrets Manager's six-character
    # suffix (never "*"), the ARN as written; no other secret (not the review-link key), no other action
    assert sorted(granted) == sorted(SOURCE_SECRETS)
    assert _secret_actions(resources, role) == {"secretsmanager:GetSecretValue"}


def test_no_other_role_may_read_the_sources_secrets(
    with_secrets: tuple[TakedownStack, dict[str, Any], Annotations],
) -> None:
    # GIVEN a deployment whose sources name secrets
    stack, resources, _ = with_secrets
    # WHEN every other role allowed to read some secret is looked at
    others = roles_allowed(resources, "secretsmanager:GetSecretValue") - {
        _worker_role(stack),
        _recheck_role(stack),
    }
    # THEN none of them may read the sources' secrets
    for role in others:
        for statement in role_policy_statements(resources, role):
            if "secretsmanager:GetSecretValue" in actions_of(statement):
                assert "takedown/crawl/" not in json.dumps(statement["Resource"])
                assert SECRET_ARN not in json.dumps(statement["Resource"])
    assert others  # the review function reads its link key: the check above looked at something


def test_the_worker_gets_the_rdap_base_urls(
    with_secrets: tuple[TakedownStack, dict[str, Any], Annotations],
) -> None:
    # GIVEN a deployment with an RDAP base URL for IP lookups
    stack, resources, _ = with_secrets
    # THEN the crawl worker gets it, for the server country of each page
    variables = resources[logical_id(stack.crawl.worker)]["Properties"]["Environment"]["Variables"]
    assert variables[runtime.ENV_RDAP_IP_URLS] == "https://rdap.example.net/"


def test_cdk_nag_accepts_the_secret_grant(
    with_secrets: tuple[TakedownStack, dict[str, Any], Annotations],
) -> None:
    # GIVEN the deployment with source secrets WHEN cdk-nag's findings are read THEN there are no errors
    _, _, annotations = with_secrets
    errors = annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert [f"{e.id}: {e.entry.data}" for e in errors] == []
