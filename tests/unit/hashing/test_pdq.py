"""PDQ in numpy against the reference C++ implementation (``pdqhash``), on a generated corpus."""

from __future__ import annotations

import io
import platform
from typing import TYPE_CHECKING

import numpy as np
import pdqhash
import pytest
from PIL import Image

from takedown.hashing.hamming import HashFormatError, hamming_distance_hex
from takedown.hashing.pdq import (
    DIHEDRAL_TRANSPOSES,
    PdqHash,
    PdqInputError,
    PdqRefused,
    pdq_dihedral_hashes,
    pdq_dihedral_hashes_array,
    pdq_hash_array,
    pdq_hash_image,
    validate_pdq,
)

from .conftest import make_blobs, make_shapes

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import NDArray

    from .conftest import CorpusCase

# The contract with the exchange lists: at most 2 bits and 1 quality point from the reference.
MAX_REFERENCE_DISTANCE = 2
MAX_REFERENCE_QUALITY_GAP = 1
# Bit-for-bit equality needs the reference built without fused multiply-add, as x86-64 builds are.
ON_X86_64 = platform.machine().lower() in {"x86_64", "amd64"}
PDQ_MATCH_THRESHOLD = 31  # ThreatExchange's "confident match" distance


def reference_hex(bit_vector: NDArray[np.integer]) -> str:
    """The reference's hex text from the bindings' bit vector (most significant bit first)."""
    return f"{int(''.join(str(int(bit)) for bit in bit_vector), 2):064x}"


def reference_pdq(pixels: NDArray[np.uint8]) -> PdqHash:
    bit_vector, quality = pdqhash.compute(pixels)
    return PdqHash.from_hex(reference_hex(bit_vector), quality)


def reference_dihedral(pixels: NDArray[np.uint8]) -> dict[str, PdqHash]:
    bit_vectors, quality = pdqhash.compute_dihedral(pixels)
    # The bindings return the variants in the C++ order, which DIHEDRAL_TRANSPOSES follows.
    return {
        name: PdqHash.from_hex(reference_hex(vector), quality)
        for name, vector in zip(DIHEDRAL_TRANSPOSES, bit_vectors, strict=True)
    }


def rgb_pixels(image: Image.Image) -> NDArray[np.uint8]:
    return np.asarray(image.convert("RGB"))


# ---------------------------------------------------------------------------------------------------------
# Agreement with the reference


def test_hash_agrees_with_reference(corpus_case: CorpusCase) -> None:
    # GIVEN a generated image and the reference's hash of its RGB pixels
    image = corpus_case.build()
    expected = reference_pdq(rgb_pixels(image))

    # WHEN we hash it
    actual = pdq_hash_image(image)

    # THEN the hashes are within the contract
    assert actual.distance(expected) <= MAX_REFERENCE_DISTANCE, (actual.hex, expected.hex)
    assert abs(actual.quality - expected.quality) <= MAX_REFERENCE_QUALITY_GAP


@pytest.mark.skipif(not ON_X86_64, reason="bit-exactness assumes a reference built without FMA")
def test_hash_is_bit_exact_with_reference(corpus_case: CorpusCase) -> None:
    # GIVEN a generated image
    image = corpus_case.build()

    # WHEN we hash it and so does the reference
    actual = pdq_hash_image(image)
    expected = reference_pdq(rgb_pixels(image))

    # THEN hex text and quality are identical
    assert (actual.hex, actual.quality) == (expected.hex, expected.quality)


def test_rgba_alpha_is_dropped_like_the_reference_does() -> None:
    # GIVEN an RGBA image whose alpha varies across the picture
    image = make_shapes(300, 200, seed=7).convert("RGBA")
    image.putalpha(Image.linear_gradient("L").resize(image.size))

    # WHEN we hash it and the reference hashes the raw 4-channel array (as HMA does after np.asarray)
    actual = pdq_hash_image(image)
    expected = reference_pdq(np.asarray(image))

    # THEN they agree: alpha is ignored rather than composited
    assert actual.distance(expected) <= MAX_REFERENCE_DISTANCE


