"""A reproducible benchmark corpus of harmless images: generated scenes plus scikit-image's sample photos.

Every image is named by a :class:`CorpusEntry` (family and seed), so worker processes rebuild images
from a few bytes instead of receiving pixels, and any result can be traced to an image anyone can rebuild.

Families of generated images: ``shapes``, ``gradient``, ``noise``, ``text``, ``pattern`` and ``scene``.
Originals (the bank) and distractors (images that must not match) come from the same families with
disjoint seeds, so a distractor is a near miss of its family rather than trivially far from the bank.

The natural photos are those scikit-image ships inside its wheel that show no people. Left out on
purpose: ``astronaut`` and ``camera`` (a person), ``lfw_subset`` (faces) and ``retina``,
``microaneurysms`` and ``immunohistochemistry`` (medical images of patients).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Final

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import NDArray

GENERATED_FAMILIES: Final = ("shapes", "gradient", "noise", "text", "pattern", "scene")
NATURAL_FAMILY: Final = "photo"
NATURAL_SAMPLES: Final = (
    "brick", "cell", "chelsea", "clock", "coffee", "coins", "colorwheel", "grass", "gravel", "horse",
    "hubble_deep_field", "logo", "moon", "page", "rocket", "text",
)  # fmt: skip

# Distractor seeds start here, far above any original's seed, so the two sets never share an image.
DISTRACTOR_SEED_BASE: Final = 10_000_000
MIN_RENDER_SIDE: Final = 32
# Video scenes use their own seed range, so no video frame is a still image of the corpus.
_VIDEO_SEED_BASE: Final = 20_000_000
_PAN_PX_PER_S: Final = 15.0
_MIN_WINDOWED_SPAN: Final = 12  # narrower buildings get no windows
# Long side and aspect ratio of a generated image, drawn per seed: web-sized pictures of common shapes.
_LONG_SIDES: Final = (384, 448, 512)
_ASPECTS: Final = ((4, 3), (3, 4), (16, 9), (1, 1), (3, 2), (2, 3))
_WORDS: Final = (
    "river", "lantern", "orbit", "copper", "meadow", "signal", "harbour", "quartz", "window", "ember",
    "garden", "vector", "summit", "marble", "thunder", "pixel", "canyon", "violet", "anchor", "glacier",
    "compass", "falcon", "paper", "ribbon", "silver", "tunnel", "walnut", "zephyr", "beacon", "cobalt",
)  # fmt: skip


class CorpusError(ValueError):
    """A corpus entry cannot be built. ``reason``: ``family:unknown``, ``photo:unknown``,
    ``photo:unavailable`` (scikit-image is not installed), ``count:negative``, ``size:small``,
    ``video:size``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True, order=True)
class CorpusEntry:
    """One corpus image, by name: a generated family and seed, or a natural sample (``family="photo"``).

    Examples
    --------
    >>> CorpusEntry("shapes", 7).key
    'shapes/7'
    >>> CorpusEntry("photo", 0, "coffee").key
    'photo/coffee'
    """

    family: str
    seed: int
    sample: str = ""

    @property
    def key(self) -> str:
        """A stable, human-readable id used as the bank item id and in reports."""
        return f"{self.family}/{self.sample or self.seed}"


def original_entries(count: int, *, include_natural: bool = True) -> list[CorpusEntry]:
    """The bank: the natural samples first (when included), then generated images, families in turn.

    Examples
    --------
    >>> [entry.key for entry in original_entries(3, include_natural=False)]
    ['shapes/0', 'gradient/1', 'noise/2']
    """
    _require_count(count)
    naturals = [CorpusEntry(NATURAL_FAMILY, 0, name) for name in NATURAL_SAMPLES] if include_natural else []
    entries = naturals[:count]
    entries += _generated_entries(count - len(entries), seed_base=0)
    return entries


def distractor_entries(count: int) -> list[CorpusEntry]:
    """Images that are not in the bank: the same generated families as the originals, other seeds.

    Examples
    --------
    >>> distractor_entries(2)[1].key
    'gradient/10000001'
    """
    _require_count(count)
    return _generated_entries(count, seed_base=DISTRACTOR_SEED_BASE)


def render(entry: CorpusEntry) -> Image.Image:
    """Build the RGB image an entry names; the same entry always gives the same pixels.

    Examples
    --------
    >>> image = render(CorpusEntry("scene", 3))
    >>> image.mode, max(image.size) in (384, 448, 512)
    ('RGB', True)
    """
    if entry.family == NATURAL_FAMILY:
        return _natural_sample(entry.sample)
    return _generate(entry, size=None)


