"""The synthetic image corpus: deterministic, far apart by pHash, and close to itself after alterations."""

from __future__ import annotations

import io
import itertools
from typing import TYPE_CHECKING

import imagehash
import numpy as np
import pytest
from PIL import Image

from takedown.demo.synthetic import (
    MEDIA_TYPES,
    SyntheticMediaError,
    add_caption,
    adjust_brightness,
    encode,
    make_image,
    make_placeholder,
    recompress_jpeg,
    resize,
    seed_limit,
    to_greyscale,
)

if TYPE_CHECKING:
    from collections.abc import Callable

CORPUS_SEEDS = range(200)
ALTERED_SEEDS = range(0, 200, 10)

ALTERATIONS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "resize-50": lambda image: resize(image, 0.5),
    "resize-80": lambda image: resize(image, 0.8),
    "jpeg-60": lambda image: recompress_jpeg(image, 60),
    "jpeg-30": lambda image: recompress_jpeg(image, 30),
    "caption": lambda image: add_caption(image, "reposted from the free board · 자유게시판"),
    "darker": lambda image: adjust_brightness(image, 0.7),
    "brighter": lambda image: adjust_brightness(image, 1.3),
    "greyscale": to_greyscale,
    "site-like": lambda image: recompress_jpeg(add_caption(resize(image, 0.5), "repost"), 60),
}


@pytest.fixture(scope="module")
def corpus() -> dict[int, Image.Image]:
    return {seed: make_image(seed) for seed in CORPUS_SEEDS}


@pytest.fixture(scope="module")
def corpus_hashes(corpus: dict[int, Image.Image]) -> dict[int, imagehash.ImageHash]:
    return {seed: imagehash.phash(image) for seed, image in corpus.items()}


def test_same_seed_gives_the_same_bytes_in_every_format() -> None:
    # GIVEN two images made separately from the same seed
    first, second = make_image(42), make_image(42)

    # WHEN both are encoded in each format
    # THEN the bytes are identical
    for fmt in MEDIA_TYPES:
        assert encode(first, fmt) == encode(second, fmt), fmt


def test_image_has_the_requested_size_and_is_rgb() -> None:
    # GIVEN / WHEN
    image = make_image(5, size=(320, 200))

    # THEN
    assert (image.size, image.mode) == ((320, 200), "RGB")


def test_different_seeds_give_different_pictures(corpus: dict[int, Image.Image]) -> None:
    # GIVEN two neighbouring seeds
    first, second = np.asarray(corpus[0], dtype=np.int16), np.asarray(corpus[1], dtype=np.int16)

    # WHEN they are compared pixel by pixel
    mean_difference = float(np.abs(first - second).mean())

    # THEN they differ visibly, not by a few pixels
    assert mean_difference > 20


def test_phash_of_200_seeds_are_more_than_16_bits_apart(
    corpus_hashes: dict[int, imagehash.ImageHash],
) -> None:
    # GIVEN the pHashes of 200 different seeds
    # WHEN every pair is compared
    distances = [corpus_hashes[a] - corpus_hashes[b] for a, b in itertools.combinations(CORPUS_SEEDS, 2)]

    # THEN even the closest pair is far apart (the layout code guarantees 24)
    assert len(distances) == 200 * 199 // 2
    assert min(distances) > 16


@pytest.mark.parametrize("alteration", sorted(ALTERATIONS))
def test_altered_copy_stays_within_8_bits_of_its_original(
    alteration: str, corpus: dict[int, Image.Image], corpus_hashes: dict[int, imagehash.ImageHash]
) -> None:
    # GIVEN originals from 20 seeds
    alter = ALTERATIONS[alteration]

    # WHEN each is altered
    distances = {seed: corpus_hashes[seed] - imagehash.phash(alter(corpus[seed])) for seed in ALTERED_SEEDS}

    # THEN each copy still hashes close to its own original
    assert max(distances.values()) <= 8, distances


@pytest.mark.parametrize("alteration", sorted(ALTERATIONS))
def test_alteration_returns_a_new_image_and_leaves_the_input_alone(alteration: str) -> None:
    # GIVEN an original and a snapshot of its pixels
    original = make_image(9, size=(160, 120))
    before = original.tobytes()

    # WHEN it is altered
    altered = ALTERATIONS[alteration](original)

    # THEN the result is another object with other pixels, and the original is untouched
    assert altered is not original
    assert altered.tobytes() != before
    assert original.tobytes() == before


def test_resize_scales_both_sides() -> None:
    # GIVEN / WHEN
    smaller = resize(make_image(1, size=(400, 300)), 0.55)

    # THEN
    assert smaller.size == (220, 165)


def test_greyscale_has_one_channel_with_the_luminance() -> None:
    # GIVEN a colour image
    image = make_image(2, size=(128, 96))

    # WHEN
    grey = to_greyscale(image)

    # THEN
    assert grey.mode == "L"
    assert grey.tobytes() == image.convert("L").tobytes()


