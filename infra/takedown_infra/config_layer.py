"""Stage the config layer: the jinja2 templates and the sources file, as the functions see them under /opt.

Lambda unpacks a layer into ``/opt``, so the staged folder::

    <build>/config-layer/
        templates/...                    -> /opt/templates
        takedown-config/sources.json     -> /opt/takedown-config/sources.json

is what ``TAKEDOWN_TEMPLATES_DIR`` and ``TAKEDOWN_SOURCES_FILE`` point at. The folder is rebuilt from scratch
on every synth, so a template deleted from the repository also leaves the layer.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import shutil
from pathlib import Path

LAYER_MOUNT = Path("/opt")
TEMPLATES_FOLDER = "templates"
SOURCES_FOLDER = "takedown-config"
SOURCES_FILE_NAME = "sources.json"
PLATFORMS_FILE_NAME = "platforms.json"
# Where the functions find the staged files at run time.
RUNTIME_TEMPLATES_DIR = str(LAYER_MOUNT / TEMPLATES_FOLDER)
RUNTIME_SOURCES_FILE = str(LAYER_MOUNT / SOURCES_FOLDER / SOURCES_FILE_NAME)
RUNTIME_PLATFORMS_FILE = str(LAYER_MOUNT / SOURCES_FOLDER / PLATFORMS_FILE_NAME)
SUPPORTED_SOURCES_VERSION = 1
# The domain package's full validator; used when it is importable (functions/ on sys.path).
_FULL_VALIDATOR_MODULE = "takedown.crawl.sources"


class ConfigLayerError(ValueError):
    """The templates folder or the sources file cannot go into the config layer; the message says why."""


def check_sources_document(path: Path) -> dict[str, object]:
    """Check the envelope of a sources file and return the parsed document.

    The envelope is ``{"version": 1, "sources": [{"id": "...", ...}, ...]}`` with unique ids. When the domain
    package's full validator (``takedown.crawl.sources.load_sources``) is importable it runs too, so a bad
    source fails at ``cdk synth`` instead of in the crawler.

    Raises
    ------
    ConfigLayerError
        When the file is missing, not JSON, or its envelope or any source is invalid.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigLayerError(f"{path}: sources file not found") from error
    except json.JSONDecodeError as error:
        raise ConfigLayerError(f"{path}: not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise ConfigLayerError(f"{path}: the top level must be a JSON object")
    if document.get("version") != SUPPORTED_SOURCES_VERSION:
        raise ConfigLayerError(
            f"{path}: version must be {SUPPORTED_SOURCES_VERSION}, got {document.get('version')!r}"
        )
    sources = document.get("sources")
    if not isinstance(sources, list) or not sources:
        raise ConfigLayerError(f"{path}: sources must be a non-empty list")
    seen: set[str] = set()
    for index, source in enumerate(sources):
        source_id = source.get("id") if isinstance(source, dict) else None
        if not isinstance(source_id, str) or not source_id:
            raise ConfigLayerError(f"{path}: sources[{index}] needs a non-empty string id")
        if source_id in seen:
            raise ConfigLayerError(f"{path}: sources[{index}]: id {source_id!r} is used twice")
        seen.add(source_id)
    _run_full_validator(path)
    return document


def _run_full_validator(path: Path) -> None:
    if (
        importlib.util.find_spec("takedown") is None
        or importlib.util.find_spec(_FULL_VALIDATOR_MODULE) is None
    ):
        return
    load_sources = importlib.import_module(_FULL_VALIDATOR_MODULE).load_sources
    try:
        load_sources(str(path))
    except (ValueError, TypeError, KeyError) as error:
        raise ConfigLayerError(f"{path}: {error}") from error


def stage_config_layer(
    *, templates_dir: Path, sources_file: Path, destination: Path, platforms_file: Path | None = None
) -> Path:
    """Build the config layer folder at ``destination`` and return it.

    Parameters
    ----------
    templates_dir
        The repository's ``templates/`` folder, copied whole.
    sources_file
        The deployment's sources file, validated with :func:`check_sources_document` first.
    destination
        The folder to (re)create, e.g. ``build/config-layer``.

    Raises
    ------
    ConfigLayerError
        When the templates folder is missing or the sources file is invalid.

    Example
    -------
    >>> stage_config_layer(templates_dir=Path("templates"), sources_file=Path("config/sources.json"),
    ...                    destination=Path("build/config-layer"))  # doctest: +SKIP
    PosixPath('build/config-layer')
    """
    if not templates_dir.is_dir():
        raise ConfigLayerError(f"{templates_dir}: templates folder not found")
    check_sources_document(sources_file)
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(
        templates_dir, destination / TEMPLATES_FOLDER, ignore=shutil.ignore_patterns("__pycache__")
    )
    sources_target = destination / SOURCES_FOLDER / SOURCES_FILE_NAME
    sources_target.parent.mkdir(parents=True)
    shutil.copyfile(sources_file, sources_target)
    if platforms_file is not None:
        _check_platforms(platforms_file)
        shutil.copyfile(platforms_file, sources_target.parent / PLATFORMS_FILE_NAME)
    return destination


def _check_platforms(path: Path) -> None:
    if importlib.util.find_spec("takedown.recipients.platforms") is None:
        return
    platforms = importlib.import_module("takedown.recipients.platforms")
    try:
        platforms.load_platform_registry(path)
    except (ValueError, OSError) as error:
        raise ConfigLayerError(f"{path}: {error}") from error
