"""Pick the frames worth hashing from an animated image (GIF, WebP, APNG) or a video (MP4, MOV, WebM, MKV, AVI).

Every file is hostile until proven otherwise, so the limits in :class:`FrameLimits` hold whatever the bytes
claim: frame size is checked before any pixel is decoded, at most ``max_frames`` frames are kept, and a wall
clock deadline stops the work and returns what was found, flagged ``truncated``.

Which frames
------------
Animated images keep every frame while there are at most ``max_frames``; past that they are sampled evenly
in time (frame durations, with the browsers' rule that a delay of 10 ms or less plays as 100 ms).

Videos are decoded once, front to back, keeping:

* one frame per ``sample_every_s`` on a fixed time grid (the first frame at or after 0 s, 1 s, 2 s ...), so two
  copies of a video sample the same moments whatever their frame rate or key frame spacing;
* every key frame, and every "scene cut": a frame whose 16x16 grey thumbnail differs from the last kept
  frame's by more than a mean of 32 levels (0-255). Both cost nothing extra: key frames are flagged by the
  decoder and the thumbnail is read from the luma plane with strides. Neither is kept closer than half a
  sampling interval to the frame before it, so an all-intra stream (every frame a key frame) does not keep
  every frame.

When the kept frames reach ``max_frames`` the sampling interval doubles and the frames already kept are
thinned to the coarser grid, so a long video still ends up covered from start to end, more sparsely
(:attr:`FrameSet.sample_interval_s` says how sparsely), never cut off. Kept frames are held in memory: at
most ``max_frames`` RGB images of 512 px, about 270 MB for 600 frames of 16:9 video.

Time limits
-----------
A full decode of a long video does not fit in a Lambda invocation, so after half of ``deadline_s`` the decoder
switches to key frames only (``skip_frame = "NONKEY"``, and packets that are not key frames are not even sent
to it): key frames are a small share of the packets and are decoded on their own, so the rest of the file is
still covered. :attr:`FrameSet.keyframes_only_from_s` records where that started. At ``deadline_s`` the work
stops: ``truncated=True``, ``reason="deadline"``. The deadline applies once the first frame is kept, so a
truncated result always has at least one frame.

Videos longer than ``max_duration_s`` are not refused: the first ``max_duration_s`` seconds are sampled and
the result says ``truncated=True``, ``reason="duration:exceeded"``. A partial result still finds a known clip
in the part it covers, and the reason is recorded with the sighting so a reviewer knows the rest was not
examined; a refusal would throw that evidence away.

Safety
------
* The container format is chosen from the media type (``mov``, ``matroska`` or ``avi`` demuxer), never probed,
  and any attempt by the demuxer to open a second file or URL is refused, so a file cannot make FFmpeg read a
  playlist, a local path or the network.
* Only common video codecs are decoded (:data:`VIDEO_CODECS`): FFmpeg's long tail of rarely used decoders
  adds attack surface and nothing a crawler needs.
* The decoder itself refuses frames far above ``max_pixels`` (FFmpeg's ``max_pixels`` option, also while
  probing), so a stream that lies about its size in the container header is stopped inside FFmpeg.
* Everything a decoder raises on bad bytes becomes :class:`~takedown.hashing.refusals.MediaRejected`
  (no frame at all) or a partial :class:`FrameSet` with ``truncated=True`` (some frames).

Reason codes: ``type:unsupported``, ``codec:unsupported``, ``video:no-stream``, ``pixels:exceeded``,
``pixels:unknown``, ``pixels:bomb``, ``decode:failed`` (rejections) and ``deadline``, ``duration:exceeded``,
``frames:exceeded``, ``pixels:exceeded`` / ``pixels:bomb`` (a later frame), ``decode:failed`` (damaged
packets or container), ``file:truncated`` (the stream ends well before its declared duration: an incomplete
download) for a truncated :class:`FrameSet`.
"""

