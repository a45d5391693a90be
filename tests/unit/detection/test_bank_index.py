"""The bank index snapshot: building, validation, round trips, corruption, and exact search."""

from __future__ import annotations

import dataclasses
import io
import zipfile

import numpy as np
import pytest

from takedown.hashing.bank_index import FORMAT_VERSION, BankIndex, BankIndexError
from takedown.hashing.fingerprint import ImageFingerprint, fingerprint_image
from takedown.hashing.fusion import BankThresholds
from takedown.hashing.hamming import hamming_distances, pack_hex_hashes
from takedown.model import BankItem

from .corpus import make_scene

RNG_SEED = 20260101


def random_hex(rng: np.random.Generator, bits: int) -> str:
    return rng.integers(0, 256, bits // 8, dtype=np.uint8).tobytes().hex()


def flip_bits(hex_hash: str, count: int, rng: np.random.Generator) -> str:
    bits = len(hex_hash) * 4
    value = int(hex_hash, 16)
    for position in rng.choice(bits, size=count, replace=False):
        value ^= 1 << int(position)
    return f"{value:0{len(hex_hash)}x}"


def pdq_item(item_id: str, hex_hash: str, **fields: object) -> BankItem:
    values: dict[str, object] = {"bank": "centre", "case_ref": f"R-{item_id}", "quality": 90, **fields}
    return BankItem(item_id=item_id, algorithm="pdq", hash_hex=hex_hash, **values)  # type: ignore[arg-type]


def random_bank(count: int, seed: int = RNG_SEED) -> list[BankItem]:
    rng = np.random.default_rng(seed)
    items = []
    for index in range(count):
        group = f"G-{index // 4:05d}"
        items.append(
            pdq_item(
                f"{group}:v{index % 4}:pdq", random_hex(rng, 256), group_id=group, variant=f"v{index % 4}"
            )
        )
        items.append(
            BankItem(
                f"{group}:v{index % 4}:phash",
                "centre",
                "phash",
                random_hex(rng, 64),
                group_id=group,
                variant=f"v{index % 4}",
            )
        )
    return items


SMALL_BANK = random_bank(40)


# ---------------------------------------------------------------------------------------------------------
# Building


def test_only_enabled_valid_items_go_in_and_the_invalid_are_reported() -> None:
    # GIVEN good items, a disabled one, and every kind of invalid one
    rng = np.random.default_rng(1)
    good = pdq_item("good", random_hex(rng, 256))
    items = [
        good,
        BankItem("exact", "centre", "sha256", "AB" * 32),
        dataclasses.replace(good, item_id="disabled", enabled=False),
        pdq_item("zeros", "0" * 64),
        pdq_item("ones", "F" * 64),
        BankItem("phash-zeros", "centre", "phash", "0" * 16),
        pdq_item("short", "ab" * 31),
        pdq_item("not-hex", "zz" * 32),
        pdq_item("low-quality", random_hex(rng, 256), quality=49),
        pdq_item("bad-quality", random_hex(rng, 256), quality=150),
        BankItem("unknown", "centre", "sha1", "ab" * 20),
        pdq_item("", random_hex(rng, 256)),
        pdq_item("no-bank", random_hex(rng, 256), bank=""),
    ]

    # WHEN the index is built
    index = BankIndex.build(items)

    # THEN the good items are in, the disabled one is silently out (not an error), the rest are reported
    assert len(index) == 2
    assert dict(index.rejected) == {
        "zeros": "hash:degenerate",
        "ones": "hash:degenerate",
        "phash-zeros": "hash:degenerate",
        "short": "hash:hex:length",
        "not-hex": "hash:hex:characters",
        "low-quality": "quality:low",
        "bad-quality": "quality:range",
        "unknown": "algorithm:unknown",
        "": "item_id:empty",
        "no-bank": "bank:empty",
    }
    assert index.nearest("pdq", good.hash_hex, 0)[0].bank_item_id == "good"


def test_strict_build_refuses_invalid_items_listing_them() -> None:
    items = [*SMALL_BANK, pdq_item("zeros", "0" * 64), pdq_item("short", "ab")]
    with pytest.raises(BankIndexError) as refused:
        BankIndex.build(items, strict=True)
    assert refused.value.reason == "items:invalid"
    assert refused.value.rejected == [("short", "hash:hex:length"), ("zeros", "hash:degenerate")]
    assert "zeros" in str(refused.value) and "short" in str(refused.value)


def test_duplicate_ids_keep_one_copy_when_equal_and_refuse_when_they_conflict() -> None:
    rng = np.random.default_rng(2)
    same = pdq_item("same", random_hex(rng, 256))
    conflict = pdq_item("conflict", random_hex(rng, 256))
    index = BankIndex.build([same, same, conflict, dataclasses.replace(conflict, case_ref="R-other")])
    assert len(index) == 1
    assert index.rejected == [("conflict", "item_id:duplicate")]


def test_build_refuses_things_that_are_not_items_or_thresholds() -> None:
    with pytest.raises(BankIndexError) as not_item:
        BankIndex.build([{"item_id": "x"}])  # type: ignore[list-item]
    with pytest.raises(BankIndexError) as not_thresholds:
        BankIndex.build(SMALL_BANK, {"centre": {"pdq_max": 10}})  # type: ignore[dict-item]
    assert (not_item.value.reason, not_thresholds.value.reason) == ("item:type", "thresholds:type")


def test_version_depends_on_content_not_order() -> None:
    # GIVEN the same items in two orders, one more item, and other thresholds
    base = BankIndex.build(SMALL_BANK)
    shuffled = BankIndex.build(SMALL_BANK[::-1])
    extra = BankIndex.build([*SMALL_BANK, pdq_item("extra", "0f" * 32)])
    other_thresholds = BankIndex.build(SMALL_BANK, {"centre": BankThresholds(pdq_max=25)})

    # THEN only the content and the thresholds change the version
    assert base.version == shuffled.version
    assert len({base.version, extra.version, other_thresholds.version}) == 3
    assert len(base.version) == 64


# ---------------------------------------------------------------------------------------------------------
# Snapshot round trip and corruption


def test_snapshot_round_trips() -> None:
    # GIVEN an index with thresholds, exact items and a rejected item
    thresholds = {"centre": BankThresholds(pdq_max=28, pdq_strict=18)}
    items = [
        *SMALL_BANK,
        BankItem("file", "centre", "md5", "c" * 32, case_ref="R-file"),
        pdq_item("zeros", "0" * 64),
    ]
    index = BankIndex.build(items, thresholds)

    # WHEN it is written and read back
    loaded = BankIndex.from_bytes(index.to_bytes())

    # THEN it is the same index: version, size, thresholds, rejects and answers
    assert (loaded.version, len(loaded), loaded.thresholds, loaded.rejected) == (
        index.version,
        len(index),
        thresholds,
        [("zeros", "hash:degenerate")],
    )
    query = SMALL_BANK[10].hash_hex
    assert loaded.nearest("pdq", query, 40) == index.nearest("pdq", query, 40)
    assert loaded.nearest("md5", "C" * 32, 0)[0].case_ref == "R-file"


def test_snapshot_holds_no_pickles() -> None:
    # GIVEN a snapshot
    with zipfile.ZipFile(io.BytesIO(BankIndex.build(SMALL_BANK).to_bytes())) as archive:
        names = archive.namelist()
        # THEN every member is a plain numpy array that loads without pickle
        for name in names:
            np.load(io.BytesIO(archive.read(name)), allow_pickle=False)
    assert "header.npy" in names


def rewrite_snapshot(data: bytes, change: dict[str, np.ndarray]) -> bytes:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays.update(change)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def header_bytes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), dtype=np.uint8).copy()


