"""End to end: originals registered with their variants, edited copies found, unrelated pictures not.

The bank holds 24 originals (6 sample photos without people, 14 generated scenes, 4 generated posters),
each registered with its 20 variants. Edited copies go through ``fingerprint_image_bytes`` like crawled
files (re-encoded as JPEG q75 after the edit, as re-uploads are).
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import pytest
from PIL import Image, ImageDraw, ImageFont

from takedown.hashing.bank_index import BankIndex
from takedown.hashing.bank_variants import bank_items_for_image
from takedown.hashing.fingerprint import fingerprint_image, fingerprint_image_bytes
from takedown.model import BankItem

from .corpus import EDITS, crop_centre, distractors, jpeg, originals, rotate_small

if TYPE_CHECKING:
    from collections.abc import Callable

    from takedown.hashing.fingerprint import ImageFingerprint
    from takedown.model import MatchEvidence

ADDED_AT = "2026-01-01T00:00:00.000000Z"
ORIGINALS = originals(count_scenes=14, count_posters=4, seed=300)


def as_crawled(image: Image.Image) -> ImageFingerprint:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=75)
    return fingerprint_image_bytes(buffer.getvalue())


@pytest.fixture(scope="module")
def registered() -> list[BankItem]:
    items = []
    for name, image in ORIGINALS:
        items += bank_items_for_image(
            image, bank="centre", group_id=name, case_ref=f"R-{name}", added_at=ADDED_AT
        )
    return items


@pytest.fixture(scope="module")
def index(registered: list[BankItem]) -> BankIndex:
    built = BankIndex.build(registered)
    assert built.rejected == []
    return BankIndex.from_bytes(built.to_bytes())  # what a hashing function loads


@pytest.fixture(scope="module")
def originals_only_index(registered: list[BankItem]) -> BankIndex:
    return BankIndex.build([item for item in registered if item.variant == "original"])


def found_groups(index: BankIndex, fingerprint: ImageFingerprint) -> set[str]:
    return {hit.group_id for hit in index.match_fingerprint(fingerprint)}


def recall(index: BankIndex, edit: Callable[[Image.Image], Image.Image]) -> tuple[float, list[str]]:
    missed = [name for name, image in ORIGINALS if found_groups(index, as_crawled(edit(image))) != {name}]
    return 1 - len(missed) / len(ORIGINALS), missed


def meme_text(image: Image.Image) -> Image.Image:
    copy = image.convert("RGB")
    width, height = copy.size
    font = ImageFont.load_default(size=max(10, height // 12))
    draw = ImageDraw.Draw(copy)
    draw.text(
        (width // 20, height // 40), "TOP TEXT", fill="white", font=font, stroke_width=3, stroke_fill="black"
    )
    draw.text(
        (width // 20, height - height // 8),
        "BOTTOM TEXT",
        fill="white",
        font=font,
        stroke_width=3,
        stroke_fill="black",
    )
    return copy


def straighten(image: Image.Image, degrees: float) -> Image.Image:
    """Straighten-tool style: rotate, then keep the largest centred rectangle of the same shape."""
    angle = math.radians(abs(degrees))
    width, height = image.size
    scale = min(
        width / (width * math.cos(angle) + height * math.sin(angle)),
        height / (width * math.sin(angle) + height * math.cos(angle)),
    )
    share = 1 - scale + 0.01  # a pixel more than the minimum, as tools round inwards
    return crop_centre(rotate_small(image, degrees), share)


# Edits the fingerprint and the dihedral/band hashes must always survive on this bank.
ALWAYS_FOUND: dict[str, Callable[[Image.Image], Image.Image]] = {
    **{
        name: EDITS[name]
        for name in ("resize50", "resize25", "jpeg30", "brighter20", "darker20", "greyscale")
    },
    **{name: EDITS[name] for name in ("mirror", "rot90", "caption", "caption-bar")},
    "meme-text": meme_text,
    "rot180+jpeg30": lambda image: jpeg(image.transpose(Image.Transpose.ROTATE_180), 30),
}


@pytest.mark.parametrize("edit_name", list(ALWAYS_FOUND))
def test_everyday_edits_are_always_found(index: BankIndex, edit_name: str) -> None:
    # WHEN every original, edited this way and re-encoded, is matched
    found, missed = recall(index, ALWAYS_FOUND[edit_name])

    # THEN each is found, and only its own group
    assert missed == [], f"{edit_name}: recall {found:.2%}"


# Geometric edits: found through registration variants, which cover a range around each variant. The
# goal is 90% for 10% crops and 5-degree rotations; amounts between variants are checked too. (Measured
# weak spots, not asserted: a 10% crop off one corner 0%, a 6-degree straighten 71%, a 4-degree rotation
# with a grown canvas 79%, a 1.5-degree straighten 83%, text-on-gradient posters generally.)
GEOMETRIC: dict[str, tuple[Callable[[Image.Image], Image.Image], float]] = {
    "crop10-centre": (lambda image: crop_centre(image, 0.10), 1.0),
    "crop8-centre": (lambda image: crop_centre(image, 0.08), 0.9),
    "crop13-centre": (lambda image: crop_centre(image, 0.13), 0.9),
    "rot5": (lambda image: rotate_small(image, 5), 1.0),
    "rot-5": (lambda image: rotate_small(image, -5), 1.0),
    "rot4": (lambda image: rotate_small(image, 4), 0.9),
    "rot-3": (lambda image: rotate_small(image, -3), 0.9),
    "rot-5-expand": (lambda image: image.rotate(-5, Image.Resampling.BICUBIC, expand=True), 0.9),
    "rot5-straightened": (lambda image: straighten(image, 5), 0.9),
    "rot-3.5-straightened": (lambda image: straighten(image, -3.5), 0.9),
    "rot5+resize50": (
        lambda image: rotate_small(image, 5).resize((image.width // 2, image.height // 2)),
        0.9,
    ),
}


@pytest.mark.parametrize("edit_name", list(GEOMETRIC))
def test_crops_and_small_rotations_are_found_through_registration_variants(
    index: BankIndex, edit_name: str
) -> None:
    edit, minimum = GEOMETRIC[edit_name]
    found, missed = recall(index, edit)
    assert found >= minimum, f"{edit_name}: recall {found:.2%}, missed {missed}"


@pytest.mark.parametrize("edit_name", ["crop10-centre", "rot5", "caption-bar"])
def test_without_variants_these_edits_are_mostly_missed(
    originals_only_index: BankIndex, edit_name: str
) -> None:
    # GIVEN a bank of the originals alone; WHEN the edited copies are matched
    edit = ALWAYS_FOUND.get(edit_name) or GEOMETRIC[edit_name][0]
    found, _missed = recall(originals_only_index, edit)

    # THEN most are missed: the variants (and the band) are what finds them
    assert found <= 0.5, f"{edit_name}: {found:.2%} found without variants"


def test_evidence_says_which_query_orientation_and_bank_variant_matched(index: BankIndex) -> None:
    name, image = ORIGINALS[0]
    mirrored = index.match_fingerprint(as_crawled(image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    cropped = index.match_fingerprint(as_crawled(crop_centre(image, 0.10)))
    turned = index.match_fingerprint(as_crawled(image.transpose(Image.Transpose.ROTATE_90)))
    assert mirrored[0].variant == "query:flipy bank:original"
    assert cropped[0].variant == "query:original bank:crop10"
    # Turning a quarter counter-clockwise is undone by the query's quarter turn clockwise.
    assert turned[0].variant == "query:rot270 bank:original"
    for evidence in (mirrored[0], cropped[0], turned[0]):
        assert (evidence.group_id, evidence.case_ref, evidence.bank) == (name, f"R-{name}", "centre")
        assert evidence.rule in {"pdq+phash", "pdq-strict"}
        assert evidence.distance <= evidence.threshold


def test_pdq_and_phash_evidence_both_shown_for_a_fused_match(index: BankIndex) -> None:
    _name, image = ORIGINALS[1]
    fused = [
        hit for hit in index.match_fingerprint(as_crawled(EDITS["jpeg30"](image))) if hit.rule == "pdq+phash"
    ]
    assert [hit.algorithm for hit in fused] == ["pdq", "phash"]


def test_the_file_itself_is_an_exact_match_when_its_digest_is_registered() -> None:
    # GIVEN the digest of the original file in the bank (the caller's item), and no perceptual items
    name, image = ORIGINALS[2]
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    fingerprint = fingerprint_image_bytes(buffer.getvalue())
    index = BankIndex.build([BankItem(f"{name}:file", "centre", "sha256", fingerprint.sha256, group_id=name)])

    # THEN the same file is found exactly
    assert [(hit.rule, hit.group_id) for hit in index.match_fingerprint(fingerprint)] == [("exact", name)]


def test_unrelated_pictures_make_no_candidate(index: BankIndex) -> None:
    # GIVEN 500 pictures that are not in the bank: other seeds of the same generators (near misses) and
    # windows of other sample photos
    unrelated = distractors(500)

    # WHEN each is matched (12 query hashes against 480 PDQ items: ~2.9 million comparisons)
    candidates: list[tuple[str, list[MatchEvidence]]] = []
    for name, image in unrelated:
        fused = index.match_fingerprint(fingerprint_image(image))
        if fused:
            candidates.append((name, fused))

    # THEN none becomes a candidate
    assert candidates == []


def test_unrelated_pictures_stay_far_from_the_threshold(index: BankIndex) -> None:
    # GIVEN near-miss distractors (same generator, other seed)
    nearest = []
    for _name, image in distractors(60, seed=400_000):
        fingerprint = fingerprint_image(image)
        # WHEN the index is searched far wider than any threshold
        distances = [
            hit.distance
            for orientation in fingerprint.pdq_dihedral.values()
            for hit in index.nearest("pdq", orientation, 60)
        ]
        nearest.append(min(distances, default=256))

    # THEN even the nearest is well beyond 31 bits (measured: >= 62 over 2000 distractors)
    assert min(nearest) > 45
