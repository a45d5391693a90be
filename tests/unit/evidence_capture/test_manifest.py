"""build_manifest reads the WARC back; verify_manifest detects any change to it."""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import TYPE_CHECKING

import pytest

from takedown.evidence.manifest import (
    MANIFEST_SCHEMA,
    EvidenceManifest,
    ManifestError,
    build_manifest,
    verify_manifest,
)
from tests.unit.evidence_capture.conftest import (
    RawRoute,
    capture,
    gradient_png,
    gzip_members,
    page_html,
    read_warc,
    repack,
)

if TYPE_CHECKING:
    from takedown.crawl.fetch import SafeFetcher
    from takedown.evidence.warc import CapturedExchange
    from tests.unit.evidence_capture.conftest import RawSite

CREATED_AT = "2026-03-04T05:06:07.000000Z"
WARC_KEY = "evidence/case-0001/capture.warc.gz"


@pytest.fixture
def captured(site: RawSite, fetcher: SafeFetcher) -> tuple[list[CapturedExchange], bytes, bytes]:
    """A real capture of a page and its PNG: (exchanges, warc, png)."""
    png = gradient_png(96, 64)
    png_url = site.serve("/m/shape.png", RawRoute(png, headers=[b"Content-Type: image/png"]))
    page_url = site.serve("/p", RawRoute(page_html(png_url), headers=[b"Content-Type: text/html"]))
    exchanges, warc = capture(fetcher, (page_url, "page"), (png_url, "media"))
    return exchanges, warc, png


def _manifest(warc: bytes) -> EvidenceManifest:
    return build_manifest(warc, case_id="case-0001", warc_key=WARC_KEY, created_at=CREATED_AT)


def test_manifest_describes_every_stored_record(
    captured: tuple[list[CapturedExchange], bytes, bytes],
) -> None:
    # GIVEN a captured page and PNG
    exchanges, warc, png = captured
    # WHEN the manifest is built from the WARC
    manifest = _manifest(warc)
    # THEN it names the case, the file and the file's SHA-256
    assert (manifest.schema, manifest.case_id, manifest.warc_key) == (MANIFEST_SCHEMA, "case-0001", WARC_KEY)
    assert manifest.created_at == CREATED_AT
    assert manifest.warc_sha256 == hashlib.sha256(warc).hexdigest()
    # AND one entry per record, in file order, with the WARC's own ids, types, URIs, dates and addresses
    read_back = read_warc(warc)
    assert [record.record_id for record in manifest.records] == [r.warc["WARC-Record-ID"] for r in read_back]
    types = ["warcinfo", "request", "response", "request", "response"]
    assert [record.type for record in manifest.records] == types
    urls = [exchange.result.final_url for exchange in exchanges]
    assert [record.target_uri for record in manifest.records] == ["", urls[0], urls[0], urls[1], urls[1]]
    assert [record.date for record in manifest.records[1:]] == [r.warc["WARC-Date"] for r in read_back[1:]]
    assert [record.ip for record in manifest.records] == ["", *["127.0.0.1"] * 4]
    assert [record.http_status for record in manifest.records] == [None, None, 200, None, 200]
    # AND the media payload digest is the SHA-256 of the PNG itself
    assert manifest.records[4].payload_sha256 == hashlib.sha256(png).hexdigest()
    assert manifest.records[4].payload_length == len(png)
    assert ("content-type", "image/png") in manifest.records[4].headers


def test_manifest_digests_are_recomputed_from_the_stored_bytes(
    captured: tuple[list[CapturedExchange], bytes, bytes],
) -> None:
    # GIVEN a WARC and its manifest
    _exchanges, warc, _png = captured
    manifest = _manifest(warc)
    # WHEN each record's block and payload are cut out of the uncompressed members by hand
    for member, described in zip(gzip_members(warc), manifest.records, strict=True):
        raw = gzip.decompress(member)
        head, _, rest = raw.partition(b"\r\n\r\n")
        length = int(
            next(line for line in head.split(b"\r\n") if line.startswith(b"Content-Length:")).split()[1]
        )
        block = rest[:length]
        payload = block.partition(b"\r\n\r\n")[2] if described.type in {"request", "response"} else block
        # THEN the manifest's digests are theirs
        assert described.payload_sha256 == hashlib.sha256(payload).hexdigest()
        assert described.payload_length == len(payload)
        assert described.block_digest == read_warc(member)[0].warc["WARC-Block-Digest"]


def test_verify_passes_on_the_original(captured: tuple[list[CapturedExchange], bytes, bytes]) -> None:
    # GIVEN a WARC and its manifest
    _exchanges, warc, _png = captured
    manifest = _manifest(warc)
    # WHEN / THEN verification finds nothing
    assert verify_manifest(warc, manifest) == []


def test_verify_reports_one_changed_payload_byte(
    captured: tuple[list[CapturedExchange], bytes, bytes],
) -> None:
    # GIVEN a WARC whose PNG payload has one byte changed, re-packed one gzip member per record
    _exchanges, warc, png = captured
    manifest = _manifest(warc)
    position = len(png) // 2
    tampered_png = png[:position] + bytes([png[position] ^ 0x01]) + png[position + 1 :]
    tampered = repack(warc, lambda raw: raw.replace(png, tampered_png))
    assert tampered != warc and len(gzip_members(tampered)) == 5
    # WHEN it is verified against the original manifest
    problems = verify_manifest(tampered, manifest)
    # THEN the file digest, the PNG record's digests and its own declared digests are all reported
    media_id = manifest.records[4].record_id
    assert any(problem.startswith("the WARC's SHA-256 is") for problem in problems)
    assert any(media_id in problem and "payload_sha256 is" in problem for problem in problems)
    assert any(media_id in problem and "block_digest is" in problem for problem in problems)
    assert any("WARC-Payload-Digest" in problem and "does not match" in problem for problem in problems)
    # AND no other record is blamed
    others = [record.record_id for record in manifest.records[:4]]
    assert not any(record_id in problem for problem in problems for record_id in others)