def render_at(entry: CorpusEntry, width: int, height: int) -> Image.Image:
    """A generated entry drawn at a chosen size (speed benchmarks need 1080p and 12 MP pictures).

    Examples
    --------
    >>> render_at(CorpusEntry("noise", 1), 64, 48).size
    (64, 48)
    """
    if min(width, height) < MIN_RENDER_SIDE:
        raise CorpusError("size:small", f"{width}x{height} is under {MIN_RENDER_SIDE} pixels on a side")
    return _generate(entry, size=(width, height))


def _generate(entry: CorpusEntry, size: tuple[int, int] | None) -> Image.Image:
    generator = _GENERATORS.get(entry.family)
    if generator is None:
        raise CorpusError("family:unknown", f"no generator for family {entry.family!r}")
    rng = np.random.default_rng([_family_index(entry.family), entry.seed])
    natural_size = _size(rng)  # always drawn, so a chosen size leaves the rest of the picture alone
    width, height = size or natural_size
    return generator(rng, width, height)


def _require_count(count: int) -> None:
    if count < 0:
        raise CorpusError("count:negative", f"cannot build {count} images")


def _generated_entries(count: int, seed_base: int) -> list[CorpusEntry]:
    # Seeds run on across families so every generated image in the corpus has its own seed.
    return [
        CorpusEntry(GENERATED_FAMILIES[index % len(GENERATED_FAMILIES)], seed_base + index)
        for index in range(count)
    ]


def _family_index(family: str) -> int:
    return GENERATED_FAMILIES.index(family)


def _size(rng: np.random.Generator) -> tuple[int, int]:
    long_side = int(rng.choice(_LONG_SIDES))
    across, down = _ASPECTS[int(rng.integers(len(_ASPECTS)))]
    if across >= down:
        return long_side, round(long_side * down / across)
    return round(long_side * across / down), long_side


def _colour(rng: np.random.Generator, low: int = 0, high: int = 256) -> tuple[int, int, int]:
    red, green, blue = (int(value) for value in rng.integers(low, high, 3))
    return red, green, blue


def _point(rng: np.random.Generator, width: int, height: int) -> tuple[int, int]:
    return int(rng.integers(0, width)), int(rng.integers(0, height))


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's bundled FreeType font: the same glyphs on every machine, no system font needed.
    return ImageFont.load_default(size=size)


# ----------------------------------------------------------------------------------------------------------
# Generators: (rng, width, height) -> RGB image


