from __future__ import annotations

import pytest

from takedown.model import Sighting
from takedown.recipients.resolve import InvalidAddress, resolve_recipients, validate_address


def _sighting(contacts: list[str]) -> Sighting:
    return Sighting(
        media_key="media/a/b",
        sha256="a" * 64,
        md5="b" * 32,
        page_url="https://board.example/p/1",
        media_url="https://board.example/m.jpg",
        fetched_at="2026-11-28T07:00:00.000000Z",
        content_type="image/jpeg",
        source_id="board",
        size_bytes=10,
        page_contacts=contacts,
    )


@pytest.mark.parametrize(
    "bad",
    [
        "no-at-sign",
        "a@b",
        "a@@b.example",
        "a b@c.example",
        "a@b.example\r\nBcc: x@y.example",
        "a..b@c.example",
        "名前@例え.jp",
        "<a@b.example>",
        "a@-.example",
        "",
    ],
)
def test_undeliverable_or_hostile_addresses_are_refused(bad: str) -> None:
    with pytest.raises(InvalidAddress):
        validate_address(bad)


def test_page_contact_and_source_contact_both_become_candidates_with_provenance() -> None:
    # GIVEN a page with a mailto contact and a configured source contact
    found, notes = resolve_recipients(_sighting(["Admin@Board.Example"]), source_contact="abuse@host.example")
    # THEN both are candidates, most confident first, each saying where it was found
    assert [r.address for r in found] == ["abuse@host.example", "admin@board.example"]
    assert found[1].found_at == "mailto link on https://board.example/p/1"
    assert found[0].role == "source-contact" and notes == []


def test_no_address_is_recorded_as_a_note_for_the_reviewer() -> None:
    found, notes = resolve_recipients(_sighting(["broken@@x"]), source_contact="")
    assert found == []
    assert any("refused" in n for n in notes)
    assert any("reviewer must add one" in n for n in notes)
