"""A read-only snapshot of the hash bank, built once and searched many times.

The bank (DynamoDB) is turned into one snapshot (S3), and every warm hashing function loads it once and
answers each image from memory. The snapshot holds only what matching needs: packed hash arrays and the
item metadata a reviewer must see, as plain numpy arrays in an ``.npz`` (no pickle) with a JSON header.

Invalid items are skipped and reported, not fatal: a bank of a million hashes must not stop matching
because one imported hash is all zeros (HMA's index build once crashed on exactly that). Every skipped
item is listed in :attr:`BankIndex.rejected` with a reason, and the snapshot carries that list, so the
build step can log and alert on it; ``build(..., strict=True)`` raises instead, for callers (such as a
registration API) that must refuse bad input outright.

Search is exact and vectorised. With many rows, PDQ and pHash are searched with multi-index hashing:
each hash is cut into 16-bit pieces, and a hash within ``r`` bits of the query must have some piece
within ``r // pieces`` bits of the query's piece (pigeonhole), so only the rows sharing a near piece
are compared in full. For PDQ at 31 bits that is a radius of 1 in 16 pieces: 17 bucket probes per
piece instead of a scan. Wider searches fall back to a chunked scan; both give the same answer.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from takedown.hashing.fusion import (
    BAND_QUERY_PREFIX,
    BANK_PREFIX,
    EXACT_ALGORITHMS,
    QUERY_PREFIX,
    BankThresholds,
    fuse,
    thresholds_for,
)
from takedown.hashing.hamming import HashFormatError, pack_hex_hashes, parse_hex_hash
from takedown.hashing.pdq import DEFAULT_MIN_QUALITY, DIHEDRAL_TRANSPOSES, MAX_QUALITY
from takedown.model import BankItem, MatchEvidence

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from numpy.typing import NDArray

    from takedown.hashing.fingerprint import ImageFingerprint

FORMAT_NAME: Final = "takedown-bank-index"
FORMAT_VERSION: Final = 1

# Bits per hash of each algorithm. Perceptual hashes are searched by distance, exact ones by equality.
HASH_BITS: Final[dict[str, int]] = {"pdq": 256, "phash": 64, "sha256": 256, "md5": 128}
PERCEPTUAL_ALGORITHMS: Final = ("pdq", "phash")

# The BankItem fields kept as string columns; each is also a field of _ItemTable, built and loaded by this list.
_STRING_COLUMNS: Final = (
    "item_id",
    "bank",
    "algorithm",
    "case_ref",
    "group_id",
    "variant",
    "media_kind",
    "added_at",
)
_NO_QUALITY: Final = -1
_WORD_BITS: Final = 64
_PIECE_BITS: Final = 16
_PIECE_VALUES: Final = 1 << _PIECE_BITS
# Under this many rows a scan is as quick as probing, and the probe tables are not worth their memory.
_PROBE_MIN_ROWS: Final = 2048
_MAX_PIECE_RADIUS: Final = 2  # 137 probes per piece; wider searches scan
_SCAN_CHUNK_ROWS: Final = 16384


class BankIndexError(ValueError):
    """The index cannot be built, loaded or queried as asked.

    ``reason``: ``items:invalid`` (``strict`` build; ``rejected`` lists them), ``item:type``,
    ``thresholds:type``, ``snapshot:corrupt``, ``snapshot:format``, ``snapshot:version``,
    ``snapshot:digest``, ``query:algorithm``, ``query:hash``, ``query:distance``, ``query:type``.
    """

    def __init__(self, reason: str, message: str, rejected: list[tuple[str, str]] | None = None) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.rejected = rejected or []


class BankIndex:
    """Enabled bank items, searchable by exact digest, PDQ and pHash.

    Build one with :meth:`build` or load one with :meth:`from_bytes`; the constructor is internal.

    Examples
    --------
    >>> from takedown.model import BankItem
    >>> items = [BankItem("a", "centre", "pdq", "0f" * 32, quality=90, group_id="g"),
    ...          BankItem("b", "centre", "pdq", "0" * 64, quality=90)]
    >>> index = BankIndex.build(items)
    >>> len(index), index.rejected
    (1, [('b', 'hash:degenerate')])
    >>> [hit.bank_item_id for hit in index.nearest("pdq", "0f" * 31 + "0e", max_distance=2)]
    ['a']
    >>> BankIndex.from_bytes(index.to_bytes()).version == index.version
    True
    """

    def __init__(
        self,
        table: _ItemTable,
        thresholds: Mapping[str, BankThresholds],
        rejected: list[tuple[str, str]],
    ) -> None:
        self._table = table
        self._thresholds = dict(thresholds)
        self.rejected: list[tuple[str, str]] = list(rejected)
        self.version: str = _content_digest(table, self._thresholds)
        self._searchers = {
            algorithm: _HammingSearcher(table.hashes[algorithm]) for algorithm in PERCEPTUAL_ALGORITHMS
        }
        self._exact = _exact_lookup(table)
        self._phash_rows_by_group = _rows_by_group(table, "phash")
        banks = {table.bank.value(code) for code in np.unique(table.bank.codes).tolist()}
        limits = [thresholds_for(bank, self._thresholds) for bank in banks]
        self._pdq_radius = max((max(limit.pdq_max, limit.pdq_strict) for limit in limits), default=0)

    # ------------------------------------------------------------------------------------------------------
    # Building and storing

    @classmethod
    def build(
        cls,
        items: Iterable[BankItem],
        thresholds: Mapping[str, BankThresholds] | None = None,
        *,
        strict: bool = False,
    ) -> BankIndex:
        """Index the enabled items; disabled items are left out.

        Invalid items (unknown algorithm, malformed hex, all-0/all-1 perceptual hash, PDQ quality under
        50 or outside 0..100, empty or conflicting ``item_id``, empty bank) are skipped and listed in
        :attr:`rejected` as ``(item_id, reason)``; with ``strict=True`` they raise
        :class:`BankIndexError` (``items:invalid``) instead. ``thresholds`` maps bank names to their
        :class:`~takedown.hashing.fusion.BankThresholds`; banks without an entry use the defaults.
        """
        limits = _checked_thresholds(thresholds)
        accepted, rejected = _accept(items)
        if strict and rejected:
            listed = ", ".join(f"{item_id} ({reason})" for item_id, reason in rejected)
            raise BankIndexError("items:invalid", f"{len(rejected)} invalid item(s): {listed}", rejected)
        return cls(_ItemTable.from_items(accepted), limits, rejected)

    def to_bytes(self) -> bytes:
        """The snapshot: an ``.npz`` of plain arrays (hashes, metadata columns) and a JSON header."""
        header = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "version": self.version,
            "count": len(self),
            "thresholds": {
                bank: dataclasses.asdict(limit) for bank, limit in sorted(self._thresholds.items())
            },
            "rejected": [list(entry) for entry in self.rejected],
        }
        arrays = {"header": _text_array(json.dumps(header, sort_keys=True)), **self._table.arrays()}
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> BankIndex:
        """Load a snapshot written by :meth:`to_bytes`, checking its format, shape and content digest.

        Anything else (truncated, altered, another format or format version) raises
        :class:`BankIndexError`.
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise BankIndexError("snapshot:corrupt", f"expected bytes, got {type(data).__name__}")
        try:
            with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            header = json.loads(_array_text(arrays.pop("header")))
        except BankIndexError:
            raise
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as error:
            raise BankIndexError("snapshot:corrupt", f"not a readable index snapshot: {error}") from error
        _check_header(header)
        table = _ItemTable.from_arrays(arrays, count=header["count"])
        try:
            thresholds = {bank: BankThresholds(**values) for bank, values in header["thresholds"].items()}
            rejected = [(str(item_id), str(reason)) for item_id, reason in header["rejected"]]
        except (TypeError, ValueError, AttributeError) as error:
            raise BankIndexError("snapshot:corrupt", f"bad header entries: {error}") from error
        index = cls(table, thresholds, rejected)
        if index.version != header["version"]:
            raise BankIndexError(
                "snapshot:digest",
                f"content digest {index.version} does not match the header's {header['version']}",
            )
        return index

    # ------------------------------------------------------------------------------------------------------
    # Inspecting

    def __len__(self) -> int:
        return self._table.count

    @property
    def thresholds(self) -> dict[str, BankThresholds]:
        """The per-bank thresholds the index matches with (a copy)."""
        return dict(self._thresholds)

    @property
    def pdq_search_radius(self) -> int:
        """The widest PDQ distance any bank's thresholds accept: raw searches need go no further."""
        return self._pdq_radius

    def has_item(self, item_id: str) -> bool:
        """Whether ``item_id`` is in the index (enabled and valid when the index was built)."""
        return item_id in self._group_stats[0]

    def group_size(self, group_id: str, algorithm: str) -> int:
        """How many items of ``algorithm`` the group (a registered original: its variants, or a video's frames)
        holds; items without a group are their own group."""
        return self._group_stats[1].get((group_id, algorithm), 0)

    def group_kind(self, group_id: str) -> str:
        """``"video"`` when the group's items are frames of a video, else ``"image"``."""
        return self._group_stats[2].get(group_id, "image")

    @functools.cached_property
    def _group_stats(self) -> tuple[frozenset[str], dict[tuple[str, str], int], dict[str, str]]:
        table = self._table

        def rows(column: _StringColumn) -> list[str]:
            vocabulary = column.values()
            return [vocabulary[code] for code in column.codes.tolist()]

        item_ids = rows(table.item_id)
        groups = [g or i for g, i in zip(rows(table.group_id), item_ids, strict=True)]
        sizes: dict[tuple[str, str], int] = {}
        kinds: dict[str, str] = {}
        for group, algorithm, kind in zip(groups, rows(table.algorithm), rows(table.media_kind), strict=True):
            sizes[(group, algorithm)] = sizes.get((group, algorithm), 0) + 1
            if kind == "video":
                kinds[group] = "video"
        return frozenset(item_ids), sizes, kinds

    # ------------------------------------------------------------------------------------------------------
    # Matching

    def match_fingerprint(self, fp: ImageFingerprint) -> list[MatchEvidence]:
        """Candidate matches for one image: fused evidence (see :func:`~takedown.hashing.fusion.fuse`),
        nearest group first.

        All 8 orientations of the query's PDQ are searched, and the 4 orientations of its middle band
        (``variant`` says which matched, as ``query:<orientation> bank:<variant>``, a band orientation
        written ``band:<orientation>``); pHash is compared only within the groups PDQ found near, in
        the same orientations; SHA-256 and MD5 are looked up exactly.
        """
        # Imported here: the video hashing function loads this index without the imaging layer (imagehash).
        from takedown.hashing.fingerprint import ImageFingerprint

        if not isinstance(fp, ImageFingerprint):
            raise BankIndexError("query:type", f"expected an ImageFingerprint, got {type(fp).__name__}")
        pdq_queries, qualities = _pdq_queries(fp)
        pdq_hits = [
            hit
            for hit in self._search("pdq", pdq_queries, self._pdq_radius)
            if hit.distance <= self._pdq_limit(self._bank_of(hit.row))
        ]
        phash_queries = _phash_queries(fp)
        phash_hits = self._phash_in_groups(pdq_hits, phash_queries)
        exact = self._exact_hits("sha256", fp.sha256) + self._exact_hits("md5", fp.md5)
        return fuse(
            [self._evidence(hit, pdq_queries, quality=qualities[hit.orientation]) for hit in pdq_hits],
            [self._evidence(hit, phash_queries, quality=None) for hit in phash_hits],
            exact,
            self._thresholds,
        )

    def nearest(
        self, algorithm: str, hex_hash: str, max_distance: int, *, query_quality: int | None = None
    ) -> list[MatchEvidence]:
        """Raw hits for one hash, no fusion: every item of ``algorithm`` within ``max_distance`` bits,
        nearest first (ties by item id). ``sha256``/``md5`` match by equality (distance 0).

        ``query_quality`` (the query's PDQ quality, if known) is copied into PDQ evidence, where
        :func:`~takedown.hashing.fusion.fuse` reads it. Each evidence's ``threshold`` is
        ``max_distance``.
        """
        if algorithm not in HASH_BITS:
            raise BankIndexError(
                "query:algorithm", f"unknown algorithm {algorithm!r}; known: {sorted(HASH_BITS)}"
            )
        if isinstance(max_distance, bool) or not isinstance(max_distance, int) or max_distance < 0:
            raise BankIndexError("query:distance", f"max_distance must be an int >= 0, got {max_distance!r}")
        try:
            parse_hex_hash(hex_hash, HASH_BITS[algorithm])
        except HashFormatError as error:
            raise BankIndexError("query:hash", f"{algorithm} query: {error}") from error
        if algorithm in EXACT_ALGORITHMS:
            return self._exact_hits(algorithm, hex_hash)
        queries = {"": hex_hash.lower()}
        quality = query_quality if algorithm == "pdq" else None
        evidence = [
            dataclasses.replace(self._evidence(hit, queries, quality=quality), threshold=max_distance)
            for hit in self._search(algorithm, queries, max_distance)
        ]
        return sorted(evidence, key=lambda hit: (hit.distance, hit.bank_item_id))

    # ------------------------------------------------------------------------------------------------------

    def _pdq_limit(self, bank: str) -> int:
        limits = thresholds_for(bank, self._thresholds)
        return max(limits.pdq_max, limits.pdq_strict)

    def _bank_of(self, row: int) -> str:
        return self._table.bank.value(int(self._table.bank.codes[row]))

    def _search(self, algorithm: str, queries: dict[str, str], radius: int) -> list[_Hit]:
        names = list(queries)
        packed = pack_hex_hashes([queries[name] for name in names], HASH_BITS[algorithm])
        query_index, positions, distances = self._searchers[algorithm].within(packed, radius)
        rows = self._table.hashes[algorithm].rows
        return [
            _Hit(algorithm, names[query], position, int(rows[position]), distance)
            for query, position, distance in zip(
                query_index.tolist(), positions.tolist(), distances.tolist(), strict=True
            )
        ]

    def _phash_in_groups(self, pdq_hits: list[_Hit], queries: dict[str, str]) -> list[_Hit]:
        """pHash hits within their bank's pHash threshold, among the groups of the PDQ hits, in the
        orientations those PDQ hits were found in."""
        orientations = {hit.orientation for hit in pdq_hits}
        names = [name for name in queries if name in orientations]
        if not names:
            return []
        groups = np.unique(self._table.group[[hit.row for hit in pdq_hits]])
        positions = self._phash_rows_by_group.positions_of(groups)
        if positions.size == 0:
            return []
        hashes = self._table.hashes["phash"]
        packed_queries = pack_hex_hashes([queries[name] for name in names], HASH_BITS["phash"])
        distances = _distances(hashes.packed[positions], packed_queries)  # (orientations, positions)
        hits = []
        for query, column in zip(*np.nonzero(distances <= HASH_BITS["phash"]), strict=True):
            position = int(positions[column])
            row = int(hashes.rows[position])
            distance = int(distances[query, column])
            if distance <= thresholds_for(self._bank_of(row), self._thresholds).phash_max:
                hits.append(_Hit("phash", names[int(query)], position, row, distance))
        return hits

    def _exact_hits(self, algorithm: str, hex_hash: str) -> list[MatchEvidence]:
        if not hex_hash:
            return []
        hex_hash = hex_hash.lower()
        return [
            self._item_evidence(
                algorithm, row, distance=0, threshold=0, query_hash=hex_hash, bank_hash=hex_hash
            )
            for row in self._exact.get((algorithm, hex_hash), [])
        ]

    def _evidence(self, hit: _Hit, queries: dict[str, str], *, quality: int | None) -> MatchEvidence:
        """Evidence for a perceptual hit; ``threshold`` is the bank's for the algorithm (fuse resets it
        to the threshold of the rule that decided)."""
        limits = thresholds_for(self._bank_of(hit.row), self._thresholds)
        evidence = self._item_evidence(
            hit.algorithm,
            hit.row,
            distance=hit.distance,
            threshold=limits.pdq_max if hit.algorithm == "pdq" else limits.phash_max,
            query_hash=queries[hit.orientation],
            bank_hash=_row_hex(self._table.hashes[hit.algorithm].packed[hit.position]),
        )
        variant = " ".join(
            filter(None, [f"{QUERY_PREFIX}{hit.orientation}" if hit.orientation else "", evidence.variant])
        )
        return dataclasses.replace(evidence, quality=quality, variant=variant)

    def _item_evidence(
        self, algorithm: str, row: int, *, distance: int, threshold: int, query_hash: str, bank_hash: str
    ) -> MatchEvidence:
        table = self._table
        bank_variant = table.variant.value(int(table.variant.codes[row]))
        return MatchEvidence(
            algorithm=algorithm,
            distance=distance,
            threshold=threshold,
            bank=self._bank_of(row),
            bank_item_id=table.item_id.value(int(table.item_id.codes[row])),
            case_ref=table.case_ref.value(int(table.case_ref.codes[row])),
            query_hash=query_hash,
            bank_hash=bank_hash,
            variant=f"{BANK_PREFIX}{bank_variant}" if bank_variant else "",
            group_id=table.group_id.value(int(table.group_id.codes[row])),
        )


