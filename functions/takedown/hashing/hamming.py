"""Hamming distances between hex-encoded perceptual hashes, one at a time or a whole bank at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Iterable

    from numpy.typing import NDArray

_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_WORD_BITS: Final = 64

# numpy >= 2.0 has a native popcount ufunc; older releases fall back to a per-byte table.
_HAS_BITWISE_COUNT: Final = hasattr(np, "bitwise_count")
_BYTE_POPCOUNT: Final = np.array([bin(value).count("1") for value in range(256)], dtype=np.uint8)


class HashFormatError(ValueError):
    """A hash (hex text or packed array) is malformed. ``reason`` is a short machine-readable code.

    Reasons: ``hex:type``, ``hex:length``, ``hex:characters``, ``hex:length-mismatch``, ``bits:invalid``,
    ``packed:dtype``, ``packed:shape``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def parse_hex_hash(text: str, bits: int) -> bytes:
    """Parse a hex hash of exactly ``bits`` bits into big-endian bytes.

    Upper- and lower-case digits are accepted (some exchange lists use upper case); nothing else is:
    no ``0x`` prefix, no whitespace, no separators.

    Examples
    --------
    >>> parse_hex_hash("00ff" * 4, 64).hex()
    '00ff00ff00ff00ff'
    """
    if bits <= 0 or bits % 8:
        raise HashFormatError("bits:invalid", f"bit length must be a positive multiple of 8, got {bits}")
    if not isinstance(text, str):
        raise HashFormatError("hex:type", f"expected a hex string, got {type(text).__name__}")
    expected = bits // 4
    if len(text) != expected:
        raise HashFormatError("hex:length", f"expected {expected} hex characters, got {len(text)}")
    if not _HEX_DIGITS.issuperset(text):
        position = next(index for index, char in enumerate(text) if char not in _HEX_DIGITS)
        raise HashFormatError("hex:characters", f"non-hex character at position {position}")
    return bytes.fromhex(text)


def hamming_distance_hex(a: str, b: str) -> int:
    """Count the differing bits of two hex hashes of the same length.

    Examples
    --------
    >>> hamming_distance_hex("ff00", "0f00")
    4
    """
    if not isinstance(a, str) or not isinstance(b, str):
        raise HashFormatError("hex:type", "both hashes must be hex strings")
    if len(a) != len(b):
        raise HashFormatError("hex:length-mismatch", f"hash lengths differ: {len(a)} vs {len(b)}")
    bits = len(a) * 4
    left = int.from_bytes(parse_hex_hash(a, bits), "big")
    right = int.from_bytes(parse_hex_hash(b, bits), "big")
    return (left ^ right).bit_count()


def pack_hex_hashes(hex_list: Iterable[str], bits: int = 256) -> NDArray[np.uint64]:
    """Pack hex hashes into a ``(n, bits // 64)`` uint64 array for vectorised distance queries.

    Word 0 of a row holds the first 16 hex characters, so rows compare bit for bit with the hex text.

    Examples
    --------
    >>> pack_hex_hashes(["f" * 16 + "0" * 16], bits=128).shape
    (1, 2)
    """
    if bits <= 0 or bits % _WORD_BITS:
        raise HashFormatError("bits:invalid", f"bit length must be a positive multiple of 64, got {bits}")
    words_per_hash = bits // _WORD_BITS
    chunks: list[bytes] = []
    for index, text in enumerate(hex_list):
        try:
            chunks.append(parse_hex_hash(text, bits))
        except HashFormatError as error:
            raise HashFormatError(error.reason, f"hash #{index}: {error}") from error
    big_endian_words = np.frombuffer(b"".join(chunks), dtype=">u8")
    return big_endian_words.astype(np.uint64).reshape(len(chunks), words_per_hash)


def hamming_distances(packed_bank: NDArray[np.uint64], packed_query: NDArray[np.uint64]) -> NDArray[np.int64]:
    """Distances from one query row (shape ``(w,)``) or several (``(m, w)``) to every bank row.

    Returns shape ``(n,)`` for one query and ``(m, n)`` for several. Memory is ``m * n * w`` words, so
    query a large bank one row at a time.

    Examples
    --------
    >>> bank = pack_hex_hashes(["0" * 64, "f" * 64])
    >>> hamming_distances(bank, bank[0]).tolist()
    [0, 256]
    """
    bank = _require_packed(packed_bank, ndim=2, name="bank")
    query = packed_query if isinstance(packed_query, np.ndarray) else np.asarray(packed_query)
    if query.ndim == 1:
        query = _require_packed(query, ndim=1, name="query")
        _require_same_width(bank, query)
        differing = bank ^ query
    else:
        query = _require_packed(query, ndim=2, name="query")
        _require_same_width(bank, query)
        differing = query[:, None, :] ^ bank[None, :, :]
    distances: NDArray[np.int64] = _popcount_words(differing).sum(axis=-1, dtype=np.int64)
    return distances


def nearest_within(
    packed_bank: NDArray[np.uint64], query_row: NDArray[np.uint64], max_distance: int
) -> list[tuple[int, int]]:
    """Bank rows within ``max_distance`` bits of ``query_row`` as ``(index, distance)``, nearest first.

    Ties keep bank order, so the result is deterministic.

    Examples
    --------
    >>> bank = pack_hex_hashes(["0" * 64, "f" * 64, "1" + "0" * 63])
    >>> nearest_within(bank, bank[0], max_distance=1)
    [(0, 0), (2, 1)]
    """
    if max_distance < 0:
        raise ValueError(f"max_distance must be >= 0, got {max_distance}")
    query = _require_packed(query_row, ndim=1, name="query")
    distances = hamming_distances(packed_bank, query)
    hits = np.flatnonzero(distances <= max_distance)
    ordered = hits[np.argsort(distances[hits], kind="stable")]
    return [(int(index), int(distances[index])) for index in ordered]


def _popcount_words(words: NDArray[np.uint64]) -> NDArray[np.uint8]:
    if _HAS_BITWISE_COUNT:
        return np.bitwise_count(words)
    return _popcount_words_by_byte_table(words)


def _popcount_words_by_byte_table(words: NDArray[np.uint64]) -> NDArray[np.uint8]:
    as_bytes = np.ascontiguousarray(words).view(np.uint8).reshape(*words.shape, 8)
    counts: NDArray[np.uint8] = _BYTE_POPCOUNT[as_bytes].sum(axis=-1, dtype=np.uint8)
    return counts


def _require_packed(array: object, ndim: int, name: str) -> NDArray[np.uint64]:
    if not isinstance(array, np.ndarray) or array.dtype != np.uint64:
        found = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
        raise HashFormatError("packed:dtype", f"{name} must be a uint64 numpy array, got {found}")
    if array.ndim != ndim or array.shape[-1] == 0:
        raise HashFormatError("packed:shape", f"{name} must have {ndim} dimension(s), got {array.shape}")
    packed: NDArray[np.uint64] = array
    return packed


def _require_same_width(bank: NDArray[np.uint64], query: NDArray[np.uint64]) -> None:
    if bank.shape[-1] != query.shape[-1]:
        raise HashFormatError(
            "packed:shape", f"bank rows have {bank.shape[-1]} words but the query has {query.shape[-1]}"
        )
