"""Staging the config layer: templates and the sources file land where the functions look for them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from takedown_infra.config_layer import (
    RUNTIME_SOURCES_FILE,
    RUNTIME_TEMPLATES_DIR,
    ConfigLayerError,
    check_sources_document,
    stage_config_layer,
)
from tests.infra.repo_paths import REPO_ROOT

if TYPE_CHECKING:
    from pathlib import Path

EXAMPLE_SOURCES = REPO_ROOT / "config" / "sources.json"


def write_sources(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "sources.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def make_templates(root: Path) -> Path:
    (root / "notices" / "en").mkdir(parents=True)
    (root / "notices" / "en" / "subject.txt.j2").write_text("Removal request {{ case_id }}", encoding="utf-8")
    return root


def test_stage_copies_templates_and_sources_under_their_runtime_paths(tmp_path: Path) -> None:
    # GIVEN a templates folder and the example sources file
    templates = make_templates(tmp_path / "templates")

    # WHEN the layer is staged
    staged = stage_config_layer(
        templates_dir=templates, sources_file=EXAMPLE_SOURCES, destination=tmp_path / "build" / "config-layer"
    )

    # THEN /opt/<path> at run time is <staged>/<path> here
    sources = staged / RUNTIME_SOURCES_FILE.removeprefix("/opt/")
    template = staged / RUNTIME_TEMPLATES_DIR.removeprefix("/opt/") / "notices" / "en" / "subject.txt.j2"
    assert sources.read_bytes() == EXAMPLE_SOURCES.read_bytes()
    assert template.read_text(encoding="utf-8") == "Removal request {{ case_id }}"


def test_restaging_drops_files_that_left_the_repository(tmp_path: Path) -> None:
    # GIVEN a staged layer, then a template deleted from the repository
    templates = make_templates(tmp_path / "templates")
    destination = tmp_path / "config-layer"
    stage_config_layer(templates_dir=templates, sources_file=EXAMPLE_SOURCES, destination=destination)
    (templates / "notices" / "en" / "subject.txt.j2").unlink()

    # WHEN it is staged again
    stage_config_layer(templates_dir=templates, sources_file=EXAMPLE_SOURCES, destination=destination)

    # THEN the deleted template is gone from the layer too
    assert not (destination / "templates" / "notices" / "en" / "subject.txt.j2").exists()


def test_the_repository_sources_file_passes_the_check() -> None:
    # GIVEN the shipped sources file WHEN it is checked
    document = check_sources_document(EXAMPLE_SOURCES)

    # THEN it has the example community source
    sources = document["sources"]
    assert isinstance(sources, list)
    assert [source["id"] for source in sources] == ["example-community"]


@pytest.mark.parametrize(
    ("document", "pattern"),
    [
        ([], "top level must be a JSON object"),
        ({"version": 2, "sources": [{"id": "a"}]}, "version must be 1, got 2"),
        ({"version": 1, "sources": []}, "sources must be a non-empty list"),
        ({"version": 1, "sources": [{"kind": "community"}]}, r"sources\[0\] needs a non-empty string id"),
        ({"version": 1, "sources": [{"id": "a"}, {"id": "a"}]}, r"sources\[1\]: id 'a' is used twice"),
    ],
)
def test_bad_sources_envelope_is_refused(tmp_path: Path, document: Any, pattern: str) -> None:
    # GIVEN a sources file with a broken envelope
    path = write_sources(tmp_path, document)

    # WHEN the layer is staged THEN it fails before anything is copied, saying why
    with pytest.raises(ConfigLayerError, match=pattern):
        stage_config_layer(
            templates_dir=make_templates(tmp_path / "templates"),
            sources_file=path,
            destination=tmp_path / "out",
        )
    assert not (tmp_path / "out").exists()


def test_sources_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    # GIVEN a sources file with a syntax error
    path = tmp_path / "sources.json"
    path.write_text("{version: 1}", encoding="utf-8")

    # WHEN it is checked THEN the error says it is not JSON
    with pytest.raises(ConfigLayerError, match="not valid JSON"):
        check_sources_document(path)


def test_missing_templates_folder_is_refused(tmp_path: Path) -> None:
    # GIVEN no templates folder
    # WHEN the layer is staged THEN the error names the folder
    with pytest.raises(ConfigLayerError, match="templates folder not found"):
        stage_config_layer(
            templates_dir=tmp_path / "missing", sources_file=EXAMPLE_SOURCES, destination=tmp_path / "out"
        )


def test_the_domain_validator_also_checks_each_source(tmp_path: Path) -> None:
    # GIVEN a source whose envelope is fine but whose depth is not a number
    document = json.loads(EXAMPLE_SOURCES.read_text(encoding="utf-8"))
    document["sources"][0]["depth"] = "two"
    path = write_sources(tmp_path, document)

    # WHEN it is checked THEN takedown.crawl.sources refuses it and the error names the field
    with pytest.raises(ConfigLayerError, match="depth"):
        check_sources_document(path)
