"""cdk-nag's AwsSolutions pack: nothing unsuppressed, and every suppression is narrow and explained."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match

from takedown_infra import ids
from takedown_infra.nag import attach_nag
from takedown_infra.stack import TakedownStack
from tests.infra.conftest import cdk_json_context, stand_in_layers
from tests.infra.template_reading import logical_id, nag_suppressions

if TYPE_CHECKING:
    from pathlib import Path

    from takedown_infra.deployment import DeploymentConfig
    from tests.infra.conftest import SynthesizedStack

MIN_REASON_WORDS = 10


def test_no_unsuppressed_errors(synthesized: SynthesizedStack) -> None:
    # GIVEN the stack synthesized with AwsSolutionsChecks
    # WHEN the error annotations are collected
    errors = synthesized.annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))

    # THEN there are none
    assert [f"{e.id}: {e.entry.data}" for e in errors] == []


def test_no_warnings(synthesized: SynthesizedStack) -> None:
    # GIVEN the same stack WHEN the warning annotations are collected THEN there are none
    warnings = synthesized.annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert [f"{w.id}: {w.entry.data}" for w in warnings] == []


def test_every_suppression_has_a_real_reason(synthesized: SynthesizedStack) -> None:
    # GIVEN every suppression recorded in the template
    suppressions = nag_suppressions(synthesized.resources)

    # THEN each names an AwsSolutions rule and explains itself in at least ten words
    assert suppressions
    short = [(lid, s["id"]) for lid, s in suppressions if len(s["reason"].split()) < MIN_REASON_WORDS]
    assert short == []
    assert all(s["id"].startswith("AwsSolutions-") for _, s in suppressions)


def test_wildcard_suppressions_name_the_exact_findings(synthesized: SynthesizedStack) -> None:
    # GIVEN the IAM5 (wildcard) and IAM4 (managed policy) suppressions
    granular = [
        s
        for _, s in nag_suppressions(synthesized.resources)
        if s["id"] in {"AwsSolutions-IAM5", "AwsSolutions-IAM4"}
    ]

    # THEN none is a blanket suppression: each lists the findings it accepts, as plain strings
    assert granular
    assert all(s.get("applies_to") for s in granular)
    assert all(isinstance(finding, str) for s in granular for finding in s["applies_to"])


def test_send_task_suppression_cites_the_service_authorization_reference(
    synthesized: SynthesizedStack,
) -> None:
    # GIVEN the review function role's suppressions of Resource::*
    role = synthesized.stack.functions[ids.REVIEW_API_FUNCTION].role
    assert role is not None
    policy_id = logical_id(role.node.find_child("DefaultPolicy"))
    reasons = [
        s["reason"]
        for lid, s in nag_suppressions(synthesized.resources)
        if lid == policy_id and s.get("applies_to") == ["Resource::*"]
    ]

    # THEN the reason states why SendTask* cannot be scoped
    assert len(reasons) == 1
    assert "Service Authorization Reference" in reasons[0]
    assert "SendTaskSuccess" in reasons[0]


@pytest.mark.parametrize(
    ("rule", "resource"),
    [
        ("AwsSolutions-SMG4", "link_key_secret"),
        ("AwsSolutions-APIG4", "review_methods"),
        ("AwsSolutions-COG4", "review_methods"),
    ],
)
def test_approval_suppressions_sit_on_the_exact_resources(
    synthesized: SynthesizedStack, rule: str, resource: str
) -> None:
    # GIVEN the approval construct's secret and methods
    approval = synthesized.stack.approval
    target = getattr(approval, resource)
    expected = {logical_id(m) for m in target} if isinstance(target, list) else {logical_id(target)}

    # WHEN the resources carrying the rule's suppression are found
    carrying = {lid for lid, s in nag_suppressions(synthesized.resources) if s["id"] == rule}

    # THEN they are exactly those resources
    assert carrying == expected


def test_without_the_suppressions_the_checks_do_report(
    example_config: DeploymentConfig, tmp_path: Path
) -> None:
    # GIVEN the same stack with cdk-nag attached but no suppressions applied
    app = cdk.App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": []})
    stack = TakedownStack(
        app,
        example_config.stack_name,
        config=example_config,
        layers_dir=stand_in_layers(tmp_path / "layers"),
        build_dir=tmp_path / "build",
    )
    attach_nag(stack)

    # WHEN its errors are collected
    errors = Annotations.from_stack(stack).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    rules = {str(e.entry.data).split(":", 1)[0].split("[", 1)[0] for e in errors}

    # THEN the accepted findings are really raised by the checks (so the clean run above means something)
    assert {"AwsSolutions-L1", "AwsSolutions-IAM5", "AwsSolutions-SMG4", "AwsSolutions-APIG4"} <= rules
