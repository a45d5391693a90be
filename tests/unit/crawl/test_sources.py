"""Source files: strict validation with errors that name the source and the field."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from takedown.crawl.sources import Source, SourceError, load_sources, parse_sources

if TYPE_CHECKING:
    from pathlib import Path


def _source(**overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": "demo-board",
        "kind": "community",
        "seeds": ["https://board.example/new"],
        "allowed_hosts": ["board.example"],
    }
    entry.update(overrides)
    return entry


def _document(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "sources": list(entries)}


def test_minimal_source_gets_defaults() -> None:
    # GIVEN a source with only the required fields
    # WHEN it is parsed
    (source,) = parse_sources(_document(_source()))
    # THEN the documented defaults apply
    assert source == Source(
        id="demo-board",
        kind="community",
        seeds=["https://board.example/new"],
        allowed_hosts=["board.example"],
    )
    assert (source.depth, source.page_budget, source.interval_minutes) == (1, 100, 60)
    assert (source.requests_per_second, source.proxy, source.allow_private_addresses) == (1.0, "", False)


def test_full_source_is_normalised_and_round_trips() -> None:
    # GIVEN a source using every field, with hosts and URLs in non-canonical spellings
    entry = _source(
        id="hidden-forum",
        kind="darkweb",
        seeds=["http://ExampleOnionAddressXyz.onion/Board/../latest", "https://Mirror.Example:443/"],
        allowed_hosts=["exampleonionaddressxyz.onion", "MIRROR.example."],
        depth=3,
        page_budget=500,
        interval_minutes=15,
        country="kr",
        language="ko-KR",
        requests_per_second=0.5,
        proxy="socks5h://tor-proxy.internal:9050",
        contact="Abuse@Mirror.Example",
        secret_ref="takedown/sources/hidden-forum",
        allow_private_addresses=False,
    )
    # WHEN it is parsed and written back out and parsed again
    (source,) = parse_sources(_document(entry))
    again = Source.from_dict(json.loads(json.dumps(source.to_dict())))
    # THEN values are canonical and survive the round trip
    assert source.seeds == ["http://exampleonionaddressxyz.onion/latest", "https://mirror.example/"]
    assert source.allowed_hosts == ["exampleonionaddressxyz.onion", "mirror.example"]
    assert (source.country, source.contact) == ("KR", "abuse@mirror.example")
    assert again == source


def test_load_sources_reads_a_file(tmp_path: Path) -> None:
    # GIVEN a sources file on disk
    path = tmp_path / "sources.json"
    path.write_text(json.dumps(_document(_source(), _source(id="second", seeds=["https://board.example/2"]))))
    # WHEN it is loaded
    sources = load_sources(path)
    # THEN every source is there in file order
    assert [source.id for source in sources] == ["demo-board", "second"]


def test_load_sources_reports_bad_json_with_position(tmp_path: Path) -> None:
    # GIVEN a file that is not JSON
    path = tmp_path / "sources.json"
    path.write_text('{"version": 1,\n "sources": [,]}')
    # WHEN it is loaded
    # THEN the error gives the line and column
    with pytest.raises(SourceError, match=r"not valid JSON \(line 2, column"):
        load_sources(path)


def test_load_sources_reports_a_missing_file(tmp_path: Path) -> None:
    # GIVEN a path with no file
    # WHEN it is loaded
    # THEN the error says it cannot be read
    with pytest.raises(SourceError, match="cannot read"):
        load_sources(tmp_path / "absent.json")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "must be a JSON object"),
        ({"version": 2, "sources": []}, "'version' must be 1"),
        ({"sources": []}, "'version' must be 1"),
        ({"version": 1, "sources": {}}, "'sources' must be a list"),
        ({"version": 1, "sources": [], "extra": 1}, "unknown top-level field 'extra'"),
        ({"version": 1, "sources": ["not an object"]}, r"sources\[0\]: a source must be a JSON object"),
    ],
)
def test_file_level_errors(document: object, message: str) -> None:
    # GIVEN a malformed document
    # WHEN it is parsed
    # THEN the error says what is wrong with the file
    with pytest.raises(SourceError, match=message):
        parse_sources(document)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"colour": "blue"}, "colour", "unknown field"),
        ({"headers": {"Authorization": "x"}}, "headers", "inline secrets are not allowed"),
        ({"cookies": {"session": "x"}}, "cookies", "inline secrets are not allowed"),
        ({"password": "x"}, "password", "inline secrets are not allowed"),
        ({"Token": "x"}, "Token", "inline secrets are not allowed"),
        ({"id": "Demo Board"}, "id", "must be a slug"),
        ({"id": 7}, "id", "must be a string"),
        ({"kind": "forum"}, "kind", "must be one of sns, community, illicit, darkweb"),
        ({"seeds": []}, "seeds", "non-empty list"),
        ({"seeds": "https://board.example/"}, "seeds", "non-empty list"),
        ({"seeds": ["ftp://board.example/"]}, "seeds[0]", "absolute http(s) URL"),
        ({"seeds": ["/relative"]}, "seeds[0]", "absolute http(s) URL"),
        ({"seeds": ["https://other.example/"]}, "seeds[0]", "not in allowed_hosts"),
        ({"allowed_hosts": []}, "allowed_hosts", "non-empty list"),
        ({"allowed_hosts": ["https://board.example/"]}, "allowed_hosts[0]", "bare host name"),
        ({"allowed_hosts": ["board.example", "bad host"]}, "allowed_hosts[1]", "not a valid host"),
        ({"depth": -1}, "depth", "must be >= 0"),
        ({"depth": True}, "depth", "must be an integer"),
        ({"depth": "2"}, "depth", "must be an integer"),
        ({"page_budget": 0}, "page_budget", "must be >= 1"),
        ({"interval_minutes": 0}, "interval_minutes", "must be >= 1"),
        ({"requests_per_second": 0}, "requests_per_second", "> 0"),
        ({"requests_per_second": -2.5}, "requests_per_second", "> 0"),
        ({"requests_per_second": float("nan")}, "requests_per_second", "finite"),
        ({"requests_per_second": "fast"}, "requests_per_second", "must be a number"),
        ({"requests_per_second": True}, "requests_per_second", "must be a number"),
        ({"proxy": "socks5://127.0.0.1:9050"}, "proxy", "socks5h://host:port"),
        ({"proxy": "http://proxy.example:3128"}, "proxy", "socks5h://host:port"),
        ({"proxy": "socks5h://proxy.example"}, "proxy", "socks5h://host:port"),
        ({"proxy": "socks5h://user:pw@proxy.example:9050"}, "proxy", "must not carry credentials"),
        (
            {
                "seeds": ["http://exampleonionaddressxyz.onion/"],
                "allowed_hosts": ["exampleonionaddressxyz.onion"],
            },
            "proxy",
            "need a 'socks5h://host:port' proxy",
        ),
        ({"country": "UK"}, "country", "ISO 3166-1 alpha-2"),
        ({"country": "KOR"}, "country", "ISO 3166-1 alpha-2"),
        ({"language": "not a tag"}, "language", "BCP 47"),
        ({"contact": "abuse at board"}, "contact", "e-mail address"),
        ({"secret_ref": "has spaces in it"}, "secret_ref", "Secrets Manager"),
        ({"allow_private_addresses": "yes"}, "allow_private_addresses", "true or false"),
    ],
)
def test_source_field_rules(overrides: dict[str, Any], field: str, message: str) -> None:
    # GIVEN a second source that breaks one rule
    document = _document(_source(id="first"), _source(**overrides))
    # WHEN the document is parsed
    with pytest.raises(SourceError) as raised:
        parse_sources(document)
    # THEN the error names the source's index, the field, and the rule
    assert raised.value.index == 1
    assert raised.value.field == field
    assert message in str(raised.value)
    assert str(raised.value).startswith("sources[1]")


@pytest.mark.parametrize("missing", ["id", "kind", "seeds", "allowed_hosts"])
def test_required_fields(missing: str) -> None:
    # GIVEN a source without a required field
    entry = _source()
    del entry[missing]
    # WHEN parsed
    with pytest.raises(SourceError) as raised:
        parse_sources(_document(entry))
    # THEN the missing field is named
    assert raised.value.field == missing
    assert "is required" in str(raised.value)


def test_error_message_names_the_source_id() -> None:
    # GIVEN a source with a bad depth
    # WHEN parsed
    with pytest.raises(SourceError) as raised:
        parse_sources(_document(_source(id="named-source", depth=-3)))
    # THEN the message carries index, id and field
    assert str(raised.value) == "sources[0] (id 'named-source') field 'depth': must be >= 0, got -3"


def test_duplicate_ids_are_rejected() -> None:
    # GIVEN two sources with the same id
    document = _document(_source(), _source(seeds=["https://board.example/other"]))
    # WHEN parsed
    with pytest.raises(SourceError) as raised:
        parse_sources(document)
    # THEN the second is named as the duplicate of the first
    assert raised.value.index == 1
    assert raised.value.field == "id"
    assert "already uses it" in str(raised.value)
    assert "sources[0]" in str(raised.value)


def test_from_dict_validates_a_single_source() -> None:
    # GIVEN one invalid source entry outside a file
    # WHEN it is read with from_dict
    # THEN the same rules apply
    with pytest.raises(SourceError, match="field 'kind'"):
        Source.from_dict(_source(kind="nope"))
