"""Fetch one URL without letting the page choose where the crawler connects, how long it waits or how much
it reads.

Rules, applied to the first request and to every redirect hop (redirects are followed here, by hand):

- only http and https;
- the host is resolved once and EVERY address is checked by :func:`takedown.crawl.ssrf.resolve_and_check`
  before any connection; the connection then goes to the checked address (the request still carries the
  original ``Host`` header, and https still sends SNI for and verifies the certificate against the host
  name), so a second DNS answer cannot rebind the fetch to an internal address;
- at most ``max_redirects`` redirects;
- the body streams with a ``max_bytes`` cap (a larger ``Content-Length`` is refused before reading);
- one deadline covers the whole fetch, all hops included: a watchdog shuts the socket down when it passes,
  so a server dripping one byte at a time cannot hold the worker.

With a ``socks5h://`` proxy (Tor for ``.onion`` sites) the proxy resolves names and makes the onward
connection: no local DNS lookup happens and no address check is possible for names. The proxy is then
the network boundary, and it must be one that cannot reach internal networks. IP-literal hosts are still
checked before they are handed to the proxy.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import certifi
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.ssl_match_hostname import CertificateError as HostnameMismatchError

from takedown.crawl.errors import CrawlError, FetchFailed, FetchRefused
from takedown.crawl.ip_literals import IpLiteralError, parse_ip_literal
from takedown.crawl.ssrf import AddressRefused, ResolutionError, check_address, resolve_and_check
from takedown.crawl.urls import UrlError, canonicalize_url, split_url
from takedown.model import iso_utc, utc_now

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator, Mapping

    from urllib3.response import HTTPResponse

    from takedown.crawl.ip_literals import IPAddress
    from takedown.crawl.urls import UrlParts

MiB: Final = 1024 * 1024
DEFAULT_USER_AGENT: Final = "takedown-crawler/0.1 (+abuse desk)"
REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_READ_CHUNK: Final = 64 * 1024


class FetcherConfigError(ValueError):
    """A :class:`SafeFetcher` was built with settings it cannot honour (e.g. a non-socks5h proxy)."""


@dataclass(frozen=True)
class FetchResult:
    """One completed fetch: the final response after redirects.

    ``requested_url`` is the canonical form of the URL asked for. ``headers`` has lowercase names, repeated headers joined with ", ". ``server_ip`` is the address
    connected to, or "" when a proxy made the connection. ``redirects`` lists each URL redirected to,
    in order, so ``final_url`` is its last entry when there were any.
    """

    requested_url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes = field(repr=False)  # never print media bytes
    server_ip: str
    fetched_at: str
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        """The Content-Type header, or ""."""
        return self.headers.get("content-type", "")


def _shutdown_socket(sock: socket.socket) -> None:
    # The plain socket shutdown, also for TLS sockets: it wakes a blocked read in another thread.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _DeadlineWatchdog:
    """Shuts down every socket of one fetch when the fetch's deadline passes."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if not self.fired:
                self._sockets.append(sock)
                return
        _shutdown_socket(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown_socket(sock)

    def cancel(self) -> None:
        self._timer.cancel()


class _WatchedHTTPConnection(HTTPConnection):
    """An urllib3 connection whose socket is handed to the fetch's deadline watchdog."""

    def __init__(self, *args: Any, watchdog: _DeadlineWatchdog, **kwargs: Any) -> None:
        self._watchdog = watchdog
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self._watchdog.watch(sock)
        return sock


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    pass


@functools.cache
def _socks_connection_classes() -> tuple[type[_WatchedHTTPConnection], type[_WatchedHTTPConnection]]:
    """The SOCKS connection classes, imported on first use: only proxied sources need PySocks."""
    try:
        from urllib3.contrib.socks import SOCKSConnection, SOCKSHTTPSConnection
    except ImportError as error:
        raise FetcherConfigError("a socks5h proxy needs PySocks (pip install 'requests[socks]')") from error

    class WatchedSocksConnection(_WatchedHTTPConnection, SOCKSConnection):
        pass

    class WatchedSocksHTTPSConnection(_WatchedHTTPConnection, SOCKSHTTPSConnection):
        pass

    return WatchedSocksConnection, WatchedSocksHTTPSConnection


def _socks_options(proxy: str) -> dict[str, Any]:
    parts = urlsplit(proxy)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "socks5h" or not parts.hostname or port is None:
        raise FetcherConfigError(
            "proxy must be 'socks5h://host:port' (socks5h makes the proxy resolve names; "
            "plain socks5 would resolve .onion names locally)"
        )
    _socks_connection_classes()  # fail now, not on the first fetch, if PySocks is missing
    import socks

    return {
        "socks_version": socks.PROXY_TYPE_SOCKS5,
        "proxy_host": parts.hostname,
        "proxy_port": port,
        "username": parts.username,
        "password": parts.password,
        "rdns": True,
    }


def _failure_reason(error: BaseException) -> str:
    """A short code for a network failure (order matters: NewConnectionError is a ConnectTimeoutError)."""
    reasons: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
        (NewConnectionError, "network:connect"),
        (ConnectTimeoutError, "network:connect-timeout"),
        ((ReadTimeoutError, TimeoutError), "network:read-timeout"),
        ((SSLError, ssl.SSLError, ssl.CertificateError, HostnameMismatchError), "network:tls"),
        ((ProtocolError, DecodeError, http.client.HTTPException), "network:protocol"),
        (ConnectionError, "network:reset"),
    )
    return next((reason for kinds, reason in reasons if isinstance(error, kinds)), "network:error")