@dataclass(frozen=True)
class _Hit:
    """One raw perceptual hit: which query orientation, which position in the algorithm's hash arrays,
    which table row, how far."""

    algorithm: str
    orientation: str
    position: int
    row: int
    distance: int


# ----------------------------------------------------------------------------------------------------------
# Items in


def _checked_thresholds(thresholds: Mapping[str, BankThresholds] | None) -> dict[str, BankThresholds]:
    checked: dict[str, BankThresholds] = {}
    for bank, limit in (thresholds or {}).items():
        if not isinstance(bank, str) or not isinstance(limit, BankThresholds):
            raise BankIndexError(
                "thresholds:type", f"expected str -> BankThresholds, got {bank!r}: {limit!r}"
            )
        checked[bank] = limit
    return checked


def _accept(items: Iterable[BankItem]) -> tuple[list[BankItem], list[tuple[str, str]]]:
    """Split enabled items into valid ones (normalised, sorted by id) and ``(item_id, reason)`` rejects."""
    by_id: dict[str, list[BankItem]] = {}
    rejected: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, BankItem):
            raise BankIndexError("item:type", f"expected BankItem, got {type(item).__name__}")
        if not item.enabled:
            continue
        reason = _invalid_reason(item)
        if reason:
            rejected.append((item.item_id, reason))
        else:
            by_id.setdefault(item.item_id, []).append(_normalised(item))
    accepted = []
    for item_id in sorted(by_id):
        versions = by_id[item_id]
        if any(version != versions[0] for version in versions[1:]):
            # Keeping either would depend on input order; neither is trustworthy.
            rejected.append((item_id, "item_id:duplicate"))
        else:
            accepted.append(versions[0])
    return accepted, sorted(rejected)


