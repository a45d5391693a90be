from __future__ import annotations

import pytest

from takedown.approval.language import interface_language, language_links


@pytest.mark.parametrize(
    ("requested", "accept", "expected"),
    [
        ("en", "ko-KR,ko;q=0.9", "en"),  # the switch wins over the browser
        ("ko", "en-US,en", "ko"),
        (None, "en-GB,en;q=0.9", "en"),
        (None, "ko-KR,ko;q=0.9,en;q=0.8", "ko"),
        (None, "fr-FR,fr;q=0.9,en;q=0.8,ko;q=0.7", "en"),  # the most preferred language we speak
        (None, "ko;q=0.4, en;q=0.6", "en"),  # order in the header does not beat quality
        (None, "en;q=0, ko;q=0.1", "ko"),  # q=0 means "not this one"
        (None, "de-DE", "ko"),  # nothing we speak: the centre's language
        (None, None, "ko"),
        ("de", "en", "en"),  # an unknown ?lang= is ignored, not reflected
        ("<script>", None, "ko"),
        (None, "en;q=banana", "ko"),
    ],
)
def test_the_interface_language_follows_the_switch_then_the_browser(
    requested: str | None, accept: str | None, expected: str
) -> None:
    assert interface_language(requested, accept) == expected


def test_the_switch_keeps_only_the_signed_link_parameters() -> None:
    # GIVEN a request with the link's expiry and signature and something else
    links = language_links("Zk3v9Q", {"e": "1764575100", "s": "q1w2", "lang": "ko", "x": '"><script>'})
    # THEN each language links to the same signed page, nothing else carried over
    assert links == {
        "ko": "Zk3v9Q?e=1764575100&s=q1w2&lang=ko",
        "en": "Zk3v9Q?e=1764575100&s=q1w2&lang=en",
    }


def test_the_list_page_switch_has_no_signed_parameters() -> None:
    assert language_links("reviews", {})["en"] == "reviews?lang=en"
