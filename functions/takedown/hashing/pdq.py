"""PDQ, Meta's 256-bit perceptual image hash, in numpy; bit-compatible with the reference implementation.

``pdqhash`` (the C++ reference with Python bindings) has no wheel for the Lambda runtime, so this module
re-implements ``pdqhash.compute`` step by step:

1. luminance ``0.299 R + 0.587 G + 0.114 B``, computed in float64 and stored as float32 (as the bindings do);
2. a Jarosz tent filter: a box filter with window ``ceil(side / 128)`` run twice along rows and columns,
   replaying the reference's float32 running sums in the same order so the result is the same to the bit;
3. decimation to 64x64 by sampling at cell centres;
4. a gradient-based quality score (0-100) on the 64x64 image;
5. DCT coefficients 1..16 x 1..16 (``D A D^T`` with a 16x64 DCT-II matrix), summed in the reference's order;
6. one bit per coefficient: set when it is above the median (the 128th smallest of the 256).

Like ``pdqhash.compute`` (and unlike the C++ command-line hasher, which first stretches images larger than
512 px to 512x512), the full-resolution image is hashed. The hex form is the reference's: 64 lowercase
hex characters, coefficient 255 in the top bit of the first character, coefficient 0 in the bottom bit of
the last.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
from PIL import Image

from takedown.hashing.hamming import HashFormatError, parse_hex_hash

if TYPE_CHECKING:
    from numpy.typing import NDArray

PDQ_BITS: Final = 256
PDQ_HEX_LENGTH: Final = PDQ_BITS // 4
DEFAULT_MIN_QUALITY: Final = 50
MAX_QUALITY: Final = 100

_GRID: Final = 64  # the filtered image is sampled on a 64x64 grid
_COEFFS: Final = 16  # DCT coefficients 1..16 along each axis; the DC term is skipped
_MIN_HASHABLE_SIDE: Final = 5  # the reference returns an all-zero hash below this
_JAROSZ_PASSES: Final = 2
# Rows (or columns) are filtered in blocks of about this many values so a 40-megapixel image does not need
# several full-size float64 temporaries at once.
_BLOCK_VALUES: Final = 1 << 20

# Dihedral variant names, in the reference's order, with the PIL transpose that produces the same picture.
# "flipx" mirrors top to bottom (across the x axis), "flipy" mirrors left to right; "flip_plus1" mirrors
# across the main diagonal, "flip_minus1" across the anti-diagonal. Rotations are counter-clockwise.
DIHEDRAL_TRANSPOSES: Final[dict[str, Image.Transpose | None]] = {
    "original": None,
    "rot90": Image.Transpose.ROTATE_90,
    "rot180": Image.Transpose.ROTATE_180,
    "rot270": Image.Transpose.ROTATE_270,
    "flipx": Image.Transpose.FLIP_TOP_BOTTOM,
    "flipy": Image.Transpose.FLIP_LEFT_RIGHT,
    "flip_plus1": Image.Transpose.TRANSPOSE,
    "flip_minus1": Image.Transpose.TRANSVERSE,
}


class PdqInputError(ValueError):
    """The pixels cannot be hashed. ``reason``: ``array:type``, ``array:dtype``, ``array:shape``,
    ``image:too-small``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class PdqRefused(Exception):
    """A computed or imported hash is not fit for matching. ``reason``: ``quality:low``,
    ``hash:degenerate``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class PdqHash:
    """A 256-bit PDQ hash and its quality score (0-100; below 50 the hash is unreliable).

    ``bits`` is the big-endian form of the reference's hex text (``bits.hex() == hex``). Building one with
    the wrong number of bytes or a quality outside 0..100 raises :class:`HashFormatError` (``bits:length``,
    ``quality:type``, ``quality:range``).

    Examples
    --------
    >>> h = PdqHash.from_hex("f" * 32 + "0" * 32, quality=90)
    >>> h.distance(PdqHash.from_hex("f" * 64, quality=90))
    128
    """

    bits: bytes
    quality: int

    def __post_init__(self) -> None:
        if not isinstance(self.bits, bytes) or len(self.bits) != PDQ_BITS // 8:
            raise HashFormatError("bits:length", f"a PDQ hash is {PDQ_BITS // 8} bytes")
        if isinstance(self.quality, bool) or not isinstance(self.quality, int):
            raise HashFormatError(
                "quality:type", f"quality must be an int, got {type(self.quality).__name__}"
            )
        if not 0 <= self.quality <= MAX_QUALITY:
            raise HashFormatError("quality:range", f"quality must be 0..{MAX_QUALITY}, got {self.quality}")

    @property
    def hex(self) -> str:
        """The 64 lowercase hex characters the reference prints."""
        return self.bits.hex()

    @classmethod
    def from_hex(cls, text: str, quality: int) -> PdqHash:
        """Parse the reference's hex text (upper or lower case, exactly 64 characters)."""
        return cls(bits=parse_hex_hash(text, PDQ_BITS), quality=quality)

    def distance(self, other: PdqHash) -> int:
        """Hamming distance in bits (0-256)."""
        difference = int.from_bytes(self.bits, "big") ^ int.from_bytes(other.bits, "big")
        return difference.bit_count()


