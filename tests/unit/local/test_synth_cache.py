"""The synth cache keeps the most recently used entries and never removes one that may be in use."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from takedown.local.synth import CACHE_GRACE_SECONDS, prune_cache

if TYPE_CHECKING:
    from pathlib import Path

NOW = 1_800_000_000.0


def _entry(cache: Path, name: str, used_seconds_ago: float) -> Path:
    folder = cache / name
    (folder / "asset").mkdir(parents=True)
    (folder / "asset" / "code.py").write_text("x = 1\n")
    os.utime(folder, (NOW - used_seconds_ago, NOW - used_seconds_ago))
    return folder


def test_old_entries_beyond_the_kept_few_are_removed(tmp_path: Path) -> None:
    # GIVEN five entries, used one to five hours ago, and a cache that keeps two
    entries = [_entry(tmp_path, f"e{hours}", hours * 3600) for hours in range(1, 6)]
    # WHEN the cache is pruned
    removed = prune_cache(tmp_path, keep=2, now=NOW)
    # THEN the two most recently used stay and the rest are gone
    assert sorted(p.name for p in removed) == ["e3", "e4", "e5"]
    assert [p.exists() for p in entries] == [True, True, False, False, False]


def test_an_entry_used_within_the_grace_period_is_never_removed(tmp_path: Path) -> None:
    # GIVEN three entries used moments ago (another test run may be reading them) and a cache that keeps one
    recent = [_entry(tmp_path, f"r{i}", CACHE_GRACE_SECONDS / 10 * (i + 1)) for i in range(3)]
    # WHEN the cache is pruned
    removed = prune_cache(tmp_path, keep=1, now=NOW)
    # THEN nothing is removed
    assert removed == []
    assert all(p.exists() for p in recent)


def test_a_missing_cache_folder_is_not_an_error(tmp_path: Path) -> None:
    assert prune_cache(tmp_path / "absent", now=NOW) == []
