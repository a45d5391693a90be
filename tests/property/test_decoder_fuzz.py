"""A short, reproducible fuzz of the media decoders: mutated synthetic files may only end in a result or a named
rejection (``MediaRejected`` with a reason code), never in any other exception.

Bounded (a fixed number of examples per entry point, no deadline) and derandomized, so CI sees the same inputs on
every run; ``tests/hostile`` drives the same decoders through the hashing function with hand-made files.
"""

from __future__ import annotations

import functools
import io
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from takedown.hashing.bank_index import BankIndex
from takedown.hashing.detect import detect_media
from takedown.hashing.fingerprint import fingerprint_image_bytes
from takedown.hashing.media_frames import FrameLimits, extract_frames
from takedown.hashing.refusals import MediaRejected
from tests.hostile.corpus import encode, many_frame_gif, scene, small_mp4

FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Small limits keep each example cheap; the code paths are the same as with the deployed limits.
LIMITS = FrameLimits(max_pixels=4_000_000, max_frames=24, deadline_s=5.0)


@functools.cache
def seeds() -> dict[str, tuple[bytes, str]]:
    """One small valid file per format the crawler stores, with its sniffed media type."""
    picture = scene(21, (96, 72))
    frames = [scene(30 + i, (48, 36)) for i in range(4)]
    animated_png = io.BytesIO()
    frames[0].save(animated_png, "PNG", save_all=True, append_images=frames[1:], duration=80)
    animated_webp = io.BytesIO()
    frames[0].save(animated_webp, "WEBP", save_all=True, append_images=frames[1:], duration=80)
    return {
        "png": (encode(picture, "PNG"), "image/png"),
        "jpeg": (encode(picture, "JPEG", quality=80), "image/jpeg"),
        "webp": (encode(picture, "WEBP"), "image/webp"),
        "gif": (encode(picture.convert("P"), "GIF"), "image/gif"),
        "bmp": (encode(picture, "BMP"), "image/bmp"),
        "tiff": (encode(picture, "TIFF"), "image/tiff"),
        "animated gif": (many_frame_gif(6, 24), "image/gif"),
        "apng": (animated_png.getvalue(), "image/png"),
        "animated webp": (animated_webp.getvalue(), "image/webp"),
        "mp4": (small_mp4(0.5, fps=6, size=(64, 48)), "video/mp4"),
    }


@st.composite
def mutated(draw: st.DrawFn, formats: tuple[str, ...]) -> tuple[str, bytes, str]:
    """A seed file with a few bytes overwritten, a stretch deleted or duplicated, or its tail cut off."""
    name = draw(st.sampled_from(formats))
    original, media_type = seeds()[name]
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["overwrite", "delete", "duplicate", "truncate", "insert"]))
        position = draw(st.integers(0, max(0, len(data) - 1)))
        length = draw(st.integers(1, 64))
        if kind == "overwrite":
            data[position : position + length] = draw(st.binary(min_size=length, max_size=length))
        elif kind == "delete":
            del data[position : position + length]
        elif kind == "duplicate":
            data[position:position] = data[position : position + length]
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=length))
        else:
            del data[position:]
    return name, bytes(data), media_type


IMAGE_FORMATS = ("png", "jpeg", "webp", "gif", "bmp", "tiff", "animated gif", "apng", "animated webp")


def only_named_rejections(call: object) -> None:
    """Run ``call``; a MediaRejected must carry a reason code, anything else fails the test."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about odd chunks; warnings are not outcomes
            call()  # type: ignore[operator]
    except MediaRejected as rejected:
        assert (rejected.reason and ":" in rejected.reason) or rejected.reason in {"deadline"}


@FUZZ
@given(mutated(IMAGE_FORMATS))
def test_fingerprinting_a_damaged_image_gives_a_fingerprint_or_a_named_rejection(
    sample: tuple[str, bytes, str],
) -> None:
    # GIVEN a damaged image WHEN it is fingerprinted THEN only a fingerprint or MediaRejected comes out
    _, data, _ = sample
    only_named_rejections(lambda: fingerprint_image_bytes(data, max_pixels=LIMITS.max_pixels))


@FUZZ
@given(mutated(("animated gif", "apng", "animated webp", "mp4")))
def test_extracting_frames_of_a_damaged_file_gives_frames_or_a_named_rejection(
    sample: tuple[str, bytes, str],
) -> None:
    # GIVEN a damaged animation or video WHEN its frames are extracted THEN frames or MediaRejected, nothing else
    _, data, media_type = sample

    def extract() -> None:
        result = extract_frames(data, media_type, LIMITS)
        assert result.frames and len(result.frames) <= LIMITS.max_frames

    only_named_rejections(extract)


@FUZZ
@given(mutated((*IMAGE_FORMATS, "mp4")))
def test_detection_on_a_damaged_file_matches_or_names_its_rejection(sample: tuple[str, bytes, str]) -> None:
    # GIVEN a damaged file of any format, labelled with its original type, and an empty bank
    _, data, media_type = sample
    # WHEN the hashing stage's entry point detects it THEN it is hashed (no match) or refused by name
    only_named_rejections(lambda: detect_media(data, media_type, EMPTY_BANK, limits=LIMITS))


@pytest.mark.parametrize("name", sorted((*IMAGE_FORMATS, "mp4")))
def test_every_seed_file_decodes_before_it_is_damaged(name: str) -> None:
    # GIVEN an undamaged seed THEN detection reads it: the fuzz starts from files the decoders accept
    data, media_type = seeds()[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        detection = detect_media(data, media_type, EMPTY_BANK, limits=LIMITS)
    assert detection.sha256 and detection.matches == []
    assert Image.open(io.BytesIO(data)) if media_type.startswith("image/") else detection.frames


EMPTY_BANK = BankIndex.build([])
