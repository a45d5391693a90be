"""Each function's code plus its layers, unzipped, stays under Lambda's 250 MB limit.

Measured on the real layers in ``layers/build`` (built by ``make layers``) and on the code and config-layer
assets exactly as CDK staged them for the template, so the excludes are the ones that deploy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from takedown_infra import ids
from tests.infra.repo_paths import LAYERS_BUILD_DIR
from tests.infra.template_reading import logical_id

if TYPE_CHECKING:
    from pathlib import Path

    from tests.infra.conftest import SynthesizedStack

# Lambda's quota for a function's deployment package and all its layers, unzipped.
UNZIPPED_LIMIT_BYTES = 262_144_000
BUILT_LAYERS = ("base", "imaging", "video")


def directory_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def staged_asset(synthesized: SynthesizedStack, code: dict[str, Any]) -> Path:
    """The folder CDK staged for a function's or layer's ``Code``/``Content`` (``asset.<hash>``)."""
    folder = synthesized.assembly_dir / f"asset.{code['S3Key'].removesuffix('.zip')}"
    assert folder.is_dir(), f"{folder} was not staged"
    return folder


@pytest.fixture(scope="module")
def built_layers() -> dict[str, Path]:
    missing = [name for name in BUILT_LAYERS if not (LAYERS_BUILD_DIR / name / "python").is_dir()]
    if missing:
        pytest.skip(
            f"layers/build/{{{','.join(missing)}}}/python not built: run `make layers` "
            "(python layers/build_layers.py) to measure the real layer sizes"
        )
    return {name: LAYERS_BUILD_DIR / name for name in BUILT_LAYERS}


@pytest.fixture(scope="module")
def layer_sizes(synthesized: SynthesizedStack, built_layers: dict[str, Path]) -> dict[str, int]:
    """Layer logical id -> unzipped bytes (built layers from layers/build, the config layer as staged)."""
    layers = synthesized.stack.layers
    config_content = synthesized.resources[logical_id(layers.config)]["Properties"]["Content"]
    return {
        logical_id(layers.base): directory_size(built_layers["base"]),
        logical_id(layers.imaging): directory_size(built_layers["imaging"]),
        logical_id(layers.video): directory_size(built_layers["video"]),
        logical_id(layers.config): directory_size(staged_asset(synthesized, config_content)),
    }


def unzipped_total(synthesized: SynthesizedStack, layer_sizes: dict[str, int], construct_id: str) -> int:
    """A function's staged code plus every layer it references, unzipped, in bytes."""
    properties = synthesized.resources[logical_id(synthesized.stack.functions[construct_id])]["Properties"]
    code = directory_size(staged_asset(synthesized, properties["Code"]))
    return code + sum(layer_sizes[ref["Ref"]] for ref in properties["Layers"])


def test_every_function_fits_the_unzipped_limit(
    synthesized: SynthesizedStack, layer_sizes: dict[str, int]
) -> None:
    # GIVEN every function's staged code and the layers it references
    totals = {cid: unzipped_total(synthesized, layer_sizes, cid) for cid in synthesized.stack.functions}

    # WHEN the totals are compared with Lambda's quota
    too_big = {name: total for name, total in totals.items() if total >= UNZIPPED_LIMIT_BYTES}

    # THEN every function fits
    assert too_big == {}


@pytest.mark.parametrize(
    ("construct_id", "dependency_layer"),
    [(ids.HASH_MEDIA_FUNCTION, "imaging"), (ids.HASH_VIDEO_FUNCTION, "video")],
)
def test_each_hashing_function_fits_with_its_own_dependency_layer(
    synthesized: SynthesizedStack, layer_sizes: dict[str, int], construct_id: str, dependency_layer: str
) -> None:
    # GIVEN a hashing function, whose layers are base + its dependency layer + config
    layers = synthesized.stack.layers
    expected = [layers.base, getattr(layers, dependency_layer), layers.config]
    properties = synthesized.resources[logical_id(synthesized.stack.functions[construct_id])]["Properties"]
    assert sorted(ref["Ref"] for ref in properties["Layers"]) == sorted(logical_id(x) for x in expected)

    # WHEN its code and those three layers are measured unzipped
    code = directory_size(staged_asset(synthesized, properties["Code"]))
    total = code + sum(layer_sizes[logical_id(layer)] for layer in expected)

    # THEN it is what the function deploys, and it is under Lambda's quota
    assert total == unzipped_total(synthesized, layer_sizes, construct_id)
    assert total < UNZIPPED_LIMIT_BYTES


def test_code_asset_leaves_out_local_only_modules(synthesized: SynthesizedStack) -> None:
    # GIVEN the code asset CDK staged for a function
    function = next(iter(synthesized.stack.functions.values()))
    code = staged_asset(synthesized, synthesized.resources[logical_id(function)]["Properties"]["Code"])

    # THEN it has the handlers but not the local stack, the demo, the CLI or caches
    assert (code / "takedown" / "handlers").is_dir()
    assert not (code / "takedown" / "local").exists()
    assert not (code / "takedown" / "demo").exists()
    assert not (code / "takedown" / "cli.py").exists()
    assert not list(code.rglob("__pycache__"))
    assert not list(code.glob("*.egg-info"))


def test_layers_leave_out_what_the_runtime_provides(built_layers: dict[str, Path]) -> None:
    # GIVEN the built layers THEN boto3, botocore and s3transfer come from the runtime, not from a layer
    for layer in built_layers.values():
        site = layer / "python"
        assert not [
            p.name for p in site.iterdir() if p.name.split("-")[0] in {"boto3", "botocore", "s3transfer"}
        ]
