"""Media for the pipeline and load benchmarks, the bank they match, and how they are dropped into the stack.

- **Bank originals**: :func:`takedown.demo.synthetic.make_image` pictures (generated shapes, gradients,
  texture and a label) at 320x240, seeds from 0 up. Those seeds are built to lie at least 24 pHash bits
  apart, so a copy matches its own original and no other.
- **Matching media**: an altered copy of an original, as a re-upload is made: scaled to 55-90% and saved
  as JPEG at quality 60-85. Each is a distinct file on its own page, so each opens its own case. (No
  captions: with the original alone in the bank, 2% of captioned copies fall outside the match thresholds;
  the registration variants that catch them are left out, see :func:`bank_items_for_original`.)
- **Unrelated media** (the load benchmark's): other seeds of the same generator (:data:`UNRELATED_SEED_BASE`
  up). They must be left alone.
- **Corrupt media**: a JPEG cut off after its first 600 bytes, declared as a JPEG. Hashing must refuse it
  with a recorded reason.

:func:`drop_media` stores a file as the crawl worker does (``handle_crawl_page``): the sighting record
first, then the media object, whose ObjectCreated event runs the hashing function.
"""

from __future__ import annotations

import hashlib
import io
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import TYPE_CHECKING, Final

from takedown.demo.synthetic import encode, make_image, resize, seed_limit
from takedown.model import BankItem, Sighting, iso_utc, utc_now

if TYPE_CHECKING:
    from collections.abc import Iterable

    from PIL import Image

    from takedown.aws.evidence_store import EvidenceStore

PICTURE_SIZE: Final = (320, 240)
BANK_NAME: Final = "centre"
#: The deployed example source (config/sources.json): its contact and country hints apply to the cases.
SOURCE_ID: Final = "example-community"
#: Unrelated media use seeds from here up; bank originals use seeds below it.
UNRELATED_SEED_BASE: Final = 4000
_CORRUPT_CUT: Final = 600


class MediaPlanError(ValueError):
    """Media cannot be made as asked. ``reason``: ``seed:out-of-range``."""

    def __init__(self, message: str) -> None:
        super().__init__(f"seed:out-of-range: {message}")
        self.reason = "seed:out-of-range"


def max_bank_size() -> int:
    """The most originals a bank can have while unrelated seeds stay apart from them."""
    return UNRELATED_SEED_BASE


def max_unrelated() -> int:
    """How many distinct unrelated pictures there are."""
    return seed_limit() - UNRELATED_SEED_BASE


@dataclass(frozen=True)
class BankOriginal:
    """A bank original: its seed, its picture and the file the centre holds (PNG)."""

    seed: int
    picture: Image.Image
    file: bytes


def bank_original(seed: int) -> BankOriginal:
    """The original of bank seed ``seed``."""
    if not 0 <= seed < UNRELATED_SEED_BASE:
        raise MediaPlanError(f"bank seeds are 0..{UNRELATED_SEED_BASE - 1}, got {seed}")
    picture = make_image(seed, size=PICTURE_SIZE)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", compress_level=1)  # fast; the file's digests are all that is kept of it
    return BankOriginal(seed, picture, buffer.getvalue())


def bank_items(original: BankOriginal, *, added_at: str) -> list[BankItem]:
    """The bank items of one original: SHA-256 and MD5 of the file, PDQ (with quality) and pHash of the picture.

    ``takedown bank add`` also registers 20 crop and rotation variants of each original; they are left out
    here to keep setup short (a thousand originals would take a quarter of an hour). They make the index
    larger, not the path of a case different.
    """
    from takedown.hashing.fingerprint import fingerprint_image

    fingerprint = fingerprint_image(
        original.picture,
        sha256=hashlib.sha256(original.file).hexdigest(),
        md5=hashlib.md5(original.file, usedforsecurity=False).hexdigest(),
    )
    group_id = f"{BANK_NAME}-{fingerprint.sha256[:20]}"

    def item(algorithm: str, hash_hex: str, quality: int | None = None) -> BankItem:
        return BankItem(
            f"{group_id}:original:{algorithm}",
            BANK_NAME,
            algorithm,
            hash_hex,
            case_ref=f"BENCH-{original.seed}",
            quality=quality,
            added_at=added_at,
            group_id=group_id,
            variant="original",
        )

    return [
        item("sha256", fingerprint.sha256),
        item("md5", fingerprint.md5),
        item("pdq", fingerprint.pdq, fingerprint.pdq_quality),
        item("phash", fingerprint.phash),
    ]


