"""Two exact radius searches over 256-bit PDQ hashes, prototyped for banks of 1M to 10M hashes.

Both return every bank row within ``max_distance`` bits of the query, no approximation; they differ from
the plain vectorised scan (``takedown.hashing.hamming.hamming_distances``) only in how much work they skip.

* :class:`PrefixFilteredScan` keeps the bank column by column (one array per 64-bit word) and walks it in
  cache-sized blocks. The distance over the first two words can only grow when the other two are added,
  so a row whose first 128 bits already differ in more than ``max_distance`` places is dropped before the
  other half is read. On random-looking hashes almost every row is dropped there.
* :class:`MultiIndexHashTable` (Norouzi, Punjani and Fleet, "Fast search in Hamming space with multi-index
  hashing", CVPR 2012) splits each hash into 16 chunks of 16 bits. Two hashes within 31 bits of each other
  differ in at most one bit in at least one chunk (pigeonhole: 16 chunks x 2 bits would be 32), so the
  candidates are the rows whose chunk equals, or is one bit from, the query's chunk in some position;
  only those are compared in full.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

HASH_WORDS: Final = 4  # 256 bits as four uint64 words
CHUNK_BITS: Final = 16
CHUNKS: Final = HASH_WORDS * 64 // CHUNK_BITS
_BUCKETS: Final = 1 << CHUNK_BITS
# 32 K rows per block: four 256 KiB word columns plus the scratch arrays stay in a 2 MiB L2 cache.
_SCAN_BLOCK_ROWS: Final = 1 << 15


class SearchInputError(ValueError):
    """A bank or query of the wrong shape or type. ``reason``: ``bank:shape``, ``query:shape``,
    ``radius:range``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def _require_bank(packed_bank: NDArray[np.uint64]) -> NDArray[np.uint64]:
    if (
        not isinstance(packed_bank, np.ndarray)
        or packed_bank.dtype != np.uint64
        or packed_bank.ndim != 2
        or packed_bank.shape[1] != HASH_WORDS
    ):
        shape = getattr(packed_bank, "shape", None)
        raise SearchInputError("bank:shape", f"expected an (n, {HASH_WORDS}) uint64 array, got {shape}")
    return packed_bank


def _require_query(query: NDArray[np.uint64]) -> NDArray[np.uint64]:
    if not isinstance(query, np.ndarray) or query.dtype != np.uint64 or query.shape != (HASH_WORDS,):
        shape = getattr(query, "shape", None)
        raise SearchInputError("query:shape", f"expected a ({HASH_WORDS},) uint64 row, got {shape}")
    return query


def _exact_distances(rows: NDArray[np.uint64], query: NDArray[np.uint64]) -> NDArray[np.int64]:
    distances: NDArray[np.int64] = np.bitwise_count(rows ^ query).sum(axis=1, dtype=np.int64)
    return distances


def _sorted_hits(indices: NDArray[np.intp], distances: NDArray[np.int64]) -> list[tuple[int, int]]:
    order = np.lexsort((indices, distances))
    return [(int(indices[i]), int(distances[i])) for i in order]


