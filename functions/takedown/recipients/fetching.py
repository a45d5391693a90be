"""What recipient discovery fetches with: anything with ``fetch(url) -> FetchResult``.

Contact pages are chosen by the crawled site, so they are always fetched with the crawler's
:class:`~takedown.crawl.fetch.SafeFetcher` (address checks on every hop). RDAP servers are configured by us,
so an RDAP client may also use a plain ``requests.Session`` through :class:`SessionFetcher`, which sends the
RDAP media type in ``Accept`` and applies the same size cap, redirect limit and timeouts, but does NOT check
addresses: never hand it a URL a crawled page chose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

import requests

from takedown.crawl.errors import FetchFailed, FetchRefused
from takedown.crawl.fetch import REDIRECT_STATUSES, FetcherConfigError, FetchResult
from takedown.crawl.urls import UrlError, canonicalize_url
from takedown.model import iso_utc, utc_now

if TYPE_CHECKING:
    from collections.abc import Mapping

RDAP_ACCEPT: Final = "application/rdap+json, application/json;q=0.9"
_READ_CHUNK: Final = 64 * 1024


class PageFetcher(Protocol):
    """Fetches one URL; raises :class:`~takedown.crawl.errors.CrawlError` subclasses on failure."""

    def fetch(self, url: str) -> FetchResult:
        """The final response after redirects, whatever its status."""
        ...


class SessionFetcher:
    """A :class:`PageFetcher` over a ``requests.Session``, for trusted, configured endpoints only.

    Parameters
    ----------
    session
        The session to use (its adapters, proxies and CA settings apply).
    connect_timeout, read_timeout
        Seconds for the connection and for each read.
    max_bytes
        The most body bytes read from one answer.
    max_redirects
        The most redirects followed (by hand, so each hop is checked to be http(s)).
    headers
        Request headers; by default ``Accept`` asks for RDAP JSON.

    Examples
    --------
    >>> fetcher = SessionFetcher(requests.Session(), read_timeout=5)
    >>> fetcher.fetch("ftp://rdap.example/ip/192.0.2.1")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    takedown.crawl.errors.FetchRefused: the scheme 'ftp' is not http or https [scheme:ftp] ftp://...
    """

    def __init__(
        self,
        session: requests.Session,
        *,
        connect_timeout: float = 5,
        read_timeout: float = 10,
        max_bytes: int = 1024 * 1024,
        max_redirects: int = 3,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not (connect_timeout > 0 and read_timeout > 0 and max_bytes > 0 and max_redirects >= 0):
            raise FetcherConfigError("timeouts and max_bytes must be > 0 and max_redirects >= 0")
        self._session = session
        self._timeout = (float(connect_timeout), float(read_timeout))
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._headers = dict(headers) if headers is not None else {"Accept": RDAP_ACCEPT}

    def fetch(self, url: str) -> FetchResult:
        """Fetch ``url`` following at most ``max_redirects`` http(s) redirects.

        Raises
        ------
        FetchRefused
            ``scheme:<name>``/``url:<problem>`` for a bad URL or redirect target, ``redirects:too-many``,
            ``size:exceeded``.
        FetchFailed
            ``network:connect``, ``network:read-timeout``, ``network:error``.
        """
        requested = current = _canonical(url)
        redirects: list[str] = []
        while True:
            response = self._get(current)
            try:
                location = response.headers.get("location", "")
                if response.status_code in REDIRECT_STATUSES and location:
                    if len(redirects) >= self._max_redirects:
                        raise FetchRefused(
                            current, "redirects:too-many", f"more than {self._max_redirects} redirects"
                        )
                    current = _canonical(location, base=current)
                    redirects.append(current)
                    continue
                body = self._read_capped(current, response)
            finally:
                response.close()
            return FetchResult(
                requested_url=requested,
                final_url=current,
                status=response.status_code,
                headers={name.lower(): value for name, value in response.headers.items()},
                body=body,
                server_ip="",  # requests does not say which address it connected to
                fetched_at=iso_utc(utc_now()),
                redirects=redirects,
            )

    def _get(self, url: str) -> requests.Response:
        try:
            return self._session.get(
                url, headers=self._headers, timeout=self._timeout, stream=True, allow_redirects=False
            )
        except requests.ConnectTimeout as error:
            raise FetchFailed(url, "network:connect-timeout", f"fetch failed: {error}") from error
        except requests.ConnectionError as error:
            raise FetchFailed(url, "network:connect", f"fetch failed: {error}") from error
        except requests.RequestException as error:
            raise FetchFailed(url, "network:error", f"fetch failed: {error}") from error

    def _read_capped(self, url: str, response: requests.Response) -> bytes:
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise FetchRefused(url, "size:exceeded", f"Content-Length {declared} is above the cap")
        chunks: list[bytes] = []
        total = 0
        try:
            for chunk in response.iter_content(_READ_CHUNK):
                total += len(chunk)
                if total > self._max_bytes:
                    raise FetchRefused(
                        url, "size:exceeded", f"the body passed the {self._max_bytes}-byte cap"
                    )
                chunks.append(chunk)
        except requests.Timeout as error:
            raise FetchFailed(url, "network:read-timeout", f"fetch failed: {error}") from error
        except requests.RequestException as error:
            raise FetchFailed(url, "network:error", f"fetch failed: {error}") from error
        return b"".join(chunks)


def _canonical(url: str, base: str | None = None) -> str:
    try:
        return canonicalize_url(url, base=base)
    except UrlError as error:
        raise FetchRefused(url, error.reason, error.message) from error