def test_hex_is_the_reference_text_and_round_trips() -> None:
    # GIVEN the hash of an image
    image = make_blobs(400, 300, seed=3)
    pdq = pdq_hash_image(image)

    # WHEN it goes to hex and back
    restored = PdqHash.from_hex(pdq.hex, pdq.quality)

    # THEN the text is 64 lowercase hex characters, the reference's, and the round trip is lossless
    assert len(pdq.hex) == 64
    assert pdq.hex == pdq.hex.lower()
    assert pdq.distance(reference_pdq(rgb_pixels(image))) <= MAX_REFERENCE_DISTANCE
    assert restored == pdq
    assert restored.bits.hex() == pdq.hex


def test_array_and_image_entry_points_agree() -> None:
    # GIVEN an image and its RGB pixels
    image = make_shapes(250, 180, seed=9)

    # WHEN both are hashed
    # THEN the results are identical
    assert pdq_hash_array(np.asarray(image)) == pdq_hash_image(image)


def test_non_contiguous_array_is_hashed_like_its_copy() -> None:
    # GIVEN a view that steps over every other column of a larger image
    pixels = np.asarray(make_shapes(600, 300, seed=10))[:, ::2, :]

    # WHEN the view and a contiguous copy are hashed
    # THEN the hashes are identical
    assert pdq_hash_array(pixels) == pdq_hash_array(np.ascontiguousarray(pixels))


# scikit-image's bundled sample photos (no people among them); used only when scikit-image is installed.
SKIMAGE_SAMPLES = [
    "brick", "cell", "chelsea", "clock", "coffee", "coins", "grass", "gravel", "horse", "hubble_deep_field",
    "immunohistochemistry", "logo", "microaneurysms", "moon", "page", "retina", "rocket", "text",
]  # fmt: skip


@pytest.mark.parametrize("sample_name", SKIMAGE_SAMPLES)
def test_natural_photo_agrees_with_reference_when_scikit_image_is_installed(sample_name: str) -> None:
    # GIVEN one of the sample photos scikit-image ships, as 8-bit RGB (skipped without scikit-image)
    data = pytest.importorskip("skimage.data")
    sample = np.asarray(getattr(data, sample_name)())
    if sample.dtype == np.bool_:
        sample = sample.astype(np.uint8) * 255
    if sample.ndim == 2:
        sample = np.stack([sample] * 3, axis=-1)
    pixels = np.ascontiguousarray(sample[:, :, :3], dtype=np.uint8)

    # WHEN it is hashed by us and by the reference
    actual, expected = pdq_hash_array(pixels), reference_pdq(pixels)

    # THEN they agree within the contract
    assert actual.distance(expected) <= MAX_REFERENCE_DISTANCE
    assert abs(actual.quality - expected.quality) <= MAX_REFERENCE_QUALITY_GAP


# ---------------------------------------------------------------------------------------------------------
# Perceptual behaviour


def test_resized_and_recompressed_copy_stays_within_match_threshold() -> None:
    # GIVEN an image and a smaller, JPEG-recompressed copy of it
    original = make_blobs(1200, 900, seed=17)
    buffer = io.BytesIO()
    original.resize((600, 450), Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=70)
    copy = Image.open(io.BytesIO(buffer.getvalue()))

    # WHEN both are hashed
    distance = pdq_hash_image(original).distance(pdq_hash_image(copy))

    # THEN they still match
    assert distance <= PDQ_MATCH_THRESHOLD


def test_unrelated_images_are_far_apart() -> None:
    # GIVEN two unrelated generated images
    first, second = make_shapes(640, 480, seed=1), make_shapes(640, 480, seed=2)

    # WHEN both are hashed
    distance = pdq_hash_image(first).distance(pdq_hash_image(second))

    # THEN they are nowhere near a match
    assert distance > 2 * PDQ_MATCH_THRESHOLD


# ---------------------------------------------------------------------------------------------------------
# Dihedral variants


@pytest.mark.parametrize(
    "image_builder",
    [
        lambda: make_shapes(300, 200, seed=61),
        lambda: make_blobs(1280, 720, seed=62),
        lambda: make_shapes(64, 64, seed=63),
    ],
    ids=["shapes-300x200", "blobs-1280x720", "shapes-64x64"],
)
def test_dihedral_hashes_agree_with_reference(image_builder: Callable[[], Image.Image]) -> None:
    # GIVEN an image
    image = image_builder()

    # WHEN we compute all 8 variants, and so does the reference
    actual = pdq_dihedral_hashes(image)
    expected = reference_dihedral(rgb_pixels(image))

    # THEN every variant agrees, under the same name
    assert list(actual) == list(DIHEDRAL_TRANSPOSES)
    for name in DIHEDRAL_TRANSPOSES:
        assert actual[name].distance(expected[name]) <= MAX_REFERENCE_DISTANCE, name
        assert abs(actual[name].quality - expected[name].quality) <= MAX_REFERENCE_QUALITY_GAP