def pdq_hash_image(image: Image.Image) -> PdqHash:
    """PDQ hash of a PIL image, equal to ``pdqhash.compute`` on its RGB pixels.

    Any mode is converted to RGB with PIL first; alpha is dropped, not composited, exactly as the
    reference sees an RGBA array. EXIF orientation is not applied: hash the pixels as stored, and use
    :func:`pdq_dihedral_hashes` to match rotated or mirrored copies.

    Examples
    --------
    >>> from PIL import Image, ImageDraw
    >>> image = Image.new("RGB", (96, 64), "white")
    >>> ImageDraw.Draw(image).ellipse((10, 8, 60, 50), fill="navy")
    >>> h = pdq_hash_image(image)
    >>> len(h.hex), 0 <= h.quality <= 100
    (64, True)
    """
    return pdq_hash_array(_rgb_pixels(image))


def pdq_hash_array(rgb: NDArray[np.uint8]) -> PdqHash:
    """PDQ hash of an ``(height, width, 3)`` uint8 RGB array.

    Raises :class:`PdqInputError` for anything else, and for images under 5 pixels on a side (where the
    reference silently returns an all-zero hash).
    """
    luma = _luma(_require_rgb(rgb))
    # The reference skips filtering only here, when the input is already 64x64 (not for dihedral hashes).
    grid = luma if luma.shape == (_GRID, _GRID) else _jarosz_downsample(luma)
    coefficients = _dct_coefficients(grid)
    return PdqHash(bits=_bits_above_median(coefficients), quality=_quality(grid))


def pdq_dihedral_hashes(image: Image.Image) -> dict[str, PdqHash]:
    """The 8 rotations and mirror images of a PIL image, from one pass over its pixels.

    Keys are those of :data:`DIHEDRAL_TRANSPOSES`: ``original``, ``rot90``, ``rot180``, ``rot270``
    (counter-clockwise, like ``Image.rotate``), ``flipx`` (top-bottom mirror), ``flipy`` (left-right
    mirror), ``flip_plus1`` (transpose) and ``flip_minus1`` (transverse). Each is within a few bits of
    hashing the transformed image itself, because mirroring a picture only flips signs of, or transposes,
    its DCT coefficients. All variants share the original's quality.

    Examples
    --------
    >>> from PIL import Image
    >>> sorted(pdq_dihedral_hashes(Image.linear_gradient("L").resize((80, 60))))[:3]
    ['flip_minus1', 'flip_plus1', 'flipx']
    """
    return pdq_dihedral_hashes_array(_rgb_pixels(image))


