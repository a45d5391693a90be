"""A generated, harmless image corpus (gradients, shapes, noise, checkers, text) and reference PDQ helpers.

Every image is synthesised from a fixed seed, so a failure names a case that can be rebuilt exactly.
Tests ask for the ``corpus_case`` argument and are run once per case.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest


@dataclass(frozen=True)
class CorpusCase:
    name: str
    build: Callable[[], Image.Image]

    def __str__(self) -> str:
        return self.name


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    red, green, blue = (int(value) for value in rng.integers(0, 256, 3))
    return red, green, blue


def _gradient(width: int, height: int, kind: str) -> Image.Image:
    x = np.linspace(0.0, 1.0, width)[None, :]
    y = np.linspace(0.0, 1.0, height)[:, None]
    if kind == "horizontal":
        channels = [x + 0 * y, 1 - x + 0 * y, 0.5 + 0 * x * y]
    elif kind == "vertical":
        channels = [y + 0 * x, 0.3 + 0 * x * y, 1 - y + 0 * x]
    else:
        channels = [x + 0 * y, y + 0 * x, (x + y) / 2]
    return Image.fromarray((np.stack(channels, axis=-1) * 255).round().astype(np.uint8), "RGB")


def make_shapes(width: int, height: int, seed: int, mode: str = "RGB") -> Image.Image:
    rng = _rng(seed)
    image = Image.new("RGB", (width, height), _colour(rng))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(6, 20))):
        x0, y0 = int(rng.integers(-width // 4, width)), int(rng.integers(-height // 4, height))
        x1, y1 = x0 + int(rng.integers(4, max(5, width // 2))), y0 + int(rng.integers(4, max(5, height // 2)))
        kind = int(rng.integers(0, 4))
        if kind == 0:
            draw.ellipse((x0, y0, x1, y1), fill=_colour(rng))
        elif kind == 1:
            draw.rectangle((x0, y0, x1, y1), fill=_colour(rng), outline=_colour(rng))
        elif kind == 2:
            points = [(int(rng.integers(0, width)), int(rng.integers(0, height))) for _ in range(5)]
            draw.polygon(points, fill=_colour(rng))
        else:
            draw.line(
                (x0, y0, x1, y1), fill=_colour(rng), width=int(rng.integers(1, 1 + max(1, width // 40)))
            )
    return image if mode == "RGB" else image.convert(mode)


def _translucent_shapes(width: int, height: int, seed: int) -> Image.Image:
    rng = _rng(seed)
    image = Image.new("RGBA", (width, height), (*_colour(rng), 255))
    for _ in range(8):
        layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        ImageDraw.Draw(layer).ellipse(
            (x0, y0, x0 + width // 3, y0 + height // 3), fill=(*_colour(rng), int(rng.integers(20, 255)))
        )
        image = Image.alpha_composite(image, layer)
    # Vary alpha itself too, so a hasher that composited instead of dropping alpha would disagree.
    alpha = Image.linear_gradient("L").resize((width, height))
    image.putalpha(alpha)
    return image


def _noise(width: int, height: int, seed: int, mode: str = "RGB") -> Image.Image:
    channels = 3 if mode == "RGB" else 1
    pixels = _rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)
    return Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels, mode)


def make_blobs(width: int, height: int, seed: int) -> Image.Image:
    """Smooth random colour fields: low-resolution noise scaled up, the closest to a photo we generate."""
    coarse = _rng(seed).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return Image.fromarray(coarse, "RGB").resize((width, height), Image.Resampling.BICUBIC)


def _checker(width: int, height: int, cell: int) -> Image.Image:
    rows = (np.arange(height) // cell)[:, None]
    cols = (np.arange(width) // cell)[None, :]
    return Image.fromarray((((rows + cols) % 2) * 255).astype(np.uint8), "L").convert("RGB")


def _text(width: int, height: int, text: str, size: int, seed: int) -> Image.Image:
    rng = _rng(seed)
    image = Image.new("RGB", (width, height), _colour(rng))
    font = ImageFont.load_default(size=size)
    ImageDraw.Draw(image).multiline_text((size // 2, size // 3), text, fill=_colour(rng), font=font)
    return image


def _nearly_flat(width: int, height: int, seed: int) -> Image.Image:
    pixels = 120 + _rng(seed).integers(0, 3, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def _corpus() -> list[CorpusCase]:
    cases = [
        CorpusCase("gradient-horizontal-256x256", lambda: _gradient(256, 256, "horizontal")),
        CorpusCase("gradient-vertical-640x480", lambda: _gradient(640, 480, "vertical")),
        CorpusCase("gradient-diagonal-1000x750", lambda: _gradient(1000, 750, "diagonal")),
        CorpusCase("gradient-radial-L-300x200", lambda: Image.radial_gradient("L").resize((300, 200))),
        CorpusCase("gradient-linear-L-32x32", lambda: Image.linear_gradient("L").resize((32, 32))),
        CorpusCase(
            "gradient-dithered-1-400x300", lambda: Image.radial_gradient("L").resize((400, 300)).convert("1")
        ),
        CorpusCase("blobs-640x480", lambda: make_blobs(640, 480, seed=11)),
        CorpusCase("blobs-1920x1080", lambda: make_blobs(1920, 1080, seed=12)),
        CorpusCase("blobs-portrait-1500x2000", lambda: make_blobs(1500, 2000, seed=13)),
        CorpusCase("blobs-2000x1500", lambda: make_blobs(2000, 1500, seed=14)),
        CorpusCase("blobs-exact-grid-64x64", lambda: make_blobs(64, 64, seed=15)),
        CorpusCase("noise-rgb-127x93", lambda: _noise(127, 93, seed=21)),
        CorpusCase("noise-rgb-512x512", lambda: _noise(512, 512, seed=22)),
        CorpusCase("noise-L-300x300", lambda: _noise(300, 300, seed=23, mode="L")),
        CorpusCase("nearly-flat-400x300", lambda: _nearly_flat(400, 300, seed=24)),
        CorpusCase("checker-8px-256x256", lambda: _checker(256, 256, 8)),
        CorpusCase("checker-37px-777x555", lambda: _checker(777, 555, 37)),
        CorpusCase("checker-1px-200x150", lambda: _checker(200, 150, 1)),
        CorpusCase("checker-64px-1600x1200", lambda: _checker(1600, 1200, 64)),
        CorpusCase("text-dark-on-light-400x120", lambda: _text(400, 120, "PDQ TEST 123", 40, seed=31)),
        CorpusCase("text-large-1200x400", lambda: _text(1200, 400, "Synthetic\nsample", 150, seed=32)),
        CorpusCase(
            "text-small-multiline-250x250", lambda: _text(250, 250, "abc\ndef\nghi\n0123", 30, seed=33)
        ),
        CorpusCase("text-rotated-500x500", lambda: _text(500, 500, "ROTATED", 80, seed=34).rotate(30)),
        CorpusCase("sliver-5x400", lambda: make_shapes(5, 400, seed=41)),
        CorpusCase("sliver-600x7", lambda: make_shapes(600, 7, seed=42)),
        CorpusCase("shapes-RGBA-translucent-640x480", lambda: _translucent_shapes(640, 480, seed=51)),
        CorpusCase("shapes-RGBA-translucent-129x257", lambda: _translucent_shapes(129, 257, seed=52)),
        CorpusCase("shapes-P-adaptive-500x400", lambda: make_shapes(500, 400, seed=53).quantize(16)),
        CorpusCase("blobs-P-web-800x600", lambda: make_blobs(800, 600, seed=54).convert("P")),
        CorpusCase("shapes-L-333x222", lambda: make_shapes(333, 222, seed=55, mode="L")),
        CorpusCase("blobs-L-1024x768", lambda: make_blobs(1024, 768, seed=56).convert("L")),
    ]
    sizes = [(32, 32), (64, 64), (100, 80), (128, 128), (320, 240), (500, 375), (800, 600), (1024, 768),
             (1280, 720), (2000, 1500), (48, 640), (1111, 333)]  # fmt: skip
    cases.extend(
        CorpusCase(f"shapes-{width}x{height}", functools.partial(make_shapes, width, height, seed))
        for seed, (width, height) in enumerate(sizes, start=100)
    )
    return cases


CORPUS = _corpus()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "corpus_case" in metafunc.fixturenames:
        metafunc.parametrize("corpus_case", CORPUS, ids=[case.name for case in CORPUS])
