"""Registration variants and the bank items made from them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from takedown.hashing.bank_index import BankIndex
from takedown.hashing.bank_variants import (
    RegistrationRefused,
    bank_items_for_image,
    registration_variants,
)
from takedown.hashing.fingerprint import fingerprint_image
from takedown.hashing.hamming import hamming_distance_hex

from .corpus import make_scene

ADDED_AT = "2026-01-01T00:00:00.000000Z"
SCENE = make_scene(11, (600, 400))


def test_variants_are_the_original_its_crops_band_and_rotations() -> None:
    # WHEN the variants of an original are made
    variants = dict(registration_variants(SCENE))

    # THEN there is each crop, the band and each rotation in its three forms, all RGB
    assert list(variants)[:6] == ["original", "crop5", "crop10", "crop15", "crop20", "band"]
    for angle in ("-5", "-2.5", "2.5", "5"):
        assert {f"rot{angle}", f"rot{angle}-crop", f"rot{angle}-expand"} <= set(variants)
    assert {"rot-4-crop", "rot4-crop"} <= set(variants)
    assert len(variants) == 20
    assert all(image.mode == "RGB" for image in variants.values())
    assert variants["crop10"].size == (540, 360)
    assert variants["band"].size == (600, 280)
    assert variants["rot5"].size == SCENE.size
    assert variants["rot5-expand"].width > SCENE.width


def test_cropped_rotation_has_no_black_corners_and_plain_rotation_does() -> None:
    variants = dict(registration_variants(SCENE))
    for name in ("rot5-crop", "rot-5-crop", "rot2.5-crop"):
        corners = np.asarray(variants[name])[[0, 0, -1, -1], [0, -1, 0, -1]]
        assert corners.max(axis=1).min() > 0, name  # no corner is pure black fill
    assert np.asarray(variants["rot5"])[0, 0].tolist() == [0, 0, 0]


def test_variants_hash_differently_from_the_original() -> None:
    original = fingerprint_image(SCENE).pdq
    for name, image in registration_variants(SCENE)[1:]:
        assert hamming_distance_hex(fingerprint_image(image).pdq, original) > 20, name


def test_variants_are_of_the_picture_as_displayed() -> None:
    # GIVEN an original stored sideways with an EXIF orientation tag
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    SCENE.transpose(Image.Transpose.ROTATE_90).save(buffer, "PNG", exif=exif)
    stored = Image.open(io.BytesIO(buffer.getvalue()))

    # THEN its variants are those of the upright picture
    upright = dict(registration_variants(SCENE))
    for name, image in registration_variants(stored):
        assert image.size == upright[name].size, name


def test_bank_items_share_the_group_and_have_stable_ids() -> None:
    # WHEN an original is turned into bank items twice
    items = bank_items_for_image(SCENE, bank="centre", group_id="G-7", case_ref="R-7", added_at=ADDED_AT)
    again = bank_items_for_image(SCENE, bank="centre", group_id="G-7", case_ref="R-7", added_at=ADDED_AT)

    # THEN there is a PDQ and a pHash item per variant, all in the group, the same each time
    assert items == again
    assert len(items) == 40
    assert {item.group_id for item in items} == {"G-7"}
    assert {item.algorithm for item in items} == {"pdq", "phash"}
    assert items[0].item_id == "G-7:original:pdq" and items[0].variant == "original"
    assert all(item.quality is not None and item.quality >= 50 for item in items if item.algorithm == "pdq")
    assert all(item.quality is None for item in items if item.algorithm == "phash")
    assert len({item.item_id for item in items}) == 40

    # AND the index takes them all
    index = BankIndex.build(items)
    assert (len(index), index.rejected) == (40, [])


def test_featureless_original_is_refused() -> None:
    with pytest.raises(RegistrationRefused) as refused:
        bank_items_for_image(
            Image.new("RGB", (300, 200), (40, 90, 200)),
            bank="c",
            group_id="G",
            case_ref="R",
            added_at=ADDED_AT,
        )
    assert refused.value.reason in {"quality:low", "hash:degenerate"}


def test_registration_needs_an_image_and_a_group() -> None:
    with pytest.raises(RegistrationRefused):
        registration_variants("not an image")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="group_id"):
        bank_items_for_image(SCENE, bank="c", group_id="", case_ref="R", added_at=ADDED_AT)


def test_tiny_original_gets_only_itself() -> None:
    assert [name for name, _ in registration_variants(make_scene(12, (12, 12)))] == ["original"]