def _prepare_one(seed: int, added_at: str) -> tuple[list[BankItem], bytes]:
    original = bank_original(seed)
    return bank_items(original, added_at=added_at), altered_copy(original.picture, variant=str(seed))


def prepare_bank(seeds: range, *, added_at: str, processes: int = 2) -> tuple[list[BankItem], list[bytes]]:
    """The bank items of the originals of ``seeds`` and one altered copy of each, in seed order.

    Made in ``processes`` fresh worker processes (pictures and fingerprints are CPU work, and this is setup,
    not what is measured); 1 makes them here.
    """
    if processes <= 1 or len(seeds) < 50:
        made = [_prepare_one(seed, added_at) for seed in seeds]
    else:
        with ProcessPoolExecutor(max_workers=processes, mp_context=get_context("spawn")) as pool:
            made = list(pool.map(_prepare_one, seeds, [added_at] * len(seeds), chunksize=50))
    return [item for items, _ in made for item in items], [copy for _, copy in made]


def register_bank(bank_table: str, evidence_bucket: str, items: Iterable[BankItem]) -> int:
    """Store the bank items and publish the bank index; return how many items were stored."""
    from takedown.aws.bank_index_store import publish_bank_index
    from takedown.aws.bank_store import BankStore

    store = BankStore(bank_table)
    stored = 0
    for item in items:
        store.put_item(item)
        stored += 1
    publish_bank_index(bank_table, evidence_bucket)
    return stored


def altered_copy(picture: Image.Image, *, variant: str) -> bytes:
    """A re-upload of ``picture``: scaled to 55-90% and recompressed as JPEG; ``variant`` picks the edits."""
    rng = random.Random(f"altered:{variant}")  # noqa: S311 - edits, not secrets
    return encode(resize(picture, rng.uniform(0.55, 0.9)), "JPEG", quality=rng.randint(60, 85))


def corrupt_media(index: int) -> tuple[bytes, str]:
    """A JPEG cut off early (different for each ``index``), declared as ``image/jpeg``."""
    whole = encode(make_image(index % max_bank_size(), size=(96, 64)), "JPEG", quality=90)
    cut = whole[:_CORRUPT_CUT] + index.to_bytes(4, "big")  # distinct bytes, still a truncated JPEG
    return cut, "image/jpeg"


@dataclass(frozen=True)
class Dropped:
    """One media file dropped into the bucket: its page, digest, and when its object was created."""

    page_url: str
    sha256: str
    media_key: str
    created_at: float  # time.time() just before the media object was put


def drop_media(store: EvidenceStore, data: bytes, media_type: str, page_url: str) -> Dropped:
    """Store ``data`` as the crawl worker does: the sighting record, then the media object.

    moto delivers the ObjectCreated notification inside the put, so when this returns the hashing function
    has run (and, for a match, the case is open and its execution started).
    """
    from takedown.handlers.handle_crawl_page import media_object_key, sighting_object_key

    sha256 = hashlib.sha256(data).hexdigest()
    sighting = Sighting(
        media_key=media_object_key(sha256, page_url, media_type),
        sha256=sha256,
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        page_url=page_url,
        media_url=f"{page_url}/attachment",
        fetched_at=iso_utc(utc_now()),
        content_type=media_type,
        source_id=SOURCE_ID,
        size_bytes=len(data),
        page_title="Board",
        page_lang="ko",
        page_contacts=["abuse@board.example"],
    )
    store.put_json(sighting_object_key(sha256, page_url), sighting.to_dict())
    created_at = time.time()
    store.put_bytes(sighting.media_key, data, media_type)
    return Dropped(page_url=page_url, sha256=sha256, media_key=sighting.media_key, created_at=created_at)


def page_url_for(index: int) -> str:
    """The page a benchmark media file is "seen" on (``board.example`` is reserved; nothing is fetched)."""
    return f"http://board.example/post/{index}"
