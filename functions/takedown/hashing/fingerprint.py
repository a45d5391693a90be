"""Everything the matcher needs to know about one image: exact digests, PDQ and pHash in 8 orientations.

**Size.** Every image is hashed at one size, 320x320, whatever its own: the decoded image is resized
(aspect ignored: both hashes sample a square grid anyway). PDQ blurs with two box filters
``ceil(side / 128)`` pixels wide and samples a 64x64 grid; at 320 the filter is 3 pixels wide (odd, so
centred, where an even width shifts the picture by a pixel) and each grid cell is 5 pixels (odd, so the
sample is its centre), a blur close to the reference's on a large image. Hashing everything at one size
makes resized copies hash alike (a 25% copy measured a median 4 bits from its original, against 18 when
each was hashed at its own size) and bounds the cost: a JPEG is decoded at the smallest libjpeg scale
(1/2, 1/4, 1/8) that is at least 240 pixels a side, far cheaper than a full decode. On a varied
photo-like corpus this PDQ is a median 6 bits (p90 16) from the reference PDQ of the full-size image;
fine textures differ more (up to 44 bits for a brick wall, which a plain 50% resize moves 56 bits in the
reference itself). Hashes imported from other exchanges therefore still match at 31 bits in the common
case, with less margin than our own.

**Band.** Captions, subtitles and meme text sit at the top and bottom of a picture, and a caption moves
PDQ by 20-40 bits. So the middle band of the picture (the top and bottom 15% cut off) is hashed as well;
the bank registers the same band of each original (see :mod:`takedown.hashing.bank_variants`), and a
captioned copy matches through it (measured: captions, caption bars and top-and-bottom meme text went
from 14-71% to 100% at 31 bits).

**Pixels.** Every format is brought to RGB the way a viewer shows it: EXIF orientation applied,
transparency composited on white (a transparent pixel often hides a colour no viewer shows), 16-bit and
float greyscale scaled to 8 bits rather than clipped.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import imagehash
import numpy as np
from PIL import Image, ImageOps

from takedown.hashing.pdq import PdqInputError, pdq_dihedral_hashes
from takedown.hashing.refusals import MAX_PIXELS, MediaRejected

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import NDArray

# Every image is hashed at this size; see the module docstring for why 320.
HASHED_SIZE: Final = (320, 320)
# The band: the picture without its top and bottom 15%, where captions go.
BAND_MARGIN: Final = 0.15
# Orientations in which the band's edges stay at the top and bottom (the others turn it sideways).
BAND_ORIENTATIONS: Final = ("original", "flipx", "flipy", "rot180")
_MIN_BAND_SOURCE_HEIGHT: Final = 32
_MIN_HASHABLE_SIDE: Final = 5  # as PDQ: below this the reference returns an all-zero hash
# A JPEG is decoded at the smallest libjpeg scale (1/2, 1/4, 1/8) that is at least this large.
DRAFT_MIN_SIZE: Final = (240, 240)
# What Pillow's format plugins raise on malformed input (fuzzed files reach past OSError).
_DECODE_ERRORS: Final = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
)
_EXIF_ORIENTATION_TAG: Final = 0x0112
_ORIENTATIONS_SWAPPING_AXES: Final = frozenset({5, 6, 7, 8})
_WHITE: Final = (255, 255, 255)
_EIGHT_BIT_MAX: Final = 255
_SIXTEEN_BIT_SCALE: Final = 257.0  # 65535 / 255
_PHASH_SIDE: Final = 32  # imagehash.phash: 8x8 low frequencies of a 32x32 DCT
_PHASH_BITS_SIDE: Final = 8

# The same 8 variants as pdq.DIHEDRAL_TRANSPOSES, as operations on a square numpy array (row 0 at the top).
_ARRAY_DIHEDRAL: Final[dict[str, Callable[[NDArray[np.float64]], NDArray[np.float64]]]] = {
    "original": lambda a: a,
    "rot90": lambda a: np.rot90(a, 1),
    "rot180": lambda a: np.rot90(a, 2),
    "rot270": lambda a: np.rot90(a, 3),
    "flipx": lambda a: a[::-1, :],
    "flipy": lambda a: a[:, ::-1],
    "flip_plus1": lambda a: a.T,
    "flip_minus1": lambda a: np.rot90(a, 2).T,
}


@dataclass(frozen=True)
class BandFingerprint:
    """PDQ (with its quality) and pHash of the middle band of an image, in the orientations of
    :data:`BAND_ORIENTATIONS`."""

    pdq_dihedral: dict[str, str]
    pdq_quality: int
    phash_dihedral: dict[str, str]


@dataclass(frozen=True)
class ImageFingerprint:
    """The hashes of one image, as the bank index matches them.

    ``pdq`` is the reference hex form (64 characters) of the image as shown (EXIF orientation applied);
    ``pdq_dihedral`` maps each of the 8 rotations/mirrors (``original``, ``rot90``, ``rot180``,
    ``rot270``, ``flipx``, ``flipy``, ``flip_plus1``, ``flip_minus1``) to its PDQ, so a mirrored or
    rotated copy is matched against an unmirrored bank. ``phash`` is imagehash's 64-bit pHash (16 hex) and
    ``phash_dihedral`` the same 8 orientations of it. ``band`` holds the hashes of the middle band (``None``
    for images under 32 pixels high). ``width`` and ``height`` are those of the decoded image before
    reduction, after orientation.
    """

    sha256: str
    md5: str
    pdq: str
    pdq_quality: int
    pdq_dihedral: dict[str, str]
    phash: str
    width: int
    height: int
    phash_dihedral: dict[str, str] = field(default_factory=dict)
    band: BandFingerprint | None = None


def fingerprint_image(image: Image.Image, *, sha256: str = "", md5: str = "") -> ImageFingerprint:
    """Fingerprint an image that is already decoded (the digests of its file are the caller's to give).

    Raises :class:`MediaRejected` with ``mode:unsupported`` for a pixel format that has no RGB form, and
    ``image:too-small`` for an image under 5 pixels on a side.

    Examples
    --------
    >>> from PIL import Image, ImageDraw
    >>> image = Image.new("RGB", (640, 480), "white")
    >>> ImageDraw.Draw(image).ellipse((100, 80, 400, 300), fill="navy")
    >>> fingerprint = fingerprint_image(image)
    >>> len(fingerprint.pdq), len(fingerprint.phash), sorted(fingerprint.pdq_dihedral)[:2]
    (64, 16, ['flip_minus1', 'flip_plus1'])
    """
    rgb = to_displayed_rgb(image)
    return _fingerprint_rgb(rgb, rgb.size, sha256=sha256, md5=md5)


def fingerprint_image_bytes(data: bytes, *, max_pixels: int = MAX_PIXELS) -> ImageFingerprint:
    """Decode an image file safely and fingerprint it.

    The canvas size is checked against ``max_pixels`` before any pixel is decoded (a small file can
    declare a huge canvas). For an animated file the first frame is fingerprinted.

    Raises :class:`MediaRejected` with ``pixels:exceeded`` (over the limit), ``decode:failed`` (not an
    image, truncated, corrupt), ``mode:unsupported`` or ``image:too-small``.

    Examples
    --------
    >>> from PIL import Image; import io
    >>> buffer = io.BytesIO(); Image.linear_gradient("L").save(buffer, "PNG")
    >>> fingerprint = fingerprint_image_bytes(buffer.getvalue())
    >>> (fingerprint.width, fingerprint.height), len(fingerprint.sha256)
    ((256, 256), 64)
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MediaRejected("decode:failed", f"expected bytes, got {type(data).__name__}")
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels <= 0:
        raise ValueError(f"max_pixels must be a positive int, got {max_pixels!r}")
    data = bytes(data)
    decoded = _decode_reduced(data, max_pixels)
    upright = _upright(decoded.image)
    width, height = decoded.full_size
    if _swaps_axes(decoded.image):
        width, height = height, width
    return _fingerprint_rgb(
        _to_rgb(upright),
        (width, height),
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
    )


def to_displayed_rgb(image: Image.Image) -> Image.Image:
    """The image as a viewer shows it, in RGB at full size: EXIF orientation applied, transparency
    composited on white, wide greyscale scaled to 8 bits. What :func:`fingerprint_image` hashes, before
    it reduces the size.

    Raises :class:`MediaRejected` (``image:type``, ``mode:unsupported``).
    """
    if not isinstance(image, Image.Image):
        raise MediaRejected("image:type", f"expected a PIL image, got {type(image).__name__}")
    return _to_rgb(_upright(image))


def middle_band(image: Image.Image) -> Image.Image | None:
    """The image without its top and bottom :data:`BAND_MARGIN`; ``None`` when it is too low to cut.

    >>> from PIL import Image
    >>> middle_band(Image.new("RGB", (400, 300))).size
    (400, 210)
    """
    if image.height < _MIN_BAND_SOURCE_HEIGHT:
        return None
    margin = round(image.height * BAND_MARGIN)
    return image.crop((0, margin, image.width, image.height - margin))


# ----------------------------------------------------------------------------------------------------------
# Decoding


@dataclass(frozen=True)
class _Decoded:
    image: Image.Image
    full_size: tuple[int, int]  # as stored in the file, before draft reduction and orientation


def _decode_reduced(data: bytes, max_pixels: int) -> _Decoded:
    try:
        with warnings.catch_warnings():
            # Our own limit decides; Pillow's warning threshold is a different, global number.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise MediaRejected(
                    "pixels:exceeded", f"{width}x{height} is over the {max_pixels}-pixel limit"
                )
            # JPEG (and MPO, phones' JPEG) decode at 1/2, 1/4 or 1/8 scale for much less work: draft picks
            # the smallest scale that still gives at least the size the hashes need. Other formats ignore it.
            image.draft("RGB", DRAFT_MIN_SIZE)
            image.load()
    except MediaRejected:
        raise
    except Image.DecompressionBombError as error:
        # Pillow refuses canvases over twice its own limit while opening, before our check could run.
        raise MediaRejected("pixels:exceeded", str(error)) from error
    except _DECODE_ERRORS as error:
        raise MediaRejected(
            "decode:failed", f"not a decodable image: {type(error).__name__}: {error}"
        ) from error
    return _Decoded(image=image, full_size=(width, height))


