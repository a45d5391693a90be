"""Which country's language and law a notice is written for: decided once, when the recipients are resolved.

In order of trust:

1. what discovery found about the recipient: a known platform's country (registry), else the hosting network's
   country (RDAP of the server address), never the CDN's;
2. the country of the server address the crawl recorded (``Sighting.server_country``), but only when no CDN fronts
   the site: behind a CDN that address, and so its country, is the CDN's edge, not the operator's;
3. the crawl source's country hint (the sources file).

Pure: no AWS, no network.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

__all__ = ["CountryBasis", "RecipientCountry", "choose_recipient_country"]

_COUNTRY = re.compile(r"[A-Z]{2}")


class CountryBasis(enum.StrEnum):
    """Where the chosen country came from (recorded on the case's timeline)."""

    RECIPIENT = "recipient"  # platform registry or hosting network
    SERVER = "server-address"  # the crawl's server address, no CDN in front
    SOURCE = "source-hint"  # the crawl source's configured country
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RecipientCountry:
    """The chosen ISO 3166 alpha-2 code ("" when unknown) and where it came from."""

    country: str
    basis: CountryBasis


def _code(value: str) -> str:
    code = value.strip().upper()
    return code if _COUNTRY.fullmatch(code) else ""


def choose_recipient_country(
    *, discovered: str, server_country: str, behind_cdn: bool, source_country: str
) -> RecipientCountry:
    """The country a notice is written for (see the module documentation for the order).

    Parameters
    ----------
    discovered
        Discovery's country (platform registry, else hosting network when no CDN fronts the site), or "".
    server_country
        The country of the server address the page was fetched from, or "".
    behind_cdn
        Whether a CDN was recognised in front of the site.
    source_country
        The crawl source's country hint, or "".

    Examples
    --------
    >>> choose_recipient_country(discovered="", server_country="jp", behind_cdn=False, source_country="KR")
    RecipientCountry(country='JP', basis=<CountryBasis.SERVER: 'server-address'>)
    >>> choose_recipient_country(discovered="", server_country="US", behind_cdn=True, source_country="KR").country
    'KR'
    """
    if code := _code(discovered):
        return RecipientCountry(code, CountryBasis.RECIPIENT)
    if not behind_cdn and (code := _code(server_country)):
        return RecipientCountry(code, CountryBasis.SERVER)
    if code := _code(source_country):
        return RecipientCountry(code, CountryBasis.SOURCE)
    return RecipientCountry("", CountryBasis.UNKNOWN)