@pytest.mark.parametrize(("factor", "darker"), [(0.6, True), (1.4, False)])
def test_brightness_moves_the_mean_the_right_way(factor: float, darker: bool) -> None:
    # GIVEN
    image = make_image(3, size=(128, 96))
    mean_before = float(np.asarray(image).mean())

    # WHEN
    mean_after = float(np.asarray(adjust_brightness(image, factor)).mean())

    # THEN
    assert (mean_after < mean_before) is darker


def test_caption_only_touches_a_strip_along_the_bottom() -> None:
    # GIVEN
    image = make_image(4, size=(400, 300))

    # WHEN
    captioned = add_caption(image, "shared from the board")

    # THEN rows above the bottom 7 % are untouched and the strip is darker on average
    changed_rows = np.flatnonzero(
        (np.asarray(captioned, dtype=np.int16) != np.asarray(image, dtype=np.int16)).any(axis=(1, 2))
    )
    assert changed_rows.min() >= 300 - 21
    assert np.asarray(captioned)[-21:].mean() < np.asarray(image)[-21:].mean()


def test_recompressed_jpeg_keeps_size_and_changes_pixels() -> None:
    # GIVEN
    image = make_image(6, size=(200, 150))

    # WHEN
    recompressed = recompress_jpeg(image, 40)

    # THEN
    assert recompressed.size == image.size
    assert recompressed.tobytes() != image.tobytes()


@pytest.mark.parametrize("fmt", ["JPEG", "jpg", "png", "WEBP", "gif"])
def test_encode_writes_the_named_format(fmt: str) -> None:
    # GIVEN
    image = make_image(7, size=(96, 64))

    # WHEN
    data = encode(image, fmt)

    # THEN it decodes as that format at the same size
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.format == {"jpg": "JPEG"}.get(fmt, fmt.upper())
        assert decoded.size == (96, 64)


def test_encode_handles_greyscale_and_alpha_images() -> None:
    # GIVEN a one-channel and a four-channel image
    grey = to_greyscale(make_image(8, size=(64, 64)))
    with_alpha = make_image(8, size=(64, 64)).convert("RGBA")

    # WHEN / THEN each is written as JPEG without complaint
    for image in (grey, with_alpha):
        with Image.open(io.BytesIO(encode(image, "JPEG"))) as decoded:
            assert decoded.format == "JPEG"


def test_lower_jpeg_quality_gives_fewer_bytes() -> None:
    # GIVEN
    image = make_image(10)

    # WHEN / THEN
    assert len(encode(image, "JPEG", quality=30)) < len(encode(image, "JPEG", quality=90))


def test_highest_seed_is_accepted() -> None:
    # GIVEN / WHEN
    image = make_image(seed_limit() - 1, size=(64, 64))

    # THEN
    assert image.size == (64, 64)


@pytest.mark.parametrize(
    ("call", "reason_part"),
    [
        (lambda: make_image(-1), "seed"),
        (lambda: make_image(seed_limit()), "seed"),
        (lambda: make_image(True), "seed"),
        (lambda: make_image(3, size=(32, 400)), "size"),
        (lambda: make_image(3, size=(5000, 400)), "size"),
        (lambda: resize(Image.new("RGB", (8, 8)), 0.0), "resize factor"),
        (lambda: resize(Image.new("RGB", (8, 8)), 9.0), "resize factor"),
        (lambda: recompress_jpeg(Image.new("RGB", (8, 8)), 0), "quality"),
        (lambda: recompress_jpeg(Image.new("RGB", (8, 8)), 100), "quality"),
        (lambda: adjust_brightness(Image.new("RGB", (8, 8)), 0.0), "brightness"),
        (lambda: add_caption(Image.new("RGB", (8, 8)), "   "), "blank"),
        (lambda: add_caption(Image.new("RGB", (8, 8)), "two\nlines"), "single line"),
        (lambda: encode(Image.new("RGB", (8, 8)), "TIFF"), "unsupported format"),
    ],
)
def test_bad_arguments_are_refused_with_a_reason(call: Callable[[], object], reason_part: str) -> None:
    # GIVEN / WHEN / THEN
    with pytest.raises(SyntheticMediaError) as raised:
        call()
    assert reason_part in raised.value.reason


def test_placeholder_is_a_repeatable_grey_card_of_the_asked_size() -> None:
    # GIVEN / WHEN the placeholder an operator serves is made twice
    first, second = make_placeholder((320, 240)), make_placeholder((320, 240))
    # THEN it is the same picture, of that size, mostly the flat card colour
    assert first.tobytes() == second.tobytes()
    assert (first.size, first.mode) == ((320, 240), "RGB")
    card = int(np.all(np.asarray(first) == (226, 226, 226), axis=-1).sum())
    assert card > 0.8 * 320 * 240


@pytest.mark.parametrize(
    ("size", "text", "reason_part"),
    [
        ((32, 240), "removed", "pixels per side"),
        ((320, 240), "  ", "printable"),
        ((320, 240), "a\nb", "printable"),
    ],
)
def test_placeholder_refuses_bad_arguments(size: tuple[int, int], text: str, reason_part: str) -> None:
    # GIVEN / WHEN / THEN
    with pytest.raises(SyntheticMediaError, match=reason_part):
        make_placeholder(size, text)
