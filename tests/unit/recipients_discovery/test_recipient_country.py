"""The country a notice is written for: the recipient's, else the server's when no CDN fronts the site, else the
source's hint."""

from __future__ import annotations

import pytest

from takedown.recipients.recipient_country import CountryBasis, choose_recipient_country


@pytest.mark.parametrize(
    ("discovered", "server_country", "behind_cdn", "source_country", "expected"),
    [
        # the recipient's own country (platform registry, hosting network) wins over everything else
        ("JP", "US", False, "KR", ("JP", CountryBasis.RECIPIENT)),
        ("JP", "US", True, "KR", ("JP", CountryBasis.RECIPIENT)),
        # no recipient country: the server address's, written in any case
        ("", "vn", False, "KR", ("VN", CountryBasis.SERVER)),
        # behind a CDN the server address is the CDN's edge: the source's hint instead
        ("", "US", True, "KR", ("KR", CountryBasis.SOURCE)),
        # nothing known about the server either
        ("", "", False, "th", ("TH", CountryBasis.SOURCE)),
        # nothing at all
        ("", "", True, "", ("", CountryBasis.UNKNOWN)),
        # a value that is not an ISO 3166 alpha-2 code is no country
        ("", "USA", False, "", ("", CountryBasis.UNKNOWN)),
    ],
)
def test_country_is_chosen_in_order_of_trust(
    discovered: str,
    server_country: str,
    behind_cdn: bool,
    source_country: str,
    expected: tuple[str, CountryBasis],
) -> None:
    # GIVEN what discovery, the crawl and the source file know WHEN the country is chosen
    chosen = choose_recipient_country(
        discovered=discovered,
        server_country=server_country,
        behind_cdn=behind_cdn,
        source_country=source_country,
    )

    # THEN it is the most trusted one known, with where it came from
    assert (chosen.country, chosen.basis) == expected
