"""Properties of hash parsing: hex PDQ (256 bits) and pHash (64 bits) round-trip between bytes and text, anything
else is refused with ``HashFormatError`` and a reason code, and a hash list import reports each bad row by line."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from takedown.commands.bank import parse_hash_list
from takedown.hashing.hamming import HashFormatError, hamming_distance_hex, parse_hex_hash
from takedown.hashing.pdq import PdqHash

PROPERTIES = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
HASH_BITS = {"pdq": 256, "phash": 64, "sha256": 256, "md5": 128}
REASONS = {"hex:type", "hex:length", "hex:characters", "hex:length-mismatch", "bits:invalid"}


def mixed_case(data: st.DataObject, text: str) -> str:
    return "".join(c.upper() if data.draw(st.booleans()) else c for c in text)


@PROPERTIES
@given(st.sampled_from([64, 256]), st.data())
def test_hex_hashes_round_trip_in_either_letter_case(bits: int, data: st.DataObject) -> None:
    # GIVEN any hash of PDQ's or pHash's width, written in hex with any mix of letter case
    raw = data.draw(st.binary(min_size=bits // 8, max_size=bits // 8))
    text = mixed_case(data, raw.hex())
    # THEN it parses back to the same bytes, and to itself at distance 0
    assert parse_hex_hash(text, bits) == raw
    assert hamming_distance_hex(text, raw.hex()) == 0


@PROPERTIES
@given(st.binary(min_size=32, max_size=32), st.integers(0, 100), st.data())
def test_a_pdq_hash_prints_the_reference_text_and_parses_it_back(
    raw: bytes, quality: int, data: st.DataObject
) -> None:
    # GIVEN a PDQ hash THEN its hex is 64 lowercase characters that parse back to it, whatever the case read
    pdq = PdqHash(bits=raw, quality=quality)
    assert pdq.hex == raw.hex() and len(pdq.hex) == 64
    assert PdqHash.from_hex(mixed_case(data, pdq.hex), quality) == pdq
    assert pdq.distance(PdqHash.from_hex(pdq.hex, quality)) == 0


@st.composite
def malformed_hex(draw: st.DrawFn, bits: int) -> object:
    """Text that is not exactly ``bits / 4`` hex digits: wrong length, a foreign character, or not text at all."""
    good = draw(st.binary(min_size=bits // 8, max_size=bits // 8)).hex()
    kind = draw(
        st.sampled_from(["short", "long", "foreign", "prefixed", "spaced", "not-text", "unicode-digit"])
    )
    if kind == "short":
        return good[: draw(st.integers(0, len(good) - 1))]
    if kind == "long":
        return good + draw(st.text(alphabet=string.hexdigits, min_size=1, max_size=8))
    if kind == "foreign":
        position = draw(st.integers(0, len(good) - 1))
        foreign = draw(st.characters(codec="utf-8").filter(lambda c: c not in string.hexdigits))
        return good[:position] + foreign + good[position + 1 :]
    if kind == "prefixed":
        return "0x" + good[2:]
    if kind == "spaced":
        return good[:-1] + " "
    if kind == "unicode-digit":
        return good[:-1] + "٣"  # an Arabic-Indic digit: a digit, not a hex digit
    return draw(st.one_of(st.none(), st.integers(), st.binary(max_size=40)))


@PROPERTIES
@given(st.sampled_from([64, 256]), st.data())
def test_malformed_hex_is_refused_with_a_reason(bits: int, data: st.DataObject) -> None:
    # GIVEN text that is not exactly one hash's hex digits WHEN parsed THEN HashFormatError names why
    text = data.draw(malformed_hex(bits))
    with pytest.raises(HashFormatError) as refused:
        parse_hex_hash(text, bits)  # type: ignore[arg-type]
    assert refused.value.reason in REASONS


@PROPERTIES
@given(st.lists(st.one_of(st.just("good"), st.text(max_size=60)), max_size=12), st.data())
def test_a_hash_list_import_keeps_good_rows_and_reports_each_bad_one_by_line(
    rows: list[str], data: st.DataObject
) -> None:
    # GIVEN a CSV hash list mixing well-formed rows with arbitrary lines
    lines = []
    for row in rows:
        if row == "good":
            algorithm = data.draw(st.sampled_from(sorted(HASH_BITS)))
            # PDQ rows must be usable: a random 256-bit hash with a high quality is.
            digest = data.draw(
                st.binary(min_size=HASH_BITS[algorithm] // 8, max_size=HASH_BITS[algorithm] // 8)
            )
            lines.append(f"{algorithm},{digest.hex()},90,ref")
        else:
            # (A stray double quote opens a CSV quoted field that runs on over the next lines: CSV, not a fault.)
            lines.append(row.replace("\n", " ").replace("\r", " ").replace('"', "'"))
    # WHEN it is parsed
    items, errors = parse_hash_list("\n".join(lines), bank="centre", added_at="2026-11-28T07:00:00Z")
    # THEN nothing raises; every item is a well-formed hash; every error names its line
    for item in items:
        assert parse_hex_hash(item.hash_hex, HASH_BITS[item.algorithm]).hex() == item.hash_hex
    assert all(error.startswith("line ") for error in errors)
    assert len(items) + len(errors) <= len(lines)
    good_rows = sum(1 for row in rows if row == "good")
    degenerate = sum(1 for line in lines if line.startswith("pdq,") and set(line.split(",")[1]) <= {"0", "f"})
    assert len(items) >= good_rows - degenerate