class PrefixFilteredScan:
    """Exact radius search by a blocked, column-wise scan that drops rows on their first 128 bits.

    Examples
    --------
    >>> from takedown.hashing.hamming import pack_hex_hashes
    >>> scan = PrefixFilteredScan(pack_hex_hashes(["0" * 64, "f" * 64, "1" + "0" * 63]))
    >>> scan.within(pack_hex_hashes(["0" * 64])[0], max_distance=1)
    [(0, 0), (2, 1)]
    """

    def __init__(self, packed_bank: NDArray[np.uint64]) -> None:
        bank = _require_bank(packed_bank)
        self._rows = bank
        self._columns = np.ascontiguousarray(bank.T)
        self._words = np.empty(_SCAN_BLOCK_ROWS, dtype=np.uint64)
        self._counts = np.empty(_SCAN_BLOCK_ROWS, dtype=np.uint8)
        self._prefix = np.empty(_SCAN_BLOCK_ROWS, dtype=np.uint16)

    def __len__(self) -> int:
        return int(self._rows.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes held: the row-major bank (shared with the caller) plus its column-major copy."""
        return int(self._rows.nbytes + self._columns.nbytes)

    def within(self, query: NDArray[np.uint64], max_distance: int) -> list[tuple[int, int]]:
        """Rows within ``max_distance`` bits as ``(row, distance)``, nearest first, ties by row."""
        row = _require_query(query)
        if max_distance < 0:
            raise SearchInputError("radius:range", f"max_distance must be >= 0, got {max_distance}")
        found_rows: list[NDArray[np.intp]] = []
        found_distances: list[NDArray[np.int64]] = []
        for start in range(0, len(self), _SCAN_BLOCK_ROWS):
            stop = min(len(self), start + _SCAN_BLOCK_ROWS)
            candidates = self._prefix_candidates(row, start, stop, max_distance)
            if candidates.size:
                distances = _exact_distances(self._rows[candidates], row)
                close = distances <= max_distance
                found_rows.append(candidates[close])
                found_distances.append(distances[close])
        if not found_rows:
            return []
        return _sorted_hits(np.concatenate(found_rows), np.concatenate(found_distances))

    def _prefix_candidates(
        self, row: NDArray[np.uint64], start: int, stop: int, max_distance: int
    ) -> NDArray[np.intp]:
        size = stop - start
        words, counts, prefix = self._words[:size], self._counts[:size], self._prefix[:size]
        # In-place ufuncs on preallocated buffers: no allocation per block, so the scan stays in cache.
        np.bitwise_xor(self._columns[0, start:stop], row[0], out=words)
        np.bitwise_count(words, out=counts)
        prefix[:] = counts
        np.bitwise_xor(self._columns[1, start:stop], row[1], out=words)
        np.bitwise_count(words, out=counts)
        np.add(prefix, counts, out=prefix)
        candidates: NDArray[np.intp] = np.flatnonzero(prefix <= max_distance) + start
        return candidates


class MultiIndexHashTable:
    """Exact radius search (radius up to 31 bits) through 16 hash tables, one per 16-bit chunk.

    Each table is a counting sort of the bank by that chunk: ``offsets`` gives where each of the 65,536
    chunk values starts in ``order``. Memory is 4 bytes per row per table (64 bytes a row) plus 8 MiB of
    offsets, next to the 32-byte rows themselves.

    Examples
    --------
    >>> from takedown.hashing.hamming import pack_hex_hashes
    >>> table = MultiIndexHashTable(pack_hex_hashes(["0" * 64, "f" * 64, "1" + "0" * 63]))
    >>> table.within(pack_hex_hashes(["0" * 64])[0], max_distance=1)
    [(0, 0), (2, 1)]
    """

    max_radius: Final = CHUNKS * 2 - 1

    def __init__(self, packed_bank: NDArray[np.uint64]) -> None:
        bank = np.ascontiguousarray(_require_bank(packed_bank))
        rows = bank.shape[0]
        self._rows = bank
        chunk_values = bank.view(np.uint16)  # (rows, 16): any fixed split of the 256 bits works
        self._order = np.empty(CHUNKS * rows, dtype=np.int32 if rows < 2**31 else np.int64)
        self._offsets = np.empty((CHUNKS, _BUCKETS + 1), dtype=np.int64)
        for chunk in range(CHUNKS):
            keys = np.ascontiguousarray(chunk_values[:, chunk])
            # A stable sort of 16-bit keys is a radix sort in numpy: linear in the bank size.
            self._order[chunk * rows : (chunk + 1) * rows] = np.argsort(keys, kind="stable")
            self._offsets[chunk, 0] = chunk * rows
            np.cumsum(np.bincount(keys, minlength=_BUCKETS), out=self._offsets[chunk, 1:])
            self._offsets[chunk, 1:] += chunk * rows
        self._one_bit_flips = np.concatenate([[0], 1 << np.arange(CHUNK_BITS)]).astype(np.uint16)
        self._chunk_rows = np.arange(CHUNKS)[:, None]

    def __len__(self) -> int:
        return int(self._rows.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes held: the bank rows, the 16 sort orders and the offsets."""
        return int(self._rows.nbytes + self._order.nbytes + self._offsets.nbytes)

    def candidates(self, query: NDArray[np.uint64]) -> NDArray[np.intp]:
        """Rows sharing a chunk with the query up to one bit (with repeats): a superset of all rows within
        31 bits. Exposed so a benchmark can report how many rows a query touches."""
        chunks = _require_query(query).view(np.uint16)
        probes = (chunks[:, None] ^ self._one_bit_flips[None, :]).astype(np.int64)  # (16, 17)
        starts = self._offsets[self._chunk_rows, probes].ravel()
        lengths = self._offsets[self._chunk_rows, probes + 1].ravel() - starts
        # Concatenate the 272 ranges order[start:start+length] in one gather: each output position is
        # its range's start plus its rank inside the range.
        range_firsts = np.cumsum(lengths) - lengths
        positions = np.repeat(starts - range_firsts, lengths) + np.arange(int(lengths.sum()))
        found: NDArray[np.intp] = self._order[positions].astype(np.intp)
        return found

    def within(self, query: NDArray[np.uint64], max_distance: int) -> list[tuple[int, int]]:
        """Rows within ``max_distance`` bits (0..31) as ``(row, distance)``, nearest first, ties by row."""
        row = _require_query(query)
        if not 0 <= max_distance <= self.max_radius:
            raise SearchInputError(
                "radius:range",
                f"max_distance must be 0..{self.max_radius} for {CHUNKS} chunks, got {max_distance}",
            )
        candidates = self.candidates(row)
        distances = _exact_distances(self._rows[candidates], row)
        close = distances <= max_distance
        # A row found through several chunks appears several times; repeats are cheaper to compare than
        # to remove from thousands of candidates, so only the few hits are deduplicated.
        hits, first = np.unique(candidates[close], return_index=True)
        return _sorted_hits(hits, distances[close][first])