def _shapes(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), _colour(rng))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(8, 22))):
        x0, y0 = int(rng.integers(-width // 4, width)), int(rng.integers(-height // 4, height))
        x1, y1 = x0 + int(rng.integers(8, max(9, width // 2))), y0 + int(rng.integers(8, max(9, height // 2)))
        kind = int(rng.integers(0, 4))
        if kind == 0:
            draw.ellipse((x0, y0, x1, y1), fill=_colour(rng))
        elif kind == 1:
            draw.rectangle((x0, y0, x1, y1), fill=_colour(rng), outline=_colour(rng), width=3)
        elif kind == 2:
            draw.polygon([_point(rng, width, height) for _ in range(5)], fill=_colour(rng))
        else:
            draw.line((x0, y0, x1, y1), fill=_colour(rng), width=int(rng.integers(2, 3 + width // 30)))
    return image


def _linear_gradient(
    rng: np.random.Generator, width: int, height: int, stops: int = 3
) -> NDArray[np.float64]:
    angle = rng.uniform(0, 2 * math.pi)
    x = np.linspace(-0.5, 0.5, width)[None, :]
    y = np.linspace(-0.5, 0.5, height)[:, None]
    position = np.clip(x * math.cos(angle) + y * math.sin(angle) + 0.5, 0.0, 1.0)
    colours = np.array([_colour(rng) for _ in range(stops)], dtype=np.float64)
    anchors = np.linspace(0.0, 1.0, stops)
    channels = [np.interp(position, anchors, colours[:, channel]) for channel in range(3)]
    return np.stack(channels, axis=-1)


def _gradient(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A gradient with soft blobs and a few hard edges: smooth, yet with enough structure to hash well."""
    base = Image.fromarray(_linear_gradient(rng, width, height).astype(np.uint8), "RGB")
    blobs = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(blobs)
    for _ in range(int(rng.integers(3, 8))):
        x0, y0 = _point(rng, width, height)
        radius = int(rng.integers(1 + min(width, height) // 10, 2 + min(width, height) // 3))
        draw.ellipse((x0 - radius, y0 - radius, x0 + radius, y0 + radius), fill=(*_colour(rng), 200))
    blobs = blobs.filter(ImageFilter.GaussianBlur(radius=min(width, height) / 40))
    base.paste(blobs, (0, 0), blobs)
    edges = ImageDraw.Draw(base)
    for _ in range(int(rng.integers(1, 4))):
        x0, y0 = _point(rng, width, height)
        edges.rectangle((x0, y0, x0 + width // 6, y0 + height // 8), fill=_colour(rng))
    return base


def _fractal_noise(
    rng: np.random.Generator, width: int, height: int, octaves: int = 5
) -> NDArray[np.float64]:
    total = np.zeros((height, width), dtype=np.float64)
    for octave in range(octaves):
        cells = 2 ** (octave + 2)
        grid = rng.random((cells, cells)).astype(np.float32)
        layer = Image.fromarray(grid, "F").resize((width, height), Image.Resampling.BICUBIC)
        total += np.asarray(layer, dtype=np.float64) * 0.55**octave
    low, high = total.min(), total.max()
    normalised: NDArray[np.float64] = (total - low) / max(high - low, 1e-9)
    return normalised


def _noise(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Fractal value noise through a random colour ramp: clouds, terrain, marble."""
    field = _fractal_noise(rng, width, height)
    palette = np.array([_colour(rng) for _ in range(4)], dtype=np.float64)
    anchors = np.sort(np.concatenate([[0.0, 1.0], rng.uniform(0.2, 0.8, 2)]))
    channels = [np.interp(field, anchors, palette[:, channel]) for channel in range(3)]
    return Image.fromarray(np.stack(channels, axis=-1).astype(np.uint8), "RGB")


def _text(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A page of rendered words under a coloured heading band."""
    paper = _colour(rng, 200, 256)
    image = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(image)
    band = int(height * rng.uniform(0.1, 0.25))
    draw.rectangle((0, 0, width, band), fill=_colour(rng, 0, 160))
    heading = " ".join(str(word) for word in rng.choice(_WORDS, 2)).title()
    draw.text((width // 20, band // 4), heading, fill=paper, font=_font(max(12, band // 2)))
    size = int(rng.integers(14, 34))
    font = _font(size)
    ink = _colour(rng, 0, 90)
    top = band + size // 2
    while top < height - size:
        line = " ".join(str(word) for word in rng.choice(_WORDS, int(rng.integers(2, 9))))
        draw.text((width // 20 + int(rng.integers(0, width // 8)), top), line, fill=ink, font=font)
        top += int(size * rng.uniform(1.3, 2.2))
    return image


def _pattern(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Stripes, a checkerboard or rings at a random frequency and angle, with one shape on top."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    angle = rng.uniform(0, math.pi)
    period = rng.uniform(12, 80)
    kind = int(rng.integers(0, 3))
    if kind == 0:
        field = np.sin(2 * math.pi * (x * math.cos(angle) + y * math.sin(angle)) / period)
    elif kind == 1:
        u = x * math.cos(angle) + y * math.sin(angle)
        v = -x * math.sin(angle) + y * math.cos(angle)
        field = np.sign(np.sin(2 * math.pi * u / period) * np.sin(2 * math.pi * v / period))
    else:
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        field = np.sin(2 * math.pi * np.hypot(x - cx, y - cy) / period)
    weight = (field[..., None] + 1.0) / 2.0
    first = np.array(_colour(rng), dtype=np.float64)
    second = np.array(_colour(rng), dtype=np.float64)
    image = Image.fromarray((first * weight + second * (1 - weight)).astype(np.uint8), "RGB")
    x0, y0 = _point(rng, width, height)
    ImageDraw.Draw(image).ellipse((x0, y0, x0 + width // 3, y0 + height // 3), fill=_colour(rng))
    return image


def _scene(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A cartoon landscape: sky, sun, layered hills, and trees or buildings."""
    sky_top, sky_bottom = np.array(_colour(rng)), np.array(_colour(rng))
    fraction = np.linspace(0.0, 1.0, height)[:, None, None]
    sky = sky_top * (1 - fraction) + sky_bottom * fraction
    image = Image.fromarray(np.broadcast_to(sky, (height, width, 3)).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    sun_x, sun_y = int(rng.uniform(0.1, 0.9) * width), int(rng.uniform(0.05, 0.4) * height)
    sun_r = int(min(width, height) * rng.uniform(0.05, 0.12))
    draw.ellipse((sun_x - sun_r, sun_y - sun_r, sun_x + sun_r, sun_y + sun_r), fill=_colour(rng, 180))
    columns = np.arange(0, width + 8, 8)
    for layer in range(int(rng.integers(2, 5))):
        base = height * (0.45 + 0.12 * layer)
        ridge = np.full(columns.shape, base)
        for _ in range(3):
            ridge += rng.uniform(2, 2 + height / 10) * np.sin(
                columns / width * rng.uniform(1, 9) + rng.uniform(0, 6)
            )
        outline = [(int(cx), int(cy)) for cx, cy in zip(columns, ridge, strict=True)]
        draw.polygon([*outline, (width, height), (0, height)], fill=_colour(rng))
    ground = int(height * 0.8)
    for _ in range(int(rng.integers(3, 9))):
        left = int(rng.integers(0, width))
        span = int(rng.integers(1 + width // 30, 2 + width // 10))
        rise = int(rng.integers(1 + height // 10, 2 + height // 3))
        if rng.random() < 0.5:
            draw.polygon(
                [(left, ground), (left + span, ground), (left + span // 2, ground - rise)], fill=_colour(rng)
            )
        else:
            draw.rectangle((left, ground - rise, left + span, ground), fill=_colour(rng))
            for row in range(ground - rise + 6, ground - 6, 14) if span > _MIN_WINDOWED_SPAN else ():
                draw.rectangle((left + 4, row, left + span - 4, row + 5), fill=_colour(rng, 150))
    return image


_GENERATORS: Final[dict[str, Callable[[np.random.Generator, int, int], Image.Image]]] = {
    "shapes": _shapes,
    "gradient": _gradient,
    "noise": _noise,
    "text": _text,
    "pattern": _pattern,
    "scene": _scene,
}


def _natural_sample(name: str) -> Image.Image:
    if name not in NATURAL_SAMPLES:
        raise CorpusError("photo:unknown", f"{name!r} is not one of the people-free samples")
    try:
        from skimage import data
    except ImportError as error:
        raise CorpusError(
            "photo:unavailable", "scikit-image is not installed (make setup installs it)"
        ) from error
    pixels = np.asarray(getattr(data, name)())
    if pixels.dtype == np.bool_:
        pixels = pixels.astype(np.uint8) * 255
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        # The logo has transparency: composite it on white, as a browser would show it.
        rgba = Image.fromarray(pixels, "RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, (0, 0), rgba)
        return background
    return Image.fromarray(pixels).convert("RGB")


def render_video_mp4(
    seconds: float, width: int, height: int, *, fps: float = 30, seed: int = 0, scene_seconds: float = 10.0
) -> bytes:
    """An H.264 MP4 of generated scenes, each slowly panned, a new scene every ``scene_seconds``.

    The picture at a moment depends on the time, not the frame number, so two renderings at different
    frame rates show the same moments. Light grain keeps every frame different, as in camera footage, so
    decoding is not flattered by skipped blocks (a minute at 720p is a few megabytes).
    ``seed`` picks the scenes: videos with different seeds share no picture.

    Examples
    --------
    >>> len(render_video_mp4(0.2, 64, 48)) > 0
    True
    """
    import av  # video support is optional for the image benchmarks

    if width % 2 or height % 2:
        raise CorpusError(
            "video:size", f"width and height must be even for 4:2:0 video, got {width}x{height}"
        )
    frame_count = max(1, round(seconds * fps))
    scene_count = max(1, math.ceil(seconds / scene_seconds))
    pan_x, pan_y = _PAN_PX_PER_S * scene_seconds, _PAN_PX_PER_S * scene_seconds / 3
    scenes = [
        _yuv_planes(
            render_at(
                CorpusEntry(
                    GENERATED_FAMILIES[(seed + index) % len(GENERATED_FAMILIES)],
                    _VIDEO_SEED_BASE + seed * 1000 + index,
                ),
                width + 2 * math.ceil(pan_x / 2) + 2,
                height + 2 * math.ceil(pan_y / 2) + 2,
            )
        )
        for index in range(scene_count)
    ]
    grain = np.random.default_rng(seed).integers(0, 6, size=(8, height, width), dtype=np.uint8)
    planes = np.empty((height * 3 // 2, width), dtype=np.uint8)
    quarter = height // 4
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23"}
        for number in range(frame_count):
            moment = number / fps
            scene = min(int(moment // scene_seconds), scene_count - 1)
            luma, blue, red = scenes[scene]
            elapsed = moment - scene * scene_seconds
            # Even offsets keep the half-resolution chroma planes aligned with the luma plane.
            left, top = 2 * int(elapsed * _PAN_PX_PER_S / 2), 2 * int(elapsed * _PAN_PX_PER_S / 6)
            np.add(
                luma[top : top + height, left : left + width], grain[number % len(grain)], out=planes[:height]
            )
            chroma = (slice(top // 2, top // 2 + height // 2), slice(left // 2, left // 2 + width // 2))
            planes[height : height + quarter] = blue[chroma].reshape(quarter, width)
            planes[height + quarter :] = red[chroma].reshape(quarter, width)
            for packet in stream.encode(av.VideoFrame.from_ndarray(planes, format="yuv420p")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def _yuv_planes(image: Image.Image) -> tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]:
    luma, blue, red = (np.asarray(plane) for plane in image.convert("YCbCr").split())
    # Luma scaled into 0-249 so the grain (0-5) never wraps around.
    headroom: NDArray[np.uint8] = (luma.astype(np.uint16) * 249 // 255).astype(np.uint8)
    return (
        headroom,
        np.asarray(Image.fromarray(blue).reduce(2)),
        np.asarray(Image.fromarray(red).reduce(2)),
    )
