"""``takedown bank add | import | disable | list``: the centre's hash bank.

``bank add`` hashes files on this machine and uploads only hashes and the centre's reference: the originals
never leave it (the StopNCII model). Every change republishes the bank index snapshot that the hashing
functions load, so it takes effect within a minute.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from PIL import Image, ImageOps

from takedown.aws.bank_index_store import publish_bank_index
from takedown.aws.bank_store import BankStore
from takedown.commands.media_files import LocalMediaError, read_media
from takedown.deployment_target import resolve_target
from takedown.hashing.bank_variants import RegistrationRefused, bank_items_for_image
from takedown.hashing.detect import is_animated
from takedown.hashing.hamming import HashFormatError, parse_hex_hash
from takedown.hashing.media_frames import MediaRejected, extract_frames
from takedown.hashing.pdq import PdqHash, PdqRefused, validate_pdq
from takedown.hashing.video_match import hash_frames
from takedown.model import BankItem, iso_utc, utc_now

if TYPE_CHECKING:
    from pathlib import Path

    from takedown.commands.media_files import LocalMedia

_HEX_BITS = {"pdq": 256, "phash": 64, "sha256": 256, "md5": 128}


class BankInputError(ValueError):
    """A row of a hash list, or a file to register, that cannot go into the bank."""


def _emit(document: dict[str, object]) -> None:
    print(json.dumps(document, ensure_ascii=False), flush=True)


def items_for_media(media: LocalMedia, *, bank: str, case_ref: str, added_at: str) -> list[BankItem]:
    """Bank items for one local file: variants of an image, or the frames of a video / animation."""
    try:
        return items_for_bytes(media.data, media.media_type, bank=bank, case_ref=case_ref, added_at=added_at)
    except BankInputError as error:
        raise BankInputError(f"{media.path}: {error}") from error


def items_for_bytes(
    data: bytes, media_type: str, *, bank: str, case_ref: str, added_at: str
) -> list[BankItem]:
    """Bank items for one original: exact digests, then PDQ + pHash of each registration variant of an image,
    or the PDQ of each frame of a video or animation (grouped under one ``group_id``)."""
    sha256 = hashlib.sha256(data).hexdigest()
    group_id = f"{bank}-{sha256[:20]}"
    exact = [
        BankItem(
            f"{group_id}:original:{algorithm}",
            bank,
            algorithm,
            digest,
            case_ref=case_ref,
            added_at=added_at,
            group_id=group_id,
            variant="original",
        )
        for algorithm, digest in (
            ("sha256", sha256),
            ("md5", hashlib.md5(data, usedforsecurity=False).hexdigest()),
        )
    ]
    if media_type.startswith("video/") or is_animated(data, media_type):
        frames = hash_frames(extract_frames(data, media_type))
        if not frames:
            raise BankInputError("no frame with usable detail (all flat or dark)")
        return exact + [
            BankItem(
                f"{group_id}:frame{h.index}:pdq",
                bank,
                "pdq",
                h.pdq,
                case_ref=case_ref,
                quality=h.quality,
                added_at=added_at,
                group_id=group_id,
                variant=f"frame:{h.index}@{h.timestamp_s:.2f}s",
                media_kind="video",
            )
            for h in frames
        ]
    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    try:
        perceptual = bank_items_for_image(
            image, bank=bank, group_id=group_id, case_ref=case_ref, added_at=added_at
        )
    except RegistrationRefused as refused:
        raise BankInputError(str(refused)) from refused
    return exact + perceptual


def bank_add(paths: list[Path], *, case_ref: str, bank: str, stack: str | None) -> int:
    """Register files by their hashes. Prints one JSON line per file."""
    if not case_ref.strip() or any(c in case_ref for c in "\r\n"):
        print(
            "takedown bank add: --case-ref is the centre's own reference (never a name) and is required",
            file=sys.stderr,
        )
        return 2
    target = resolve_target(stack)
    store = BankStore(target.bank_table)
    failures = 0
    added_at = iso_utc(utc_now())
    for path in paths:
        try:
            media = read_media(path)
            items = items_for_media(media, bank=bank, case_ref=case_ref, added_at=added_at)
        except (LocalMediaError, MediaRejected, BankInputError, OSError) as error:
            failures += 1
            _emit({"path": str(path), "error": str(error)})
            continue
        for item in items:
            store.put_item(item)
        _emit(
            {
                "path": str(path),
                "group_id": items[0].group_id,
                "media_type": media.media_type,
                "items": len(items),
                "sha256": media.sha256,
            }
        )
    published = publish_bank_index(target.bank_table, target.evidence_bucket)
    print(
        f"bank index {published.version[:12]}: {published.items} items ({published.rejected} refused)",
        file=sys.stderr,
    )
    return 1 if failures else 0


def parse_hash_list(text: str, *, bank: str, added_at: str) -> tuple[list[BankItem], list[str]]:
    """Rows ``algorithm,hash[,quality[,label]]`` (a header row is allowed); returns items and row errors."""
    items: list[BankItem] = []
    errors: list[str] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or (number == 1 and row[0].strip().lower() == "algorithm"):
            continue
        try:
            items.append(_row_item(row, bank=bank, added_at=added_at, number=number))
        except BankInputError as error:
            errors.append(f"line {number}: {error}")
    return items, errors


def _row_item(row: list[str], *, bank: str, added_at: str, number: int) -> BankItem:
    algorithm = row[0].strip().lower()
    if algorithm not in _HEX_BITS:
        raise BankInputError(f"unknown algorithm {algorithm[:20]!r} (pdq, phash, sha256, md5)")
    if len(row) < 2:
        raise BankInputError("no hash")
    hex_hash = row[1].strip().lower()
    try:
        parse_hex_hash(hex_hash, _HEX_BITS[algorithm])
    except HashFormatError as error:
        raise BankInputError(str(error)) from error
    quality = None
    if len(row) > 2 and row[2].strip():
        if not row[2].strip().isdigit() or int(row[2]) > 100:
            raise BankInputError(f"quality must be 0..100, got {row[2][:10]!r}")
        quality = int(row[2])
    if algorithm == "pdq":
        try:
            validate_pdq(PdqHash.from_hex(hex_hash, quality=quality if quality is not None else 100))
        except PdqRefused as refused:
            raise BankInputError(f"PDQ refused: {refused.reason}") from refused
    label = row[3].strip()[:200] if len(row) > 3 else ""
    if any(c in label for c in "\r\n"):
        raise BankInputError("the label has a line break")
    group = f"{bank}-import-{hex_hash[:20]}"
    return BankItem(
        f"{group}:{algorithm}",
        bank,
        algorithm,
        hex_hash,
        case_ref=label,
        quality=quality,
        added_at=added_at,
        group_id=group,
        variant="imported",
    )


def bank_import(file: Path, *, bank: str, stack: str | None) -> int:
    """Import a hash list (CSV). Valid rows go in; each refused row is reported with its line number."""
    items, errors = parse_hash_list(file.read_text(encoding="utf-8"), bank=bank, added_at=iso_utc(utc_now()))
    for error in errors:
        print(f"{file}: {error}", file=sys.stderr)
    target = resolve_target(stack)
    store = BankStore(target.bank_table)
    for item in items:
        store.put_item(item)
    published = publish_bank_index(target.bank_table, target.evidence_bucket)
    _emit({"file": str(file), "imported": len(items), "refused": len(errors), "index": published.version})
    return 1 if errors else 0


def bank_disable(ids: list[str], *, stack: str | None) -> int:
    """Disable items by item id or by group id (every item of a registered file)."""
    target = resolve_target(stack)
    store = BankStore(target.bank_table)
    wanted = set(ids)
    changed = [
        replace(i, enabled=False) for i in store.items() if i.enabled and ({i.item_id, i.group_id} & wanted)
    ]
    for item in changed:
        store.put_item(item)
    published = publish_bank_index(target.bank_table, target.evidence_bucket)
    _emit({"disabled": len(changed), "index": published.version})
    return 0 if changed else 1


def bank_list(*, stack: str | None) -> int:
    for item in sorted(BankStore(resolve_target(stack).bank_table).items(), key=lambda i: i.item_id):
        _emit(item.to_dict())
    return 0