from __future__ import annotations

import io
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from PIL import Image

from takedown.hashing.refusals import MediaRejected

if TYPE_CHECKING:
    from collections.abc import Callable
    from fractions import Fraction

    import av
    from av.container import InputContainer
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream
    from numpy.typing import NDArray

__all__ = [
    "ANIMATED_IMAGE_TYPES",
    "DEFAULT_LIMITS",
    "MAX_FRAME_SIDE",
    "REASON_CUT_SHORT",
    "REASON_DEADLINE",
    "REASON_DECODE",
    "REASON_DURATION",
    "REASON_FRAMES",
    "VIDEO_CODECS",
    "VIDEO_TYPES",
    "Frame",
    "FrameLimits",
    "FrameSet",
    "MediaRejected",
    "extract_frames",
]

MAX_FRAME_SIDE: Final = 512  # frames are reduced to this longest side; PDQ works on 64x64 anyway

REASON_DEADLINE: Final = "deadline"
REASON_DURATION: Final = "duration:exceeded"
REASON_FRAMES: Final = "frames:exceeded"
REASON_DECODE: Final = "decode:failed"
REASON_CUT_SHORT: Final = "file:truncated"

# Media type -> the only Pillow plugin allowed to read it.
ANIMATED_IMAGE_TYPES: Final[dict[str, str]] = {
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/png": "PNG",  # APNG is served as image/png
    "image/apng": "PNG",
}
# Media type -> the only FFmpeg demuxer allowed to read it.
VIDEO_TYPES: Final[dict[str, str]] = {
    "video/mp4": "mov",
    "video/quicktime": "mov",
    "video/webm": "matroska",
    "video/x-matroska": "matroska",
    "video/x-msvideo": "avi",
}
# Decoders (FFmpeg decoder names, as ``codec_context.name`` gives them) for the video a crawler meets in
# these containers.
VIDEO_CODECS: Final = frozenset(
    {
        "h264",
        "hevc",
        "vp8",
        "vp9",
        "av1",
        "libdav1d",
        "mpeg4",
        "msmpeg4",  # DivX 3 in old AVI files
        "mpeg1video",
        "mpeg2video",
        "mjpeg",
        "h263",
        "theora",
        "prores",
    }
)

_MIN_GIF_DELAY_MS: Final = 10  # browsers play a GIF delay of 10 ms or less ...
_DEFAULT_GIF_DELAY_MS: Final = 100  # ... as 100 ms
_SIGNATURE_SIDE: Final = 16  # grey thumbnail used to spot scene cuts
_SCENE_CUT_MEAN_DIFFERENCE: Final = 32.0  # mean absolute luma difference (0-255) that counts as a cut
_DENSE_SHARE_OF_DEADLINE: Final = 0.5  # after this share of the deadline, decode key frames only
# Before the first frame the deadline is not applied (a truncated result always carries at least one
# frame); this bounds the work on a stream that never yields one.
_MAX_PACKETS_BEFORE_FIRST_FRAME: Final = 2_000
# FFmpeg's own frame-size limit, a backstop for streams whose real frames are larger than the size they
# declare. It checks the coded size, which codecs pad to whole blocks (16 px for H.264, up to 128 px for
# AV1), so it gets twice the limit; the declared picture size is held to the limit itself.
_DECODER_PIXEL_FACTOR: Final = 2
_MAX_DECODE_ERRORS: Final = 50  # damaged packets skipped before the rest of the stream is given up
# A stream that stops this much before its declared duration was cut short (last frame's own duration,
# edit lists and rounding account for less).
_END_TOLERANCE_S: Final = 1.0
_END_TOLERANCE_SHARE: Final = 0.05
_LUMA_PLANE_FORMATS: Final = frozenset(
    {
        "yuv420p",
        "yuvj420p",
        "yuv422p",
        "yuvj422p",
        "yuv444p",
        "yuvj444p",
        "yuv440p",
        "yuvj440p",
        "yuv411p",
        "yuv410p",
        "nv12",
        "nv21",
        "gray",
    }
)
_DISPLAY_ROTATIONS: Final[dict[int, Image.Transpose]] = {
    90: Image.Transpose.ROTATE_90,  # both FFmpeg's display rotation and PIL's ROTATE_* are counter-clockwise
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_270,
}


