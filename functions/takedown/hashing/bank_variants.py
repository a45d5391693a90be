"""The variants of an original hashed at registration, so cropped and slightly rotated copies still match.

PDQ survives re-encoding, resizing, recolouring and (through the query's dihedral hashes) mirroring and
quarter turns, but not geometry: a 5% crop or a 5-degree rotation moves it about 90 bits. The centre has
the original at registration time, so it hashes the likely edits of it too; every variant is stored as
its own bank item under the original's group.

Measured on generated scenes and sample photos (each query re-encoded as JPEG), one variant covers about
+-2 points of centre crop and about +-1.5 degrees of rotation. Hence, 20 variants:

* ``original``;
* centre crops removing 5, 10, 15 and 20% of the width and of the height (``crop5`` .. ``crop20``): a
  centre crop of 0-22% then matches 97% of the time on average, >= 83% at every share;
* the middle band (``band``: top and bottom 15% cut), which a query's own band matches when a caption
  covers its top or bottom (see :mod:`takedown.hashing.fingerprint`);
* rotations in the three forms edited copies take: the canvas kept with black corners (``rot5``,
  +-2.5 and +-5 degrees), cropped to the largest upright rectangle inside as phone "straighten" tools do
  (``rot5-crop``, +-2.5, +-4 and +-5: the crop changes with the angle, so this form needs a finer
  grid), and the canvas grown to hold it all (``rot5-expand``, +-2.5 and +-5). Rotations of 1.5-6
  degrees then match 95-100% of the time on average, depending on the form.

Crops off one side or a corner shift the picture, which no affordable set of centre variants covers (a
2% shift already costs ~26 bits): a known gap (a 10% crop off one corner is not found).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

from PIL import Image

from takedown.hashing.fingerprint import fingerprint_image, middle_band, to_displayed_rgb
from takedown.hashing.pdq import PdqHash, PdqRefused, validate_pdq
from takedown.model import BankItem

if TYPE_CHECKING:
    from takedown.hashing.fingerprint import ImageFingerprint

CROP_SHARES: Final = (5, 10, 15, 20)  # percent of the width and of the height removed, half from each side
# Counter-clockwise degrees, as Image.rotate, per form of rotated copy. Straightened (cropped) copies get
# one more angle: their crop changes with the angle too, so one variant covers a narrower range.
ROTATION_DEGREES: Final = (-5.0, -2.5, 2.5, 5.0)
CROPPED_ROTATION_DEGREES: Final = (-5.0, -4.0, -2.5, 2.5, 4.0, 5.0)
ORIGINAL: Final = "original"
BAND: Final = "band"  # the middle band, as fingerprint.middle_band cuts it from a query
_MIN_VARIANT_SIDE: Final = 16  # smaller originals get no crop variants: there is nothing left to crop


class RegistrationRefused(ValueError):
    """The original cannot be matched perceptually. ``reason``: ``quality:low``, ``hash:degenerate``
    (PDQ's verdict on the original), ``image:type``. The caller can still register its exact digest."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def registration_variants(image: Image.Image) -> list[tuple[str, Image.Image]]:
    """The original (as displayed: EXIF orientation applied, transparency on white) and its variants.

    Names: ``original``, ``crop5``, ``crop10``, ``crop15``, ``crop20``, ``band``, ``rot<a>`` and
    ``rot<a>-expand`` for ``a`` in -5, -2.5, 2.5, 5, and ``rot<a>-crop`` for ``a`` in -5, -4, -2.5, 2.5, 4,
    5 (``rot-2.5``, ``rot4-crop``, ...). Images under 16 pixels a side get only ``original``; under 32
    high, no band.

    Examples
    --------
    >>> from PIL import Image
    >>> variants = registration_variants(Image.new("RGB", (400, 300), "teal"))
    >>> len(variants), variants[0][0], variants[2][0], variants[2][1].size
    (20, 'original', 'crop10', (360, 270))
    """
    if not isinstance(image, Image.Image):
        raise RegistrationRefused("image:type", f"expected a PIL image, got {type(image).__name__}")
    original = to_displayed_rgb(image)
    variants: list[tuple[str, Image.Image]] = [(ORIGINAL, original)]
    if min(original.size) >= _MIN_VARIANT_SIDE:
        variants += [(f"crop{share}", _centre_crop(original, share / 100)) for share in CROP_SHARES]
        band = middle_band(original)
        if band is not None:
            variants.append((BAND, band))
        variants += [
            (f"rot{degrees:g}", _rotate(original, degrees, expand=False)) for degrees in ROTATION_DEGREES
        ]
        variants += [
            (f"rot{degrees:g}-crop", _rotate_and_crop(original, degrees))
            for degrees in CROPPED_ROTATION_DEGREES
        ]
        variants += [
            (f"rot{degrees:g}-expand", _rotate(original, degrees, expand=True))
            for degrees in ROTATION_DEGREES
        ]
    return variants


def bank_items_for_image(
    image: Image.Image, *, bank: str, group_id: str, case_ref: str, added_at: str
) -> list[BankItem]:
    """Bank items for one original: a PDQ item and a pHash item per registration variant.

    Item ids are ``<group_id>:<variant>:<algorithm>``, so registering the same original again yields
    the same items. PDQ items carry their quality; a variant whose PDQ is unusable is still returned
    (the bank index skips it and reports why) so nothing disappears silently, but an original whose own
    PDQ is unusable raises :class:`RegistrationRefused`: it could never match perceptually. The exact
    SHA-256/MD5 item of the original file is the caller's (only it has the file's bytes).

    Examples
    --------
    >>> from PIL import Image, ImageDraw
    >>> image = Image.new("RGB", (400, 300), "white")
    >>> ImageDraw.Draw(image).ellipse((60, 40, 300, 260), fill="navy")
    >>> items = bank_items_for_image(image, bank="centre", group_id="G-1", case_ref="R-1",
    ...                              added_at="2026-01-01T00:00:00.000000Z")
    >>> len(items), items[0].item_id, items[1].item_id
    (40, 'G-1:original:pdq', 'G-1:original:phash')
    """
    if not group_id:
        raise ValueError("group_id is required: it ties the variants to their original")
    items: list[BankItem] = []
    for variant, variant_image in registration_variants(image):
        fingerprint = fingerprint_image(variant_image)
        if variant == ORIGINAL:
            _require_matchable(fingerprint)
        for algorithm, hash_hex, quality in (
            ("pdq", fingerprint.pdq, fingerprint.pdq_quality),
            ("phash", fingerprint.phash, None),
        ):
            items.append(
                BankItem(
                    item_id=f"{group_id}:{variant}:{algorithm}",
                    bank=bank,
                    algorithm=algorithm,
                    hash_hex=hash_hex,
                    case_ref=case_ref,
                    quality=quality,
                    added_at=added_at,
                    group_id=group_id,
                    variant=variant,
                )
            )
    return items


def _require_matchable(fingerprint: ImageFingerprint) -> None:
    try:
        validate_pdq(PdqHash.from_hex(fingerprint.pdq, quality=fingerprint.pdq_quality))
    except PdqRefused as refused:
        raise RegistrationRefused(refused.reason, f"the original's PDQ is unusable: {refused}") from refused


def _centre_crop(image: Image.Image, share: float) -> Image.Image:
    dx, dy = round(image.width * share / 2), round(image.height * share / 2)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


def _rotate(image: Image.Image, degrees: float, *, expand: bool) -> Image.Image:
    # Black fill, as editors leave it; bicubic, as they resample.
    return image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=expand, fillcolor=(0, 0, 0))


def _rotate_and_crop(image: Image.Image, degrees: float) -> Image.Image:
    """Rotate in place, then keep the largest centred rectangle of the same aspect with no corner fill."""
    width, height = image.size
    angle = math.radians(abs(degrees))
    cos, sin = math.cos(angle), math.sin(angle)
    scale = min(width / (width * cos + height * sin), height / (width * sin + height * cos))
    inner_width, inner_height = width * scale, height * scale
    box = (
        math.ceil((width - inner_width) / 2),
        math.ceil((height - inner_height) / 2),
        math.floor((width + inner_width) / 2),
        math.floor((height + inner_height) / 2),
    )
    return _rotate(image, degrees, expand=False).crop(box)
