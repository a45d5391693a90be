"""Vectorised Hamming distances checked against plain Python popcounts."""

from __future__ import annotations

import numpy as np
import pytest

from takedown.hashing import hamming
from takedown.hashing.hamming import (
    HashFormatError,
    hamming_distance_hex,
    hamming_distances,
    nearest_within,
    pack_hex_hashes,
    parse_hex_hash,
)


def random_hex_hashes(count: int, bits: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, bits // 8, dtype=np.uint8).tobytes().hex() for _ in range(count)]


def naive_distance(a: str, b: str) -> int:
    """Bit by bit over the binary text: no shared code with the module under test."""
    binary_a = "".join(f"{int(char, 16):04b}" for char in a)
    binary_b = "".join(f"{int(char, 16):04b}" for char in b)
    return sum(left != right for left, right in zip(binary_a, binary_b, strict=True))


@pytest.fixture(params=["bitwise_count", "byte_table"])
def popcount_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test on numpy's popcount ufunc and again on the byte-table fallback for numpy < 2."""
    if request.param == "byte_table":
        monkeypatch.setattr(hamming, "_HAS_BITWISE_COUNT", False)
    elif not hasattr(np, "bitwise_count"):
        pytest.skip("numpy < 2.0 has no bitwise_count")
    return str(request.param)


@pytest.mark.parametrize("bits", [64, 256, 1024])
def test_vectorised_distances_equal_naive_popcount(popcount_path: str, bits: int) -> None:
    # GIVEN a random bank and a random query
    bank_hex = random_hex_hashes(300, bits, seed=bits)
    query_hex = random_hex_hashes(1, bits, seed=bits + 1)[0]

    # WHEN distances are computed in one vectorised call
    distances = hamming_distances(pack_hex_hashes(bank_hex, bits), pack_hex_hashes([query_hex], bits)[0])

    # THEN each equals the bit-by-bit count
    assert distances.tolist() == [naive_distance(query_hex, row) for row in bank_hex]


def test_several_queries_give_one_row_of_distances_each(popcount_path: str) -> None:
    # GIVEN a bank and three queries
    bank_hex = random_hex_hashes(50, 256, seed=5)
    queries_hex = random_hex_hashes(3, 256, seed=6)

    # WHEN all queries are run at once
    distances = hamming_distances(pack_hex_hashes(bank_hex), pack_hex_hashes(queries_hex))

    # THEN the result is (queries, bank) and matches the naive counts
    assert distances.shape == (3, 50)
    assert distances.tolist() == [[naive_distance(query, row) for row in bank_hex] for query in queries_hex]


def test_extreme_distances() -> None:
    # GIVEN all-zeros and all-ones hashes
    bank = pack_hex_hashes(["0" * 64, "f" * 64])

    # WHEN compared with all-zeros
    # THEN the distances are 0 and 256
    assert hamming_distances(bank, bank[0]).tolist() == [0, 256]


def test_hex_distance_equals_naive_popcount() -> None:
    # GIVEN pairs of random hashes
    pairs = zip(random_hex_hashes(50, 256, seed=1), random_hex_hashes(50, 256, seed=2), strict=True)

    # WHEN / THEN the hex distance is the bit-by-bit count
    for a, b in pairs:
        assert hamming_distance_hex(a, b) == naive_distance(a, b)


def test_hex_distance_ignores_letter_case() -> None:
    # GIVEN one hash in both cases
    # WHEN compared
    # THEN they are the same hash
    assert hamming_distance_hex("abcdef01" * 8, "ABCDEF01" * 8) == 0


def test_packing_keeps_hex_order_in_words() -> None:
    # GIVEN a 128-bit hash whose halves differ
    text = "0123456789abcdef" + "fedcba9876543210"

    # WHEN packed
    packed = pack_hex_hashes([text], bits=128)

    # THEN word 0 holds the first 16 hex characters
    assert packed.dtype == np.uint64
    assert packed.shape == (1, 2)
    assert [f"{int(word):016x}" for word in packed[0]] == ["0123456789abcdef", "fedcba9876543210"]


def test_packing_nothing_gives_an_empty_bank() -> None:
    # GIVEN no hashes
    # WHEN packed and queried
    bank = pack_hex_hashes([], bits=256)

    # THEN the bank is empty and finds nothing
    assert bank.shape == (0, 4)
    assert nearest_within(bank, pack_hex_hashes(["0" * 64])[0], max_distance=256) == []


def test_nearest_within_is_sorted_by_distance_then_bank_order() -> None:
    # GIVEN a bank at known distances 3, 1, 0, 200, 1 from the query
    query = "0" * 64
    bank_hex = ["7" + "0" * 63, "1" + "0" * 63, query, "f" * 50 + "0" * 14, "0" * 63 + "8"]

    # WHEN looking for rows within 3 bits
    hits = nearest_within(pack_hex_hashes(bank_hex), pack_hex_hashes([query])[0], max_distance=3)

    # THEN the far row is left out and ties keep bank order
    assert hits == [(2, 0), (1, 1), (4, 1), (0, 3)]


def test_nearest_within_zero_distance_finds_exact_copies_only() -> None:
    # GIVEN a bank containing the query twice
    bank_hex = random_hex_hashes(20, 256, seed=9)
    bank_hex[7] = bank_hex[13]

    # WHEN searching at distance 0
    hits = nearest_within(pack_hex_hashes(bank_hex), pack_hex_hashes([bank_hex[13]])[0], max_distance=0)

    # THEN both copies are found
    assert hits == [(7, 0), (13, 0)]


def test_nearest_within_rejects_negative_distance() -> None:
    # GIVEN a bank
    bank = pack_hex_hashes(["0" * 64])

    # WHEN asked for a negative radius
    # THEN it is a clear error
    with pytest.raises(ValueError, match="max_distance"):
        nearest_within(bank, bank[0], max_distance=-1)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0" * 63, "hex:length"),
        ("", "hex:length"),
        ("0x" + "0" * 62, "hex:characters"),
        ("0" * 62 + "zz", "hex:characters"),
        ("0" * 32 + " " + "0" * 31, "hex:characters"),
        ("0" * 63 + "\n", "hex:characters"),
        ("é" + "0" * 63, "hex:characters"),
    ],
)
def test_parse_rejects_malformed_hex(text: str, reason: str) -> None:
    # GIVEN malformed text
    # WHEN parsed as a 256-bit hash
    with pytest.raises(HashFormatError) as error:
        parse_hex_hash(text, 256)

    # THEN the reason is specific
    assert error.value.reason == reason