def pdq_dihedral_hashes_array(rgb: NDArray[np.uint8]) -> dict[str, PdqHash]:
    """:func:`pdq_dihedral_hashes` for an ``(height, width, 3)`` uint8 RGB array."""
    luma = _luma(_require_rgb(rgb))
    # Unlike the single hash, the reference's dihedral path filters even a 64x64 input.
    grid = _jarosz_downsample(luma)
    coefficients = _dct_coefficients(grid)
    quality = _quality(grid)
    return {
        name: PdqHash(bits=_bits_above_median(variant), quality=quality)
        for name, variant in _dihedral_coefficients(coefficients).items()
    }


def validate_pdq(pdq: PdqHash, min_quality: int = DEFAULT_MIN_QUALITY) -> None:
    """Refuse a hash that must not be matched or stored in a bank.

    Raises :class:`PdqRefused` with ``hash:degenerate`` for an all-zeros or all-ones hash (what a failed
    or blank hash looks like, and it would match every other degenerate hash), then ``quality:low`` when
    the quality is under ``min_quality`` (flat or nearly featureless images hash unreliably).

    Examples
    --------
    >>> validate_pdq(PdqHash.from_hex("0f" * 32, quality=80))
    >>> validate_pdq(PdqHash.from_hex("0" * 64, quality=80))
    Traceback (most recent call last):
    ...
    takedown.hashing.pdq.PdqRefused: hash:degenerate: all 256 bits are 0
    """
    if not 0 <= min_quality <= MAX_QUALITY:
        raise ValueError(f"min_quality must be 0..{MAX_QUALITY}, got {min_quality}")
    if pdq.bits in (bytes(PDQ_BITS // 8), b"\xff" * (PDQ_BITS // 8)):
        raise PdqRefused("hash:degenerate", f"all {PDQ_BITS} bits are {pdq.bits[0] & 1}")
    if pdq.quality < min_quality:
        raise PdqRefused("quality:low", f"quality {pdq.quality} is below {min_quality}")


# ----------------------------------------------------------------------------------------------------------
# Pixels in


def _rgb_pixels(image: Image.Image) -> NDArray[np.uint8]:
    if not isinstance(image, Image.Image):
        raise PdqInputError("array:type", f"expected a PIL image, got {type(image).__name__}")
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    return np.asarray(rgb, dtype=np.uint8)


def _require_rgb(rgb: object) -> NDArray[np.uint8]:
    if not isinstance(rgb, np.ndarray):
        raise PdqInputError("array:type", f"expected a numpy array, got {type(rgb).__name__}")
    if rgb.dtype != np.uint8:
        raise PdqInputError("array:dtype", f"expected uint8 pixels, got {rgb.dtype}")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise PdqInputError("array:shape", f"expected (height, width, 3), got {rgb.shape}")
    height, width = rgb.shape[:2]
    if min(height, width) < _MIN_HASHABLE_SIDE:
        raise PdqInputError(
            "image:too-small", f"{width}x{height} is under {_MIN_HASHABLE_SIDE} pixels on a side"
        )
    checked: NDArray[np.uint8] = rgb
    return checked


def _luma(rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
    height, width = rgb.shape[:2]
    luma = np.empty((height, width), dtype=np.float32)
    rows_per_block = max(1, _BLOCK_VALUES // width)
    for top in range(0, height, rows_per_block):
        block = rgb[top : top + rows_per_block]
        # float64 sum of float64 products, rounded once to float32: the bindings' exact arithmetic.
        luma[top : top + rows_per_block] = (
            block[:, :, 0] * 0.299 + block[:, :, 1] * 0.587 + block[:, :, 2] * 0.114
        )
    return luma


# ----------------------------------------------------------------------------------------------------------
# Jarosz tent filter and decimation


def _jarosz_window(side: int) -> int:
    """Box width per pass: two passes of ``ceil(side / 128)`` cover one 64th of the side."""
    return (side + 2 * _GRID - 1) // (2 * _GRID)


def _grid_indices(side: int) -> NDArray[np.intp]:
    """Centre sample of each of the 64 cells, computed in float64 and truncated like the reference."""
    return (((np.arange(_GRID) + 0.5) * side) / _GRID).astype(np.intp)


def _jarosz_downsample(luma: NDArray[np.float32]) -> NDArray[np.float32]:
    """Blur with the tent filter and sample the 64x64 grid. Overwrites ``luma``."""
    height, width = luma.shape
    window_along_rows = _jarosz_window(width)
    window_along_columns = _jarosz_window(height)
    scratch = np.empty_like(luma)
    sample_columns = _grid_indices(width)
    for pass_number in range(_JAROSZ_PASSES):
        _box_filter_rows(luma, scratch, window_along_rows)
        if pass_number < _JAROSZ_PASSES - 1:
            _box_filter_rows(scratch.T, luma.T, window_along_columns)
    # Only 64 columns of the final column pass are ever sampled, so filter just those.
    sampled = np.ascontiguousarray(scratch[:, sample_columns].T)
    filtered = np.empty_like(sampled)
    _box_filter_rows(sampled, filtered, window_along_columns)
    return np.ascontiguousarray(filtered.T[_grid_indices(height), :])


def _box_filter_rows(source: NDArray[np.float32], target: NDArray[np.float32], window: int) -> None:
    """Box-filter each row of ``source`` into ``target``, bit for bit as the reference does.

    The reference slides a float32 running sum along the row (add the entering value, subtract the
    leaving one, divide by the current window). Float addition does not associate, so the same sums are
    replayed here: the additions and subtractions are laid out in the reference's order as one signed
    sequence per row, and ``np.add.accumulate`` (strictly sequential, unlike ``np.sum``) runs it.
    """
    rows, length = source.shape
    term_indices, term_signs, output_positions, window_counts = _box_plan(length, window)
    rows_per_block = max(1, _BLOCK_VALUES // (2 * length))
    for top in range(0, rows, rows_per_block):
        terms = source[top : top + rows_per_block, term_indices] * term_signs
        running_sums = np.add.accumulate(terms, axis=1)
        target[top : top + rows_per_block] = running_sums[:, output_positions] / window_counts


@functools.lru_cache(maxsize=32)
def _box_plan(
    length: int, window: int
) -> tuple[NDArray[np.intp], NDArray[np.float32], NDArray[np.intp], NDArray[np.float32]]:
    """The reference's running-sum schedule for one row: which value enters with which sign, after which
    term each output is read, and the window size it is divided by.

    Output ``i`` averages inputs ``i - (window - half) .. i + half - 1`` clipped to the row, where
    ``half = (window + 2) // 2``; the window grows at the start of the row and shrinks at the end.
    """
    half = (window + 2) // 2
    full_steps = length - window  # outputs with a full window: one add and one subtract each
    tail_steps = half - 1  # outputs at the end, subtract only
    sliding = np.empty(2 * full_steps, dtype=np.intp)
    sliding[0::2] = np.arange(window, length)
    sliding[1::2] = np.arange(full_steps)
    term_indices = np.concatenate(
        [np.arange(window), sliding, np.arange(full_steps, full_steps + tail_steps)]
    ).astype(np.intp)
    term_signs = np.concatenate(
        [np.ones(window), np.tile([1.0, -1.0], full_steps), -np.ones(tail_steps)]
    ).astype(np.float32)
    output_positions = np.concatenate(
        [
            np.arange(half - 1, window),  # growing window, read after each add
            window + 1 + 2 * np.arange(full_steps),  # full window, read after each add/subtract pair
            window + 2 * full_steps + np.arange(tail_steps),  # shrinking window, read after each subtract
        ]
    ).astype(np.intp)
    window_counts = np.concatenate(
        [np.arange(half, window + 1), np.full(full_steps, window), window - 1 - np.arange(tail_steps)]
    ).astype(np.float32)
    for array in (term_indices, term_signs, output_positions, window_counts):
        array.setflags(write=False)  # cached and shared between calls
    return term_indices, term_signs, output_positions, window_counts


# ----------------------------------------------------------------------------------------------------------
# Quality, DCT, bits


def _quality(grid: NDArray[np.float32]) -> int:
    """Count significant gradients: each neighbour difference is scaled to 0-100 in float32 and truncated
    toward zero, as the reference's ``int`` conversion does; 90 such units make one quality point."""
    hundred, full_scale = np.float32(100), np.float32(255)
    vertical = np.trunc((grid[:-1, :] - grid[1:, :]) * hundred / full_scale)
    horizontal = np.trunc((grid[:, :-1] - grid[:, 1:]) * hundred / full_scale)
    gradient_sum = int(np.abs(vertical).astype(np.int64).sum() + np.abs(horizontal).astype(np.int64).sum())
    return min(gradient_sum // 90, MAX_QUALITY)


@functools.cache
def _dct_matrix() -> NDArray[np.float32]:
    """Rows 1..16 of the 64-point DCT-II matrix, rounded to float32 as the reference stores it.

    ``math.cos`` is the C library's, the one the reference calls.
    """
    scale = float(np.float32(math.sqrt(2.0 / _GRID)))  # the reference keeps the scale as a float
    step = math.pi / 2.0 / _GRID
    values = [
        [scale * math.cos(step * (row + 1) * (2 * col + 1)) for col in range(_GRID)] for row in range(_COEFFS)
    ]
    matrix = np.array(values, dtype=np.float32)
    matrix.setflags(write=False)
    return matrix


def _dct_coefficients(grid: NDArray[np.float32]) -> NDArray[np.float32]:
    """``D @ grid @ D.T`` for the 16x64 DCT matrix ``D``, with float32 products summed in index order
    (``np.add.accumulate`` is sequential) so every coefficient equals the reference's."""
    dct = _dct_matrix()
    # partial[i, j] = sum_k dct[i, k] * grid[k, j]
    partial = np.add.accumulate(dct.T[:, :, None] * grid[:, None, :], axis=0)[-1]
    # coefficients[i, j] = sum_k partial[i, k] * dct[j, k]
    coefficients: NDArray[np.float32] = np.add.accumulate(partial.T[:, :, None] * dct.T[:, None, :], axis=0)[
        -1
    ]
    return coefficients


def _bits_above_median(coefficients: NDArray[np.float32]) -> bytes:
    """One bit per coefficient, set when above the median; coefficient ``k = 16 * row + col`` is bit ``k``
    of the 256-bit number whose big-endian bytes are returned."""
    flat = coefficients.ravel()
    # Torben's median, which the reference uses, is the 128th smallest of the 256 values.
    median = np.partition(flat, _COEFFS * _COEFFS // 2 - 1)[_COEFFS * _COEFFS // 2 - 1]
    return np.packbits(flat[::-1] > median).tobytes()


def _dihedral_coefficients(coefficients: NDArray[np.float32]) -> dict[str, NDArray[np.float32]]:
    """DCT coefficients of the 8 rotations/mirrors. Mirroring one axis negates that axis's coefficients
    with even index (odd frequency); swapping the axes transposes the matrix."""
    index = np.arange(_COEFFS)
    odd_kept = np.where(index % 2 == 1, 1.0, -1.0).astype(np.float32)  # multiplying by +-1 is exact
    by_row, by_col = odd_kept[:, None], odd_kept[None, :]
    both = by_row * by_col
    return {
        "original": coefficients,
        "rot90": (coefficients * by_col).T,
        "rot180": coefficients * both,
        "rot270": (coefficients * by_row).T,
        "flipx": coefficients * by_row,
        "flipy": coefficients * by_col,
        "flip_plus1": coefficients.T,
        "flip_minus1": (coefficients * both).T,
    }
