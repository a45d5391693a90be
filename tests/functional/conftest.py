"""Fixtures for tests that run handlers on the local stack (moto, in-process)."""

from __future__ import annotations

import hashlib
import io
import random
import socket
from typing import TYPE_CHECKING

import pytest
from PIL import Image, ImageDraw

from takedown.aws.bank_index_store import publish_bank_index
from takedown.aws.bank_store import BankStore
from takedown.aws.evidence_store import EvidenceStore
from takedown.commands.bank import items_for_bytes
from takedown.handlers.handle_crawl_page import media_object_key, sighting_object_key
from takedown.local.environment import LocalEnvironment
from takedown.model import BankItem, Sighting

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def local() -> Iterator[LocalEnvironment]:
    with LocalEnvironment() as environment:
        yield environment


def synthetic_png(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    """A harmless generated picture: coloured rectangles on a coloured ground."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        w, h = rng.randrange(20, size[0] // 2), rng.randrange(20, size[1] // 2)
        draw.rectangle(
            (x, y, x + w, y + h), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256))
        )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def register(local: LocalEnvironment, data: bytes, item_id: str = "item-1") -> list[BankItem]:
    """Register an original as the centre does (hashes of it and its variants only) and publish the index."""
    settings = local.settings()
    items = items_for_bytes(
        data, "image/png", bank="centre", case_ref=f"REF-{item_id}", added_at="2026-11-28T07:00:00Z"
    )
    store = BankStore(settings.bank_table)
    for item in items:
        store.put_item(item)
    publish_bank_index(settings.bank_table, settings.evidence_bucket)
    return items


def drop_sighting(
    local: LocalEnvironment,
    data: bytes,
    page_url: str,
    contacts: list[str] | None = None,
    media_type: str = "image/png",
) -> Sighting:
    """Store media as the crawl worker does: sighting record first, then the media object (which notifies hashing)."""
    sha256, md5 = hashlib.sha256(data).hexdigest(), hashlib.md5(data, usedforsecurity=False).hexdigest()
    sighting = Sighting(
        media_key=media_object_key(sha256, page_url, media_type),
        sha256=sha256,
        md5=md5,
        page_url=page_url,
        media_url=page_url.rsplit("/", 1)[0] + "/media/pic.png",
        fetched_at="2026-11-28T07:00:00.000000Z",
        content_type=media_type,
        source_id="example-community",
        size_bytes=len(data),
        page_title="Board",
        page_lang="ko",
        page_contacts=contacts if contacts is not None else ["admin@board.example"],
    )
    store = EvidenceStore(local.settings().evidence_bucket)
    store.put_json(sighting_object_key(sha256, page_url), sighting.to_dict())
    store.put_bytes(sighting.media_key, data, media_type)
    return sighting


def free_port() -> int:
    """A loopback port nobody listens on right now (for `takedown local up` in tests)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
