"""Harmless generated images for the detection tests, and the edits a re-uploaded copy goes through.

Originals and distractors come from separate seeds and separate sample photos, so a distractor is never
a copy of an original. Everything is synthesised from fixed seeds: a failure names a case that can be
rebuilt exactly.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Final

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

if TYPE_CHECKING:
    from collections.abc import Callable

# scikit-image sample photos without people in them (and no medical images of patients). The bank uses the
# first group, distractors the second.
BANK_PHOTOS: Final = ("chelsea", "coffee", "rocket", "coins", "hubble_deep_field", "text")
DISTRACTOR_PHOTOS: Final = (
    "brick",
    "grass",
    "gravel",
    "moon",
    "clock",
    "cell",
    "colorwheel",
    "page",
)

_WORDS: Final = (
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "synthetic",
    "sample",
    "harbour",
    "meadow",
    "orbit",
)


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    red, green, blue = (int(value) for value in rng.integers(0, 256, 3))
    return red, green, blue


def make_scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A photo-like picture: a smooth colour field, soft-edged shapes and a little sensor-like noise."""
    rng = np.random.default_rng(seed)
    width, height = size
    grid = (int(rng.integers(3, 9)), int(rng.integers(3, 9)))
    coarse = rng.integers(0, 256, (grid[1], grid[0], 3), dtype=np.uint8)
    image = Image.fromarray(coarse, "RGB").resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(4, 12))):
        x0, y0 = int(rng.integers(-width // 5, width)), int(rng.integers(-height // 5, height))
        x1 = x0 + int(rng.integers(width // 12, width // 2))
        y1 = y0 + int(rng.integers(height // 12, height // 2))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=_colour(rng))
        else:
            draw.rectangle((x0, y0, x1, y1), fill=_colour(rng))
    pixels = np.asarray(image, dtype=np.int16) + rng.integers(-6, 7, (height, width, 3), dtype=np.int16)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def make_poster(seed: int, size: tuple[int, int] = (600, 800)) -> Image.Image:
    """Rendered words on a two-colour gradient, like a flyer."""
    rng = np.random.default_rng(seed)
    width, height = size
    top, bottom = np.array(_colour(rng), dtype=np.float64), np.array(_colour(rng), dtype=np.float64)
    ramp = np.linspace(0.0, 1.0, height)[:, None, None]
    pixels = (top * (1 - ramp) + bottom * ramp) * np.ones((1, width, 1))
    image = Image.fromarray(pixels.round().astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for line in range(int(rng.integers(3, 7))):
        words = " ".join(str(w) for w in rng.choice(_WORDS, size=int(rng.integers(1, 4))))
        font = ImageFont.load_default(size=int(rng.integers(height // 16, height // 7)))
        position = (int(rng.integers(0, width // 4)), int(line * height / 7 + rng.integers(0, height // 14)))
        draw.text(position, words.upper(), fill=_colour(rng), font=font)
    return image


def sample_photo(name: str) -> Image.Image:
    import skimage.data

    pixels = np.asarray(getattr(skimage.data, name)())
    if pixels.dtype == np.bool_:
        pixels = pixels.astype(np.uint8) * 255
    image = Image.fromarray(pixels)
    return image.convert("RGB")


def photo_tiles(name: str, count: int, seed: int) -> list[Image.Image]:
    """Rescaled windows of one sample photo at random places and scales (distinct pictures of one kind)."""
    rng = np.random.default_rng(seed)
    photo = sample_photo(name)
    tiles = []
    for _ in range(count):
        scale = float(rng.uniform(0.35, 0.7))
        width, height = int(photo.width * scale), int(photo.height * scale)
        left = int(rng.integers(0, photo.width - width + 1))
        top = int(rng.integers(0, photo.height - height + 1))
        tile = photo.crop((left, top, left + width, top + height))
        tiles.append(tile.resize((int(rng.integers(200, 640)), int(rng.integers(200, 640)))))
    return tiles


# ----------------------------------------------------------------------------------------------------------
# Edits a copy goes through on its way back online


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def resize(image: Image.Image, factor: float) -> Image.Image:
    size = (max(8, round(image.width * factor)), max(8, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


def brightness(image: Image.Image, factor: float) -> Image.Image:
    return ImageEnhance.Brightness(image).enhance(factor)


def greyscale(image: Image.Image) -> Image.Image:
    return image.convert("L").convert("RGB")


def caption(image: Image.Image) -> Image.Image:
    """White outlined caption text along the bottom, as meme and repost tools add."""
    copy = image.convert("RGB")
    width, height = copy.size
    font = ImageFont.load_default(size=max(10, height // 14))
    ImageDraw.Draw(copy).text(
        (width // 30, height - height // 8),
        "reposted caption",
        fill="white",
        font=font,
        stroke_width=2,
        stroke_fill="black",
    )
    return copy


def watermark(image: Image.Image) -> Image.Image:
    """Large translucent white text across the middle."""
    copy = image.convert("RGBA")
    layer = Image.new("RGBA", copy.size, (0, 0, 0, 0))
    width, height = copy.size
    font = ImageFont.load_default(size=max(10, height // 10))
    ImageDraw.Draw(layer).text(
        (width // 6, height // 2 - height // 20), "watermark.example", fill=(255, 255, 255, 110), font=font
    )
    return Image.alpha_composite(copy, layer).convert("RGB")


def caption_bar(image: Image.Image) -> Image.Image:
    """A dark band over the bottom ninth with a caption in it."""
    copy = image.convert("RGBA")
    layer = Image.new("RGBA", copy.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    width, height = copy.size
    font = ImageFont.load_default(size=max(10, height // 14))
    draw.rectangle((0, height - height // 9, width, height), fill=(0, 0, 0, 160))
    draw.text(
        (width // 30, height - height // 10), "reposted caption text", fill=(255, 255, 255, 255), font=font
    )
    return Image.alpha_composite(copy, layer).convert("RGB")


def mirror(image: Image.Image) -> Image.Image:
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def rotate90(image: Image.Image) -> Image.Image:
    return image.transpose(Image.Transpose.ROTATE_90)


def crop_centre(image: Image.Image, share: float) -> Image.Image:
    """Remove ``share`` of the width and of the height, half from each side."""
    dx, dy = round(image.width * share / 2), round(image.height * share / 2)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


def crop_corner(image: Image.Image, share: float) -> Image.Image:
    """Remove ``share`` of the width and of the height from the top left: the picture also shifts."""
    return image.crop((round(image.width * share), round(image.height * share), image.width, image.height))


def rotate_small(image: Image.Image, degrees: float) -> Image.Image:
    """Rotate without growing the canvas: the corners fill with black, as most editors do."""
    return image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False)


EDITS: Final[dict[str, Callable[[Image.Image], Image.Image]]] = {
    "resize50": lambda image: resize(image, 0.5),
    "resize25": lambda image: resize(image, 0.25),
    "jpeg30": lambda image: jpeg(image, 30),
    "brighter20": lambda image: brightness(image, 1.2),
    "darker20": lambda image: brightness(image, 0.8),
    "greyscale": greyscale,
    "caption": caption,
    "watermark": watermark,
    "caption-bar": caption_bar,
    "mirror": mirror,
    "rot90": rotate90,
    "crop10-centre": lambda image: crop_centre(image, 0.10),
    "crop10-corner": lambda image: crop_corner(image, 0.10),
    "rot5": lambda image: rotate_small(image, 5),
    "rot-5": lambda image: rotate_small(image, -5),
}


def originals(count_scenes: int, count_posters: int, seed: int = 0) -> list[tuple[str, Image.Image]]:
    images = [(name, sample_photo(name)) for name in BANK_PHOTOS]
    images += [(f"scene-{seed + i}", make_scene(seed + i)) for i in range(count_scenes)]
    images += [(f"poster-{seed + i}", make_poster(seed + i)) for i in range(count_posters)]
    return images


def distractors(count: int, seed: int = 100_000) -> list[tuple[str, Image.Image]]:
    """``count`` pictures that are not originals: the same generators with other seeds (near misses) and
    windows of other sample photos."""
    images: list[tuple[str, Image.Image]] = []
    per_photo = max(1, count // (3 * len(DISTRACTOR_PHOTOS)))
    for index, name in enumerate(DISTRACTOR_PHOTOS):
        tiles = photo_tiles(name, per_photo, seed=seed + index)
        images += [(f"{name}-tile-{i}", tile) for i, tile in enumerate(tiles)]
    remaining = count - len(images)
    scenes = remaining * 2 // 3
    images += [(f"scene-{seed + i}", make_scene(seed + i, (480, 360))) for i in range(scenes)]
    images += [(f"poster-{seed + i}", make_poster(seed + i, (360, 480))) for i in range(remaining - scenes)]
    return images


def photo_like_images() -> list[tuple[str, Image.Image]]:
    """Pictures with photo-like content at many sizes and aspect ratios, for comparing hashing paths.

    Pure noise, 1-pixel checkers and bare gradients are left out on purpose: their PDQ bits are decided
    by aliasing or by coefficients at the noise floor, so any change of sampling flips them and they
    say nothing about photos (the PDQ tests cover them against the reference).
    """
    images: list[tuple[str, Image.Image]] = []
    for name in (*BANK_PHOTOS, *DISTRACTOR_PHOTOS):
        photo = sample_photo(name)
        images.append((name, photo))
        images.append(
            (f"{name}-x3", photo.resize((photo.width * 3, photo.height * 3), Image.Resampling.BICUBIC))
        )
    sizes = [
        (1920, 1080),
        (1080, 1920),
        (4000, 3000),
        (1600, 1200),
        (800, 600),
        (500, 375),
        (300, 200),
        (2048, 512),
    ]
    for seed, size in enumerate(sizes, start=7000):
        images.append((f"scene-{size[0]}x{size[1]}", make_scene(seed, size)))
    for seed, size in enumerate([(900, 1200), (1200, 900), (450, 600)], start=7100):
        images.append((f"poster-{size[0]}x{size[1]}", make_poster(seed, size)))
    return images
