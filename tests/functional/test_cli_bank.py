"""``takedown bank``, ``hash`` and ``match`` against the local stack running as a server."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import boto3
import pytest
from PIL import ImageOps

from takedown.cli import main
from takedown.demo.synthetic import add_caption, encode, make_image, resize
from takedown.local import server

from .conftest import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    patch = pytest.MonkeyPatch()
    patch.setenv("TAKEDOWN_LOCAL_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    state = server.up(port=free_port(), timeout=240)
    patch.setenv("AWS_ENDPOINT_URL", str(state["endpoint"]))
    try:
        yield state
    finally:
        server.down()
        patch.undo()


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def test_hash_prints_fingerprints_and_refuses_non_media(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = tmp_path / "picture.png"
    picture.write_bytes(encode(make_image(5), "PNG"))
    text = tmp_path / "notes.txt"
    text.write_text("not an image", encoding="utf-8")
    assert main(["hash", str(picture), str(text)]) == 1
    first, second = _lines(capsys)
    assert first["kind"] == "image" and len(str(first["pdq"])) == 64 and len(str(first["phash"])) == 16
    assert "error" in second


def test_bank_add_then_match_finds_altered_copies_only(
    local_server: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the centre registers two originals (only hashes are uploaded)
    originals = []
    for seed in (41, 42):
        path = tmp_path / f"original-{seed}.png"
        path.write_bytes(encode(make_image(seed), "PNG"))
        originals.append(path)
    assert main(["bank", "add", "--case-ref", "CASE-2026-001", *map(str, originals)]) == 0
    added = _lines(capsys)
    assert [line["path"] for line in added] == [str(p) for p in originals]
    # WHEN an altered copy (resized, captioned, mirrored, JPEG) and an unrelated picture are matched
    altered = ImageOps.mirror(add_caption(resize(make_image(41), 0.6), "reposted"))
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(encode(altered, "JPEG", quality=70))
    unrelated = tmp_path / "other.png"
    unrelated.write_bytes(encode(make_image(1500), "PNG"))
    assert main(["match", str(copy), str(unrelated)]) == 0
    copy_line, other_line = _lines(capsys)
    # THEN the copy matches the first original with its evidence, and the other picture matches nothing
    assert copy_line["candidate"] is True
    evidence = copy_line["matches"][0]  # type: ignore[index]
    assert evidence["case_ref"] == "CASE-2026-001" and evidence["group_id"] == added[0]["group_id"]
    assert evidence["rule"] in {"pdq+phash", "pdq-strict", "exact"} and evidence["variant"]
    assert other_line["candidate"] is False
    # AND the originals never left this machine: the bucket holds no image bytes, only the index
    bucket = str(local_server["outputs"]["EvidenceBucketName"])  # type: ignore[index]
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys and all(key.startswith("bank-index/") for key in keys)
    # WHEN the first original is disabled THEN the copy no longer matches
    assert main(["bank", "disable", str(added[0]["group_id"])]) == 0
    capsys.readouterr()
    assert main(["match", str(copy)]) == 0
    assert _lines(capsys)[0]["candidate"] is False


def test_bank_import_takes_valid_rows_and_reports_bad_ones(
    local_server: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from takedown.hashing.fingerprint import fingerprint_image_bytes

    fingerprint = fingerprint_image_bytes(encode(make_image(77), "PNG"))
    hash_list = tmp_path / "list.csv"
    hash_list.write_text(
        "algorithm,hash,quality,label\n"
        f"pdq,{fingerprint.pdq},{fingerprint.pdq_quality},shared-list-1\n"
        f"phash,{fingerprint.phash},,shared-list-1\n"
        f"pdq,{'0' * 64},90,degenerate\n"
        "pdq,xyz,90,not-hex\n"
        "whirlpool,abcd,,unknown\n",
        encoding="utf-8",
    )
    assert main(["bank", "import", str(hash_list)]) == 1
    captured = capsys.readouterr()
    summary = json.loads(captured.out.splitlines()[-1])
    assert summary["imported"] == 2 and summary["refused"] == 3
    assert "line 4" in captured.err and "line 5" in captured.err and "line 6" in captured.err
    # AND a picture whose hashes were imported now matches
    picture = tmp_path / "p.jpg"
    buffer = io.BytesIO()
    make_image(77).save(buffer, "JPEG", quality=80)
    picture.write_bytes(buffer.getvalue())
    assert main(["match", str(picture)]) == 0
    assert _lines(capsys)[0]["candidate"] is True
