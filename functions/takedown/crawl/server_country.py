"""Which country a page's server is in: the RDAP network registration of its IP address.

Notices pick their language and law by where the recipient is; for a site hosted abroad the server's
address is often the only clue. The answer is the ISO 3166-1 alpha-2 ``country`` of the RDAP IP network
that holds the address, or "" when unknown: no RDAP configured, no server address (a proxy made the
connection), a private or special address, or a lookup that failed. The answers, failures included, are
kept per address, so a warm worker asks once per server, not once per page.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Final

from takedown.recipients.rdap_json import RdapError
from takedown.recipients.ttl_cache import TtlCache

if TYPE_CHECKING:
    from collections.abc import Callable

    from takedown.recipients.rdap import RdapClient

_COUNTRY: Final = re.compile(r"[A-Z]{2}")


class ServerCountries:
    """Looks up and keeps the country of server addresses.

    Parameters
    ----------
    rdap
        The RDAP client, or None when RDAP is not configured (every answer is then "").
    ttl_seconds
        How long a country is kept.
    failure_ttl_seconds
        How long a failed lookup is remembered as "" before the address is asked about again.
    clock
        Seconds, for the caches; injectable for tests.

    Examples
    --------
    >>> ServerCountries(None).country_of("203.0.113.7")
    ''
    """

    def __init__(
        self,
        rdap: RdapClient | None,
        *,
        ttl_seconds: float = 6 * 3600,
        failure_ttl_seconds: float = 600,
        max_entries: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rdap = rdap
        self._known: TtlCache[str, str] = TtlCache(
            ttl_seconds=ttl_seconds, max_entries=max_entries, clock=clock
        )
        self._failed: TtlCache[str, str] = TtlCache(
            ttl_seconds=failure_ttl_seconds, max_entries=max_entries, clock=clock
        )
        self.lookups = 0  # RDAP questions asked, for tests and metrics

    def country_of(self, server_ip: str) -> str:
        """The server's country code (``"VN"``), or "" when it is not known. Never raises."""
        if self._rdap is None or not server_ip:
            return ""
        for cache in (self._known, self._failed):
            hit = cache.get(server_ip)
            if hit is not None:
                return hit
        self.lookups += 1
        try:
            country = self._rdap.lookup_ip(server_ip).country.upper()
        except RdapError:
            self._failed.put(server_ip, "")
            return ""
        if not _COUNTRY.fullmatch(country):
            self._failed.put(server_ip, "")
            return ""
        self._known.put(server_ip, country)
        return country
