"""Harmless synthetic images for the demo, and the alterations a re-uploaded image typically goes through.

Every image is built from an integer seed and nothing else: layered colour gradients, random shapes, a
noise texture and a rendered ``sample <seed>`` label. No photograph, face or body is ever involved.

Why the coarse layout comes from a code
---------------------------------------
A perceptual hash such as pHash keeps only an image's coarsest luminance layout (the signs of the 8x8
lowest DCT coefficients of a 32x32 thumbnail, against their median). Random pictures give random-looking
hashes, and among a few hundred random 64-bit hashes some pair is almost always closer than 17 bits, which
would make two unrelated demo images look like re-uploads of each other. So the final step of
:func:`make_image` imprints a smooth luminance field that sets those coefficients to the bits of a
codeword of the binary BCH code (63, 16, 23) - keeping only codewords of weight 31, so that together with
the always-high DC coefficient exactly 32 of the 64 bits sit above the median, as pHash requires. Any two
such codewords differ in at least 24 bits, so the pHashes of two different seeds do too, and the margin
survives mild alterations (resizing, JPEG, a caption strip). The field is smooth and large-scale: it
reads as one more layer of soft gradient.

Example
-------
>>> image = make_image(17, size=(160, 120))
>>> image.size, image.mode
((160, 120), 'RGB')
>>> smaller = resize(recompress_jpeg(image, 70), 0.5)
>>> smaller.size
(80, 60)
"""

from __future__ import annotations

import io
import math
from functools import cache
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

DEFAULT_SIZE: Final = (640, 480)
MIN_SIDE: Final = 64
MAX_SIDE: Final = 4096

#: Media type of each format :func:`encode` writes.
MEDIA_TYPES: Final[dict[str, str]] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
_FORMAT_ALIASES: Final = {"JPG": "JPEG"}

# pHash (imagehash.phash) looks at a 32x32 Lanczos thumbnail and keeps its 8x8 lowest DCT coefficients.
_THUMB_SIDE: Final = 32
_LAYOUT_SIDE: Final = 8
# Orthonormal DCT units on the 32x32 thumbnail; 160 gives a field of about 40 grey levels RMS, enough to
# keep every bit well clear of the median after a caption strip or JPEG, small enough to clip rarely.
_LAYOUT_MAGNITUDE: Final = 160.0
_IMPRINT_ROUNDS: Final = 6
_IMPRINT_TOLERANCE: Final = 2.0
# Content is squeezed into this grey range before the layout field is added, so the field rarely clips.
_CONTENT_FLOOR: Final = 48.0
_CONTENT_SPAN: Final = 160.0

# GF(64) is built on the primitive polynomial x^6 + x + 1; the BCH code's roots are alpha^1 .. alpha^22.
_GF_PRIMITIVE: Final = 0b1000011
_GF_ORDER: Final = 63
_BCH_DESIGNED_DISTANCE: Final = 23
_LAYOUT_WEIGHT: Final = 31

# Caption strip: a translucent dark band along the bottom, like a board's repost watermark. Thin and light
# enough that the copy still matches its original (measured on 100 seeds: pHash 0 bits, PDQ <= 32 bits).
_CAPTION_HEIGHT_FRACTION: Final = 0.07
_CAPTION_BAND_ALPHA: Final = 72
_CAPTION_TEXT_ALPHA: Final = 220

FloatArray = npt.NDArray[np.float64]


