"""Synthesize the takedown stack once per test session, the way ``cdk synth`` does, with cdk-nag attached.

The tests never run pip: the stack is pointed at empty stand-in layer folders, so it synthesizes whether or
not ``make layers`` has run. The config layer is staged into a temporary folder, not the checkout's build/.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.infra.repo_paths import EXAMPLE_CONFIG, REPO_ROOT

# The CDK app is not an installed package: make infra/ (and functions/, as infra/app.py does) importable.
for _path in (REPO_ROOT / "infra", REPO_ROOT / "functions"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import aws_cdk as cdk  # noqa: E402
from aws_cdk.assertions import Annotations, Template  # noqa: E402

from takedown_infra.deployment import DeploymentConfig  # noqa: E402
from takedown_infra.nag import apply_suppressions, attach_nag  # noqa: E402
from takedown_infra.stack import TakedownStack  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

LAYER_NAMES = ("base", "imaging", "video")


@dataclass(frozen=True)
class SynthesizedStack:
    """The stack object, its template (as JSON and as an assertions object) and its nag annotations."""

    stack: TakedownStack
    template: Template
    resources: dict[str, dict[str, Any]]
    outputs: dict[str, dict[str, Any]]
    annotations: Annotations
    config: DeploymentConfig
    config_layer_dir: Path
    assembly_dir: Path


def cdk_json_context() -> dict[str, Any]:
    """The feature flags and defaults that ``cdk synth`` would pass, read from the repository's cdk.json."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
    return context


def stand_in_layers(root: Path) -> Path:
    """Empty ``<root>/<name>/python`` folders, enough for the stack to reference the layers."""
    for name in LAYER_NAMES:
        (root / name / "python").mkdir(parents=True, exist_ok=True)
    return root


def build_stack(config: DeploymentConfig, work: Path) -> tuple[cdk.App, TakedownStack]:
    """A fresh app and stack with cdk-nag attached and the suppressions applied, as infra/app.py builds them."""
    app = cdk.App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": []})
    stack = TakedownStack(
        app,
        config.stack_name,
        config=config,
        layers_dir=stand_in_layers(work / "layers"),
        build_dir=work / "build",
    )
    attach_nag(stack)
    apply_suppressions(stack)
    return app, stack


@pytest.fixture(scope="session")
def example_config() -> DeploymentConfig:
    return DeploymentConfig.load(EXAMPLE_CONFIG)


@pytest.fixture(scope="session")
def synthesized(
    example_config: DeploymentConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SynthesizedStack]:
    work = tmp_path_factory.mktemp("takedown-synth")
    app, stack = build_stack(example_config, work)
    template = Template.from_stack(stack)
    document = template.to_json()
    yield SynthesizedStack(
        stack=stack,
        template=template,
        resources=document["Resources"],
        outputs=document.get("Outputs", {}),
        annotations=Annotations.from_stack(stack),
        config=example_config,
        config_layer_dir=work / "build" / "config-layer",
        assembly_dir=Path(app.outdir),
    )