def _invalid_reason(item: BankItem) -> str:
    """Why ``item`` cannot be indexed, or ``""``."""
    return _identity_problem(item) or _hash_problem(item) or _quality_problem(item)


def _identity_problem(item: BankItem) -> str:
    for name in _STRING_COLUMNS:
        if not isinstance(getattr(item, name), str):
            return f"{name}:type"
    if not item.item_id:
        return "item_id:empty"
    if not item.bank:
        return "bank:empty"
    return ""


def _hash_problem(item: BankItem) -> str:
    bits = HASH_BITS.get(item.algorithm)
    if bits is None:
        return "algorithm:unknown"
    try:
        raw = parse_hex_hash(item.hash_hex, bits)
    except HashFormatError as error:
        return f"hash:{error.reason}"
    if item.algorithm in PERCEPTUAL_ALGORITHMS and raw in (bytes(len(raw)), b"\xff" * len(raw)):
        return "hash:degenerate"
    return ""


def _quality_problem(item: BankItem) -> str:
    quality = item.quality
    if quality is None:
        return ""
    if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= MAX_QUALITY:
        return "quality:range"
    if item.algorithm == "pdq" and quality < DEFAULT_MIN_QUALITY:
        return "quality:low"
    return ""


def _normalised(item: BankItem) -> BankItem:
    lower = item.hash_hex.lower()
    return item if lower == item.hash_hex else dataclasses.replace(item, hash_hex=lower)


