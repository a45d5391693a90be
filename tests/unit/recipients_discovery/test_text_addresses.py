from __future__ import annotations

import pytest

from takedown.recipients.text_addresses import decode_cloudflare_email, find_addresses_in_text
from tests.unit.recipients_discovery.sites import cloudflare_protect


@pytest.mark.parametrize(
    ("text", "address", "obfuscated"),
    [
        ("write to abuse@example.com.", "abuse@example.com", False),
        ("abuse [at] example [dot] com", "abuse@example.com", True),
        ("abuse(at)example.com", "abuse@example.com", True),
        ("abuse (AT) example (DOT) co (DOT) uk", "abuse@example.co.uk", True),
        ("abuse{at}example.net", "abuse@example.net", True),
        ("abuse＠example.kr", "abuse@example.kr", True),
        ("신고: abuse[골뱅이]example(점)com 으로", "abuse@example.com", True),
        ("이메일youth@example.com입니다", "youth@example.com", False),
        ("Abuse.Desk+kr@Mail.Example.ORG", "abuse.desk+kr@mail.example.org", False),
    ],
)
def test_plain_and_obfuscated_addresses_are_read_back(text: str, address: str, obfuscated: bool) -> None:
    found = find_addresses_in_text(text)
    assert [(hit.address, hit.obfuscated) for hit in found] == [(address, obfuscated)]
    assert text[found[0].start : found[0].end].lower().startswith(address[:3])


@pytest.mark.parametrize(
    "text",
    [
        "logo@2x.png and sprite@3x.webp",
        "meet me @ 10am.meeting",
        "look at example dot com",
        "user@localhost",
        "@handle on social media",
        "a@b.c1",
    ],
)
def test_things_that_only_look_like_addresses_are_not_read(text: str) -> None:
    assert find_addresses_in_text(text) == []


def test_several_addresses_come_back_in_order_with_positions() -> None:
    text = "a@x.example.com / b [at] y.example.com"
    found = find_addresses_in_text(text)
    assert [hit.address for hit in found] == ["a@x.example.com", "b@y.example.com"]
    assert found[0].end <= found[1].start


def test_cloudflare_protection_round_trips_and_rejects_junk() -> None:
    assert decode_cloudflare_email(cloudflare_protect("abuse@example.com", key=0x13)) == "abuse@example.com"
    assert decode_cloudflare_email("zz") == ""
    assert decode_cloudflare_email("not-hex-at-all") == ""
    assert decode_cloudflare_email("00" + "0a0d") == ""  # decodes to control characters