class SyntheticMediaError(ValueError):
    """A synthetic image was asked for with an argument outside what the generator supports."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- the layout code -------------------------------------------------------------------------------------


def _gf64_tables() -> tuple[list[int], list[int]]:
    """Exponent and logarithm tables of GF(64); the exponent table is doubled to skip a modulo."""
    exponents = [0] * (2 * _GF_ORDER)
    logarithms = [0] * (_GF_ORDER + 1)
    value = 1
    for power in range(_GF_ORDER):
        exponents[power] = value
        logarithms[value] = power
        value <<= 1
        if value & 0b1000000:
            value ^= _GF_PRIMITIVE
    exponents[_GF_ORDER:] = exponents[:_GF_ORDER]
    return exponents, logarithms


def _bch_generator_polynomial() -> list[int]:
    """Coefficients (lowest degree first) of the generator of the narrow-sense BCH code (63, 16, 23)."""
    exponents, logarithms = _gf64_tables()

    def times(left: list[int], right: list[int]) -> list[int]:
        product = [0] * (len(left) + len(right) - 1)
        for i, a in enumerate(left):
            for j, b in enumerate(right):
                if a and b:
                    product[i + j] ^= exponents[logarithms[a] + logarithms[b]]
        return product

    generator, covered = [1], set[int]()
    for root in range(1, _BCH_DESIGNED_DISTANCE):
        if root in covered:
            continue
        # The minimal polynomial of alpha^root has the whole cyclotomic coset {root * 2^k} as its roots.
        coset, power = [], root
        while power not in coset:
            coset.append(power)
            power = (2 * power) % _GF_ORDER
        covered.update(coset)
        minimal = [1]
        for power in coset:
            minimal = times(minimal, [exponents[power], 1])
        generator = times(generator, minimal)
    return generator


@cache
def _layout_codebook() -> npt.NDArray[np.uint8]:
    """Every weight-31 codeword of BCH (63, 16, 23), ordered by message, one row each (63 bits)."""
    generator = np.array(_bch_generator_polynomial(), dtype=np.uint8)
    length = _GF_ORDER
    dimension = length - (len(generator) - 1)
    rows = np.zeros((dimension, length), dtype=np.uint8)
    for shift in range(dimension):
        rows[shift, shift : shift + len(generator)] = generator
    messages = ((np.arange(2**dimension)[:, None] >> np.arange(dimension)) & 1).astype(np.uint8)
    codewords = (messages @ rows) & 1
    return np.ascontiguousarray(codewords[codewords.sum(axis=1) == _LAYOUT_WEIGHT])


def seed_limit() -> int:
    """How many seeds have their own layout: :func:`make_image` accepts ``0 <= seed < seed_limit()``.

    >>> seed_limit()
    15183
    """
    return int(_layout_codebook().shape[0])


def _layout_bits(seed: int) -> npt.NDArray[np.bool_]:
    """The 8x8 pHash bit pattern seed ``seed`` is given: DC high, then its codeword, row-major."""
    bits = np.concatenate(([1], _layout_codebook()[seed])).astype(bool)
    return bits.reshape(_LAYOUT_SIDE, _LAYOUT_SIDE)


# --- imprinting the layout -------------------------------------------------------------------------------


def _dct_basis(length: int, samples: int) -> FloatArray:
    """Orthonormal DCT-II basis of a ``length``-point signal, evaluated at ``samples`` evenly spaced centres.

    With ``samples == length`` this is the usual DCT matrix; with more samples it gives the same cosines on
    a finer grid, which is what a full-size image needs so that its thumbnail carries the wanted terms.
    """
    scale = np.full(length, math.sqrt(2.0 / length))
    scale[0] = math.sqrt(1.0 / length)
    positions = (np.arange(samples) + 0.5) / samples
    return np.asarray(scale[:, None] * np.cos(np.pi * np.arange(length)[:, None] * positions[None, :]))


def _thumbnail_low_frequencies(image: Image.Image) -> FloatArray:
    """The 8x8 lowest orthonormal DCT coefficients of the image's 32x32 grey thumbnail, as pHash sees it."""
    thumb = image.convert("L").resize((_THUMB_SIDE, _THUMB_SIDE), Image.Resampling.LANCZOS)
    basis = _dct_basis(_THUMB_SIDE, _THUMB_SIDE)[:_LAYOUT_SIDE]
    return np.asarray(basis @ np.asarray(thumb, dtype=np.float64) @ basis.T)


def _to_image(pixels: FloatArray) -> Image.Image:
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), mode="RGB")


def _imprint_layout(image: Image.Image, targets: FloatArray) -> Image.Image:
    """Add a smooth grey field so the thumbnail's low AC coefficients equal ``targets`` (DC is left alone).

    Clipping and the Lanczos thumbnail make one pass inexact, so the correction is repeated a few times.
    """
    width, height = image.size
    rows = _dct_basis(_THUMB_SIDE, height)[:_LAYOUT_SIDE]
    columns = _dct_basis(_THUMB_SIDE, width)[:_LAYOUT_SIDE]
    pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    for _ in range(_IMPRINT_ROUNDS):
        correction = targets - _thumbnail_low_frequencies(_to_image(pixels))
        correction[0, 0] = 0.0
        if np.abs(correction).max() < _IMPRINT_TOLERANCE:
            break
        # Equal shifts of R, G and B shift the luminance by the same amount (the Rec. 601 weights sum to 1).
        pixels = pixels + (rows.T @ correction @ columns)[:, :, None]
    return _to_image(pixels)