def _orientation(image: Image.Image) -> int:
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except (OSError, ValueError, SyntaxError, TypeError):
        return 1
    return orientation if isinstance(orientation, int) else 1


def _swaps_axes(image: Image.Image) -> bool:
    return _orientation(image) in _ORIENTATIONS_SWAPPING_AXES


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation. A malformed EXIF block leaves the pixels as stored: the dihedral
    variants match a copy in any of the 8 orientations anyway."""
    if _orientation(image) == 1:
        return image
    try:
        upright = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, TypeError):
        return image
    return upright if upright is not None else image


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB pixels as a viewer shows them."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in {"P", "PA"}:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in {"RGBA", "LA", "RGBa", "La"}:
        return _on_white(image.convert("RGBA"))
    if mode.startswith("I;16") or mode in {"I", "F"}:
        return Image.fromarray(_wide_grey_to_8_bit(np.asarray(image)), "L").convert("RGB")
    try:
        converted = image.convert("RGB")  # 1, L, CMYK, YCbCr, LAB, HSV
    except (ValueError, OSError) as error:
        raise MediaRejected("mode:unsupported", f"pixel mode {mode} has no RGB form: {error}") from error
    return converted


def _on_white(rgba: Image.Image) -> Image.Image:
    background = Image.new("RGBA", rgba.size, (*_WHITE, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _wide_grey_to_8_bit(pixels: NDArray[np.generic]) -> NDArray[np.uint8]:
    """16-bit, 32-bit integer and float greyscale to 0-255: Pillow's own conversion clips at 255, which
    would turn most of a 16-bit image white.

    Integers above 255 are read as 16-bit samples (PNG and TIFF store 16-bit greyscale in these modes);
    floats up to 1.0 as the 0-1 range, larger floats as 0-255.
    """
    values = pixels.astype(np.float64)
    finite = values[np.isfinite(values)]
    peak = float(finite.max()) if finite.size else 0.0
    if np.issubdtype(pixels.dtype, np.floating):
        scale = _EIGHT_BIT_MAX if peak <= 1.0 else 1.0
        values = values * scale
    elif pixels.dtype.itemsize > 1 and (peak > _EIGHT_BIT_MAX or pixels.dtype == np.uint16):
        values = values / _SIXTEEN_BIT_SCALE
    values = np.nan_to_num(values, nan=0.0, posinf=_EIGHT_BIT_MAX, neginf=0.0)
    return np.clip(np.rint(values), 0, _EIGHT_BIT_MAX).astype(np.uint8)


# ----------------------------------------------------------------------------------------------------------
# Reduction and hashing


def _reduce(rgb: Image.Image) -> Image.Image:
    return rgb if rgb.size == HASHED_SIZE else rgb.resize(HASHED_SIZE, Image.Resampling.BILINEAR)


def _fingerprint_rgb(rgb: Image.Image, size: tuple[int, int], *, sha256: str, md5: str) -> ImageFingerprint:
    if min(rgb.size) < _MIN_HASHABLE_SIDE:
        width, height = rgb.size
        raise MediaRejected(
            "image:too-small", f"{width}x{height} is under {_MIN_HASHABLE_SIDE} pixels on a side"
        )
    reduced = _reduce(rgb)
    pdq, pdq_quality = _pdq_dihedral(reduced)
    phash = _phash_dihedral(reduced)
    band_image = middle_band(rgb)
    band = None
    if band_image is not None:
        band_reduced = _reduce(band_image)
        band_pdq, band_quality = _pdq_dihedral(band_reduced)
        band_phash = _phash_dihedral(band_reduced)
        band = BandFingerprint(
            pdq_dihedral={name: band_pdq[name] for name in BAND_ORIENTATIONS},
            pdq_quality=band_quality,
            phash_dihedral={name: band_phash[name] for name in BAND_ORIENTATIONS},
        )
    return ImageFingerprint(
        sha256=sha256,
        md5=md5,
        pdq=pdq["original"],
        pdq_quality=pdq_quality,
        pdq_dihedral=pdq,
        phash=phash["original"],
        width=size[0],
        height=size[1],
        phash_dihedral=phash,
        band=band,
    )


def _pdq_dihedral(reduced: Image.Image) -> tuple[dict[str, str], int]:
    try:
        hashes = pdq_dihedral_hashes(reduced)
    except PdqInputError as error:  # not expected at the hashed size; kept as a clear refusal
        raise MediaRejected(error.reason, str(error)) from error
    return {name: pdq.hex for name, pdq in hashes.items()}, hashes["original"].quality


def _phash_dihedral(rgb: Image.Image) -> dict[str, str]:
    """imagehash's pHash of the image and its 7 rotations/mirrors.

    ``original`` is exactly ``str(imagehash.phash(rgb))``. The others transform the 32x32 thumbnail
    instead of the image (one resize instead of eight); a rotated resize differs from a resized rotation
    only by rounding, a bit or two at most.
    """
    thumbnail = np.asarray(
        rgb.convert("L").resize((_PHASH_SIDE, _PHASH_SIDE), Image.Resampling.LANCZOS), dtype=np.float64
    )
    return {name: _phash_of_thumbnail(transform(thumbnail)) for name, transform in _ARRAY_DIHEDRAL.items()}


def _phash_of_thumbnail(thumbnail: NDArray[np.float64]) -> str:
    # imagehash.phash from here on: a hash object built from the DCT's 8x8 low frequencies.
    import scipy.fftpack  # imagehash's own DCT; imported lazily as imagehash does

    dct = scipy.fftpack.dct(scipy.fftpack.dct(thumbnail, axis=0), axis=1)  # type: ignore[no-untyped-call]
    low = dct[:_PHASH_BITS_SIDE, :_PHASH_BITS_SIDE]
    return str(imagehash.ImageHash(low > np.median(low)))