# ----------------------------------------------------------------------------------------------------------
# Columns


@dataclass(frozen=True)
class _StringColumn:
    """Strings stored as a dictionary: each distinct value once (UTF-8 blob + offsets), one code per row."""

    blob: NDArray[np.uint8]
    offsets: NDArray[np.int64]
    codes: NDArray[np.uint32]

    @classmethod
    def from_values(cls, values: Iterable[str]) -> _StringColumn:
        distinct: dict[str, int] = {}
        codes = [distinct.setdefault(value, len(distinct)) for value in values]
        encoded = [value.encode("utf-8") for value in distinct]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(value) for value in encoded], dtype=np.int64)
        blob = np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()
        return cls(blob=blob, offsets=offsets, codes=np.array(codes, dtype=np.uint32))

    def value(self, code: int) -> str:
        return bytes(self.blob[self.offsets[code] : self.offsets[code + 1]]).decode("utf-8")

    def values(self) -> list[str]:
        return [self.value(code) for code in range(len(self.offsets) - 1)]

    def check(self, name: str, count: int) -> None:
        if (
            self.codes.shape != (count,)
            or self.offsets.ndim != 1
            or self.offsets.size < 1
            or self.blob.ndim != 1
        ):
            raise BankIndexError("snapshot:corrupt", f"column {name} has the wrong shape")
        if self.offsets[0] != 0 or np.any(np.diff(self.offsets) < 0) or self.offsets[-1] != self.blob.size:
            raise BankIndexError("snapshot:corrupt", f"column {name} has inconsistent offsets")
        if count and int(self.codes.max()) >= self.offsets.size - 1:
            raise BankIndexError("snapshot:corrupt", f"column {name} has codes out of range")
        try:
            bytes(self.blob).decode("utf-8")
        except UnicodeDecodeError as error:
            raise BankIndexError("snapshot:corrupt", f"column {name} is not UTF-8") from error