def _av_module() -> Any:
    """PyAV, imported on first use: the image hashing function (no video layer) extracts animated images with
    Pillow alone and never needs it."""
    import av
    import av.video.reformatter

    return av


@dataclass(frozen=True)
class FrameLimits:
    """Bounds on the work done for one file.

    Attributes
    ----------
    max_pixels
        Largest frame (width x height) decoded; checked on the declared size before decoding.
    max_frames
        Most frames kept (and so hashed) per file.
    max_duration_s
        Only the first this many seconds of a longer video are sampled (``reason="duration:exceeded"``).
    deadline_s
        Wall-clock budget; past it the frames found so far are returned with ``reason="deadline"``.
    sample_every_s
        Interval of the regular video samples (key frames and scene cuts come on top).
    """

    max_pixels: int = 40_000_000
    max_frames: int = 600
    max_duration_s: float = 3 * 3600
    deadline_s: float = 60.0
    sample_every_s: float = 1.0

    def __post_init__(self) -> None:
        for name in ("max_pixels", "max_frames"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        for name in ("max_duration_s", "deadline_s", "sample_every_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")


DEFAULT_LIMITS: Final = FrameLimits()


@dataclass(frozen=True)
class Frame:
    """One kept frame.

    ``index`` is its position in :attr:`FrameSet.frames` (time order); ``timestamp_s`` is the presentation
    time from the start of the file; ``keyframe`` is true for a video key frame and for the first frame of
    an animation; ``image`` is RGB, reduced to at most :data:`MAX_FRAME_SIDE` pixels on its longest side and
    turned upright when the video carries a display rotation.
    """

    index: int
    timestamp_s: float
    keyframe: bool
    image: Image.Image


@dataclass(frozen=True)
class FrameSet:
    """The frames kept from one file and how complete they are.

    ``duration_s`` is the declared duration (or, when none is declared, the time reached); ``truncated``
    says part of the file was not examined and ``reason`` why (``""`` when complete).
    ``sample_interval_s`` is the final spacing of the regular samples (0.0 for an animation kept frame by
    frame); ``keyframes_only_from_s`` is where the decoder switched to key frames only to save time
    (None if it never did).
    """

    frames: list[Frame]
    duration_s: float
    truncated: bool
    reason: str
    media_type: str
    sample_interval_s: float = 0.0
    keyframes_only_from_s: float | None = None


def extract_frames(
    data: bytes,
    media_type: str,
    limits: FrameLimits = DEFAULT_LIMITS,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> FrameSet:
    """Decode the frames worth hashing from an animated image or a video.

    Parameters
    ----------
    data
        The whole file.
    media_type
        Its sniffed type (``takedown.crawl.media_types.sniff_media_type``): one of :data:`VIDEO_TYPES` or
        :data:`ANIMATED_IMAGE_TYPES`. A still GIF, PNG or WebP gives one frame.
    limits
        Work bounds, see :class:`FrameLimits`.
    clock
        Seconds from an arbitrary origin, for the deadline (tests pass a fake one).

    Returns
    -------
    FrameSet
        At least one frame; ``truncated`` and ``reason`` say whether part of the file was skipped.

    Raises
    ------
    MediaRejected
        Nothing was decoded: unsupported type or codec, a frame over ``max_pixels``, or undecodable bytes.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> frames = [Image.new("RGB", (64, 48), colour) for colour in ("red", "green", "blue")]
    >>> buffer = io.BytesIO()
    >>> frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=200)
    >>> result = extract_frames(buffer.getvalue(), "image/gif")
    >>> [frame.timestamp_s for frame in result.frames], result.duration_s, result.truncated
    ([0.0, 0.2, 0.4], 0.6, False)
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"expected the file's bytes, got {type(data).__name__}")
    media_type = media_type.split(";", 1)[0].strip().lower()
    budget = _Budget(clock, limits.deadline_s)
    if media_type in ANIMATED_IMAGE_TYPES:
        return _AnimationExtractor(bytes(data), media_type, limits, budget).run()
    if media_type in VIDEO_TYPES:
        return _VideoExtractor(bytes(data), media_type, limits, budget).run()
    raise MediaRejected("type:unsupported", f"no frame extraction for media type {media_type!r}")


# ----------------------------------------------------------------------------------------------------------
# Choosing frames


@dataclass
class _Candidate:
    timestamp_s: float
    keyframe: bool
    image: Image.Image
    signature: NDArray[np.int16] | None = field(default=None, repr=False)


class _Budget:
    """The per-file wall clock."""

    def __init__(self, clock: Callable[[], float], deadline_s: float) -> None:
        self._clock = clock
        self._deadline_s = deadline_s
        self._started = clock()

    def passed(self) -> bool:
        return self._clock() - self._started >= self._deadline_s

    def dense_share_spent(self) -> bool:
        return self._clock() - self._started >= self._deadline_s * _DENSE_SHARE_OF_DEADLINE


class _FrameSampler:
    """Decides which decoded frames to keep: grid samples, key frames and scene cuts, at most ``max_frames``.

    The grid is anchored at 0 s so that two copies of one video sample the same moments. With an interval
    of 0 every frame is a grid sample (animations).
    """

    def __init__(self, max_frames: int, interval_s: float) -> None:
        self.max_frames = max_frames
        self.interval_s = interval_s
        self.kept: list[_Candidate] = []
        self._next_grid_s = 0.0

    def wants(self, timestamp_s: float, keyframe: bool, signature: NDArray[np.int16] | None = None) -> bool:
        """Whether a frame at ``timestamp_s`` would be kept (cheap: call before converting the frame)."""
        if not self.kept or timestamp_s >= self._next_grid_s:
            return True
        last = self.kept[-1]
        if timestamp_s - last.timestamp_s < self.interval_s / 2:
            return False
        return keyframe or _is_scene_cut(last.signature, signature)

    def keep(self, candidate: _Candidate) -> bool:
        """Add a frame; False when ``max_frames`` is reached and the kept frames cannot be thinned."""
        if len(self.kept) >= self.max_frames and not self._thin():
            return False
        self.kept.append(candidate)
        if candidate.timestamp_s >= self._next_grid_s:
            self._next_grid_s = _grid_after(candidate.timestamp_s, self.interval_s)
        return True

    def _thin(self) -> bool:
        """Double the interval (at least) and keep only the first frame at or after each coarser grid point.

        Each kept frame but the first sits on its own grid point, so about half the frames remain.
        """
        span = self.kept[-1].timestamp_s - self.kept[0].timestamp_s
        interval = max(2 * self.interval_s, 2 * span / len(self.kept))
        if interval <= 0:
            return False  # every frame has the same timestamp: time gives no way to choose
        thinned: list[_Candidate] = []
        next_grid = 0.0
        for candidate in self.kept:
            if not thinned or candidate.timestamp_s >= next_grid:
                thinned.append(candidate)
                next_grid = _grid_after(candidate.timestamp_s, interval)
        if len(thinned) >= self.max_frames:
            return False
        self.kept = thinned
        self.interval_s = interval
        self._next_grid_s = next_grid
        return True

    def frames(self) -> list[Frame]:
        return [
            Frame(index=index, timestamp_s=kept.timestamp_s, keyframe=kept.keyframe, image=kept.image)
            for index, kept in enumerate(self.kept)
        ]


def _grid_after(timestamp_s: float, interval_s: float) -> float:
    """The first grid point strictly after ``timestamp_s`` (the timestamp itself for a zero interval)."""
    if interval_s <= 0:
        return timestamp_s
    # The small slack keeps 2.9999999 (float noise) from counting as before the grid point 3.0.
    return (math.floor(timestamp_s / interval_s + 1e-9) + 1) * interval_s


def _is_scene_cut(previous: NDArray[np.int16] | None, current: NDArray[np.int16] | None) -> bool:
    if previous is None or current is None or previous.shape != current.shape:
        return False
    return float(np.abs(current - previous).mean()) > _SCENE_CUT_MEAN_DIFFERENCE


def _reduced_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, MAX_FRAME_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


# ----------------------------------------------------------------------------------------------------------
# Animated images (Pillow)


class _AnimationExtractor:
    def __init__(self, data: bytes, media_type: str, limits: FrameLimits, budget: _Budget) -> None:
        self._data = data
        self._media_type = media_type
        self._limits = limits
        self._budget = budget
        self._sampler = _FrameSampler(limits.max_frames, interval_s=0.0)
        self._reason = ""

    def run(self) -> FrameSet:
        image = self._open()
        try:
            return self._collect(image)
        finally:
            image.close()

    def _open(self) -> Image.Image:
        plugin = ANIMATED_IMAGE_TYPES[self._media_type]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(io.BytesIO(self._data), formats=[plugin])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise MediaRejected("pixels:bomb", str(error)) from error
        except Exception as error:  # Pillow fails in many ways on hostile bytes; all mean "not decodable"
            raise MediaRejected("decode:failed", f"not a decodable {plugin} image: {error}") from error
        self._check_pixels(image, frame_number=0)
        return image

    def _check_pixels(self, image: Image.Image, frame_number: int) -> None:
        width, height = image.size
        if width * height > self._limits.max_pixels:
            raise MediaRejected(
                "pixels:exceeded",
                f"frame {frame_number} is {width}x{height}, over the {self._limits.max_pixels}-pixel limit",
            )

    def _collect(self, image: Image.Image) -> FrameSet:
        elapsed_s = 0.0
        frame_number = 0
        while True:
            if frame_number > 0 and self._budget.passed():
                self._reason = REASON_DEADLINE
                break
            delay_ms = self._next_frame(image, frame_number)
            if delay_ms is None:
                break
            if self._sampler.wants(elapsed_s, keyframe=frame_number == 0):
                rgb = image.convert("RGB")
                rgb.thumbnail((MAX_FRAME_SIDE, MAX_FRAME_SIDE))
                if not self._sampler.keep(_Candidate(elapsed_s, frame_number == 0, rgb)):
                    self._reason = REASON_FRAMES
                    break
            elapsed_s += delay_ms / 1000
            frame_number += 1
        if frame_number == 1 and not self._reason:
            elapsed_s = 0.0  # a still image has no duration, whatever its header says
        return FrameSet(
            frames=self._sampler.frames(),
            duration_s=round(elapsed_s, 6),
            truncated=bool(self._reason),
            reason=self._reason,
            media_type=self._media_type,
            sample_interval_s=self._sampler.interval_s,
        )

    def _next_frame(self, image: Image.Image, frame_number: int) -> float | None:
        """Load a frame and return its delay in milliseconds; None after the last frame or at a damaged one
        (which sets the reason). A first frame that cannot be loaded rejects the file."""
        try:
            return self._load_frame(image, frame_number)
        except EOFError:
            return None
        except Exception as error:  # Pillow fails in many ways on hostile bytes
            failure = _frame_failure(error, frame_number)
            if frame_number == 0:
                if failure is error:
                    raise
                raise failure from error
            self._reason = failure.reason  # keep the frames before the damage
            return None

    def _load_frame(self, image: Image.Image, frame_number: int) -> float:
        """Decode frame ``frame_number`` into ``image`` and return its display time in milliseconds."""
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if frame_number > 0:
                image.seek(frame_number)  # EOFError after the last frame
            self._check_pixels(image, frame_number)
            image.load()
        delay = image.info.get("duration")
        delay_ms = float(delay) if isinstance(delay, int | float) and math.isfinite(delay) else 0.0
        return _DEFAULT_GIF_DELAY_MS if delay_ms <= _MIN_GIF_DELAY_MS else delay_ms


def _frame_failure(error: Exception, frame_number: int) -> MediaRejected:
    if isinstance(error, MediaRejected):
        return error
    if isinstance(error, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return MediaRejected("pixels:bomb", str(error))
    return MediaRejected("decode:failed", f"frame {frame_number} is not decodable: {error}")


# ----------------------------------------------------------------------------------------------------------
# Videos (PyAV / FFmpeg)


def _refuse_nested_open(url: str, flags: int, options: dict[str, str]) -> object:
    """FFmpeg asks this to open any file or URL a container refers to; media from the web gets none."""
    raise PermissionError("this media file tried to open another resource")


class _VideoExtractor:
    def __init__(self, data: bytes, media_type: str, limits: FrameLimits, budget: _Budget) -> None:
        self._data = data
        self._media_type = media_type
        self._limits = limits
        self._budget = budget
        self._sampler = _FrameSampler(limits.max_frames, interval_s=limits.sample_every_s)
        self._reformatter = _av_module().video.reformatter.VideoReformatter()
        self._signature_reformatter = _av_module().video.reformatter.VideoReformatter()
        self._reason = ""
        self._keyframes_only_from_s: float | None = None
        self._start_s: float | None = None
        self._last_timestamp_s = 0.0  # latest frame or packet time seen
        self._frame_step_s = 1 / 25

    def run(self) -> FrameSet:
        container = self._open()
        try:
            stream = self._video_stream(container)
            declared_duration_s = self._declared_duration(container, stream)
            self._decode(container, stream)
        finally:
            container.close()
        if not self._reason and self._ended_early(declared_duration_s):
            self._reason = REASON_CUT_SHORT
        if not self._sampler.kept:
            raise MediaRejected("decode:failed", "no frame could be decoded from the video stream")
        return FrameSet(
            frames=self._sampler.frames(),
            duration_s=declared_duration_s if declared_duration_s is not None else self._last_timestamp_s,
            truncated=bool(self._reason),
            reason=self._reason,
            media_type=self._media_type,
            sample_interval_s=self._sampler.interval_s,
            keyframes_only_from_s=self._keyframes_only_from_s,
        )

    # -- opening and checking ---------------------------------------------------------------------------

    def _open(self) -> InputContainer:
        demuxer = VIDEO_TYPES[self._media_type]
        try:
            container: InputContainer = _av_module().open(
                io.BytesIO(self._data),
                mode="r",
                format=demuxer,
                # Also reaches the decoders FFmpeg opens while probing the streams.
                options={"max_pixels": str(self._limits.max_pixels * _DECODER_PIXEL_FACTOR)},
                metadata_errors="replace",  # titles and tags from the web are not always valid UTF-8
                io_open=_refuse_nested_open,
            )
        except Exception as error:  # FFmpeg reports damaged or foreign bytes in many ways
            raise MediaRejected("decode:failed", f"not a readable {demuxer} container: {error}") from error
        return container

    def _video_stream(self, container: InputContainer) -> VideoStream:
        streams = [
            stream
            for stream in container.streams.video
            # An attached picture is cover art, not the video.
            if not stream.disposition & _av_module().stream.Disposition.attached_pic
        ]
        if not streams:
            raise MediaRejected("video:no-stream", "the container has no video stream")
        stream = streams[0]
        context = stream.codec_context
        if context is None or context.name not in VIDEO_CODECS:
            codec = context.name if context is not None else "unknown"
            raise MediaRejected("codec:unsupported", f"video codec {codec!r} is not decoded here")
        width, height = context.width, context.height
        if width <= 0 or height <= 0:
            # FFmpeg clears a size its decoder refused while probing (over max_pixels, or nonsense).
            raise MediaRejected(
                "pixels:unknown",
                f"the stream declares no frame size the decoder accepts (limit {self._limits.max_pixels} pixels)",
            )
        if width * height > self._limits.max_pixels:
            raise MediaRejected(
                "pixels:exceeded",
                f"frames are {width}x{height}, over the {self._limits.max_pixels}-pixel limit",
            )
        context.options = {
            "max_pixels": str(self._limits.max_pixels * _DECODER_PIXEL_FACTOR),
            # Skipping the deblocking filter saves a tenth (textured 720p) to a third (flat footage) of the
            # H.264 decoding time and moves a PDQ hash by 6 bits at most at 150 kbit/s, far inside the
            # match threshold; bank and query videos are both decoded this way.
            "skip_loop_filter": "all",
        }
        stream.thread_type = "AUTO"  # frame and slice threads: the Lambda's vCPUs all decode
        rate = stream.average_rate or stream.guessed_rate
        if rate and rate > 0:
            self._frame_step_s = float(1 / rate)
        if stream.start_time is not None and stream.time_base is not None:
            self._start_s = float(stream.start_time * stream.time_base)
        return stream

    @staticmethod
    def _declared_duration(container: InputContainer, stream: VideoStream) -> float | None:
        if stream.duration is not None and stream.duration > 0 and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        if container.duration is not None and container.duration > 0:
            return float(container.duration / _av_module().time_base)
        return None

    def _ended_early(self, declared_duration_s: float | None) -> bool:
        if declared_duration_s is None:
            return False
        tolerance_s = max(_END_TOLERANCE_S, _END_TOLERANCE_SHARE * declared_duration_s)
        return self._last_timestamp_s + tolerance_s < min(declared_duration_s, self._limits.max_duration_s)

    # -- decoding ---------------------------------------------------------------------------------------

    def _decode(self, container: InputContainer, stream: VideoStream) -> None:
        packets = container.demux(stream)
        packets_read = decode_errors = 0
        while self._may_go_on(stream, packets_read):
            try:
                packet = next(packets)
            except StopIteration:
                break
            except Exception:  # the container breaks off (truncated download, damaged index)
                self._reason = REASON_DECODE
                self._flush(stream)
                return
            packets_read += 1
            if self._past_duration_limit(packet):
                self._reason = REASON_DURATION
                self._flush(stream)  # frames still inside the decoder may come before the limit
                return
            if self._skip_packet(packet):
                continue
            try:
                frames = stream.decode(packet)
            except Exception:  # a damaged packet; the decoder resynchronises at the next key frame
                decode_errors += 1
                if decode_errors > _MAX_DECODE_ERRORS:
                    break
                continue
            if not all(self._take(frame) for frame in frames):
                return
        if decode_errors and not self._reason:
            self._reason = REASON_DECODE  # frames were lost to damaged packets

    def _may_go_on(self, stream: VideoStream, packets_read: int) -> bool:
        """Apply the deadline (once a frame is kept) and switch to key frames when half of it is spent."""
        if not self._sampler.kept:
            return packets_read < _MAX_PACKETS_BEFORE_FIRST_FRAME
        if self._budget.passed():
            self._reason = REASON_DEADLINE
            return False
        if self._keyframes_only_from_s is None and self._budget.dense_share_spent():
            self._keyframes_only_from_s = round(self._last_timestamp_s, 6)
            stream.codec_context.skip_frame = "NONKEY"
        return True

    def _past_duration_limit(self, packet: av.Packet[VideoStream]) -> bool:
        timestamp_s = self._timestamp(packet.pts, packet.time_base)
        if timestamp_s is None:
            return False
        if timestamp_s > self._limits.max_duration_s:
            return True
        self._last_timestamp_s = max(self._last_timestamp_s, timestamp_s)
        return False

    def _skip_packet(self, packet: av.Packet[VideoStream]) -> bool:
        """In key-frame mode, packets that are not key frames or would not be kept anyway."""
        if self._keyframes_only_from_s is None or packet.size == 0:
            return False  # size 0: the flush packet demux sends last, which drains the decoder
        if not packet.is_keyframe:
            return True
        timestamp_s = self._timestamp(packet.pts, packet.time_base)
        return timestamp_s is not None and not self._sampler.wants(timestamp_s, keyframe=True)

    def _flush(self, stream: VideoStream) -> None:
        try:
            frames = stream.decode(None)
        except Exception:
            return
        for frame in frames:
            if not self._take(frame):
                return

    def _take(self, frame: VideoFrame) -> bool:
        """Consider one decoded frame; False when no more frames can be kept."""
        timestamp_s = self._timestamp(frame.pts, frame.time_base)
        if timestamp_s is None:
            timestamp_s = self._last_timestamp_s + self._frame_step_s if self._sampler.kept else 0.0
        if timestamp_s > self._limits.max_duration_s:
            self._reason = REASON_DURATION
            return True
        if frame.width * frame.height > self._limits.max_pixels:
            self._reason = "pixels:exceeded"  # a mid-stream size change; the decoder's own limit backs this
            return False
        self._last_timestamp_s = max(self._last_timestamp_s, timestamp_s)
        signature = self._signature(frame)
        if not self._sampler.wants(timestamp_s, frame.key_frame, signature):
            return True
        candidate = _Candidate(round(timestamp_s, 6), frame.key_frame, self._to_image(frame), signature)
        if not self._sampler.keep(candidate):
            self._reason = REASON_FRAMES
            return False
        return True

    def _timestamp(self, pts: int | None, time_base: Fraction | None) -> float | None:
        """Seconds from the start of the stream, or None when the packet or frame has no timestamp."""
        if pts is None or time_base is None:
            return None
        seconds = float(pts * time_base)
        if self._start_s is None:
            self._start_s = seconds
        return max(0.0, seconds - self._start_s)

    def _signature(self, frame: VideoFrame) -> NDArray[np.int16]:
        """A 16x16 grey thumbnail for scene-cut detection, read from the luma plane with strides."""
        if frame.format.name in _LUMA_PLANE_FORMATS:
            plane = frame.planes[0]
            luma = np.frombuffer(memoryview(plane), dtype=np.uint8, count=plane.line_size * plane.height)
            luma = luma.reshape(plane.height, plane.line_size)[:, : plane.width]
            rows = np.linspace(0, plane.height - 1, _SIGNATURE_SIDE).astype(np.intp)
            columns = np.linspace(0, plane.width - 1, _SIGNATURE_SIDE).astype(np.intp)
            return luma[np.ix_(rows, columns)].astype(np.int16)
        grey = self._signature_reformatter.reformat(
            frame, width=_SIGNATURE_SIDE, height=_SIGNATURE_SIDE, format="gray"
        )
        signature: NDArray[np.int16] = grey.to_ndarray().astype(np.int16)
        return signature

    def _to_image(self, frame: VideoFrame) -> Image.Image:
        # Scaling in swscale with a reused context costs about 1.4 ms for a 720p frame; to_image() at full
        # size followed by PIL's thumbnail() costs about 30 ms.
        width, height = _reduced_size(frame.width, frame.height)
        reduced = self._reformatter.reformat(
            frame, width=width, height=height, format="rgb24", interpolation="AREA"
        )
        image: Image.Image = reduced.to_image()  # type: ignore[no-untyped-call]
        rotation = _DISPLAY_ROTATIONS.get(round(frame.rotation) % 360)
        return image.transpose(rotation) if rotation is not None else image