# --- content layers --------------------------------------------------------------------------------------


def _colour(rng: np.random.Generator, alpha: int | None = None) -> tuple[int, ...]:
    channels = tuple(int(value) for value in rng.integers(0, 256, 3))
    return channels if alpha is None else (*channels, alpha)


def _gradient_background(rng: np.random.Generator, width: int, height: int) -> FloatArray:
    """A linear two-colour gradient at a random angle, overlaid with a soft radial glow."""
    u = (np.arange(width) / width - 0.5)[None, :]
    v = (np.arange(height) / height - 0.5)[:, None]
    angle = rng.uniform(0.0, 2.0 * math.pi)
    ramp = np.clip(u * math.cos(angle) + v * math.sin(angle) + 0.5, 0.0, 1.0)
    start, end = np.array(_colour(rng), dtype=np.float64), np.array(_colour(rng), dtype=np.float64)
    centre_u, centre_v, radius = rng.uniform(-0.4, 0.4), rng.uniform(-0.4, 0.4), rng.uniform(0.2, 0.6)
    glow = np.exp(-((u - centre_u) ** 2) / (2.0 * radius**2)) * np.exp(
        -((v - centre_v) ** 2) / (2.0 * radius**2)
    )
    glow_colour = np.array(_colour(rng), dtype=np.float64)
    glow_weight = (rng.uniform(0.3, 0.7) * glow)[:, :, None]
    pixels = start + (end - start) * ramp[:, :, None]
    return np.asarray(pixels + (glow_colour - pixels) * glow_weight)


def _draw_shapes(rng: np.random.Generator, canvas: Image.Image) -> Image.Image:
    """Translucent ellipses, boxes, polygons, rings and strokes, composited onto ``canvas``."""
    width, height = canvas.size
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(int(rng.integers(8, 17))):
        fill = _colour(rng, alpha=int(rng.integers(90, 220)))
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(0.04, 0.3) * width
        box = (
            cx - radius,
            cy - radius * rng.uniform(0.4, 1.0),
            cx + radius,
            cy + radius * rng.uniform(0.4, 1.0),
        )
        stroke = max(2, int(radius * rng.uniform(0.04, 0.15)))
        kind = int(rng.integers(0, 5))
        if kind == 0:
            draw.ellipse(box, fill=fill)
        elif kind == 1:
            draw.rectangle(box, fill=fill)
        elif kind == 2:
            turns = np.sort(rng.uniform(0.0, 2.0 * math.pi, int(rng.integers(3, 7))))
            draw.polygon([(cx + radius * math.cos(t), cy + radius * math.sin(t)) for t in turns], fill=fill)
        elif kind == 3:
            draw.ellipse(box, outline=fill, width=stroke)
        else:
            points = [(rng.uniform(0, width), rng.uniform(0, height)) for _ in range(int(rng.integers(2, 5)))]
            draw.line(points, fill=fill, width=stroke, joint="curve")
    return Image.alpha_composite(canvas.convert("RGBA"), overlay).convert("RGB")


def _add_noise_texture(rng: np.random.Generator, pixels: FloatArray) -> FloatArray:
    """Film-like grain, then everything squeezed into the content grey range."""
    height, width = pixels.shape[:2]
    grain = rng.normal(0.0, 7.0, (height, width, 1))
    textured = np.clip(pixels + grain, 0, 255)
    return np.asarray(_CONTENT_FLOOR + textured * (_CONTENT_SPAN / 255.0))