@pytest.mark.parametrize("name", list(DIHEDRAL_TRANSPOSES))
def test_dihedral_variant_equals_hash_of_transformed_image_when_sampling_is_symmetric(name: str) -> None:
    # GIVEN an image whose sides (600, 300) give odd filter windows and a sampling grid that mirrors onto
    # itself, so rotating the picture only permutes the 64x64 samples
    image = make_blobs(600, 300, seed=71)
    transpose = DIHEDRAL_TRANSPOSES[name]
    transformed = image if transpose is None else image.transpose(transpose)

    # WHEN the variant is derived from the original's DCT, and the transformed image is hashed itself
    derived = pdq_dihedral_hashes(image)[name]
    direct = pdq_hash_image(transformed)

    # THEN they are within a couple of bits (rounding in the filter's running sums aside, identical)
    assert derived.distance(direct) <= 2


@pytest.mark.parametrize("name", list(DIHEDRAL_TRANSPOSES))
def test_dihedral_variant_still_matches_transformed_image_of_any_size(name: str) -> None:
    # GIVEN a 640x480 image: even windows and an asymmetric grid, so a rotated copy is sampled differently
    image = make_blobs(640, 480, seed=72)
    transpose = DIHEDRAL_TRANSPOSES[name]
    transformed = image if transpose is None else image.transpose(transpose)

    # WHEN the variant is derived from the original, and the rotated/mirrored copy is hashed directly
    distance = pdq_dihedral_hashes(image)[name].distance(pdq_hash_image(transformed))

    # THEN the two still match under the usual threshold
    assert distance <= PDQ_MATCH_THRESHOLD


def test_dihedral_original_equals_single_hash() -> None:
    # GIVEN an image that is not 64x64 (where the reference's two paths filter differently)
    image = make_shapes(321, 123, seed=73)

    # WHEN hashed both ways
    # THEN the "original" variant is the plain hash
    assert pdq_dihedral_hashes(image)["original"] == pdq_hash_image(image)


# ---------------------------------------------------------------------------------------------------------
# Refusals


@pytest.mark.parametrize("colour", [(255, 255, 255), (12, 200, 99), (128, 128, 128)])
def test_flat_colour_image_is_refused_for_low_quality(colour: tuple[int, int, int]) -> None:
    # GIVEN a single-colour image
    pdq = pdq_hash_image(Image.new("RGB", (400, 300), colour))

    # WHEN it is validated
    with pytest.raises(PdqRefused) as refusal:
        validate_pdq(pdq)

    # THEN it is refused for quality, which is zero
    assert pdq.quality == 0
    assert refusal.value.reason == "quality:low"


@pytest.mark.parametrize("hex_text", ["0" * 64, "f" * 64, "F" * 64])
def test_degenerate_hash_is_refused_even_with_full_quality(hex_text: str) -> None:
    # GIVEN an all-zeros or all-ones hash claiming full quality
    pdq = PdqHash.from_hex(hex_text, quality=100)

    # WHEN it is validated
    with pytest.raises(PdqRefused) as refusal:
        validate_pdq(pdq)

    # THEN it is refused as degenerate
    assert refusal.value.reason == "hash:degenerate"


def test_black_image_hashes_to_zero_and_is_refused_as_degenerate() -> None:
    # GIVEN a black image, which hashes to all zeros
    pdq = pdq_hash_image(Image.new("RGB", (200, 200), "black"))

    # WHEN it is validated
    with pytest.raises(PdqRefused) as refusal:
        validate_pdq(pdq)

    # THEN the degenerate hash is named as the reason
    assert pdq.hex == "0" * 64
    assert refusal.value.reason == "hash:degenerate"


