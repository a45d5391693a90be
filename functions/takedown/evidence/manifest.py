"""The evidence manifest of a stored WARC: what each record is, and the digests that prove it unchanged.

:func:`build_manifest` reads a WARC back with warcio's ``ArchiveIterator`` and describes what is actually
stored, recomputing every digest from the stored bytes (and refusing a WARC whose own ``WARC-Block-Digest``
or ``WARC-Payload-Digest`` fields disagree with them). :func:`verify_manifest` re-reads a WARC later and lists
every difference from its manifest: a changed byte anywhere, a record added, dropped or reordered, a changed
header. JSON form (``EvidenceManifest.to_dict``)::

    {
      "schema": "takedown.evidence-manifest/1",
      "case_id": str,
      "created_at": str,                 # ISO 8601 UTC
      "warc_key": str,                   # where the WARC is stored
      "warc_sha256": str,                # lowercase hex, of the whole .warc.gz file
      "records": [{
        "record_id": str,                # WARC-Record-ID, "<urn:uuid:...>"
        "type": str,                     # WARC-Type: warcinfo, request, response, metadata ...
        "target_uri": str,               # WARC-Target-URI, "" when absent
        "date": str,                     # WARC-Date
        "ip": str,                       # WARC-IP-Address, "" when absent
        "payload_sha256": str,           # lowercase hex of the payload (the body after an HTTP head,
                                         #   else the whole block)
        "payload_length": int,
        "block_digest": str,             # "sha256:BASE32" of the whole record block
        "http_status": int | null,       # for HTTP responses
        "headers": [[name, value], ...]  # the HTTP head's fields, in order; [] without one
      }, ...]
    }
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import json
import re
import zlib
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Final

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeadersParser, StatusAndHeadersParserException

from takedown.evidence.warc import warc_digest
from takedown.model import iso_utc, parse_iso_utc

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "MANIFEST_SCHEMA",
    "EvidenceManifest",
    "ManifestError",
    "ManifestRecord",
    "build_manifest",
    "verify_manifest",
]

MANIFEST_SCHEMA: Final = "takedown.evidence-manifest/1"
_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")
_HTTP_RECORD_TYPES: Final = frozenset({"request", "response", "revisit"})
_READ_CHUNK: Final = 64 * 1024
# warcio inflates one compressed block at a time, without an output cap: deflate's ~1000:1 ratio makes a
# 4 KiB block at most ~4 MiB in memory (its 16 KiB default allows ~16 MiB).
_COMPRESSED_READ_BLOCK: Final = 4 * 1024
# An HTTP head longer than this is not a head: the record is malformed (and must not fill memory).
_MAX_HTTP_HEAD: Final = 1024 * 1024
_END_OF_HEAD: Final = b"\r\n\r\n"
_RECORD_KEYS: Final = frozenset(
    {
        "record_id",
        "type",
        "target_uri",
        "date",
        "ip",
        "payload_sha256",
        "payload_length",
        "block_digest",
        "http_status",
        "headers",
    }
)
_MANIFEST_KEYS: Final = frozenset({"schema", "case_id", "created_at", "warc_key", "warc_sha256", "records"})


class ManifestError(ValueError):
    """A manifest cannot be built or read: the WARC is unreadable or inconsistent, or the data malformed."""


@dataclass(frozen=True)
class ManifestRecord:
    """What one stored WARC record is, as read back from the file (see the module docstring for fields)."""

    record_id: str
    type: str
    target_uri: str
    date: str
    ip: str
    payload_sha256: str
    payload_length: int
    block_digest: str
    http_status: int | None
    headers: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data; ``headers`` becomes a list of ``[name, value]`` pairs."""
        data = {field.name: getattr(self, field.name) for field in fields(self)}
        data["headers"] = [[name, value] for name, value in self.headers]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ManifestRecord:
        """Read back what :meth:`to_dict` wrote; refuse missing, unknown or mistyped fields."""
        if not isinstance(data, dict) or set(data) != _RECORD_KEYS:
            raise ManifestError(
                f"a manifest record must have exactly the keys {', '.join(sorted(_RECORD_KEYS))}"
            )
        for name in _RECORD_KEYS - {"payload_length", "http_status", "headers"}:
            if not isinstance(data[name], str):
                raise ManifestError(f"manifest record field {name!r} must be a string")
        if not _is_int(data["payload_length"]) or data["payload_length"] < 0:
            raise ManifestError("manifest record field 'payload_length' must be a non-negative integer")
        if data["http_status"] is not None and not _is_int(data["http_status"]):
            raise ManifestError("manifest record field 'http_status' must be an integer or null")
        headers = data["headers"]
        if not isinstance(headers, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)
            for pair in headers
        ):
            raise ManifestError("manifest record field 'headers' must be a list of [name, value] strings")
        if not _SHA256_HEX.fullmatch(data["payload_sha256"]):
            raise ManifestError("manifest record field 'payload_sha256' is not a lowercase hex SHA-256")
        return cls(**{**data, "headers": tuple((name, value) for name, value in headers)})


