"""The app entry point and its failure modes: missing layers and bad configuration fail with one clear line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import aws_cdk as cdk
import pytest

from takedown_infra.constructs.layers import LayerNotBuiltError, built_layer_dir
from takedown_infra.stack import TakedownStack
from tests.infra.conftest import cdk_json_context
from tests.infra.repo_paths import EXAMPLE_CONFIG, REPO_ROOT

if TYPE_CHECKING:
    from pathlib import Path

    from takedown_infra.deployment import DeploymentConfig


def test_missing_layer_names_the_layer_and_the_fix(tmp_path: Path) -> None:
    # GIVEN a layers folder where only base was built
    (tmp_path / "base" / "python").mkdir(parents=True)

    # WHEN the imaging layer is looked up THEN the error names it and says to run `make layers`
    assert built_layer_dir(tmp_path, "base") == tmp_path / "base"
    with pytest.raises(LayerNotBuiltError, match=r"'imaging' is not built: .*Run `make layers`"):
        built_layer_dir(tmp_path, "imaging")


def test_stack_refuses_to_synthesize_without_built_layers(
    example_config: DeploymentConfig, tmp_path: Path
) -> None:
    # GIVEN an empty layers folder
    app = cdk.App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": []})

    # WHEN the stack is built THEN it stops with the make-layers message
    with pytest.raises(LayerNotBuiltError, match="make layers"):
        TakedownStack(
            app,
            "Takedown",
            config=example_config,
            layers_dir=tmp_path / "empty",
            build_dir=tmp_path / "build",
        )


def run_app(tmp_path: Path, deployment: dict[str, object]) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "deployment.json"
    config.write_text(json.dumps(deployment), encoding="utf-8")
    env = {
        **os.environ,
        "CDK_OUTDIR": str(tmp_path / "cdk.out"),
        "CDK_CONTEXT_JSON": json.dumps({"takedown:config": str(config)}),
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "infra" / "app.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_app_reports_a_bad_deployment_file_in_one_line(tmp_path: Path) -> None:
    # GIVEN a deployment file whose sender is not an address, passed by context as the CLI would
    deployment = json.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    deployment["sender"] = "notices"

    # WHEN the app runs from another working directory
    done = run_app(tmp_path, deployment)

    # THEN it exits 1 with the key and the reason, and writes no template
    assert done.returncode == 1
    assert "error: " in done.stderr
    assert "sender: 'notices' is not a plain email address" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "cdk.out" / "Takedown.template.json").exists()
