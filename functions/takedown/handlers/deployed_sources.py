"""The sources file deployed with the functions (the config layer), parsed once per warm container."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from takedown.crawl.sources import load_sources

if TYPE_CHECKING:
    from takedown.crawl.sources import Source


@functools.lru_cache(maxsize=4)
def sources_by_id(path: str) -> dict[str, Source]:
    return {source.id: source for source in load_sources(path)}


def source_country(path: str, source_id: str) -> str:
    source = sources_by_id(path).get(source_id)
    return source.country if source else ""