@dataclass(frozen=True)
class EvidenceManifest:
    """The manifest of one stored WARC: where it is, its SHA-256, and each record it holds, in order."""

    case_id: str
    created_at: str
    warc_key: str
    warc_sha256: str
    records: tuple[ManifestRecord, ...]
    schema: str = MANIFEST_SCHEMA

    def __post_init__(self) -> None:
        if self.schema != MANIFEST_SCHEMA:
            raise ManifestError(f"schema {self.schema!r} is not {MANIFEST_SCHEMA!r}")
        if not self.case_id.strip():
            raise ManifestError("case_id is empty")
        if not self.warc_key.strip():
            raise ManifestError("warc_key is empty")
        try:
            parse_iso_utc(self.created_at)
        except ValueError as error:
            raise ManifestError(f"created_at {self.created_at!r} is not an ISO 8601 UTC time") from error
        if not _SHA256_HEX.fullmatch(self.warc_sha256):
            raise ManifestError("warc_sha256 is not a lowercase hex SHA-256 digest")
        if not isinstance(self.records, tuple) or not self.records:
            raise ManifestError("records must be a non-empty tuple")

    def to_dict(self) -> dict[str, Any]:
        """The manifest as plain JSON data (see the module docstring for the schema)."""
        return {
            "schema": self.schema,
            "case_id": self.case_id,
            "created_at": self.created_at,
            "warc_key": self.warc_key,
            "warc_sha256": self.warc_sha256,
            "records": [record.to_dict() for record in self.records],
        }

    def to_json_bytes(self) -> bytes:
        """Canonical UTF-8 JSON (sorted keys, no insignificant whitespace): same manifest, same bytes."""
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8"
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvidenceManifest:
        """Read back what :meth:`to_dict` wrote; refuse other schemas and malformed parts."""
        if not isinstance(data, dict) or set(data) != _MANIFEST_KEYS:
            raise ManifestError(f"a manifest must have exactly the keys {', '.join(sorted(_MANIFEST_KEYS))}")
        for name in _MANIFEST_KEYS - {"records"}:
            if not isinstance(data[name], str):
                raise ManifestError(f"manifest field {name!r} must be a string")
        if not isinstance(data["records"], list):
            raise ManifestError("manifest field 'records' must be a list")
        return cls(**{**data, "records": tuple(ManifestRecord.from_dict(item) for item in data["records"])})


def build_manifest(warc_bytes: bytes, *, case_id: str, warc_key: str, created_at: str) -> EvidenceManifest:
    """Describe a stored WARC by reading it back: every record, with digests recomputed from its bytes.

    Parameters
    ----------
    warc_bytes
        The WARC file exactly as stored (``.warc.gz``, gzip per record, or uncompressed).
    case_id, warc_key
        The case and the storage key of the WARC.
    created_at
        When the manifest is made, ISO 8601 UTC (written back in :func:`takedown.model.iso_utc` form).

    Raises
    ------
    ManifestError
        The WARC cannot be read, holds no record, or a record's stored digests or length do not match
        its bytes; or an argument is malformed.

    Examples
    --------
    >>> build_manifest(b"not a warc", case_id="c-1", warc_key="evidence/c-1.warc.gz",
    ...                created_at="2026-01-02T03:04:05Z")
    Traceback (most recent call last):
    takedown.evidence.manifest.ManifestError: the WARC cannot be read at record 0 (ArchiveLoadFailed)
    """
    try:
        created = iso_utc(parse_iso_utc(created_at))
    except ValueError as error:
        raise ManifestError(f"created_at {created_at!r} is not an ISO 8601 UTC time") from error
    stored = _read_stored_records(warc_bytes)
    problems = [problem for record in stored for problem in record.problems]
    if problems:
        raise ManifestError("the WARC does not match its own digests: " + "; ".join(problems))
    return EvidenceManifest(
        case_id=case_id,
        created_at=created,
        warc_key=warc_key,
        warc_sha256=hashlib.sha256(warc_bytes).hexdigest(),
        records=tuple(record.described for record in stored),
    )


