"""Frames from videos and animations: which frames, how many, and what happens with hostile files."""

from __future__ import annotations

import io
import struct
from typing import TYPE_CHECKING

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from takedown.hashing.media_frames import (
    MAX_FRAME_SIDE,
    REASON_CUT_SHORT,
    REASON_DEADLINE,
    REASON_DURATION,
    FrameLimits,
    FrameSet,
    MediaRejected,
    extract_frames,
)

from .conftest import MEDIA_TYPES, Clip, animation, encode_frames, packet, render_clip

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

FPS = 24


def timestamps(result: FrameSet) -> list[float]:
    return [frame.timestamp_s for frame in result.frames]


def assert_well_formed(result: FrameSet) -> None:
    """Indexes count up in time order and every image is RGB within the size bound."""
    assert [frame.index for frame in result.frames] == list(range(len(result.frames)))
    assert timestamps(result) == sorted(timestamps(result))
    for frame in result.frames:
        assert frame.image.mode == "RGB"
        assert max(frame.image.size) <= MAX_FRAME_SIDE


# ----------------------------------------------------------------------------------------------------------
# Videos: which frames


@pytest.mark.parametrize(
    ("container", "codec"),
    [
        ("mp4", "libx264"),
        ("mp4", "mpeg4"),
        ("mov", "libx264"),
        ("webm", "libvpx"),
        ("webm", "libvpx-vp9"),
        ("webm", "libsvtav1"),
        ("matroska", "libx264"),
        ("avi", "mpeg4"),
    ],
)
def test_each_container_gives_key_frames_and_one_frame_per_second(container: str, codec: str) -> None:
    # GIVEN 4 s at 24 fps with a key frame every 1.5 s (36 frames), so key frames fall between samples
    data = render_clip(Clip(seed=7), 4, fps=FPS, container=container, codec=codec, gop=36)

    # WHEN
    result = extract_frames(data, MEDIA_TYPES[container])

    # THEN one frame at each whole second, plus the key frames at 1.5 s and 3 s
    assert_well_formed(result)
    assert not result.truncated
    assert result.reason == ""
    assert result.duration_s == pytest.approx(4.0, abs=0.1)
    for second in range(4):
        assert any(second <= t < second + 1.5 / FPS for t in timestamps(result)), (second, timestamps(result))
    keyframe_times = [frame.timestamp_s for frame in result.frames if frame.keyframe]
    assert keyframe_times[0] == 0.0
    assert 1.5 in keyframe_times
    assert result.frames[0].image.size == (320, 180)


def test_large_frames_are_reduced_to_512_pixels_on_the_long_side() -> None:
    # GIVEN a 1280x720 video
    data = render_clip(Clip(seed=8), 1, fps=10, size=(1280, 720))

    # WHEN
    result = extract_frames(data, "video/mp4")

    # THEN
    assert {frame.image.size for frame in result.frames} == {(512, 288)}


def test_a_scene_cut_between_samples_adds_a_frame() -> None:
    # GIVEN a dark scene that cuts to a bright one at 2.5 s, with no key frame at the cut
    def scene(index: int) -> Image.Image:
        t = index / FPS
        bright = t >= 2.5
        image = Image.new("RGB", (320, 180), (230, 230, 220) if bright else (20, 20, 30))
        ImageDraw.Draw(image).ellipse(
            (40 + 4 * t, 30, 160 + 4 * t, 150), fill=(120, 0, 0) if bright else (0, 90, 0)
        )
        return image

    frames = [scene(index) for index in range(4 * FPS)]
    # x264 would put a key frame at the cut by itself; "scenecut=0" leaves the cut to our scene check.
    data = encode_frames(frames, fps=FPS, gop=250, codec_options={"x264-params": "scenecut=0"})

    # WHEN
    result = extract_frames(data, "video/mp4")

    # THEN the first frame of the bright scene is kept although it is neither on the grid nor a key frame
    cut = [frame for frame in result.frames if 2.5 <= frame.timestamp_s < 2.5 + 1.5 / FPS]
    assert len(cut) == 1
    assert not cut[0].keyframe
    assert timestamps(result) == sorted({*timestamps(result)})  # and nothing twice


