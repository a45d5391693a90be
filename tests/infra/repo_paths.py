"""Where the infra tests find the checkout's files."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO_ROOT / "config" / "deployment.json"
LAYERS_BUILD_DIR = REPO_ROOT / "layers" / "build"