def test_corrupt_snapshots_are_refused_with_a_reason() -> None:
    # GIVEN a good snapshot and damaged copies of it
    good = BankIndex.build(SMALL_BANK).to_bytes()
    with np.load(io.BytesIO(good), allow_pickle=False) as archive:
        header = bytes(archive["header"]).decode()
        packed = archive["pdq.packed"].copy()
    packed[3, 1] ^= np.uint64(1)
    damaged = {
        "empty": (b"", "snapshot:corrupt"),
        "random": (
            np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
            "snapshot:corrupt",
        ),
        "truncated": (good[: len(good) // 2], "snapshot:corrupt"),
        "byte-flipped": (good[:200] + bytes([good[200] ^ 0xFF]) + good[201:], "snapshot:corrupt"),
        "other-format": (
            rewrite_snapshot(good, {"header": header_bytes(header.replace("takedown-bank-index", "other"))}),
            "snapshot:format",
        ),
        "newer-version": (
            rewrite_snapshot(
                good,
                {
                    "header": header_bytes(
                        header.replace(f'"format_version": {FORMAT_VERSION}', '"format_version": 99')
                    )
                },
            ),
            "snapshot:version",
        ),
        "altered-hash": (rewrite_snapshot(good, {"pdq.packed": packed}), "snapshot:digest"),
        "wrong-dtype": (
            rewrite_snapshot(good, {"quality": np.zeros(80, dtype=np.float64)}),
            "snapshot:corrupt",
        ),
        "missing-array": (rewrite_snapshot(good, {"extra": np.zeros(1)}), "snapshot:corrupt"),
        "codes-out-of-range": (
            rewrite_snapshot(good, {"bank.codes": np.full(80, 7, dtype=np.uint32)}),
            "snapshot:corrupt",
        ),
        "header-not-json": (
            rewrite_snapshot(good, {"header": header_bytes("{not json")}),
            "snapshot:corrupt",
        ),
    }

    # WHEN each is loaded, THEN it is refused with the reason for its damage
    for name, (data, reason) in damaged.items():
        with pytest.raises(BankIndexError) as refused:
            BankIndex.from_bytes(data)
        assert refused.value.reason == reason, name


# ---------------------------------------------------------------------------------------------------------
# Search


def brute_force(
    items: list[BankItem], algorithm: str, query: str, max_distance: int
) -> list[tuple[str, int]]:
    chosen = [item for item in items if item.algorithm == algorithm]
    bits = len(query) * 4
    distances = hamming_distances(
        pack_hex_hashes([item.hash_hex for item in chosen], bits), pack_hex_hashes([query], bits)[0]
    )
    found = [(item.item_id, int(d)) for item, d in zip(chosen, distances, strict=True) if d <= max_distance]
    return sorted(found, key=lambda pair: (pair[1], pair[0]))


@pytest.mark.parametrize("bank_size", [50, 3000], ids=["scanned", "probed"])
@pytest.mark.parametrize(
    ("algorithm", "max_distance"), [("pdq", 31), ("pdq", 40), ("pdq", 70), ("phash", 10), ("phash", 16)]
)
def test_nearest_finds_exactly_what_a_brute_force_scan_finds(
    bank_size: int, algorithm: str, max_distance: int
) -> None:
    # GIVEN a random bank (small: scanned; large: searched by multi-index probing) and queries planted
    # at distances around the threshold from some of its hashes
    items = random_bank(bank_size)
    index = BankIndex.build(items)
    rng = np.random.default_rng(bank_size + max_distance)
    sources = [item for item in items if item.algorithm == algorithm][:: max(1, bank_size // 10)]
    for source, flips in zip(
        sources, [0, 1, max_distance - 1, max_distance, max_distance + 1] * 4, strict=False
    ):
        query = flip_bits(source.hash_hex, flips, rng)

        # WHEN the index is asked for everything within the distance
        found = [(hit.bank_item_id, hit.distance) for hit in index.nearest(algorithm, query, max_distance)]

        # THEN it is exactly the brute-force answer, nearest first
        assert found == brute_force(items, algorithm, query, max_distance)
        assert (source.item_id, flips) in found or flips > max_distance


def test_nearest_evidence_names_the_item_and_the_variant() -> None:
    item = SMALL_BANK[6]
    [evidence] = [
        hit for hit in BankIndex.build(SMALL_BANK).nearest("pdq", item.hash_hex.upper(), 0, query_quality=77)
    ]
    assert (evidence.bank_item_id, evidence.group_id, evidence.case_ref, evidence.variant) == (
        item.item_id,
        item.group_id,
        item.case_ref,
        f"bank:{item.variant}",
    )
    assert (evidence.distance, evidence.threshold, evidence.quality, evidence.rule) == (0, 0, 77, "")
    assert evidence.bank_hash == evidence.query_hash == item.hash_hex


@pytest.mark.parametrize(
    ("algorithm", "query", "distance", "reason"),
    [
        ("sha1", "ab" * 20, 0, "query:algorithm"),
        ("pdq", "ab" * 31, 31, "query:hash"),
        ("phash", "xyz", 10, "query:hash"),
        ("pdq", "ab" * 32, -1, "query:distance"),
    ],
)
def test_malformed_queries_are_refused(algorithm: str, query: str, distance: int, reason: str) -> None:
    with pytest.raises(BankIndexError) as refused:
        BankIndex.build(SMALL_BANK).nearest(algorithm, query, distance)
    assert refused.value.reason == reason


def test_empty_index_answers_nothing() -> None:
    index = BankIndex.build([])
    fingerprint = fingerprint_image(make_scene(4))
    assert (len(index), index.match_fingerprint(fingerprint), index.nearest("pdq", fingerprint.pdq, 64)) == (
        0,
        [],
        [],
    )
    assert BankIndex.from_bytes(index.to_bytes()).version == index.version


def test_match_fingerprint_finds_the_file_by_its_digests() -> None:
    # GIVEN a bank holding only the digests of a file
    fingerprint = fingerprint_image(make_scene(5), sha256="d" * 64, md5="e" * 32)
    index = BankIndex.build(
        [
            BankItem("by-sha", "centre", "sha256", "D" * 64, group_id="G"),
            BankItem("by-md5", "centre", "md5", "e" * 32),
        ]
    )

    # WHEN the file's fingerprint is matched
    fused = index.match_fingerprint(fingerprint)

    # THEN both digests are exact candidates
    assert [(hit.bank_item_id, hit.rule) for hit in fused] == [("by-sha", "exact"), ("by-md5", "exact")]


def test_match_fingerprint_refuses_other_objects() -> None:
    with pytest.raises(BankIndexError) as refused:
        BankIndex.build(SMALL_BANK).match_fingerprint("not a fingerprint")  # type: ignore[arg-type]
    assert refused.value.reason == "query:type"


def test_fingerprint_without_orientations_is_matched_as_given() -> None:
    # GIVEN a fingerprint built by hand from single hashes (no dihedral or band hashes)
    item = SMALL_BANK[0]
    phash = SMALL_BANK[1]
    fingerprint = ImageFingerprint("", "", item.hash_hex, 90, {}, phash.hash_hex, 10, 10)

    # THEN it matches on its plain hashes
    fused = BankIndex.build(SMALL_BANK).match_fingerprint(fingerprint)
    assert {hit.rule for hit in fused} == {"pdq-strict", "pdq+phash"}
    assert all(hit.variant.startswith("query:original") for hit in fused)
