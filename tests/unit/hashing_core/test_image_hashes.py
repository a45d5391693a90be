from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageDraw

from takedown.hashing.hamming import hamming_distance_hex as hamming_hex
from takedown.hashing.image_hashes import MediaRejected, hash_image_bytes


def _encoded(size: tuple[int, int], fmt: str = "PNG", seed: int = 1) -> bytes:
    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        w, h = rng.randrange(20, size[0] // 2), rng.randrange(20, size[1] // 2)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle((x, y, x + w, y + h), fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def test_resized_recompressed_copy_stays_close_and_other_image_is_far() -> None:
    # GIVEN an original, a resized JPEG copy of it, and an unrelated image
    original = hash_image_bytes(_encoded((400, 300)))
    copy_image = Image.open(io.BytesIO(_encoded((400, 300)))).resize((200, 150))
    buffer = io.BytesIO()
    copy_image.save(buffer, "JPEG", quality=60)
    copy = hash_image_bytes(buffer.getvalue())
    unrelated = hash_image_bytes(_encoded((400, 300), seed=5))
    # THEN the copy is within the default threshold and the unrelated image is not
    assert hamming_hex(original.phash, copy.phash) <= 10
    assert hamming_hex(original.phash, unrelated.phash) > 10
    assert len(original.sha256) == 64 and len(original.md5) == 32


@pytest.mark.parametrize("data", [b"", b"not an image", _encoded((50, 50))[:40]])
def test_corrupt_or_truncated_files_are_refused_with_a_reason(data: bytes) -> None:
    with pytest.raises(MediaRejected) as refused:
        hash_image_bytes(data)
    assert refused.value.reason == "decode:failed"


def test_a_canvas_over_the_pixel_limit_is_refused_before_decoding() -> None:
    with pytest.raises(MediaRejected) as refused:
        hash_image_bytes(_encoded((300, 300)), max_pixels=10_000)
    assert refused.value.reason == "pixels:exceeded"