def test_a_static_video_keeps_only_the_grid_samples() -> None:
    # GIVEN 3 s of one still picture, key frame only at the start
    still = Clip(seed=9).frame(0.0, 320, 180)
    data = encode_frames([still] * (3 * FPS), fps=FPS, gop=250)

    # WHEN
    result = extract_frames(data, "video/mp4")

    # THEN no scene cut fires: one frame per second
    assert timestamps(result) == [0.0, 1.0, 2.0]


def test_the_display_rotation_is_applied() -> None:
    # GIVEN a landscape picture with a red block at the top left, stored with "rotate 90° counter-clockwise"
    picture = Image.new("RGB", (160, 96), "white")
    ImageDraw.Draw(picture).rectangle((0, 0, 47, 31), fill="red")
    data = encode_frames([picture] * 4, fps=4, size=(160, 96), rotation=90)

    # WHEN
    result = extract_frames(data, "video/mp4")

    # THEN the frame is upright as a player shows it: portrait, with the red block now at the bottom left
    image = result.frames[0].image
    assert image.size == (96, 160)
    red, green, _ = image.getpixel((10, 150))
    assert red > 200 and green < 60
    red, green, _ = image.getpixel((10, 10))
    assert red > 200 and green > 200


# ----------------------------------------------------------------------------------------------------------
# Videos: limits


def test_a_tiny_deadline_returns_the_first_frame_flagged_truncated() -> None:
    # GIVEN
    data = render_clip(Clip(seed=11), 3, fps=FPS)

    # WHEN
    result = extract_frames(data, "video/mp4", FrameLimits(deadline_s=1e-9))

    # THEN
    assert result.truncated
    assert result.reason == REASON_DEADLINE
    assert timestamps(result) == [0.0]


def test_past_half_the_deadline_only_key_frames_are_decoded_to_the_end(
    fake_clock: Callable[[list[float]], Callable[[], float]],
) -> None:
    # GIVEN 8 s with a key frame every second, and a clock that reads 0 s for a while and then sits at
    # 60% of a 10 s deadline (past the dense share, short of the deadline)
    data = render_clip(Clip(seed=12), 8, fps=FPS, gop=FPS)
    clock = fake_clock([0.0] * 40 + [6.0])

    # WHEN
    result = extract_frames(data, "video/mp4", FrameLimits(deadline_s=10.0, sample_every_s=0.25), clock=clock)

    # THEN frames after the switch are all key frames, and they still reach the end of the video
    switch = result.keyframes_only_from_s
    assert switch is not None
    assert 0 < switch < 7
    after = [frame for frame in result.frames if frame.timestamp_s > switch]
    assert after
    assert all(frame.keyframe for frame in after)
    assert after[-1].timestamp_s == 7.0
    assert not result.truncated
    # the dense part sampled every 0.25 s
    assert {0.0, 0.25, 0.5} <= set(timestamps(result))


def test_past_the_deadline_the_frames_so_far_come_back(
    fake_clock: Callable[[list[float]], Callable[[], float]],
) -> None:
    # GIVEN a clock that jumps past the deadline after a few readings
    data = render_clip(Clip(seed=13), 6, fps=FPS)
    clock = fake_clock([0.0] * 30 + [99.0])

    # WHEN
    result = extract_frames(data, "video/mp4", FrameLimits(deadline_s=10.0), clock=clock)

    # THEN
    assert result.truncated
    assert result.reason == REASON_DEADLINE
    assert len(result.frames) >= 1
    assert result.frames[-1].timestamp_s < 6.0
    assert result.duration_s == pytest.approx(6.0, abs=0.1)


def test_a_video_over_the_duration_limit_is_sampled_up_to_it() -> None:
    # GIVEN 6 s of video and a 3 s limit
    data = render_clip(Clip(seed=14), 6, fps=FPS)

    # WHEN
    result = extract_frames(data, "video/mp4", FrameLimits(max_duration_s=3.0))

    # THEN the first 3 s are sampled, and the result says the rest was not
    assert result.truncated
    assert result.reason == REASON_DURATION
    assert timestamps(result)[:3] == [0.0, 1.0, 2.0]
    assert max(timestamps(result)) <= 3.0
    assert result.duration_s == pytest.approx(6.0, abs=0.1)