def verify_manifest(warc_bytes: bytes, manifest: EvidenceManifest) -> list[str]:
    """Check a stored WARC against its manifest.

    Returns
    -------
    list[str]
        ``[]`` when the file's SHA-256, every record's identity, fields and digests, and the digests the
        WARC declares all match; otherwise one sentence per mismatch (tamper detection). An unreadable WARC
        is a problem, not an exception.
    """
    problems: list[str] = []
    actual_sha256 = hashlib.sha256(warc_bytes).hexdigest()
    if actual_sha256 != manifest.warc_sha256:
        problems.append(f"the WARC's SHA-256 is {actual_sha256}, the manifest says {manifest.warc_sha256}")
    try:
        stored = _read_stored_records(warc_bytes)
    except ManifestError as error:
        return [*problems, str(error)]
    problems += [problem for record in stored for problem in record.problems]
    if len(stored) != len(manifest.records):
        problems.append(f"the WARC holds {len(stored)} records, the manifest lists {len(manifest.records)}")
    for index, (record, expected) in enumerate(zip(stored, manifest.records, strict=False)):
        problems += _record_differences(index, record.described, expected)
    return problems


def _record_differences(index: int, actual: ManifestRecord, expected: ManifestRecord) -> list[str]:
    differences = []
    for field in fields(ManifestRecord):
        found, wanted = getattr(actual, field.name), getattr(expected, field.name)
        if found == wanted:
            continue
        if field.name == "headers":
            names = sorted({name for name, _ in set(found) ^ set(wanted)})
            differences.append(
                f"record {index} ({expected.record_id}): the HTTP headers differ from the manifest "
                f"(fields: {', '.join(names) or 'order'})"
            )
        else:
            differences.append(
                f"record {index} ({expected.record_id}): {field.name} is {found!r}, the manifest says {wanted!r}"
            )
    return differences


@dataclass(frozen=True)
class _StoredRecord:
    """A record read back: its description, and where its declared digests disagree with its bytes."""

    described: ManifestRecord
    problems: tuple[str, ...]


def _read_stored_records(warc_bytes: bytes) -> list[_StoredRecord]:
    records: list[_StoredRecord] = []
    # warcio reports a record not followed by its blank lines on stderr, quoting the stray line: that line
    # may be media bytes, which must not reach a log. Its error count says the same thing.
    with contextlib.redirect_stderr(io.StringIO()):
        iterator = ArchiveIterator(
            io.BytesIO(warc_bytes), no_record_parse=True, block_size=_COMPRESSED_READ_BLOCK
        )
        try:
            for record in iterator:
                records.append(_read_record(len(records), record))
        except (ArchiveLoadFailed, StatusAndHeadersParserException, zlib.error, EOFError, OSError) as error:
            # Not str(error): warcio quotes the unreadable line, which may be media bytes.
            raise ManifestError(
                f"the WARC cannot be read at record {len(records)} ({type(error).__name__})"
            ) from error
    if iterator.err_count:
        raise ManifestError("a record's Content-Length does not end where the record ends")
    if not records:
        raise ManifestError("the WARC holds no record")
    return records


def _read_record(index: int, record: Any) -> _StoredRecord:
    """Read one record's whole block, hashing it and its payload, and parse its HTTP head if it has one."""
    if record.format != "warc":
        # warcio also reads ARC files, and takes some plain text for ARC headers.
        raise ManifestError(f"the WARC cannot be read at record {index} (not a WARC record)")
    warc_fields = record.rec_headers
    record_id = warc_fields.get_header("WARC-Record-ID") or ""
    where = f"record {index} ({record_id or 'no id'})"
    values = {
        name: warc_fields.get_header(name) or "" for name in ("WARC-Type", "WARC-Date", "Content-Length")
    }
    for name, value in values.items():
        if not value:
            raise ManifestError(f"{where}: no {name} field")
    if not record_id:
        raise ManifestError(f"{where}: no WARC-Record-ID field")
    if not values["Content-Length"].isdigit():
        raise ManifestError(f"{where}: Content-Length {values['Content-Length']!r} is not a number")
    record_type, target_uri = values["WARC-Type"], warc_fields.get_header("WARC-Target-URI") or ""
    declared = {
        "WARC-Block-Digest": warc_fields.get_header("WARC-Block-Digest") or "",
        "WARC-Payload-Digest": warc_fields.get_header("WARC-Payload-Digest") or "",
    }
    # Which records carry an HTTP head: the same rule warcio applies when it parses one.
    has_http_head = record_type in _HTTP_RECORD_TYPES and target_uri.startswith(("http:", "https:"))
    block = _Hashers(declared["WARC-Block-Digest"])
    payload = _Hashers(declared["WARC-Payload-Digest"])
    head, block_length, payload_length = _hash_block(where, record.raw_stream, block, payload, has_http_head)
    if block_length != int(values["Content-Length"]):
        raise ManifestError(
            f"{where}: the block is {block_length} bytes, its Content-Length says {values['Content-Length']}"
        )
    http_status, headers = _parse_http_head(where, record_type, head) if head else (None, ())
    described = ManifestRecord(
        record_id=record_id,
        type=record_type,
        target_uri=target_uri,
        date=values["WARC-Date"],
        ip=warc_fields.get_header("WARC-IP-Address") or "",
        payload_sha256=payload.sha256.hexdigest(),
        payload_length=payload_length,
        block_digest=warc_digest("sha256", block.sha256.digest()),
        http_status=http_status,
        headers=headers,
    )
    problems = [
        f"{where}: {name} {value} does not match the stored bytes"
        for name, value, hashers in (
            ("WARC-Block-Digest", declared["WARC-Block-Digest"], block),
            ("WARC-Payload-Digest", declared["WARC-Payload-Digest"], payload),
        )
        # A revisit's payload digest names an earlier capture's payload, not this record's (none).
        if value
        and not (record_type == "revisit" and name == "WARC-Payload-Digest")
        and not hashers.matches_declared()
    ]
    return _StoredRecord(described, tuple(problems))