def test_verify_reports_a_changed_warc_field(captured: tuple[list[CapturedExchange], bytes, bytes]) -> None:
    # GIVEN a WARC whose response record now claims another server address
    _exchanges, warc, _png = captured
    manifest = _manifest(warc)
    tampered = repack(
        warc, lambda raw: raw.replace(b"WARC-IP-Address: 127.0.0.1", b"WARC-IP-Address: 127.0.0.2")
    )
    # WHEN / THEN every record's ip is reported as changed
    problems = verify_manifest(tampered, manifest)
    assert sum("ip is '127.0.0.2', the manifest says '127.0.0.1'" in problem for problem in problems) == 4


def test_verify_reports_a_dropped_record(captured: tuple[list[CapturedExchange], bytes, bytes]) -> None:
    # GIVEN a WARC with its last record removed
    _exchanges, warc, _png = captured
    manifest = _manifest(warc)
    shortened = b"".join(gzip_members(warc)[:-1])
    # WHEN / THEN the missing record is reported
    problems = verify_manifest(shortened, manifest)
    assert "the WARC holds 4 records, the manifest lists 5" in problems


def test_verify_reports_an_unreadable_warc(captured: tuple[list[CapturedExchange], bytes, bytes]) -> None:
    # GIVEN a WARC cut in the middle of a record
    _exchanges, warc, _png = captured
    manifest = _manifest(warc)
    cut = warc[: len(warc) - 200]
    # WHEN / THEN verification reports it rather than raising
    problems = verify_manifest(cut, manifest)
    assert problems[0].startswith("the WARC's SHA-256 is")
    assert len(problems) >= 2


def test_a_warc_contradicting_its_own_digests_gets_no_manifest(
    captured: tuple[list[CapturedExchange], bytes, bytes],
) -> None:
    # GIVEN a WARC whose PNG bytes changed after its digests were written
    _exchanges, warc, png = captured
    tampered = repack(warc, lambda raw: raw.replace(png, bytes(len(png))))
    # WHEN a manifest is asked for
    # THEN it is refused: a manifest must not vouch for an inconsistent file
    with pytest.raises(ManifestError, match="does not match its own digests"):
        _manifest(tampered)


@pytest.mark.parametrize(
    "data",
    [b"", b"plain text, not a WARC", gzip.compress(b"neither is this", mtime=0)],
    ids=["empty", "plain-text", "gzip-of-text"],  # stable ids: parallel workers must collect the same tests
)
def test_unreadable_input_gets_a_clear_error(data: bytes) -> None:
    with pytest.raises(ManifestError, match=r"cannot be read|holds no record"):
        _manifest(data)


def test_manifest_round_trips_through_json(captured: tuple[list[CapturedExchange], bytes, bytes]) -> None:
    # GIVEN a manifest
    _exchanges, warc, _png = captured
    manifest = _manifest(warc)
    # WHEN it is written as canonical JSON and read back
    data = json.loads(manifest.to_json_bytes())
    again = EvidenceManifest.from_dict(data)
    # THEN nothing is lost, and the read-back manifest still verifies the WARC
    assert again == manifest
    assert data["records"][4]["headers"][0] == ["content-type", "image/png"]
    assert verify_manifest(warc, again) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema": "takedown.evidence-manifest/0"}, "schema"),
        ({"warc_sha256": "ABC"}, "warc_sha256"),
        ({"created_at": "soon"}, "created_at"),
        ({"case_id": " "}, "case_id"),
        ({"records": []}, "records"),
        ({"extra": 1}, "exactly the keys"),
    ],
)
def test_malformed_manifest_json_is_refused(
    captured: tuple[list[CapturedExchange], bytes, bytes], change: dict[str, object], message: str
) -> None:
    # GIVEN manifest JSON with one part broken
    _exchanges, warc, _png = captured
    data = {**_manifest(warc).to_dict(), **change}
    # WHEN / THEN reading it back fails, naming the part
    with pytest.raises(ManifestError, match=message):
        EvidenceManifest.from_dict(data)


def test_malformed_record_json_is_refused(captured: tuple[list[CapturedExchange], bytes, bytes]) -> None:
    # GIVEN a record whose payload length is not a count
    _exchanges, warc, _png = captured
    data = _manifest(warc).to_dict()
    data["records"][2]["payload_length"] = "12"
    # WHEN / THEN
    with pytest.raises(ManifestError, match="payload_length"):
        EvidenceManifest.from_dict(data)


def test_bad_created_at_is_refused(captured: tuple[list[CapturedExchange], bytes, bytes]) -> None:
    _exchanges, warc, _png = captured
    with pytest.raises(ManifestError, match="created_at"):
        build_manifest(warc, case_id="case-0001", warc_key=WARC_KEY, created_at="2026-03-04 05:06")