def test_past_max_frames_sampling_thins_but_still_covers_the_whole_video() -> None:
    # GIVEN 12 s and room for 5 frames
    data = render_clip(Clip(seed=15), 12, fps=FPS, gop=FPS)

    # WHEN
    result = extract_frames(data, "video/mp4", FrameLimits(max_frames=5))

    # THEN at most 5 frames, from the start to the last third of the video
    assert 3 <= len(result.frames) <= 5
    assert timestamps(result)[0] == 0.0
    assert timestamps(result)[-1] >= 8.0
    assert result.sample_interval_s > 1.0
    assert not result.truncated


def test_a_frame_size_bomb_is_refused_before_decoding() -> None:
    # GIVEN an MKV declaring 30000x30000 frames (900 megapixels) whose JPEG frames also claim that size
    tiny = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(tiny, "JPEG")
    jpeg = bytearray(tiny.getvalue())
    start_of_frame = jpeg.find(b"\xff\xc0")
    struct.pack_into(">HH", jpeg, start_of_frame + 5, 30000, 30000)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as out:
        stream = out.add_stream("mjpeg", rate=1)
        stream.width = stream.height = 16000  # the encoder refuses 30000; the header is patched below
        stream.pix_fmt = "yuvj420p"
        for pts in range(3):
            raw = packet(bytes(jpeg), pts)
            raw.stream = stream
            out.mux(raw)
    size_16000, size_30000 = b"\x82\x3e\x80", b"\x82\x75\x30"  # EBML length 2, then the value
    data = buffer.getvalue()
    for element in (b"\xb0", b"\xba"):  # PixelWidth, PixelHeight
        assert element + size_16000 in data
        data = data.replace(element + size_16000, element + size_30000)

    # WHEN / THEN FFmpeg's probe refuses the size, so no frame size is left to trust: refused outright
    with pytest.raises(MediaRejected) as refused:
        extract_frames(data, "video/x-matroska")
    assert refused.value.reason == "pixels:unknown"


def test_frames_over_the_pixel_limit_are_refused_from_the_declared_size() -> None:
    # GIVEN a 320x180 video (57,600 pixels) and a 50,000-pixel limit
    data = render_clip(Clip(seed=16), 1, fps=FPS)

    # WHEN / THEN
    with pytest.raises(MediaRejected) as refused:
        extract_frames(data, "video/mp4", FrameLimits(max_pixels=50_000))
    assert refused.value.reason == "pixels:exceeded"
    assert "320x180" in str(refused.value)