class _Hashers:
    """SHA-256 of a byte stream, plus the algorithm of a declared ``algo:value`` digest when it differs."""

    def __init__(self, declared: str) -> None:
        self.sha256 = hashlib.sha256()
        self._declared = declared
        algorithm = declared.partition(":")[0].lower()
        self._declared_hasher: hashlib._Hash | None = self.sha256
        if declared and algorithm != "sha256":
            try:
                self._declared_hasher = hashlib.new(algorithm)
            except ValueError:
                self._declared_hasher = None  # an algorithm hashlib lacks: the digest cannot be checked

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self.sha256.update(data)
        if self._declared_hasher is not None and self._declared_hasher is not self.sha256:
            self._declared_hasher.update(data)

    def matches_declared(self) -> bool:
        """Whether the declared digest (base32, as WARC tools write it, or hex) equals the computed one."""
        if self._declared_hasher is None:
            return False
        value = self._declared.partition(":")[2]
        return _decode_digest(value, self._declared_hasher.digest_size) == self._declared_hasher.digest()


def _decode_digest(value: str, size: int) -> bytes | None:
    with contextlib.suppress(binascii.Error, ValueError):
        decoded = base64.b32decode(value, casefold=True)
        if len(decoded) == size:
            return decoded
    with contextlib.suppress(ValueError):
        decoded = bytes.fromhex(value)
        if len(decoded) == size:
            return decoded
    return None


def _hash_block(
    where: str, stream: Any, block: _Hashers, payload: _Hashers, has_http_head: bool
) -> tuple[bytes, int, int]:
    """Stream a record block through the hashers; returns the HTTP head (b"" if none) and both lengths.

    Only the head is held in memory; the payload goes to the hashers chunk by chunk.
    """
    head = bytearray()
    in_head = has_http_head
    block_length = payload_length = 0
    for chunk in _chunks(stream):
        block.update(chunk)
        block_length += len(chunk)
        rest = chunk
        if in_head:
            head += chunk
            end = head.find(_END_OF_HEAD)
            if end < 0:
                if len(head) > _MAX_HTTP_HEAD:
                    raise ManifestError(
                        f"{where}: no end of the HTTP head in its first {_MAX_HTTP_HEAD} bytes"
                    )
                continue
            rest = bytes(head[end + len(_END_OF_HEAD) :])
            del head[end + len(_END_OF_HEAD) :]
            in_head = False
        payload.update(rest)
        payload_length += len(rest)
    if in_head and head:
        raise ManifestError(f"{where}: the HTTP head has no end")
    return bytes(head), block_length, payload_length


def _chunks(stream: Any) -> Iterator[bytes]:
    while chunk := stream.read(_READ_CHUNK):
        yield chunk


def _parse_http_head(
    where: str, record_type: str, head: bytes
) -> tuple[int | None, tuple[tuple[str, str], ...]]:
    """The status (responses only) and the fields of an HTTP head, parsed as warcio parses them."""
    parsed = StatusAndHeadersParser([], verify=False).parse(io.BytesIO(head))
    headers = tuple((str(name), str(value)) for name, value in parsed.headers)
    if record_type == "request":
        return None, headers
    if not str(parsed.protocol).upper().startswith("HTTP/"):
        raise ManifestError(f"{where}: the HTTP head does not start with a status line")
    code = str(parsed.statusline).split(" ", 1)[0]
    if not (code.isdigit() and len(code) == 3):
        raise ManifestError(f"{where}: the HTTP status {code[:10]!r} is not a 3-digit code")
    return int(code), headers


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
