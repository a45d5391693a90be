"""The four Lambda layers: third-party libraries (base, imaging, video) and the deployment's config files."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from takedown_infra import ids
from takedown_infra.constructs.python_function import ARCHITECTURE, RUNTIME

if TYPE_CHECKING:
    from pathlib import Path


class LayerNotBuiltError(FileNotFoundError):
    """A dependency layer has not been built; the message says how to build it."""


def built_layer_dir(layers_dir: Path, name: str) -> Path:
    """Return ``<layers_dir>/<name>``, the folder whose ``python/`` Lambda puts on ``sys.path``.

    Raises
    ------
    LayerNotBuiltError
        When ``<layers_dir>/<name>/python`` does not exist.
    """
    layer_dir = layers_dir / name
    if not (layer_dir / "python").is_dir():
        raise LayerNotBuiltError(
            f"Lambda layer {name!r} is not built: {layer_dir / 'python'} does not exist. "
            "Run `make layers` (or `python layers/build_layers.py`) from the repository root, then synth again."
        )
    return layer_dir


class LayersConstruct(Construct):
    """Layer versions for python3.12 on x86_64.

    Attributes
    ----------
    base
        aws-lambda-powertools, jinja2, requests, babel: every function has it.
    imaging
        pillow, numpy, imagehash, scipy, PyWavelets: only the image hashing function has it.
    video
        PyAV (with its bundled FFmpeg), numpy, pillow: only the video hashing function has it. It never goes
        with ``imaging`` (both carry numpy and pillow, and together they pass Lambda's 250 MB unzipped limit).
    config
        ``/opt/templates`` and ``/opt/takedown-config/sources.json``, staged by the stack at synth time.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        layers_dir: Path,
        config_layer_dir: Path,
    ) -> None:
        super().__init__(scope, construct_id)
        self.base = self._layer(
            ids.BASE_LAYER,
            built_layer_dir(layers_dir, "base"),
            "aws-lambda-powertools, jinja2, requests, babel",
        )
        self.imaging = self._layer(
            ids.IMAGING_LAYER,
            built_layer_dir(layers_dir, "imaging"),
            "pillow, numpy, imagehash, scipy, PyWavelets",
        )
        self.video = self._layer(
            ids.VIDEO_LAYER,
            built_layer_dir(layers_dir, "video"),
            "PyAV (bundled FFmpeg), numpy, pillow",
        )
        self.config = self._layer(
            ids.CONFIG_LAYER,
            config_layer_dir,
            "Notice, report and email templates and the crawl sources file",
        )

    def _layer(self, construct_id: str, directory: Path, description: str) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            construct_id,
            # The build stamp is bookkeeping for layers/build_layers.py, not layer content.
            code=lambda_.Code.from_asset(str(directory), exclude=[".stamp"]),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=description,
            # A replaced version is deleted: functions already deployed keep the copy they were given.
            removal_policy=RemovalPolicy.DESTROY,
        )
