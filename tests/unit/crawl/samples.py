"""Synthetic media for the crawl tests: generated gradients and shapes, and minimal video headers."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw


def image_bytes(image_format: str, *, size: tuple[int, int] = (48, 32), seed: int = 0) -> bytes:
    """A small synthetic image (a gradient with a shape) in the given Pillow format."""
    image = Image.new("RGB", size)
    for x in range(size[0]):
        for y in range(size[1]):
            image.putpixel((x, y), ((x * 5 + seed) % 256, (y * 7) % 256, (x + y + seed * 3) % 256))
    ImageDraw.Draw(image).ellipse((4, 4, size[0] // 2, size[1] // 2), fill=(seed % 256, 200, 40))
    out = io.BytesIO()
    image.save(out, format=image_format)
    return out.getvalue()


def mp4_header(major: bytes = b"isom", compatible: tuple[bytes, ...] = (b"isom", b"mp41")) -> bytes:
    """A minimal ISO BMFF ``ftyp`` box followed by an empty ``mdat``."""
    ftyp_payload = major + (512).to_bytes(4, "big") + b"".join(compatible)
    ftyp = (8 + len(ftyp_payload)).to_bytes(4, "big") + b"ftyp" + ftyp_payload
    return ftyp + (8).to_bytes(4, "big") + b"mdat"


def ebml_header(doctype: bytes | None) -> bytes:
    """A minimal EBML header, with a DocType element when ``doctype`` is given."""
    elements = b"\x42\x86\x81\x01"  # EBMLVersion 1
    if doctype is not None:
        elements += b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
    elements += b"\x42\x87\x81\x04"  # DocTypeVersion 4
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(elements)]) + elements + b"\x18\x53\x80\x67" + bytes(8)
