"""Build the Lambda dependency layers without Docker.

Each ``layers/<name>/requirements.txt`` is installed into ``layers/build/<name>/python/`` with pip's
cross-platform options (manylinux x86_64 wheels for CPython 3.12, binary wheels only), so the result runs on
the Lambda python3.12 runtime whatever machine builds it. The runtime already ships boto3, botocore and
s3transfer: they are removed after install, together with bytecode caches and test suites, to stay inside
Lambda's 250 MB unzipped limit.

The build is incremental: a stamp file holds a hash of the requirements and of the pip options; a layer
whose stamp matches is left alone. ``--force`` rebuilds anyway.

Usage (from the repository root)::

    python layers/build_layers.py              # all layers
    python layers/build_layers.py imaging --force
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

LAYERS_DIR = Path(__file__).resolve().parent
BUILD_DIR = LAYERS_DIR / "build"
LAYER_NAMES: tuple[str, ...] = ("base", "imaging", "video")
STAMP_NAME = ".stamp"

PYTHON_VERSION = "3.12"
PIP_TARGET_OPTIONS: tuple[str, ...] = (
    "--platform",
    "manylinux2014_x86_64",
    "--platform",
    "manylinux_2_17_x86_64",
    "--platform",
    "manylinux_2_28_x86_64",
    "--implementation",
    "cp",
    "--python-version",
    PYTHON_VERSION,
    "--only-binary=:all:",
    # pyc files compiled by the building interpreter would not match the runtime's version anyway.
    "--no-compile",
    "--disable-pip-version-check",
)

# Distributions the Lambda runtime provides; a second copy only costs space and may shadow the runtime's.
RUNTIME_PROVIDED: tuple[str, ...] = ("boto3", "botocore", "s3transfer")
# Directory names that are never imported at run time by the packages in these layers.
JUNK_DIR_NAMES: frozenset[str] = frozenset({"__pycache__", "tests"})


class LayerBuildError(RuntimeError):
    """A layer could not be built; the message says which layer and why."""


def requirements_file(name: str) -> Path:
    """Return the requirements file of layer ``name`` (``layers/<name>/requirements.txt``)."""
    return LAYERS_DIR / name / "requirements.txt"


def layer_fingerprint(requirements: Path) -> str:
    """Hash the requirements and the pip options, so a change to either triggers a rebuild.

    Parameters
    ----------
    requirements
        The layer's requirements file.

    Returns
    -------
    str
        A hex SHA-256 digest.
    """
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    digest.update("\0".join(PIP_TARGET_OPTIONS).encode())
    digest.update("\0".join(sorted(RUNTIME_PROVIDED) + sorted(JUNK_DIR_NAMES)).encode())
    return digest.hexdigest()


def directory_size(root: Path) -> int:
    """Return the total size in bytes of the regular files under ``root`` (the unzipped layer size)."""
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file() and not path.is_symlink())


def remove_runtime_provided(site_dir: Path) -> list[str]:
    """Delete the packages the Lambda runtime already has, with their metadata.

    The ``.dist-info`` folders go too: left behind, ``importlib.metadata`` would report a package that is
    not there.
    """
    removed: list[str] = []
    for dist in RUNTIME_PROVIDED:
        for path in (site_dir / dist, *site_dir.glob(f"{dist}-*.dist-info")):
            if path.exists():
                shutil.rmtree(path)
                removed.append(path.name)
    return removed


def remove_junk_directories(site_dir: Path) -> int:
    """Delete bytecode caches and test suites below ``site_dir``; return how many folders went."""
    junk = [path for path in site_dir.rglob("*") if path.is_dir() and path.name in JUNK_DIR_NAMES]
    # Deepest first, so a nested junk folder is not visited after its parent is gone.
    removed = 0
    for path in sorted(junk, key=lambda p: len(p.parts), reverse=True):
        if path.exists():
            shutil.rmtree(path)
            removed += 1
    return removed


def pip_install(requirements: Path, site_dir: Path) -> None:
    """Install ``requirements`` for the Lambda platform into ``site_dir``.

    Raises
    ------
    LayerBuildError
        When pip fails; its output has already been printed.
    """
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        *PIP_TARGET_OPTIONS,
        "--target",
        str(site_dir),
        "--requirement",
        str(requirements),
    ]
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise LayerBuildError(f"pip install for {requirements} failed with exit code {result.returncode}")


def build_layer(name: str, *, force: bool = False) -> bool:
    """Build layer ``name`` into ``layers/build/<name>/python`` unless its stamp is current.

    Parameters
    ----------
    name
        One of ``LAYER_NAMES``.
    force
        Rebuild even when the stamp matches.

    Returns
    -------
    bool
        True when the layer was (re)built, False when it was already up to date.

    Raises
    ------
    LayerBuildError
        For an unknown layer, a missing requirements file, or a failed pip install.
    """
    if name not in LAYER_NAMES:
        raise LayerBuildError(f"unknown layer {name!r}; known layers: {', '.join(LAYER_NAMES)}")
    requirements = requirements_file(name)
    if not requirements.is_file():
        raise LayerBuildError(f"layer {name!r} has no requirements file at {requirements}")

    layer_root = BUILD_DIR / name
    site_dir = layer_root / "python"
    stamp = layer_root / STAMP_NAME
    fingerprint = layer_fingerprint(requirements)
    if not force and site_dir.is_dir() and stamp.is_file() and stamp.read_text().strip() == fingerprint:
        return False

    # Start clean: pip --target does not remove files of packages that left the requirements.
    if layer_root.exists():
        shutil.rmtree(layer_root)
    site_dir.mkdir(parents=True)
    pip_install(requirements, site_dir)
    remove_runtime_provided(site_dir)
    remove_junk_directories(site_dir)
    # Written last, so an interrupted build is never mistaken for a finished one.
    stamp.write_text(fingerprint + "\n")
    return True


def main(argv: list[str] | None = None) -> int:
    """Command line entry: build the named layers (all by default) and print their unzipped sizes."""
    parser = argparse.ArgumentParser(description="Build the Lambda dependency layers without Docker.")
    parser.add_argument("layers", nargs="*", help=f"layers to build: {', '.join(LAYER_NAMES)} (default: all)")
    parser.add_argument("--force", action="store_true", help="rebuild even when the stamp is current")
    args = parser.parse_args(argv)
    names: list[str] = args.layers or list(LAYER_NAMES)

    for name in names:
        started = time.monotonic()
        try:
            built = build_layer(name, force=args.force)
        except LayerBuildError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        size_mb = directory_size(BUILD_DIR / name / "python") / 1_000_000
        status = f"built in {time.monotonic() - started:.1f} s" if built else "up to date"
        print(f"{name}: {status}, {size_mb:.1f} MB unzipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