def test_pack_names_the_bad_hash() -> None:
    # GIVEN a list with one bad entry
    hashes = ["0" * 64, "0" * 64, "nothex"]

    # WHEN packed
    with pytest.raises(HashFormatError) as error:
        pack_hex_hashes(hashes)

    # THEN the error says which entry and why
    assert error.value.reason == "hex:length"
    assert "#2" in str(error.value)


@pytest.mark.parametrize("bits", [0, 100, -64])
def test_pack_rejects_bit_lengths_that_are_not_whole_words(bits: int) -> None:
    # GIVEN a bit length that is not a positive multiple of 64
    # WHEN packing
    with pytest.raises(HashFormatError) as error:
        pack_hex_hashes(["00"], bits)

    # THEN it is refused
    assert error.value.reason == "bits:invalid"


def test_hex_distance_rejects_different_lengths_and_non_hex() -> None:
    # GIVEN hashes of different lengths, or with a non-hex character
    # WHEN compared
    with pytest.raises(HashFormatError) as mismatch:
        hamming_distance_hex("0" * 16, "0" * 64)
    with pytest.raises(HashFormatError) as bad_char:
        hamming_distance_hex("0" * 15 + "q", "0" * 16)

    # THEN each failure has its own reason
    assert mismatch.value.reason == "hex:length-mismatch"
    assert bad_char.value.reason == "hex:characters"


def test_distances_reject_wrong_dtype_and_width() -> None:
    # GIVEN a proper bank and queries of the wrong type or width
    bank = pack_hex_hashes(random_hex_hashes(3, 256, seed=3))

    # WHEN queried
    with pytest.raises(HashFormatError) as wrong_dtype:
        hamming_distances(bank, bank[0].astype(np.int64))
    with pytest.raises(HashFormatError) as wrong_width:
        hamming_distances(bank, bank[0][:2])
    with pytest.raises(HashFormatError) as flat_bank:
        hamming_distances(bank[0], bank[0])

    # THEN each is refused with a reason
    assert wrong_dtype.value.reason == "packed:dtype"
    assert wrong_width.value.reason == "packed:shape"
    assert flat_bank.value.reason == "packed:shape"
