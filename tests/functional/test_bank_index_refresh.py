"""A warm hashing container keeps its bank index, and picks up a newly published one within the bound."""

from __future__ import annotations

from typing import TYPE_CHECKING

from takedown.aws.bank_index_store import BankIndexCache, publish_bank_index
from takedown.aws.bank_store import BankStore
from takedown.commands.bank import items_for_bytes
from takedown.demo.synthetic import encode, make_image

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _register(local: LocalEnvironment, seed: int) -> None:
    items = items_for_bytes(
        encode(make_image(seed), "PNG"),
        "image/png",
        bank="centre",
        case_ref=f"R{seed}",
        added_at="2026-11-28T07:00:00Z",
    )
    store = BankStore(local.settings().bank_table)
    for item in items:
        store.put_item(item)


def test_the_cache_refreshes_only_after_its_bound_and_only_when_a_new_index_was_published(
    local: LocalEnvironment,
) -> None:
    settings = local.settings()
    clock = _Clock()
    cache = BankIndexCache(max_age_seconds=60, clock=clock)
    # GIVEN no published index yet: the cache builds one from the table (a new deployment)
    _register(local, 1)
    first = cache.get(settings.evidence_bucket, settings.bank_table)
    assert len(first) > 0
    # WHEN an item is added and the index published
    _register(local, 2)
    published = publish_bank_index(settings.bank_table, settings.evidence_bucket)
    # THEN a warm container keeps its copy until the bound passes ...
    clock.now += 30
    assert cache.get(settings.evidence_bucket, settings.bank_table) is first
    # ... and then loads the newly published one
    clock.now += 31
    refreshed = cache.get(settings.evidence_bucket, settings.bank_table)
    assert refreshed.version == published.version and len(refreshed) > len(first)
    # AND when nothing new was published, the next check keeps the same object
    clock.now += 61
    assert cache.get(settings.evidence_bucket, settings.bank_table) is refreshed