@dataclass
class _OpenResponse:
    """A response whose headers have arrived and whose body is still on the connection."""

    connection: HTTPConnection
    response: HTTPResponse
    server_ip: str
    fetched_at: str

    def close(self) -> None:
        self.response.close()
        self.connection.close()


class SafeFetcher:
    """Fetches URLs under the crawler's network policy (see the module documentation).

    Parameters
    ----------
    allow_private
        Let loopback and private addresses through (tests, local demo). Metadata addresses stay refused.
    proxy
        "" or ``socks5h://host:port``; with a proxy, names are resolved by the proxy.
    connect_timeout, read_timeout
        Seconds for one connect and one socket read; both are also cut to what the deadline leaves.
    deadline_seconds
        Wall-clock limit for the whole fetch, redirects included.
    max_bytes
        The most body bytes (after content decoding) read from one response.
    max_redirects
        The most redirects followed.
    user_agent
        The User-Agent header.
    ca_certs
        A CA bundle file for https; defaults to certifi's.
    credential_headers, credential_hosts
        Headers (from the source's Secrets Manager secret) sent only to the listed hosts, never to a
        host a page or redirect points elsewhere.

    Examples
    --------
    >>> fetcher = SafeFetcher(deadline_seconds=10, max_bytes=5 * MiB)
    >>> fetcher.fetch("ftp://files.example/x")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    takedown.crawl.errors.FetchRefused: the scheme 'ftp' is not http or https [scheme:ftp] ftp://files.example/x
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        proxy: str = "",
        connect_timeout: float = 5,
        read_timeout: float = 10,
        deadline_seconds: float = 30,
        max_bytes: int = 50 * MiB,
        max_redirects: int = 5,
        user_agent: str = DEFAULT_USER_AGENT,
        ca_certs: str | None = None,
        credential_headers: Mapping[str, str] | None = None,
        credential_hosts: Collection[str] = (),
    ) -> None:
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("read_timeout", read_timeout),
            ("deadline_seconds", deadline_seconds),
            ("max_bytes", max_bytes),
        ):
            if not value > 0:
                raise FetcherConfigError(f"{name} must be > 0, got {value}")
        if max_redirects < 0:
            raise FetcherConfigError(f"max_redirects must be >= 0, got {max_redirects}")
        if credential_headers and any(name.lower() == "host" for name in credential_headers):
            raise FetcherConfigError("credential_headers must not set Host")
        self.allow_private = allow_private
        self.proxy = proxy
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.deadline_seconds = float(deadline_seconds)
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        self._ca_certs = ca_certs or certifi.where()
        self._credential_headers = dict(credential_headers or {})
        self._credential_hosts = frozenset(host.lower() for host in credential_hosts)
        self._socks = _socks_options(proxy) if proxy else None

    def __repr__(self) -> str:
        # Deliberately without credential headers.
        return (
            f"SafeFetcher(allow_private={self.allow_private}, proxy={self.proxy!r}, "
            f"deadline_seconds={self.deadline_seconds}, max_bytes={self.max_bytes})"
        )

    def fetch(self, url: str) -> FetchResult:
        """Fetch ``url``, following redirects under the policy.

        Returns
        -------
        FetchResult
            The final response, whatever its status (a 404 is a result, not an error).

        Raises
        ------
        FetchRefused
            Policy: ``scheme:<name>``, ``url:<problem>``, ``address:<category>``, ``redirects:too-many``,
            ``size:exceeded``, ``deadline``.
        FetchFailed
            Network: ``network:dns``, ``network:connect``, ``network:connect-timeout``,
            ``network:read-timeout``, ``network:tls``, ``network:protocol``, ``network:reset``.
        """
        deadline = time.monotonic() + self.deadline_seconds
        watchdog = _DeadlineWatchdog(self.deadline_seconds)
        try:
            return self._follow_redirects(url, deadline, watchdog)
        finally:
            watchdog.cancel()

    def _follow_redirects(self, url: str, deadline: float, watchdog: _DeadlineWatchdog) -> FetchResult:
        requested = current = _canonical_or_refuse(url)
        redirects: list[str] = []
        while True:
            opened = self._open(current, deadline, watchdog)
            location = opened.response.headers.get("location", "")
            if opened.response.status in REDIRECT_STATUSES and location:
                opened.close()
                if len(redirects) >= self.max_redirects:
                    raise FetchRefused(
                        current, "redirects:too-many", f"more than {self.max_redirects} redirects"
                    )
                current = _canonical_or_refuse(location, base=current)
                redirects.append(current)
                continue
            try:
                body = self._read_body(current, opened.response, deadline, watchdog)
            finally:
                opened.close()
            return FetchResult(
                requested_url=requested,
                final_url=current,
                status=opened.response.status,
                headers={name.lower(): value for name, value in opened.response.headers.itermerged()},
                body=body,
                server_ip=opened.server_ip,
                fetched_at=opened.fetched_at,
                redirects=redirects,
            )

    def _addresses(self, parts: UrlParts) -> list[IPAddress | None]:
        """Where to connect: checked addresses, or [None] when the proxy resolves the name."""
        try:
            if self._socks is None:
                return list(resolve_and_check(parts.host, parts.port, allow_private=self.allow_private))
            literal = parse_ip_literal(parts.host)
            if literal is not None:
                check_address(literal, allow_private=self.allow_private)
            return [None]
        except AddressRefused as refused:
            raise FetchRefused(parts.url, refused.reason, str(refused)) from refused
        except IpLiteralError as error:
            raise FetchRefused(parts.url, "address:invalid", str(error)) from error
        except ResolutionError as failed:
            raise FetchFailed(parts.url, failed.reason, str(failed)) from failed

    def _connection(
        self, parts: UrlParts, address: IPAddress | None, timeout: float, watchdog: _DeadlineWatchdog
    ) -> HTTPConnection:
        https = parts.scheme == "https"
        tls: dict[str, Any] = {}
        if https:
            tls = {
                "server_hostname": parts.host,
                "assert_hostname": parts.host,
                "cert_reqs": "CERT_REQUIRED",
                "ca_certs": self._ca_certs,
            }
        if self._socks is not None:
            plain_cls, tls_cls = _socks_connection_classes()
            # The proxy gets the name (socks5h): it resolves it, so no local lookup happens.
            options: dict[str, Any] = {"_socks_options": self._socks, **tls}
            return (tls_cls if https else plain_cls)(
                host=parts.host, port=parts.port, timeout=timeout, watchdog=watchdog, **options
            )
        connection_cls = _WatchedHTTPSConnection if https else _WatchedHTTPConnection
        # Connect to the checked address, not the name: no second lookup can change where we go.
        return connection_cls(host=str(address), port=parts.port, timeout=timeout, watchdog=watchdog, **tls)

    def _headers(self, parts: UrlParts) -> dict[str, str]:
        headers = {
            "Host": parts.host_header,
            "User-Agent": self.user_agent,
            "Accept": "*/*",
            "Accept-Encoding": "gzip, deflate",
            "Connection": "close",
        }
        if parts.host in self._credential_hosts:
            headers.update(self._credential_headers)
        return headers

    def _open(self, url: str, deadline: float, watchdog: _DeadlineWatchdog) -> _OpenResponse:
        parts = split_url(url)
        addresses = self._addresses(parts)
        failure: FetchFailed | None = None
        for address in addresses:
            connection = self._connection(
                parts, address, min(self.connect_timeout, _remaining(url, deadline)), watchdog
            )
            try:
                with _translate_errors(url, deadline, watchdog):
                    connection.connect()
            except FetchFailed as failed:
                # Try the host's next checked address (e.g. IPv6 first on a network without IPv6).
                connection.close()
                failure = failed
                continue
            try:
                with _translate_errors(url, deadline, watchdog):
                    connection.timeout = min(self.read_timeout, _remaining(url, deadline))
                    connection.request(
                        "GET", parts.target, headers=self._headers(parts), preload_content=False
                    )
                    response = connection.getresponse()
            except CrawlError:
                connection.close()
                raise
            return _OpenResponse(
                connection, response, "" if address is None else str(address), iso_utc(utc_now())
            )
        assert failure is not None  # addresses is never empty
        raise failure

    def _read_body(
        self, url: str, response: HTTPResponse, deadline: float, watchdog: _DeadlineWatchdog
    ) -> bytes:
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchRefused(
                url, "size:exceeded", f"Content-Length {declared} is above the {self.max_bytes}-byte cap"
            )
        chunks: list[bytes] = []
        total = 0
        with _translate_errors(url, deadline, watchdog):
            while True:
                _remaining(url, deadline)
                # read1 returns what has arrived instead of waiting for a full chunk.
                chunk = response.read1(_READ_CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if total > self.max_bytes:
                    raise FetchRefused(url, "size:exceeded", f"the body passed the {self.max_bytes}-byte cap")
                chunks.append(chunk)
        if watchdog.fired:
            # The watchdog's shutdown looks like a normal end of a body without Content-Length.
            raise FetchRefused(url, "deadline", "the fetch passed its deadline")
        return b"".join(chunks)


def _canonical_or_refuse(url: str, base: str | None = None) -> str:
    try:
        return canonicalize_url(url, base=base)
    except UrlError as error:
        raise FetchRefused(url, error.reason, error.message) from error


def _remaining(url: str, deadline: float) -> float:
    """Seconds left before the deadline; refuses once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchRefused(url, "deadline", "the fetch passed its deadline")
    return left


@contextlib.contextmanager
def _translate_errors(url: str, deadline: float, watchdog: _DeadlineWatchdog) -> Iterator[None]:
    """Turn library and socket errors into FetchFailed, or FetchRefused("deadline") if time ran out."""
    try:
        yield
    except CrawlError:
        raise
    # urllib3's hostname mismatch error is a ValueError, not an OSError.
    except (HTTPError, OSError, http.client.HTTPException, HostnameMismatchError) as error:
        if watchdog.fired or time.monotonic() >= deadline:
            raise FetchRefused(url, "deadline", "the fetch passed its deadline") from error
        raise FetchFailed(url, _failure_reason(error), f"fetch failed: {error}") from error