def _draw_label(seed: int, rng: np.random.Generator, image: Image.Image) -> None:
    """Write ``sample <seed>`` near a random corner, white with a dark outline so it reads on any layer."""
    width, height = image.size
    font = ImageFont.load_default(size=max(10, height // 12))
    draw = ImageDraw.Draw(image)
    text = f"sample {seed}"
    text_width = draw.textlength(text, font=font)
    left = width * 0.04 if rng.random() < 0.5 else width * 0.96 - text_width
    top = height * 0.04 if rng.random() < 0.5 else height * 0.96 - height / 12 - 4
    draw.text((left, top), text, font=font, fill=(255, 255, 255), stroke_width=2, stroke_fill=(20, 20, 20))


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise SyntheticMediaError(f"image size must be {MIN_SIDE}..{MAX_SIDE} pixels per side, got {size!r}")
    return int(width), int(height)


def make_image(seed: int, size: tuple[int, int] = DEFAULT_SIZE) -> Image.Image:
    """A harmless RGB picture, the same for the same seed and size, visibly different for another seed.

    Parameters
    ----------
    seed
        Which picture: ``0 <= seed < seed_limit()``. Different seeds are built to give pHashes at least
        24 bits apart (see the module notes; 200 seeds at the default size measure 24..40).
    size
        ``(width, height)``, each side 64..4096 pixels.

    Returns
    -------
    PIL.Image.Image
        A new RGB image: gradients, shapes, a noise texture and the label ``sample <seed>``.

    Raises
    ------
    SyntheticMediaError
        If the seed or the size is out of range.

    Examples
    --------
    >>> make_image(3, size=(96, 64)).tobytes() == make_image(3, size=(96, 64)).tobytes()
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < seed_limit():
        raise SyntheticMediaError(f"seed must be an int in 0..{seed_limit() - 1}, got {seed!r}")
    width, height = _check_size(size)
    rng = np.random.default_rng(seed)
    background = _to_image(_gradient_background(rng, width, height))
    shaped = _draw_shapes(rng, background)
    textured = _to_image(_add_noise_texture(rng, np.asarray(shaped, dtype=np.float64)))
    _draw_label(seed, rng, textured)
    magnitudes = _LAYOUT_MAGNITUDE * rng.uniform(0.8, 1.25, (_LAYOUT_SIDE, _LAYOUT_SIDE))
    targets = np.where(_layout_bits(seed), magnitudes, -magnitudes)
    return _imprint_layout(textured, targets)


def make_placeholder(size: tuple[int, int], text: str = "image removed by the board") -> Image.Image:
    """What an operator serves in place of a removed picture: a flat grey card, an empty frame icon, one line.

    It is the same for the same arguments and carries nothing of any picture: a re-check that fetches it must
    find that the reported image is no longer there.

    Parameters
    ----------
    size
        ``(width, height)``, each side 64..4096 pixels (usually the removed picture's size).
    text
        The notice under the icon, one printable line (shrunk to fit the width).

    Returns
    -------
    PIL.Image.Image
        A new RGB image.

    Raises
    ------
    SyntheticMediaError
        If the size is out of range or the text is blank or not a single printable line.

    Examples
    --------
    >>> make_placeholder((160, 120)).getpixel((2, 2))
    (226, 226, 226)
    """
    width, height = _check_size(size)
    if not text.strip() or any(not character.isprintable() for character in text):
        raise SyntheticMediaError("placeholder text must be a single non-blank line of printable characters")
    card = Image.new("RGB", (width, height), (226, 226, 226))
    draw = ImageDraw.Draw(card)
    # An empty picture frame with a diagonal stroke: the usual "no image" sign.
    side = min(width, height) // 3
    left, top = (width - side) // 2, height // 2 - side * 3 // 4
    line = max(2, side // 16)
    draw.rectangle((left, top, left + side, top + side), outline=(150, 150, 150), width=line)
    draw.line((left, top + side, left + side, top), fill=(150, 150, 150), width=line)
    font_size = max(8, height // 14)
    font = ImageFont.load_default(size=font_size)
    text_width = draw.textlength(text, font=font)
    if text_width > width * 0.9:
        font = ImageFont.load_default(size=max(6, int(font_size * width * 0.9 / text_width)))
    draw.text((width / 2, top + side + height / 10), text, font=font, anchor="mm", fill=(90, 90, 90))
    return card


# --- alterations -----------------------------------------------------------------------------------------


def resize(image: Image.Image, factor: float) -> Image.Image:
    """A copy scaled by ``factor`` (0.05..4) on both sides, Lanczos-resampled, each side at least 1 pixel.

    >>> resize(Image.new("RGB", (200, 100)), 0.6).size
    (120, 60)
    """
    if not 0.05 <= factor <= 4.0:
        raise SyntheticMediaError(f"resize factor must be 0.05..4, got {factor!r}")
    width, height = image.size
    new_size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return image.resize(new_size, Image.Resampling.LANCZOS)


def recompress_jpeg(image: Image.Image, quality: int) -> Image.Image:
    """The image after one JPEG round trip at ``quality`` (1..95), as a re-upload would leave it.

    >>> recompress_jpeg(Image.new("RGB", (64, 64), "teal"), 60).size
    (64, 64)
    """
    with Image.open(io.BytesIO(encode(image, "JPEG", quality=quality))) as decoded:
        decoded.load()
        return decoded.copy()


def add_caption(image: Image.Image, text: str) -> Image.Image:
    """A copy with a translucent dark strip along the bottom carrying ``text``, like a repost watermark.

    The text is shrunk to fit the width; the strip covers the bottom 7% of the image.

    >>> captioned = add_caption(Image.new("RGB", (200, 100), "white"), "reposted")
    >>> captioned.getpixel((10, 10)), captioned.getpixel((199, 99)) != (255, 255, 255)
    ((255, 255, 255), True)
    """
    if not text.strip():
        raise SyntheticMediaError("caption text must not be blank")
    if any(not character.isprintable() for character in text):
        raise SyntheticMediaError("caption text must be a single line of printable characters")
    width, height = image.size
    strip = max(10, round(height * _CAPTION_HEIGHT_FRACTION))
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle((0, height - strip, width, height), fill=(0, 0, 0, _CAPTION_BAND_ALPHA))
    font_size = max(6, int(strip * 0.65))
    font = ImageFont.load_default(size=font_size)
    available = width * 0.94
    text_width = draw.textlength(text, font=font)
    if text_width > available:
        font = ImageFont.load_default(size=max(6, int(font_size * available / text_width)))
    draw.text(
        (width * 0.03, height - strip / 2),
        text,
        font=font,
        anchor="lm",
        fill=(255, 255, 255, _CAPTION_TEXT_ALPHA),
    )
    captioned = Image.alpha_composite(image.convert("RGBA"), overlay)
    return captioned.convert(image.mode if image.mode in ("RGB", "L") else "RGB")


def adjust_brightness(image: Image.Image, factor: float) -> Image.Image:
    """A copy with brightness scaled by ``factor`` (0.1..4; below 1 darker, above 1 brighter).

    >>> adjust_brightness(Image.new("L", (8, 8), 100), 0.5).getpixel((0, 0))
    50
    """
    if not 0.1 <= factor <= 4.0:
        raise SyntheticMediaError(f"brightness factor must be 0.1..4, got {factor!r}")
    return ImageEnhance.Brightness(image).enhance(factor)


def to_greyscale(image: Image.Image) -> Image.Image:
    """A single-channel ("L") copy, with the usual Rec. 601 luminance weights.

    >>> to_greyscale(Image.new("RGB", (8, 8), (255, 0, 0))).getpixel((0, 0))
    76
    """
    return image.convert("L")


def encode(image: Image.Image, fmt: str, *, quality: int = 90) -> bytes:
    """The image as file bytes in ``fmt``: JPEG (alias JPG), PNG, WEBP or GIF, case-insensitive.

    ``quality`` (1..95) applies to JPEG and WEBP. The same image and arguments give the same bytes.

    >>> encode(Image.new("RGB", (8, 8)), "png")[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    name = fmt.upper()
    name = _FORMAT_ALIASES.get(name, name)
    if name not in MEDIA_TYPES:
        raise SyntheticMediaError(f"unsupported format {fmt!r}; use one of {', '.join(MEDIA_TYPES)}")
    if not 1 <= quality <= 95:
        raise SyntheticMediaError(f"quality must be 1..95, got {quality!r}")
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    if name == "JPEG":
        image.save(buffer, "JPEG", quality=quality)
    elif name == "WEBP":
        image.save(buffer, "WEBP", quality=quality, method=4)
    else:
        image.save(buffer, name)
    return buffer.getvalue()
