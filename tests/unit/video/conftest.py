"""Harmless synthetic videos and animations for the frame and video-match tests.

Every clip is rendered from a seed: scenes of coloured shapes on a coloured ground that drift slowly, a new
scene every ``scene_s`` seconds. The same seed renders the same clip at any size, so a test can compare a
video with a re-encoded, resized, re-timed or trimmed copy of it (made by really decoding and encoding it
again with PyAV, as a re-upload would be), and a different seed gives unrelated footage.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from takedown.hashing.media_frames import extract_frames
from takedown.hashing.video_match import FrameHashes, hash_frames

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

# Encoder settings per codec: fast, and quiet on stderr.
FAST_OPTIONS: dict[str, dict[str, str]] = {
    "libvpx": {"deadline": "realtime", "cpu-used": "8"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8"},
    "libx264": {"preset": "veryfast"},
    "libsvtav1": {"preset": "12"},
}
MEDIA_TYPES = {
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "matroska": "video/x-matroska",
    "avi": "video/x-msvideo",
}


@dataclass(frozen=True)
class Clip:
    """A rendered clip: ``seed`` picks the footage, ``scene_s`` how often it cuts to a new scene, ``speed``
    how far shapes drift per second (share of the frame). At the default speed, frames half a second apart
    are within about 20 PDQ bits and frames a second apart differ by more than 10."""

    seed: int
    scene_s: float = 2.0
    speed: float = 0.01

    def frame(self, t: float, width: int, height: int) -> Image.Image:
        scene = int(t // self.scene_s)
        rng = np.random.default_rng([self.seed, scene])
        image = Image.new("RGB", (width, height), _colour(rng))
        draw = ImageDraw.Draw(image)
        since_cut = t - scene * self.scene_s
        for _ in range(20):
            colour = _colour(rng)
            x, y = rng.uniform(-0.2, 0.9, 2)
            size_x, size_y = rng.uniform(0.05, 0.35, 2)
            speed_x, speed_y = rng.uniform(-self.speed, self.speed, 2)
            x, y = x + speed_x * since_cut, y + speed_y * since_cut
            box = (x * width, y * height, (x + size_x) * width, (y + size_y) * height)
            if rng.integers(0, 2):
                draw.ellipse(box, fill=colour)
            else:
                draw.rectangle(box, fill=colour)
        return image


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    red, green, blue = (int(value) for value in rng.integers(0, 256, 3))
    return red, green, blue


def encode_frames(
    frames: Iterable[Image.Image],
    *,
    container: str = "mp4",
    codec: str = "libx264",
    fps: int = 24,
    size: tuple[int, int] = (320, 180),
    gop: int | None = None,
    bit_rate: int | None = None,
    rotation: int | None = None,
    options: dict[str, str] | None = None,
    codec_options: dict[str, str] | None = None,
    target: str | None = None,
) -> bytes:
    """Encode PIL images as a video; to a file when ``target`` is given (MP4 faststart needs one)."""
    output: io.BytesIO | str = target if target is not None else io.BytesIO()
    with av.open(output, "w", format=container, options=options or {}) as out:
        stream = out.add_stream(
            codec, rate=fps, options={**FAST_OPTIONS.get(codec, {}), **(codec_options or {})}
        )
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        if gop is not None:
            stream.codec_context.gop_size = gop
        if bit_rate is not None:
            stream.bit_rate = bit_rate
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for image in frames:
            frame = av.VideoFrame.from_image(image.resize(size) if image.size != size else image)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    if isinstance(output, io.BytesIO):
        return output.getvalue()
    with open(output, "rb") as file:  # noqa: PTH123 - the path came from tmp_path as a string
        return file.read()


def render_clip(
    clip: Clip, seconds: float, *, fps: int = 24, size: tuple[int, int] = (320, 180), **encode: object
) -> bytes:
    """Render ``seconds`` of ``clip`` and encode it (keyword arguments go to :func:`encode_frames`)."""
    frames = (clip.frame(index / fps, *size) for index in range(round(seconds * fps)))
    return encode_frames(frames, fps=fps, size=size, **encode)


def decode_all(data: bytes) -> list[tuple[float, Image.Image]]:
    """Every frame of a video with its time, decoded with PyAV."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        return [(float(frame.time) - start, frame.to_image()) for frame in container.decode(stream)]


def transcode(
    data: bytes,
    *,
    fps: int,
    size: tuple[int, int],
    start_s: float = 0.0,
    end_s: float | None = None,
    **encode: object,
) -> bytes:
    """Decode a video and encode it again at another frame rate, size, codec or bit rate, optionally
    trimmed to ``start_s``..``end_s`` of the source: what a re-upload does to a file."""
    source = decode_all(data)
    end = end_s if end_s is not None else source[-1][0] + 1e-6
    times = [time for time, _ in source]
    frames = []
    for index in range(round((end - start_s) * fps)):
        wanted = start_s + index / fps
        position = max(0, np.searchsorted(times, wanted + 1e-6) - 1)  # the frame on screen at that time
        frames.append(source[position][1])
    return encode_frames(frames, fps=fps, size=size, **encode)


def concatenate(*videos: bytes, fps: int, size: tuple[int, int]) -> bytes:
    """One video made of several, back to back (a compilation)."""
    frames = [image for video in videos for _, image in decode_all(video)]
    return encode_frames(frames, fps=fps, size=size)


def animation(images: list[Image.Image], durations_ms: list[int], plugin: str, **save: object) -> bytes:
    """An animated GIF, WEBP or PNG (APNG) from PIL images."""
    buffer = io.BytesIO()
    images[0].save(
        buffer, plugin, save_all=True, append_images=images[1:], duration=durations_ms, loop=0, **save
    )
    return buffer.getvalue()


def video_hashes(data: bytes, media_type: str = "video/mp4") -> FrameHashes:
    return hash_frames(extract_frames(data, media_type))


def packet(data: bytes, pts: int) -> av.Packet:
    """A raw packet at ``pts`` (time base 1/1), to mux bytes no encoder would produce."""
    raw = av.Packet(data)
    raw.pts = raw.dts = pts
    raw.time_base = Fraction(1, 1)
    raw.is_keyframe = True
    return raw


@pytest.fixture(scope="session")
def bank_clip() -> Clip:
    return Clip(seed=101)


@pytest.fixture(scope="session")
def bank_video(bank_clip: Clip) -> bytes:
    """The 'known' video: 10 s, 640x360, 30 fps, H.264 with a key frame every 2 s."""
    return render_clip(bank_clip, 10, fps=30, size=(640, 360), gop=60)


@pytest.fixture(scope="session")
def bank_hashes(bank_video: bytes) -> FrameHashes:
    return video_hashes(bank_video)


@pytest.fixture
def fake_clock() -> Callable[[list[float]], Callable[[], float]]:
    """A clock that reads the given values in turn, then stays on the last one."""

    def build(readings: list[float]) -> Callable[[], float]:
        remaining = list(readings)

        def clock() -> float:
            return remaining.pop(0) if len(remaining) > 1 else remaining[0]

        return clock

    return build
