"""Synthesize the CDK app into a cached ``cdk.out`` for the local stack.

The app runs in a child process (``python infra/app.py``), so the JSII runtime stays out of the caller. The output is
cached under ``.takedown/synth/<digest>``, keyed on everything that shapes the template: the infra code, the
deployment config, the sources file it names, the templates and the layer build stamps.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_CONFIG = REPO_ROOT / "config" / "deployment.json"
CACHE_DIR = REPO_ROOT / ".takedown" / "synth"
# Each entry holds the staged function code and layers (hundreds of MB): keep the most recently used few. An entry
# used in the last few minutes is never removed, since another process (a parallel test run) may be reading it.
CACHE_KEEP = 6
CACHE_GRACE_SECONDS = 15 * 60


class SynthError(RuntimeError):
    """The CDK app failed to synthesize."""


def _inputs(config_path: Path) -> list[Path]:
    files = [config_path]
    sources = json.loads(config_path.read_text(encoding="utf-8")).get("sources_file")
    if sources:
        files.append((REPO_ROOT / sources) if not Path(sources).is_absolute() else Path(sources))
    for folder in ("infra", "templates"):
        files.extend(
            p for p in (REPO_ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts
        )
    files.extend((REPO_ROOT / "layers" / "build").glob("*/.stamp"))
    return sorted(files)


def _digest(config_path: Path) -> str:
    digest = hashlib.sha256()
    for path in _inputs(config_path):
        digest.update(str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path).encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    return digest.hexdigest()[:20]


def synthesize(
    config_path: Path | None = None, *, stack_name: str | None = None
) -> tuple[dict[str, object], Path]:
    """Return the stack's template and its ``cdk.out`` folder, synthesizing only when an input changed."""
    config = (config_path or DEFAULT_CONFIG).resolve()
    name = stack_name or json.loads(config.read_text(encoding="utf-8")).get("stack_name", "Takedown")
    outdir = CACHE_DIR / _digest(config)
    template_path = outdir / f"{name}.template.json"
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # One synthesis per entry at a time: parallel test workers (pytest -n) may ask for the same one at once.
    with (CACHE_DIR / f"{outdir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            _synthesize_into(config, outdir, template_path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    os.utime(outdir)  # marks the entry as used, for pruning
    prune_cache(CACHE_DIR)
    return json.loads(template_path.read_text(encoding="utf-8")), outdir


def _synthesize_into(config: Path, outdir: Path, template_path: Path) -> None:
    if not template_path.exists():
        outdir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "CDK_OUTDIR": str(outdir),
            # Asset metadata (the CLI turns it on) tells the local stack where each layer was staged.
            "CDK_CONTEXT_JSON": json.dumps(
                {"takedown:config": str(config), "aws:cdk:enable-asset-metadata": True}
            ),
            "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        }
        done = subprocess.run(
            [sys.executable, str(REPO_ROOT / "infra" / "app.py")],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not template_path.exists():
            raise SynthError(f"cdk synth failed ({done.returncode}):\n{done.stderr[-4000:]}")


def prune_cache(cache_dir: Path, *, keep: int = CACHE_KEEP, now: float | None = None) -> list[Path]:
    """Remove all but the ``keep`` most recently used entries, sparing any used in the last 15 minutes.

    Returns the removed folders.
    """
    if not cache_dir.is_dir():
        return []
    current = time.time() if now is None else now
    entries = sorted(
        (p for p in cache_dir.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True
    )
    removed = []
    for entry in entries[keep:]:
        if current - entry.stat().st_mtime > CACHE_GRACE_SECONDS:
            shutil.rmtree(entry, ignore_errors=True)
            (cache_dir / f"{entry.name}.lock").unlink(missing_ok=True)
            removed.append(entry)
    return removed