@dataclass(frozen=True)
class _PackedHashes:
    """The items of one perceptual algorithm: their table rows and hashes as ``(n, words)`` uint64."""

    rows: NDArray[np.int64]
    packed: NDArray[np.uint64]


@dataclass(frozen=True)
class _ItemTable:
    """The accepted items as columns, in item-id order (so the same items always give the same arrays)."""

    count: int
    item_id: _StringColumn
    bank: _StringColumn
    algorithm: _StringColumn
    case_ref: _StringColumn
    group_id: _StringColumn
    variant: _StringColumn
    media_kind: _StringColumn
    added_at: _StringColumn
    quality: NDArray[np.int16]
    group: NDArray[np.uint32]  # one code per distinct (bank, group_id or item_id)
    hashes: dict[str, _PackedHashes]
    exact_rows: NDArray[np.int64]
    exact_hex: _StringColumn

    @classmethod
    def from_items(cls, items: list[BankItem]) -> _ItemTable:
        columns = {
            name: _StringColumn.from_values(getattr(item, name) for item in items) for name in _STRING_COLUMNS
        }
        groups: dict[tuple[str, str], int] = {}
        group = [groups.setdefault((item.bank, item.group_id or item.item_id), len(groups)) for item in items]
        hashes = {}
        for algorithm in PERCEPTUAL_ALGORITHMS:
            rows = [row for row, item in enumerate(items) if item.algorithm == algorithm]
            packed = pack_hex_hashes([items[row].hash_hex for row in rows], HASH_BITS[algorithm])
            hashes[algorithm] = _PackedHashes(rows=np.array(rows, dtype=np.int64), packed=packed)
        exact_rows = [row for row, item in enumerate(items) if item.algorithm in EXACT_ALGORITHMS]
        return cls(
            count=len(items),
            **columns,
            quality=np.array(
                [_NO_QUALITY if item.quality is None else item.quality for item in items], dtype=np.int16
            ),
            group=np.array(group, dtype=np.uint32),
            hashes=hashes,
            exact_rows=np.array(exact_rows, dtype=np.int64),
            exact_hex=_StringColumn.from_values(items[row].hash_hex for row in exact_rows),
        )

    def arrays(self) -> dict[str, NDArray[Any]]:
        arrays: dict[str, NDArray[Any]] = {}
        for name in _STRING_COLUMNS:
            arrays.update(_column_arrays(name, getattr(self, name)))
        arrays.update(_column_arrays("exact_hex", self.exact_hex))
        arrays["quality"] = self.quality
        arrays["group"] = self.group
        arrays["exact_rows"] = self.exact_rows
        for algorithm, hashes in self.hashes.items():
            arrays[f"{algorithm}.rows"] = hashes.rows
            arrays[f"{algorithm}.packed"] = hashes.packed
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, NDArray[Any]], count: object) -> _ItemTable:
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise BankIndexError("snapshot:corrupt", f"bad item count {count!r}")
        expected = {
            f"{name}.{part}"
            for name in (*_STRING_COLUMNS, "exact_hex")
            for part in ("blob", "offsets", "codes")
        }
        expected |= {"quality", "group", "exact_rows"}
        expected |= {
            f"{algorithm}.{part}" for algorithm in PERCEPTUAL_ALGORITHMS for part in ("rows", "packed")
        }
        if set(arrays) != expected:
            raise BankIndexError("snapshot:corrupt", f"unexpected arrays: {sorted(set(arrays) ^ expected)}")
        dtypes: dict[str, type[np.generic]] = {
            "quality": np.int16,
            "group": np.uint32,
            "exact_rows": np.int64,
        }
        for name, dtype in dtypes.items():
            _require_array(arrays[name], name, dtype, ndim=1)
        columns = {name: _column_from_arrays(name, arrays, count) for name in _STRING_COLUMNS}
        hashes = {}
        for algorithm in PERCEPTUAL_ALGORITHMS:
            rows = _require_array(arrays[f"{algorithm}.rows"], f"{algorithm}.rows", np.int64, ndim=1)
            packed = _require_array(arrays[f"{algorithm}.packed"], f"{algorithm}.packed", np.uint64, ndim=2)
            if packed.shape != (rows.size, HASH_BITS[algorithm] // _WORD_BITS):
                raise BankIndexError("snapshot:corrupt", f"{algorithm} hashes have shape {packed.shape}")
            hashes[algorithm] = _PackedHashes(rows=rows, packed=packed)
        exact_rows = arrays["exact_rows"]
        table = cls(
            count=count,
            **columns,
            quality=arrays["quality"],
            group=arrays["group"],
            hashes=hashes,
            exact_rows=exact_rows,
            exact_hex=_column_from_arrays("exact_hex", arrays, exact_rows.size),
        )
        table.check()
        return table

    def check(self) -> None:
        """Every row belongs to exactly one algorithm's arrays, and the algorithm column agrees."""
        if self.quality.shape != (self.count,) or self.group.shape != (self.count,):
            raise BankIndexError("snapshot:corrupt", "quality or group column has the wrong length")
        owner = np.full(self.count, -1, dtype=np.int64)
        algorithm_names = self.algorithm.values()
        row_sets = [(name, hashes.rows) for name, hashes in self.hashes.items()] + [
            ("exact", self.exact_rows)
        ]
        for name, rows in row_sets:
            if rows.size and (rows.min() < 0 or rows.max() >= self.count or np.any(owner[rows] != -1)):
                raise BankIndexError("snapshot:corrupt", f"{name} rows are out of range or overlap")
            owner[rows] = 0
            for row_algorithm in {
                algorithm_names[code] for code in np.unique(self.algorithm.codes[rows]).tolist()
            }:
                if row_algorithm != name and not (name == "exact" and row_algorithm in EXACT_ALGORITHMS):
                    raise BankIndexError("snapshot:corrupt", f"{name} rows hold {row_algorithm} items")
        if np.any(owner == -1):
            raise BankIndexError("snapshot:corrupt", "some items have no hash")


def _column_arrays(name: str, column: _StringColumn) -> dict[str, NDArray[Any]]:
    return {f"{name}.blob": column.blob, f"{name}.offsets": column.offsets, f"{name}.codes": column.codes}


def _column_from_arrays(name: str, arrays: dict[str, NDArray[Any]], count: int) -> _StringColumn:
    column = _StringColumn(
        blob=_require_array(arrays[f"{name}.blob"], f"{name}.blob", np.uint8, ndim=1),
        offsets=_require_array(arrays[f"{name}.offsets"], f"{name}.offsets", np.int64, ndim=1),
        codes=_require_array(arrays[f"{name}.codes"], f"{name}.codes", np.uint32, ndim=1),
    )
    column.check(name, count)
    return column


def _require_array(array: NDArray[Any], name: str, dtype: type[np.generic], ndim: int) -> NDArray[Any]:
    if array.dtype != dtype or array.ndim != ndim:
        raise BankIndexError("snapshot:corrupt", f"{name} is {array.dtype} with {array.ndim} dimension(s)")
    return array


def _check_header(header: object) -> None:
    if not isinstance(header, dict):
        raise BankIndexError("snapshot:corrupt", "the header is not an object")
    if header.get("format") != FORMAT_NAME:
        raise BankIndexError("snapshot:format", f"not a {FORMAT_NAME} snapshot: {header.get('format')!r}")
    if header.get("format_version") != FORMAT_VERSION:
        raise BankIndexError(
            "snapshot:version",
            f"format version {header.get('format_version')!r}; this code reads {FORMAT_VERSION}",
        )
    missing = {"version", "count", "thresholds", "rejected"} - set(header)
    if missing:
        raise BankIndexError("snapshot:corrupt", f"the header lacks {sorted(missing)}")
    if not isinstance(header["thresholds"], dict) or not isinstance(header["rejected"], list):
        raise BankIndexError("snapshot:corrupt", "the header's thresholds or rejected list is malformed")


def _content_digest(table: _ItemTable, thresholds: Mapping[str, BankThresholds]) -> str:
    """SHA-256 over the thresholds and every array, in a fixed order: equal for equal items."""
    digest = hashlib.sha256()
    settings = {bank: dataclasses.asdict(limit) for bank, limit in sorted(thresholds.items())}
    digest.update(
        json.dumps({"format_version": FORMAT_VERSION, "thresholds": settings}, sort_keys=True).encode()
    )
    for name, array in sorted(table.arrays().items()):
        digest.update(name.encode() + b"\0" + str(array.dtype).encode() + str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _text_array(text: str) -> NDArray[np.uint8]:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()


def _array_text(array: NDArray[Any]) -> str:
    if array.dtype != np.uint8 or array.ndim != 1:
        raise BankIndexError("snapshot:corrupt", "the header is not a byte array")
    return bytes(array).decode("utf-8")


def _exact_lookup(table: _ItemTable) -> dict[tuple[str, str], list[int]]:
    lookup: dict[tuple[str, str], list[int]] = {}
    hex_values = table.exact_hex.values()
    for position, row in enumerate(table.exact_rows.tolist()):
        algorithm = table.algorithm.value(int(table.algorithm.codes[row]))
        lookup.setdefault((algorithm, hex_values[int(table.exact_hex.codes[position])]), []).append(row)
    return lookup


@dataclass(frozen=True)
class _RowsByGroup:
    """Positions in one algorithm's hash arrays, sorted by group code, for lookups by group."""

    positions: NDArray[np.int64]
    groups: NDArray[np.uint32]

    def positions_of(self, groups: NDArray[np.uint32]) -> NDArray[np.int64]:
        starts = np.searchsorted(self.groups, groups, side="left")
        ends = np.searchsorted(self.groups, groups, side="right")
        if not np.any(ends > starts):
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([self.positions[start:end] for start, end in zip(starts, ends, strict=True)])


def _rows_by_group(table: _ItemTable, algorithm: str) -> _RowsByGroup:
    groups = table.group[table.hashes[algorithm].rows]
    order = np.argsort(groups, kind="stable")
    return _RowsByGroup(positions=order.astype(np.int64), groups=groups[order])


def _orientations(dihedral: dict[str, str], original: str) -> dict[str, str]:
    """The query hashes by orientation name, in the reference's order; just ``original`` without them."""
    if not dihedral:
        return {"original": original.lower()}
    return {name: dihedral[name].lower() for name in DIHEDRAL_TRANSPOSES if name in dihedral}


def _pdq_queries(fp: ImageFingerprint) -> tuple[dict[str, str], dict[str, int]]:
    """PDQ query hashes by orientation (band ones as ``band:<orientation>``) and each one's quality."""
    queries = _orientations(fp.pdq_dihedral, fp.pdq)
    qualities = dict.fromkeys(queries, fp.pdq_quality)
    if fp.band is not None:
        for name, hex_hash in _orientations(fp.band.pdq_dihedral, "").items():
            queries[f"{BAND_QUERY_PREFIX}{name}"] = hex_hash
            qualities[f"{BAND_QUERY_PREFIX}{name}"] = fp.band.pdq_quality
    return queries, qualities


def _phash_queries(fp: ImageFingerprint) -> dict[str, str]:
    queries = _orientations(fp.phash_dihedral, fp.phash)
    if fp.band is not None:
        for name, hex_hash in _orientations(fp.band.phash_dihedral, "").items():
            queries[f"{BAND_QUERY_PREFIX}{name}"] = hex_hash
    return queries


def _row_hex(words: NDArray[np.uint64]) -> str:
    return words.astype(">u8").tobytes().hex()


# ----------------------------------------------------------------------------------------------------------
# Hamming search


def _popcount(words: NDArray[np.uint64]) -> NDArray[np.uint8]:
    if hasattr(np, "bitwise_count"):
        counts: NDArray[np.uint8] = np.bitwise_count(words)
        return counts
    as_bytes = np.ascontiguousarray(words).view(np.uint8).reshape(*words.shape, 8)
    summed: NDArray[np.uint8] = np.unpackbits(as_bytes, axis=-1).sum(axis=-1, dtype=np.uint8)
    return summed


def _distances(packed: NDArray[np.uint64], queries: NDArray[np.uint64]) -> NDArray[np.int64]:
    """``(queries, rows)`` Hamming distances, one word at a time to keep temporaries small."""
    distances = np.zeros((queries.shape[0], packed.shape[0]), dtype=np.int64)
    for word in range(packed.shape[1]):
        distances += _popcount(queries[:, word, None] ^ packed[None, :, word])
    return distances


class _HammingSearcher:
    """Exact radius search over packed hashes: multi-index probing for large tables, a scan otherwise."""

    def __init__(self, hashes: _PackedHashes) -> None:
        self._packed = hashes.packed
        self._rows = hashes.packed.shape[0]
        self._pieces = hashes.packed.shape[1] * (_WORD_BITS // _PIECE_BITS)
        self._order: NDArray[np.int32] | None = None
        self._bounds: NDArray[np.int64] | None = None

    def _build_probe_tables(self) -> None:
        """Sort the rows by each piece (built on first use: a bank's pHash tables serve only raw
        ``nearest`` queries and may never be needed)."""
        pieces = _pieces(self._packed)  # (rows, pieces) uint16
        # (pieces, rows), C order so that one flat view serves every piece; int32 halves the memory.
        order = np.ascontiguousarray(np.argsort(pieces, axis=0, kind="stable").T, dtype=np.int32)
        bounds = np.zeros((self._pieces, _PIECE_VALUES + 1), dtype=np.int64)
        for piece in range(self._pieces):
            bounds[piece, 1:] = np.cumsum(np.bincount(pieces[:, piece], minlength=_PIECE_VALUES))
        self._order, self._bounds = order, bounds

    def within(
        self, queries: NDArray[np.uint64], radius: int
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """``(query index, row, distance)`` of every pair within ``radius`` bits, by query then row."""
        if self._rows == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        piece_radius = radius // self._pieces
        if self._rows < _PROBE_MIN_ROWS or piece_radius > _MAX_PIECE_RADIUS:
            return self._scan(queries, radius)
        if self._order is None:
            self._build_probe_tables()
        return self._probe(queries, radius, piece_radius)

    def _scan(
        self, queries: NDArray[np.uint64], radius: int
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        found_queries, found_rows, found_distances = [], [], []
        for start in range(0, self._rows, _SCAN_CHUNK_ROWS):
            distances = _distances(self._packed[start : start + _SCAN_CHUNK_ROWS], queries)
            query_index, offsets = np.nonzero(distances <= radius)
            found_queries.append(query_index)
            found_rows.append(offsets + start)
            found_distances.append(distances[query_index, offsets])
        return _sorted_hits(
            np.concatenate(found_queries), np.concatenate(found_rows), np.concatenate(found_distances)
        )

    def _probe(
        self, queries: NDArray[np.uint64], radius: int, piece_radius: int
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        assert self._order is not None and self._bounds is not None  # built with the searcher
        masks = _masks_within(piece_radius)  # (probes,)
        keys = (_pieces(queries)[:, :, None] ^ masks[None, None, :]).astype(
            np.int64
        )  # (queries, pieces, probes)
        piece_index = np.arange(self._pieces)[None, :, None]
        starts = self._bounds[piece_index, keys].ravel()
        lengths = self._bounds[piece_index, keys + 1].ravel() - starts
        total = int(lengths.sum())
        if total == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        # Ragged gather: the rows of every probed bucket, laid end to end.
        bucket_base = np.repeat(
            starts
            + (np.broadcast_to(piece_index, keys.shape).ravel() * self._rows)
            - np.cumsum(lengths)
            + lengths,
            lengths,
        )
        candidate_rows = self._order.reshape(-1)[bucket_base + np.arange(total)].astype(np.int64)
        candidate_queries = np.repeat(np.arange(keys.size) // (keys.shape[1] * keys.shape[2]), lengths)
        # Compare every candidate in full (cheaper than deduplicating first), then deduplicate the hits:
        # a row can sit in several probed buckets.
        distances = _popcount(queries[candidate_queries] ^ self._packed[candidate_rows]).sum(
            axis=1, dtype=np.int64
        )
        keep = distances <= radius
        pairs, first = np.unique(
            candidate_queries[keep] * self._rows + candidate_rows[keep], return_index=True
        )
        return pairs // self._rows, pairs % self._rows, distances[keep][first]


def _pieces(packed: NDArray[np.uint64]) -> NDArray[np.uint16]:
    """Cut each row of 64-bit words into 16-bit pieces (any fixed cut works; this one is a free view)."""
    pieces: NDArray[np.uint16] = np.ascontiguousarray(packed).view(np.uint16)
    return pieces


@functools.cache
def _masks_within(radius: int) -> NDArray[np.uint16]:
    """Every 16-bit mask with at most ``radius`` bits set."""
    values = np.arange(_PIECE_VALUES, dtype=np.uint64)
    masks = values[_popcount(values) <= radius].astype(np.uint16)
    masks.setflags(write=False)  # cached and shared
    return masks


def _sorted_hits(
    query_index: NDArray[np.int64], rows: NDArray[np.int64], distances: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    order = np.lexsort((rows, query_index))
    return (
        query_index[order].astype(np.int64),
        rows[order].astype(np.int64),
        distances[order].astype(np.int64),
    )