def test_a_truncated_mp4_with_its_index_first_gives_the_frames_before_the_cut(tmp_path: Path) -> None:
    # GIVEN a 6 s "faststart" MP4 (index before the data, as streamed files are) cut at 60%
    data = render_clip(
        Clip(seed=17), 6, fps=FPS, options={"movflags": "+faststart"}, target=str(tmp_path / "clip.mp4")
    )
    assert data.find(b"moov") < data.find(b"mdat")

    # WHEN
    result = extract_frames(data[: len(data) * 6 // 10], "video/mp4")

    # THEN a partial result, flagged: the stream stops well before the 6 s its index declares
    assert result.truncated
    assert result.reason == REASON_CUT_SHORT
    assert timestamps(result)[:2] == [0.0, 1.0]
    assert max(timestamps(result)) < 5.0


def test_a_truncated_mp4_with_its_index_last_is_refused() -> None:
    # GIVEN an MP4 whose index (moov) was at the end, cut off
    data = render_clip(Clip(seed=18), 2, fps=FPS)
    assert data.find(b"moov") > data.find(b"mdat")

    # WHEN / THEN
    with pytest.raises(MediaRejected) as refused:
        extract_frames(data[: len(data) // 2], "video/mp4")
    assert refused.value.reason == "decode:failed"


@pytest.mark.parametrize("media_type", [*MEDIA_TYPES.values(), "image/gif", "image/webp", "image/png"])
def test_bytes_that_are_not_media_are_refused(media_type: str) -> None:
    # GIVEN
    data = b"<!doctype html><title>not a video</title>" + bytes(range(256)) * 8

    # WHEN / THEN
    with pytest.raises(MediaRejected) as refused:
        extract_frames(data, media_type)
    assert refused.value.reason == "decode:failed"


def test_an_unsupported_media_type_is_refused() -> None:
    with pytest.raises(MediaRejected) as refused:
        extract_frames(b"\xff\xd8\xff" + bytes(64), "image/jpeg")
    assert refused.value.reason == "type:unsupported"


def test_a_codec_outside_the_allowed_list_is_refused() -> None:
    # GIVEN an MKV of FFV1-coded frames (a valid archival codec, not one the web serves)
    frames = [Clip(seed=19).frame(index / 4, 64, 48) for index in range(4)]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as out:
        stream = out.add_stream("ffv1", rate=4)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for image in frames:
            out.mux(stream.encode(av.VideoFrame.from_image(image).reformat(format="yuv420p")))
        out.mux(stream.encode(None))

    # WHEN / THEN
    with pytest.raises(MediaRejected) as refused:
        extract_frames(buffer.getvalue(), "video/x-matroska")
    assert refused.value.reason == "codec:unsupported"


def test_a_file_without_video_is_refused() -> None:
    # GIVEN an MKV with only a sound track (a second of silence)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        silence = av.AudioFrame.from_ndarray(np.zeros((1, 8000), dtype=np.int16), format="s16", layout="mono")
        silence.sample_rate = 8000
        out.mux(stream.encode(silence))
        out.mux(stream.encode(None))

    # WHEN / THEN
    with pytest.raises(MediaRejected) as refused:
        extract_frames(buffer.getvalue(), "video/x-matroska")
    assert refused.value.reason == "video:no-stream"


@pytest.mark.parametrize(
    ("media_type", "build"),
    [
        ("video/mp4", lambda: render_clip(Clip(seed=20), 2, fps=12)),
        ("video/webm", lambda: render_clip(Clip(seed=21), 2, fps=12, container="webm", codec="libvpx-vp9")),
        (
            "image/gif",
            lambda: animation([Clip(seed=22).frame(t, 64, 48) for t in range(6)], [100] * 6, "GIF"),
        ),
        (
            "image/webp",
            lambda: animation([Clip(seed=23).frame(t, 64, 48) for t in range(6)], [100] * 6, "WEBP"),
        ),
    ],
)
def test_damaged_files_give_a_result_or_a_rejection_never_another_error(
    media_type: str, build: Callable[[], bytes]
) -> None:
    # GIVEN a valid file and 40 copies with random bytes overwritten or cut short
    original = build()
    rng = np.random.default_rng(2024)
    outcomes: dict[str, int] = {"frames": 0, "rejected": 0}
    for _ in range(40):
        damaged = bytearray(original)
        for position in rng.integers(0, len(damaged), int(rng.integers(1, 24))):
            damaged[position] = int(rng.integers(0, 256))
        if rng.random() < 0.3:
            damaged = damaged[: int(rng.integers(1, len(damaged)))]

        # WHEN
        try:
            result = extract_frames(bytes(damaged), media_type, FrameLimits(deadline_s=5.0))
        except MediaRejected as rejected:
            # THEN either a named rejection ...
            assert rejected.reason
            outcomes["rejected"] += 1
        else:
            # ... or frames
            assert result.frames
            assert_well_formed(result)
            outcomes["frames"] += 1
    assert outcomes["frames"] > 0  # the damage is not so heavy that nothing ever decodes


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_frames"):
        FrameLimits(max_frames=0)
    with pytest.raises(ValueError, match="deadline_s"):
        FrameLimits(deadline_s=-1.0)


# ----------------------------------------------------------------------------------------------------------
# Animated images


@pytest.mark.parametrize(
    ("plugin", "media_type"), [("GIF", "image/gif"), ("WEBP", "image/webp"), ("PNG", "image/png")]
)
def test_every_frame_of_an_animation_is_kept_at_its_display_time(plugin: str, media_type: str) -> None:
    # GIVEN 4 different frames shown for 100, 200, 300 and 100 ms
    images = [Clip(seed=30 + index).frame(0.0, 96, 64) for index in range(4)]
    data = animation(images, [100, 200, 300, 100], plugin)

    # WHEN
    result = extract_frames(data, media_type)

    # THEN
    assert_well_formed(result)
    assert timestamps(result) == pytest.approx([0.0, 0.1, 0.3, 0.6])
    assert result.duration_s == pytest.approx(0.7)
    assert [frame.keyframe for frame in result.frames] == [True, False, False, False]
    assert not result.truncated
    assert result.frames[2].image.size == (96, 64)


def test_gif_delays_of_10_ms_or_less_play_as_100_ms() -> None:
    # GIVEN delays a browser would not honour
    images = [Clip(seed=40 + index).frame(0.0, 32, 32) for index in range(3)]
    data = animation(images, [0, 10, 20], "GIF")

    # WHEN
    result = extract_frames(data, "image/gif")

    # THEN
    assert timestamps(result) == pytest.approx([0.0, 0.1, 0.2])


def test_a_still_image_gives_one_frame() -> None:
    # GIVEN
    buffer = io.BytesIO()
    Clip(seed=41).frame(0.0, 800, 600).save(buffer, "PNG")

    # WHEN
    result = extract_frames(buffer.getvalue(), "image/png")

    # THEN
    assert len(result.frames) == 1
    assert result.frames[0].image.size == (512, 384)
    assert result.duration_s == 0.0


def test_a_gif_with_5000_frames_is_bounded_and_sampled_across_its_length() -> None:
    # GIVEN 5000 distinct 48x32 frames of 20 ms each (100 s)
    palette = [0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 255] + [0] * (256 * 3 - 12)
    images = []
    for index in range(5000):
        image = Image.new("P", (48, 32), 0)
        image.putpalette(palette)
        draw = ImageDraw.Draw(image)
        draw.rectangle((index % 48, 0, index % 48 + 3, 31), fill=1 + index % 3)
        draw.point((index % 47, (index // 47) % 32), fill=2)
        images.append(image)
    data = animation(images, [20] * 5000, "GIF")

    # WHEN
    result = extract_frames(data, "image/gif")

    # THEN at most max_frames frames, spread from the start to the end
    assert_well_formed(result)
    assert len(result.frames) <= FrameLimits().max_frames
    assert len(result.frames) >= FrameLimits().max_frames // 3
    assert result.duration_s == pytest.approx(100.0)
    assert timestamps(result)[0] == 0.0
    assert timestamps(result)[-1] > 95.0
    assert result.sample_interval_s > 0.02
    assert not result.truncated


def test_a_gif_declaring_a_huge_canvas_is_refused() -> None:
    # GIVEN a small GIF whose header claims 30000x30000, and one claiming 8000x6000 (48 megapixels)
    buffer = io.BytesIO()
    Image.new("P", (8, 8), 1).save(buffer, "GIF")
    original = buffer.getvalue()
    huge = original[:6] + struct.pack("<HH", 30000, 30000) + original[10:]
    large = original[:6] + struct.pack("<HH", 8000, 6000) + original[10:]

    # WHEN / THEN Pillow's bomb check and our own pixel limit both refuse before decoding
    with pytest.raises(MediaRejected) as bomb:
        extract_frames(huge, "image/gif")
    assert bomb.value.reason == "pixels:bomb"
    with pytest.raises(MediaRejected) as over:
        extract_frames(large, "image/gif")
    assert over.value.reason == "pixels:exceeded"


@pytest.mark.parametrize(("plugin", "media_type"), [("GIF", "image/gif"), ("PNG", "image/png")])
def test_an_animation_cut_short_keeps_the_frames_before_the_cut(plugin: str, media_type: str) -> None:
    # GIVEN a 10-frame animation missing its last third
    images = [Clip(seed=50 + index).frame(0.0, 64, 48) for index in range(10)]
    data = animation(images, [100] * 10, plugin)

    # WHEN
    result = extract_frames(data[: len(data) * 2 // 3], media_type)

    # THEN the frames before the cut, flagged
    assert 1 <= len(result.frames) < 10
    assert_well_formed(result)
    assert result.truncated
    assert result.reason == "decode:failed"
