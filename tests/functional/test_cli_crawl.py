"""``takedown sources validate`` and ``takedown crawl`` against the local stack running as a server."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from takedown.cli import main
from takedown.demo.run import demo_sources
from takedown.demo.site import build_demo_site, serve_site
from takedown.local import server

from .conftest import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def local_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TAKEDOWN_LOCAL_STATE_DIR", str(tmp_path / "state"))
    state = server.up(port=free_port(), timeout=240)
    # The CLI points its process at the local endpoint; monkeypatch undoes that after the test.
    monkeypatch.setenv("AWS_ENDPOINT_URL", str(state["endpoint"]))
    try:
        yield
    finally:
        server.down()


def test_sources_validate_reports_errors_and_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(demo_sources("http://127.0.0.1:9")), encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 1, "sources": [{"id": "x", "kind": "forum"}]}), encoding="utf-8")
    assert main(["sources", "validate", str(good)]) == 0
    assert "1 sources valid (1 community)" in capsys.readouterr().out
    assert main(["sources", "validate", str(bad)]) == 1
    assert "invalid" in capsys.readouterr().err


def test_crawl_prints_each_media_item_and_each_refusal_as_json(
    local_server: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a loopback site, and a source pointing at the cloud-metadata address (private addresses allowed:
    # the metadata address is refused all the same)
    site = build_demo_site(bank_seeds=[3], n_pages=2)
    with serve_site(site) as website:
        sources = demo_sources(website.base_url)
        metadata = dict(sources["sources"][0], id="metadata", allowed_hosts=["169.254.169.254"])
        metadata["seeds"] = ["http://169.254.169.254/latest/meta-data/"]
        sources["sources"].append(metadata)
        path = tmp_path / "sources.json"
        path.write_text(json.dumps(sources), encoding="utf-8")
        # WHEN one cycle runs with --json
        assert main(["crawl", "--sources", str(path), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # THEN every media file of the site is listed with its page, URL, digest and sniffed type
    media = [line for line in lines if line["type"] == "media"]
    assert len(media) == len(site.media_paths())
    assert all(m["media_type"].startswith("image/") and len(m["sha256"]) == 64 for m in media)
    assert all(m["page_url"].startswith(website.base_url) for m in media)
    # AND the metadata address was refused with its reason, never fetched
    refusals = [line for line in lines if line["type"] == "refusal"]
    assert [r["reason"] for r in refusals if "169.254.169.254" in r["url"]] == ["address:metadata"]
