"""The edits a copy of a known image goes through before it is found online, as encoded files.

Each :class:`Transform` returns the bytes a crawler would download: PNG for lossless edits (so the edit
alone is measured), JPEG for the recompression case. Random choices (crop offset, rotation sign) come
from a generator seeded per image, so a run is reproducible.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from PIL import Image, ImageDraw, ImageEnhance, ImageFont

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

# Recall goals from issue 3: 99% on resize, recompression, brightness, greyscale, overlay and mirror; 90% on
# a 10% crop and small rotations. Transforms without a goal are measured and reported all the same.
STRICT_GOAL: Final = 0.99
LOOSE_GOAL: Final = 0.90


class TransformError(ValueError):
    """A transform was asked for that does not exist. ``reason``: ``transform:unknown``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class Transform:
    """One edit: its name in the tables, what it does, the recall goal (None: no goal) and the function."""

    name: str
    description: str
    goal: float | None
    encode: Callable[[Image.Image, np.random.Generator], bytes]


def encode_png(image: Image.Image) -> bytes:
    """Lossless bytes of an image (fast compression: only the pixels matter here)."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def encode_jpeg(image: Image.Image, quality: int) -> bytes:
    """JPEG bytes at ``quality`` (Pillow's default 4:2:0 chroma subsampling, like most web encoders)."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _lossless(
    edit: Callable[[Image.Image, np.random.Generator], Image.Image],
) -> Callable[[Image.Image, np.random.Generator], bytes]:
    def encode(image: Image.Image, rng: np.random.Generator) -> bytes:
        return encode_png(edit(image, rng))

    return encode


def _unchanged(image: Image.Image, _rng: np.random.Generator) -> Image.Image:
    return image


