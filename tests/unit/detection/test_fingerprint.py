"""Fingerprints of every image format and pixel mode, safe decoding, and the reduced-size PDQ."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import imagehash
import numpy as np
import pytest
from PIL import Image

from takedown.hashing.fingerprint import (
    BAND_ORIENTATIONS,
    HASHED_SIZE,
    fingerprint_image,
    fingerprint_image_bytes,
    middle_band,
    to_displayed_rgb,
)
from takedown.hashing.hamming import hamming_distance_hex
from takedown.hashing.pdq import DIHEDRAL_TRANSPOSES, pdq_hash_image
from takedown.hashing.refusals import MediaRejected

from .corpus import make_scene, photo_like_images

EXIF_ORIENTATION = 0x0112


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a canvas but carries almost no pixel data: a decompression bomb's shape."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


SCENE = make_scene(1, (640, 480))


# ---------------------------------------------------------------------------------------------------------
# Formats and modes


@pytest.mark.parametrize(
    ("fmt", "options", "max_distance"),
    [
        ("PNG", {}, 0),
        ("BMP", {}, 0),
        ("TIFF", {}, 0),
        ("WEBP", {"lossless": True}, 0),
        ("JPEG", {"quality": 92}, 12),
        ("WEBP", {"quality": 80}, 12),
        ("GIF", {}, 24),  # a 256-colour palette
    ],
)
def test_every_format_fingerprints_close_to_the_decoded_image(
    fmt: str, options: dict[str, object], max_distance: int
) -> None:
    # GIVEN a picture encoded in one format
    data = encode(SCENE, fmt, **options)

    # WHEN the file is fingerprinted
    fingerprint = fingerprint_image_bytes(data)

    # THEN the digests are the file's, the size is the picture's, and PDQ is near the picture's own
    assert fingerprint.sha256 == hashlib.sha256(data).hexdigest()
    assert fingerprint.md5 == hashlib.md5(data).hexdigest()
    assert (fingerprint.width, fingerprint.height) == SCENE.size
    assert hamming_distance_hex(fingerprint.pdq, fingerprint_image(SCENE).pdq) <= max_distance
    assert fingerprint.pdq_quality >= 50


def test_lossless_file_and_decoded_image_fingerprint_identically() -> None:
    # GIVEN a PNG file and the same picture already decoded
    data = encode(SCENE, "PNG")

    # WHEN both are fingerprinted
    from_file = fingerprint_image_bytes(data)
    from_image = fingerprint_image(Image.open(io.BytesIO(data)), sha256=from_file.sha256, md5=from_file.md5)

    # THEN every hash agrees
    assert from_file == from_image


def test_fingerprint_has_all_orientations_and_the_band() -> None:
    # WHEN a picture is fingerprinted
    fingerprint = fingerprint_image(SCENE)

    # THEN PDQ and pHash come in all 8 orientations, "original" being the plain hash, and the band in 4
    assert set(fingerprint.pdq_dihedral) == set(DIHEDRAL_TRANSPOSES) == set(fingerprint.phash_dihedral)
    assert fingerprint.pdq_dihedral["original"] == fingerprint.pdq
    assert fingerprint.phash_dihedral["original"] == fingerprint.phash
    assert len(fingerprint.pdq) == 64 and len(fingerprint.phash) == 16
    assert fingerprint.band is not None
    assert (
        set(fingerprint.band.pdq_dihedral) == set(BAND_ORIENTATIONS) == set(fingerprint.band.phash_dihedral)
    )
    assert fingerprint.band.pdq_dihedral["original"] != fingerprint.pdq


def test_phash_is_imagehash_phash_of_the_hashed_image() -> None:
    # GIVEN the picture as the fingerprint hashes it (as displayed, at the hashed size)
    hashed = to_displayed_rgb(SCENE).resize(HASHED_SIZE, Image.Resampling.BILINEAR)

    # THEN the fingerprint's pHash is imagehash's
    assert fingerprint_image(SCENE).phash == str(imagehash.phash(hashed))


@pytest.mark.parametrize("name", [name for name in DIHEDRAL_TRANSPOSES if name != "original"])
def test_phash_orientations_match_the_transformed_picture(name: str) -> None:
    # GIVEN a picture turned or mirrored
    transpose = DIHEDRAL_TRANSPOSES[name]
    assert transpose is not None
    turned = SCENE.transpose(transpose)

    # THEN the original's pHash for that orientation is (within rounding) the turned picture's pHash
    assert (
        hamming_distance_hex(fingerprint_image(SCENE).phash_dihedral[name], fingerprint_image(turned).phash)
        <= 4
    )


def rgba_on_transparent() -> Image.Image:
    # Transparent pixels hide bright red; a viewer shows white there.
    image = Image.new("RGBA", (320, 240), (255, 0, 0, 0))
    image.paste(SCENE.resize((160, 120)).convert("RGBA"), (80, 60))
    return image


@pytest.mark.parametrize(
    ("mode_name", "build"),
    [
        ("L", lambda: SCENE.convert("L")),
        ("1", lambda: SCENE.convert("1")),
        ("P", lambda: SCENE.quantize(64)),
        ("CMYK", lambda: SCENE.convert("CMYK")),
        ("LA", lambda: SCENE.convert("LA")),
        ("RGBA", lambda: SCENE.convert("RGBA")),
        ("I;16", lambda: Image.fromarray(np.asarray(SCENE.convert("L"), dtype=np.uint16) * 257)),
        ("I", lambda: Image.fromarray(np.asarray(SCENE.convert("L"), dtype=np.int32) * 257)),
        ("F", lambda: Image.fromarray(np.asarray(SCENE.convert("L"), dtype=np.float32) / 255)),
    ],
)
def test_every_pixel_mode_is_hashed_as_the_picture_it_shows(mode_name: str, build: object) -> None:
    # GIVEN the same picture in another pixel mode
    assert callable(build)
    image = build()
    assert image.mode == mode_name

    # WHEN it is fingerprinted
    fingerprint = fingerprint_image(image)

    # THEN it hashes like the RGB (or, for grey modes, the greyscale) picture
    reference = fingerprint_image(SCENE if mode_name in {"P", "CMYK", "RGBA"} else SCENE.convert("L"))
    tolerance = 40 if mode_name in {"1", "P"} else 8  # dithering and palettes change pixels
    assert hamming_distance_hex(fingerprint.pdq, reference.pdq) <= tolerance


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    # GIVEN a 16-bit grey picture (most values above 255, which clipping would turn white)
    grey = np.asarray(SCENE.convert("L"), dtype=np.uint16)
    sixteen = Image.fromarray(grey * 257)

    # THEN it shows as the 8-bit picture
    assert np.array_equal(np.asarray(to_displayed_rgb(sixteen))[:, :, 0], grey)


def test_transparency_is_composited_on_white() -> None:
    # GIVEN a picture pasted on a fully transparent red canvas, as RGBA and as a palette with transparency
    rgba = rgba_on_transparent()
    palette = rgba.convert("RGB").quantize(64)
    palette.info["transparency"] = palette.getpixel((0, 0))

    # THEN the transparent area shows white, not the hidden red
    for image in (rgba, palette):
        assert to_displayed_rgb(image).getpixel((5, 5)) == (255, 255, 255)
    assert fingerprint_image(rgba).pdq != fingerprint_image(rgba.convert("RGB")).pdq


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied(orientation: int) -> None:
    # GIVEN a JPEG stored sideways with an EXIF tag saying how to turn it upright
    transpose = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
    stored = SCENE.transpose(transpose[orientation])
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    data = encode(stored, "JPEG", quality=95, exif=exif)

    # WHEN it is fingerprinted
    fingerprint = fingerprint_image_bytes(data)

    # THEN it hashes as the upright picture, with the upright size
    upright = fingerprint_image_bytes(encode(SCENE, "JPEG", quality=95))
    assert hamming_distance_hex(fingerprint.pdq, upright.pdq) <= 12
    assert (fingerprint.width, fingerprint.height) == SCENE.size


def test_animated_gif_fingerprints_its_first_frame() -> None:
    # GIVEN an animation whose first frame is the scene
    frames = [SCENE.quantize(128), make_scene(2, SCENE.size).quantize(128)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)

    # THEN the fingerprint is the first frame's
    first = fingerprint_image(frames[0])
    assert hamming_distance_hex(fingerprint_image_bytes(buffer.getvalue()).pdq, first.pdq) <= 8


# ---------------------------------------------------------------------------------------------------------
# Refusals


def test_canvas_over_the_limit_is_refused_before_decoding() -> None:
    # GIVEN a file that declares 6000x6000 pixels but holds almost no data (decoding it would fail)
    data = png_header_only(6000, 6000)

    # WHEN it is fingerprinted with a 30-megapixel limit
    with pytest.raises(MediaRejected) as refused:
        fingerprint_image_bytes(data, max_pixels=30_000_000)

    # THEN it is refused for its size, which proves the check ran before any decoding
    assert refused.value.reason == "pixels:exceeded"


def test_canvas_beyond_pillows_own_bomb_limit_is_refused_as_exceeded() -> None:
    # GIVEN a declared canvas so large Pillow itself refuses to open it
    data = png_header_only(20_000, 20_000)

    # THEN it is refused with our reason, even with a generous limit of our own
    with pytest.raises(MediaRejected) as refused:
        fingerprint_image_bytes(data, max_pixels=10**12)
    assert refused.value.reason == "pixels:exceeded"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        encode(SCENE, "PNG")[:200],
        encode(SCENE, "JPEG")[:300],
        b"GIF89a" + b"\0" * 20,
    ],
    ids=["empty", "text", "truncated-png", "truncated-jpeg", "gif-header-only"],
)
def test_corrupt_files_are_refused_as_undecodable(data: bytes) -> None:
    with pytest.raises(MediaRejected) as refused:
        fingerprint_image_bytes(data)
    assert refused.value.reason == "decode:failed"


def test_image_too_small_to_hash_is_refused() -> None:
    with pytest.raises(MediaRejected) as refused:
        fingerprint_image_bytes(encode(Image.new("RGB", (4, 40), "red"), "PNG"))
    assert refused.value.reason == "image:too-small"


def test_non_image_arguments_are_refused() -> None:
    with pytest.raises(MediaRejected):
        fingerprint_image("not an image")  # type: ignore[arg-type]
    with pytest.raises(MediaRejected):
        fingerprint_image_bytes("text, not bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_pixels"):
        fingerprint_image_bytes(encode(SCENE, "PNG"), max_pixels=0)


def test_low_picture_has_no_band() -> None:
    # GIVEN a picture too low to cut a band from
    strip = make_scene(3, (400, 20))

    # THEN it is fingerprinted without one
    assert middle_band(strip) is None
    assert fingerprint_image(strip).band is None


# ---------------------------------------------------------------------------------------------------------
# Hashing at the reduced size


def test_reduced_size_pdq_stays_near_the_full_resolution_reference() -> None:
    # GIVEN photo-like pictures of many sizes (40 to 12 megapixels ... down to 300x200)
    distances = []
    for _name, image in photo_like_images():
        # WHEN each is fingerprinted (hashed at 320x320) and hashed by the reference at full size
        distances.append(hamming_distance_hex(fingerprint_image(image).pdq, pdq_hash_image(image).hex))

    # THEN they stay close: measured median 6, p90 16, max 44 bits (fine textures such as brick, which
    # a plain 50% resize moves 56 bits in the reference itself)
    assert float(np.median(distances)) <= 8
    assert float(np.percentile(distances, 90)) <= 20
    assert max(distances) <= 48


def test_jpeg_draft_decoding_barely_changes_the_hash() -> None:
    # GIVEN large JPEGs (decoded at a reduced libjpeg scale) and their full decodes
    distances = []
    for _name, image in photo_like_images():
        if max(image.size) < 1000:
            continue
        data = encode(image, "JPEG", quality=95)
        drafted = fingerprint_image_bytes(data)
        full = fingerprint_image(Image.open(io.BytesIO(data)))
        distances.append(hamming_distance_hex(drafted.pdq, full.pdq))

    # THEN the hashes are nearly the same (measured median 0, max 22 on a colour wheel)
    assert float(np.median(distances)) <= 2
    assert max(distances) <= 24
