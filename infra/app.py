"""The CDK app: ``npx cdk synth`` / ``cdk deploy`` from the repository root run this file (see cdk.json).

The deployment file comes from the ``takedown:config`` context value (``config/deployment.json`` in cdk.json;
override with ``-c takedown:config=path/to/deployment.json``). Relative paths are relative to the repository
root, so the app works from any working directory.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# The stack imports takedown_infra (beside this file) and the runtime's env var names from functions/takedown.
for _path in (REPO_ROOT / "infra", REPO_ROOT / "functions"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import aws_cdk as cdk  # noqa: E402

from takedown_infra import ids  # noqa: E402
from takedown_infra.config_layer import ConfigLayerError  # noqa: E402
from takedown_infra.constructs.layers import LayerNotBuiltError  # noqa: E402
from takedown_infra.deployment import DeploymentConfig, DeploymentConfigError  # noqa: E402
from takedown_infra.nag import apply_suppressions, attach_nag  # noqa: E402
from takedown_infra.stack import TakedownStack, resolve_repo_path  # noqa: E402


def cdk_json_context(repo_root: Path = REPO_ROOT) -> dict[str, object]:
    """The ``context`` of cdk.json (feature flags and the default deployment file).

    The CDK CLI passes it to the app; the app also reads it itself, so ``python infra/app.py`` (used by the
    local stack and the tests) synthesizes exactly what ``cdk synth`` does. Context given by the CLI wins.
    """
    document = json.loads((repo_root / "cdk.json").read_text(encoding="utf-8"))
    context = document.get("context", {})
    if not isinstance(context, dict):
        raise DeploymentConfigError(f"{repo_root / 'cdk.json'}: context must be a JSON object")
    return context


def build_app() -> cdk.App:
    """Create the app with one ``TakedownStack`` checked by cdk-nag's AwsSolutions pack."""
    app = cdk.App(context=cdk_json_context())
    config_path = app.node.try_get_context(ids.CONFIG_CONTEXT_KEY)
    if not isinstance(config_path, str) or not config_path:
        raise DeploymentConfigError(
            f"context {ids.CONFIG_CONTEXT_KEY} is not set: add it to cdk.json or pass "
            f"-c {ids.CONFIG_CONTEXT_KEY}=config/deployment.json"
        )
    config = DeploymentConfig.load(resolve_repo_path(REPO_ROOT, config_path))
    stack = TakedownStack(
        app,
        config.stack_name,
        config=config,
        repo_root=REPO_ROOT,
        # Environment-agnostic: account and region come from the deploying credentials, never from code.
        description="takedown: find known exploitative media, build evidence, send approved removal notices",
    )
    attach_nag(stack)
    apply_suppressions(stack)
    return app


def main() -> int:
    """Synthesize; a configuration problem prints one clear line instead of a traceback."""
    try:
        build_app().synth()
    except (DeploymentConfigError, ConfigLayerError, LayerNotBuiltError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
