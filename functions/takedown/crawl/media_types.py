"""Tell a media file's type from its first bytes, never from its name or the server's Content-Type.

Servers mislabel files, and an evidence record must say what the bytes are. Pass at least the first
64 bytes; 4 KiB is enough for every format here (:data:`SNIFF_BYTES`).
"""

from __future__ import annotations

SNIFF_BYTES = 4096

_MP4_BRANDS = frozenset(
    {
        b"isom",
        b"iso2",
        b"iso4",
        b"iso5",
        b"iso6",
        b"mp41",
        b"mp42",
        b"avc1",
        b"M4V ",
        b"M4VH",
        b"M4VP",
        b"dash",
    }
)
_QUICKTIME_BRANDS = frozenset({b"qt  "})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1"})
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P "})
# A BMP's second header starts with its own size; these are the sizes the known versions use.
_BMP_DIB_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_PREFIX_SIGNATURES: tuple[tuple[tuple[bytes, ...], str], ...] = (
    ((b"\xff\xd8\xff",), "image/jpeg"),
    ((b"\x89PNG\r\n\x1a\n",), "image/png"),
    ((b"GIF87a", b"GIF89a"), "image/gif"),
    ((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"), "image/tiff"),  # classic and BigTIFF
)
_RIFF_FORMS = {b"WEBP": "image/webp", b"AVI ": "video/x-msvideo"}
_EBML_DOCTYPE_ID = b"\x42\x82"


def _iso_bmff_type(head: bytes) -> str | None:
    """MP4 / QuickTime / AVIF / HEIC from the ``ftyp`` box: major brand first, then compatible brands."""
    box_size = int.from_bytes(head[0:4], "big")
    major = head[8:12]
    end = min(len(head), box_size) if box_size >= 16 else min(len(head), 64)
    compatible = {head[offset : offset + 4] for offset in range(16, end - 3, 4)}
    if major in _AUDIO_BRANDS:
        return None
    for brands, media_type in (
        (_QUICKTIME_BRANDS, "video/quicktime"),
        (_MP4_BRANDS, "video/mp4"),
        (_AVIF_BRANDS, "image/avif"),
        (_HEIC_BRANDS, "image/heic"),
    ):
        if major in brands:
            return media_type
    for brands, media_type in (
        (_MP4_BRANDS, "video/mp4"),
        (_QUICKTIME_BRANDS, "video/quicktime"),
    ):
        if compatible & brands:
            return media_type
    return None


def _ebml_doctype(head: bytes) -> bytes | None:
    """The EBML DocType string ("webm", "matroska"), if its element lies within ``head``."""
    position = head.find(_EBML_DOCTYPE_ID, 4)
    while position >= 0:
        size_at = position + len(_EBML_DOCTYPE_ID)
        if size_at < len(head):
            first = head[size_at]
            # EBML sizes are variable-length integers: the leading zero bits give the extra bytes.
            length = next((n for n in range(8) if first & (0x80 >> n)), None)
            if length is not None:
                size_bytes = head[size_at : size_at + length + 1]
                if len(size_bytes) == length + 1:
                    size = int.from_bytes(size_bytes, "big") & ~(0x80 >> length << (8 * length))
                    start = size_at + length + 1
                    value = head[start : start + size].rstrip(b"\x00")
                    if value in (b"webm", b"matroska"):
                        return value
        position = head.find(_EBML_DOCTYPE_ID, position + 1)
    return None


def sniff_media_type(head: bytes) -> str | None:
    """The media type of a file from its first bytes, or None if it is not an image or video we know.

    Parameters
    ----------
    head
        The first bytes of the file (at least 64; :data:`SNIFF_BYTES` is plenty).

    Returns
    -------
    str | None
        One of ``image/jpeg``, ``image/png``, ``image/gif``, ``image/webp``, ``image/bmp``, ``image/tiff``,
        ``image/avif``, ``image/heic``, ``video/mp4``, ``video/quicktime``, ``video/webm``,
        ``video/x-matroska``, ``video/x-msvideo``; None for anything else (HTML, text, audio, SVG ...).

    Examples
    --------
    >>> sniff_media_type(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8))
    'image/png'
    >>> sniff_media_type(b"<!doctype html>") is None
    True
    """
    for prefixes, media_type in _PREFIX_SIGNATURES:
        if head.startswith(prefixes):
            return media_type
    if head.startswith(b"RIFF"):
        return _RIFF_FORMS.get(head[8:12])
    if head.startswith(b"BM"):
        is_bmp = int.from_bytes(head[14:18], "little") in _BMP_DIB_HEADER_SIZES
        return "image/bmp" if is_bmp else None
    if head[4:8] == b"ftyp":
        return _iso_bmff_type(head)
    if head.startswith(_EBML_MAGIC):
        doctype = _ebml_doctype(head[:SNIFF_BYTES])
        return "video/webm" if doctype == b"webm" else "video/x-matroska"
    return None