def _resize(scale: float) -> Callable[[Image.Image, np.random.Generator], Image.Image]:
    def resize(image: Image.Image, _rng: np.random.Generator) -> Image.Image:
        width, height = image.size
        return image.resize(
            (max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.LANCZOS
        )

    return resize


def _jpeg(quality: int) -> Callable[[Image.Image, np.random.Generator], bytes]:
    def recompress(image: Image.Image, _rng: np.random.Generator) -> bytes:
        return encode_jpeg(image, quality)

    return recompress


def _crop(fraction: float, *, centred: bool) -> Callable[[Image.Image, np.random.Generator], Image.Image]:
    """Cut ``fraction`` of the width and of the height: half from each side, or split at random."""

    def crop(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        width, height = image.size
        cut_x, cut_y = round(width * fraction), round(height * fraction)
        if centred:
            left, top = cut_x // 2, cut_y // 2
        else:
            left, top = int(rng.integers(0, cut_x + 1)), int(rng.integers(0, cut_y + 1))
        return image.crop((left, top, left + width - cut_x, top + height - cut_y))

    return crop


def _watermark(image: Image.Image, _rng: np.random.Generator) -> Image.Image:
    """Translucent white text (43% opaque) across the middle, half the width wide: a typical watermark."""
    width, height = image.size
    canvas = image.convert("RGBA")
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    font = ImageFont.load_default(size=max(10, width // 8))
    ImageDraw.Draw(layer).text(
        (width // 10, height // 2 - width // 16), "SAMPLE", fill=(255, 255, 255, 110), font=font
    )
    return Image.alpha_composite(canvas, layer).convert("RGB")


def _logo_badge(image: Image.Image, _rng: np.random.Generator) -> Image.Image:
    """An opaque dark badge with a site name in the bottom-right corner (a quarter of the width, a twelfth
    of the height): a small area, but hard edges that move a perceptual hash more than a watermark."""
    width, height = image.size
    canvas = image.copy()
    draw = ImageDraw.Draw(canvas)
    badge_w, badge_h = width // 4, max(10, height // 12)
    draw.rectangle((width - badge_w - 4, height - badge_h - 4, width - 4, height - 4), fill=(20, 20, 20))
    font = ImageFont.load_default(size=max(8, badge_h * 2 // 3))
    draw.text((width - badge_w, height - badge_h - 2), "example.site", fill=(240, 240, 240), font=font)
    return canvas


def _mirror(image: Image.Image, _rng: np.random.Generator) -> Image.Image:
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def _rotate(degrees: float) -> Callable[[Image.Image, np.random.Generator], Image.Image]:
    """Rotate on the same canvas, black corners, the sign drawn at random (clockwise or not)."""

    def rotate(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        sign = 1 if rng.random() < 0.5 else -1
        return image.rotate(sign * degrees, Image.Resampling.BICUBIC, expand=False, fillcolor=(0, 0, 0))

    return rotate


def _rotate_90(image: Image.Image, _rng: np.random.Generator) -> Image.Image:
    return image.transpose(Image.Transpose.ROTATE_90)


def _brightness(factor: float) -> Callable[[Image.Image, np.random.Generator], Image.Image]:
    def brighten(image: Image.Image, _rng: np.random.Generator) -> Image.Image:
        return ImageEnhance.Brightness(image).enhance(factor)

    return brighten


def _greyscale(image: Image.Image, _rng: np.random.Generator) -> Image.Image:
    return image.convert("L")  # stored as a one-channel PNG, as a greyscale copy usually is


def _letterbox(image: Image.Image, _rng: np.random.Generator) -> Image.Image:
    """Black bars that make the canvas a third larger: top and bottom for a wide image, sides otherwise."""
    width, height = image.size
    if width >= height:
        canvas = Image.new("RGB", (width, round(height * 4 / 3)), (0, 0, 0))
        canvas.paste(image, (0, (canvas.height - height) // 2))
    else:
        canvas = Image.new("RGB", (round(width * 4 / 3), height), (0, 0, 0))
        canvas.paste(image, ((canvas.width - width) // 2, 0))
    return canvas


def _screenshot(image: Image.Image, _rng: np.random.Generator) -> Image.Image:
    """Shown at 80% inside a window: a title bar, a toolbar line, grey margins and a caption."""
    width, height = image.size
    shown = image.resize((round(width * 0.8), round(height * 0.8)), Image.Resampling.BILINEAR)
    canvas = Image.new("RGB", (width, round(height * 1.15)), (236, 236, 236))
    draw = ImageDraw.Draw(canvas)
    bar = max(8, canvas.height // 20)
    draw.rectangle((0, 0, canvas.width, bar), fill=(48, 52, 60))
    draw.text(
        (bar, bar // 5),
        "Image viewer",
        fill=(230, 230, 230),
        font=ImageFont.load_default(size=max(6, bar // 2)),
    )
    draw.line((0, bar + 3, canvas.width, bar + 3), fill=(180, 180, 180), width=2)
    left, top = (canvas.width - shown.width) // 2, bar + 8
    canvas.paste(shown, (left, top))
    caption = ImageFont.load_default(size=max(6, bar // 2))
    draw.text((left, top + shown.height + 4), "shared picture", fill=(60, 60, 60), font=caption)
    return canvas


TRANSFORMS: Final[tuple[Transform, ...]] = (
    Transform("copy", "unchanged, re-encoded as PNG (sanity check)", None, _lossless(_unchanged)),
    Transform("resize 50%", "Lanczos downscale to half the width and height", STRICT_GOAL, _lossless(_resize(0.5))),
    Transform("resize 25%", "Lanczos downscale to a quarter", STRICT_GOAL, _lossless(_resize(0.25))),
    Transform("JPEG q30", "recompressed as JPEG at quality 30", STRICT_GOAL, _jpeg(30)),
    Transform("crop 10% centred", "10% of width and height cut, half from each side", LOOSE_GOAL, _lossless(_crop(0.10, centred=True))),
    Transform("crop 10% off-centre", "10% of width and height cut, split at random between the sides", LOOSE_GOAL, _lossless(_crop(0.10, centred=False))),
    Transform("crop 20% centred", "20% of width and height cut, half from each side", None, _lossless(_crop(0.20, centred=True))),
    Transform("crop 20% off-centre", "20% of width and height cut, split at random between the sides", None, _lossless(_crop(0.20, centred=False))),
    Transform("watermark", "translucent 'SAMPLE' text, half the width, across the middle", STRICT_GOAL, _lossless(_watermark)),
    Transform("logo badge", "opaque dark badge with a site name in a corner", None, _lossless(_logo_badge)),
    Transform("mirror", "left-right mirror", STRICT_GOAL, _lossless(_mirror)),
    Transform("rotate 5°", "5 degrees either way on the same canvas, black corners", LOOSE_GOAL, _lossless(_rotate(5))),
    Transform("rotate 90°", "quarter turn counter-clockwise", None, _lossless(_rotate_90)),
    Transform("brightness +20%", "ImageEnhance.Brightness 1.2", STRICT_GOAL, _lossless(_brightness(1.2))),
    Transform("brightness -20%", "ImageEnhance.Brightness 0.8", STRICT_GOAL, _lossless(_brightness(0.8))),
    Transform("greyscale", "one-channel greyscale", STRICT_GOAL, _lossless(_greyscale)),
    Transform("letterbox", "black bars making the canvas a third larger", None, _lossless(_letterbox)),
    Transform("screenshot", "shown at 80% in a window with title bar, margins and caption", None, _lossless(_screenshot)),
)  # fmt: skip


def transform_named(name: str) -> Transform:
    """The transform called ``name`` in :data:`TRANSFORMS`.

    Examples
    --------
    >>> transform_named("mirror").goal
    0.99
    """
    for transform in TRANSFORMS:
        if transform.name == name:
            return transform
    raise TransformError("transform:unknown", f"no transform named {name!r}")