def test_quality_threshold_is_inclusive() -> None:
    # GIVEN the same usable bits at quality 50 and 49
    bits = "5a" * 32

    # WHEN validated at the default minimum of 50
    validate_pdq(PdqHash.from_hex(bits, quality=50))
    with pytest.raises(PdqRefused) as refusal:
        validate_pdq(PdqHash.from_hex(bits, quality=49))

    # THEN 50 passes and 49 is refused
    assert refusal.value.reason == "quality:low"


def test_custom_minimum_quality_is_honoured() -> None:
    # GIVEN a hash of quality 30
    pdq = PdqHash.from_hex("5a" * 32, quality=30)

    # WHEN validated with a lower bar
    validate_pdq(pdq, min_quality=30)

    # THEN it passes; an impossible bar is rejected as a programming error
    with pytest.raises(ValueError, match="min_quality"):
        validate_pdq(pdq, min_quality=101)


# ---------------------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("pixels", "reason"),
    [
        (np.zeros((40, 40, 3), dtype=np.float32), "array:dtype"),
        (np.zeros((40, 40), dtype=np.uint8), "array:shape"),
        (np.zeros((40, 40, 4), dtype=np.uint8), "array:shape"),
        (np.zeros((4, 400, 3), dtype=np.uint8), "image:too-small"),
        (np.zeros((400, 4, 3), dtype=np.uint8), "image:too-small"),
        ([[[0, 0, 0]] * 10] * 10, "array:type"),
    ],
    ids=["float-pixels", "two-dimensional", "four-channels", "4-rows", "4-columns", "python-list"],
)
def test_unhashable_array_is_rejected_with_a_reason(pixels: object, reason: str) -> None:
    # GIVEN pixels the hash cannot be computed from
    # WHEN hashed, as a single hash or as dihedral variants
    with pytest.raises(PdqInputError) as single:
        pdq_hash_array(pixels)  # type: ignore[arg-type]
    with pytest.raises(PdqInputError) as dihedral:
        pdq_dihedral_hashes_array(pixels)  # type: ignore[arg-type]

    # THEN both name the same reason
    assert single.value.reason == dihedral.value.reason == reason


def test_non_image_is_rejected() -> None:
    # GIVEN something that is not a PIL image
    # WHEN hashed
    with pytest.raises(PdqInputError) as error:
        pdq_hash_image(b"\x89PNG")  # type: ignore[arg-type]

    # THEN the reason says so
    assert error.value.reason == "array:type"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0" * 63, "hex:length"),
        ("0" * 65, "hex:length"),
        ("0x" + "0" * 62, "hex:characters"),
        ("g" + "0" * 63, "hex:characters"),
        (" " + "0" * 63, "hex:characters"),
    ],
)
def test_from_hex_rejects_malformed_text(text: str, reason: str) -> None:
    # GIVEN malformed hex text
    # WHEN parsed
    with pytest.raises(HashFormatError) as error:
        PdqHash.from_hex(text, quality=80)

    # THEN the reason is specific
    assert error.value.reason == reason


def test_from_hex_accepts_upper_case_and_prints_lower_case() -> None:
    # GIVEN upper-case hex as some exchange lists write it
    text = "ABCDEF0123456789" * 4

    # WHEN parsed
    pdq = PdqHash.from_hex(text, quality=77)

    # THEN it prints in the reference's lower case
    assert pdq.hex == text.lower()


@pytest.mark.parametrize(
    ("bits", "quality", "reason"),
    [
        (b"\x00" * 31, 50, "bits:length"),
        (b"\x01" * 32, 101, "quality:range"),
        (b"\x01" * 32, -1, "quality:range"),
    ],
)
def test_hash_record_rejects_impossible_values(bits: bytes, quality: int, reason: str) -> None:
    # GIVEN bits of the wrong length or a quality outside 0..100
    # WHEN a hash is built from them
    with pytest.raises(HashFormatError) as error:
        PdqHash(bits=bits, quality=quality)

    # THEN it is rejected with a reason
    assert error.value.reason == reason


def test_distance_matches_hex_hamming_distance() -> None:
    # GIVEN two hashes of different images
    first, second = (
        pdq_hash_image(make_shapes(200, 200, seed=81)),
        pdq_hash_image(make_shapes(200, 200, seed=82)),
    )

    # WHEN their distance is measured both ways
    # THEN the record's distance is symmetric and equals the hex Hamming distance
    assert first.distance(second) == second.distance(first) == hamming_distance_hex(first.hex, second.hex)
    assert first.distance(first) == 0
