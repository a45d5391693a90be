"""An RDAP client: who handles abuse for an IP address (its network's abuse contact) and for a domain (its
registrar's abuse contact).

Where to ask is configuration (:class:`RdapConfig`): base URLs for IP lookups, tried in order, and a base
URL per top-level domain with an optional default. A deployment fills these from the IANA bootstrap files
or points them at a bootstrap redirector; nothing here downloads bootstrap data. The registries redirect
(an RIR answers 302 to the RIR that holds the range): redirects are followed under the fetcher's rules.
Answers are cached in memory for ``cache_ttl_seconds``; timeouts, size caps and address checks are the
fetcher's (:func:`make_rdap_fetcher` builds a suitable :class:`~takedown.crawl.fetch.SafeFetcher`).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, TypeVar

from takedown.crawl.errors import CrawlError
from takedown.crawl.fetch import SafeFetcher
from takedown.crawl.urls import UrlError, canonicalize_url
from takedown.recipients.domains import HostNameError, is_ip_address, normalise_host, registered_domain
from takedown.recipients.rdap_json import (
    DomainRegistration,
    IpNetwork,
    RdapContact,
    RdapError,
    RdapNotFound,
    clean_text,
    parse_domain,
    parse_ip_network,
)
from takedown.recipients.ttl_cache import TtlCache

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from takedown.recipients.fetching import PageFetcher

__all__ = [
    "DomainRegistration",
    "IpNetwork",
    "RdapClient",
    "RdapConfig",
    "RdapConfigError",
    "RdapContact",
    "RdapError",
    "RdapNotFound",
    "make_rdap_fetcher",
]

RdapAnswer = IpNetwork | DomainRegistration
_Answer = TypeVar("_Answer", IpNetwork, DomainRegistration)

# Registrations with nothing to look up: RDAP servers answer 404 or an error for these.
_UNREGISTERED_NETWORKS: Final = tuple(
    ipaddress.ip_network(text)
    for text in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


class RdapConfigError(ValueError):
    """An :class:`RdapConfig` with a base URL or top-level domain that cannot be used."""


def _base_url(url: str) -> str:
    try:
        canonical = canonicalize_url(url)
    except UrlError as error:
        raise RdapConfigError(f"RDAP base URL refused: {error}") from error
    if "?" in canonical:
        raise RdapConfigError(f"an RDAP base URL has no query: {url[:200]!r}")
    return canonical if canonical.endswith("/") else canonical + "/"


@dataclass(frozen=True)
class RdapConfig:
    """Where RDAP questions go.

    Parameters
    ----------
    ip_base_urls
        Base URLs for ``ip/<address>`` lookups, tried in order until one knows the address.
    domain_base_urls
        Top-level domain (``"com"``, ``"kr"``, ``"xn--3e0b707e"`` or its Unicode form) -> base URL for
        ``domain/<name>`` lookups.
    default_domain_base_url
        The base URL for top-level domains not in ``domain_base_urls`` ("" for none).
    cache_ttl_seconds
        How long answers are kept.

    Examples
    --------
    >>> config = RdapConfig(["https://rdap.example/"], {"COM": "https://rdap.example/com"})
    >>> config.domain_base_url("com"), config.domain_base_url("org")
    ('https://rdap.example/com/', '')
    """

    ip_base_urls: Sequence[str]
    domain_base_urls: Mapping[str, str] = field(default_factory=dict)
    default_domain_base_url: str = ""
    cache_ttl_seconds: float = 6 * 3600

    def __post_init__(self) -> None:
        domain_urls: dict[str, str] = {}
        for tld, url in self.domain_base_urls.items():
            try:
                key = normalise_host(tld)
            except HostNameError as error:
                raise RdapConfigError(f"not a top-level domain: {tld[:80]!r}") from error
            if "." in key or is_ip_address(key):
                raise RdapConfigError(f"not a top-level domain: {tld[:80]!r}")
            domain_urls[key] = _base_url(url)
        object.__setattr__(self, "ip_base_urls", tuple(_base_url(url) for url in self.ip_base_urls))
        object.__setattr__(self, "domain_base_urls", domain_urls)
        if self.default_domain_base_url:
            object.__setattr__(self, "default_domain_base_url", _base_url(self.default_domain_base_url))
        if not self.cache_ttl_seconds > 0:
            raise RdapConfigError("cache_ttl_seconds must be > 0")

    def domain_base_url(self, tld: str) -> str:
        """The base URL for domains under ``tld``, or "" when none is configured."""
        return self.domain_base_urls.get(tld.lower(), self.default_domain_base_url)


def make_rdap_fetcher(
    *, deadline_seconds: float = 10, max_bytes: int = 1024 * 1024, allow_private: bool = False
) -> SafeFetcher:
    """A :class:`SafeFetcher` sized for RDAP: small answers, a short deadline, and room for the redirect
    from a bootstrap service or one registry to the registry that holds the data (3 hops at most)."""
    return SafeFetcher(
        allow_private=allow_private,
        connect_timeout=min(5.0, deadline_seconds),
        read_timeout=min(10.0, deadline_seconds),
        deadline_seconds=deadline_seconds,
        max_bytes=max_bytes,
        max_redirects=3,
    )


class RdapClient:
    """Looks up IP networks and domain registrations over RDAP, with a cache.

    Parameters
    ----------
    config
        Where to ask.
    fetcher
        Anything with ``fetch(url) -> FetchResult``: a :class:`SafeFetcher` (see :func:`make_rdap_fetcher`)
        or a :class:`~takedown.recipients.fetching.SessionFetcher`.
    cache
        A cache to share between clients (or to inspect in tests); by default a new one with the
        configuration's time to live.

    Examples
    --------
    >>> client = RdapClient(RdapConfig(["https://rdap.example/"]), make_rdap_fetcher())
    >>> client.lookup_ip("127.0.0.1")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    takedown.recipients.rdap_json.RdapError: ... [rdap:bad-query]
    """

    def __init__(
        self,
        config: RdapConfig,
        fetcher: PageFetcher,
        *,
        cache: TtlCache[tuple[str, str], RdapAnswer] | None = None,
    ) -> None:
        self.config = config
        self._fetcher = fetcher
        self._cache: TtlCache[tuple[str, str], RdapAnswer] = (
            cache if cache is not None else TtlCache(ttl_seconds=config.cache_ttl_seconds)
        )

    def lookup_ip(self, address: str) -> IpNetwork:
        """The network registered for ``address``, with its abuse contacts and country.

        Raises
        ------
        RdapError
            ``rdap:bad-query`` (not an address, or a private/loopback/link-local/multicast one that no
            registry holds), ``rdap:no-server``, ``rdap:not-found`` (:class:`RdapNotFound`),
            ``rdap:status:<n>``, ``rdap:not-json``, ``rdap:malformed``, ``rdap:mismatch``,
            ``rdap:fetch:<reason>``.
        """
        try:
            parsed = ipaddress.ip_address(address.strip())
        except ValueError as error:
            raise RdapError(address, "rdap:bad-query", "not an IP address") from error
        if any(parsed in network for network in _UNREGISTERED_NETWORKS):
            raise RdapError(address, "rdap:bad-query", "a private or special address has no registration")
        query = parsed.compressed
        if not self.config.ip_base_urls:
            raise RdapError(query, "rdap:no-server", "no RDAP base URL is configured for IP addresses")
        urls = [f"{base}ip/{query}" for base in self.config.ip_base_urls]
        return self._cached(
            ("ip", query),
            IpNetwork,
            lambda: self._ask(
                query, urls, lambda body, url: parse_ip_network(body, address=query, source_url=url)
            ),
        )

    def lookup_domain(self, host: str) -> DomainRegistration:
        """The registration of the domain ``host`` belongs to (``www.shop.example.com`` -> ``example.com``).

        Raises
        ------
        RdapError
            ``rdap:bad-query`` (not a domain name, an IP address, or no registered domain under a known
            public suffix), ``rdap:no-server`` (no base URL for the top-level domain), and the lookup
            errors of :meth:`lookup_ip`.
        """
        try:
            name = normalise_host(host)
        except HostNameError as error:
            raise RdapError(host, "rdap:bad-query", str(error)) from error
        if is_ip_address(name):
            raise RdapError(name, "rdap:bad-query", "an IP address has no domain registration")
        domain = registered_domain(name)
        if not domain:
            raise RdapError(name, "rdap:bad-query", "no registered domain: the suffix is not a public one")
        tld = domain.rsplit(".", 1)[-1]
        base = self.config.domain_base_url(tld)
        if not base:
            raise RdapError(domain, "rdap:no-server", f"no RDAP base URL is configured for .{tld}")
        urls = [f"{base}domain/{domain}"]
        return self._cached(
            ("domain", domain),
            DomainRegistration,
            lambda: self._ask(
                domain, urls, lambda body, url: parse_domain(body, domain=domain, source_url=url)
            ),
        )

    def _cached(self, key: tuple[str, str], kind: type[_Answer], lookup: Callable[[], _Answer]) -> _Answer:
        hit = self._cache.get(key)
        if isinstance(hit, kind):
            return hit
        answer = lookup()
        self._cache.put(key, answer)
        return answer

    def _ask(self, query: str, urls: list[str], parse: Callable[[bytes, str], _Answer]) -> _Answer:
        """Ask each URL in turn; the first good answer wins, a 404 or a failure moves on to the next."""
        errors: list[RdapError] = []
        for url in urls:
            try:
                result = self._fetcher.fetch(url)
            except CrawlError as error:
                errors.append(RdapError(query, f"rdap:fetch:{error.reason}", f"{url}: {error.message}"))
                continue
            if result.status == 404:
                errors.append(RdapNotFound(query, "rdap:not-found", f"{url} does not know it"))
                continue
            if result.status != 200:
                title = clean_text(_error_title(result.body), 80)
                detail = f" ({title!r})" if title else ""
                errors.append(
                    RdapError(
                        query, f"rdap:status:{result.status}", f"{url} answered {result.status}{detail}"
                    )
                )
                continue
            try:
                return parse(result.body, result.final_url)
            except RdapError as error:
                errors.append(error)
        if all(isinstance(error, RdapNotFound) for error in errors):
            raise RdapNotFound(query, "rdap:not-found", "; ".join(error.message for error in errors))
        first = next(error for error in errors if not isinstance(error, RdapNotFound))
        if len(errors) == 1:
            raise first
        raise RdapError(query, first.reason, "; ".join(error.message for error in errors))


def _error_title(body: bytes) -> str:
    """The ``title`` of an RFC 9083 error answer, or ""; never raises."""
    try:
        document = json.loads(body[:4096])
    except (ValueError, RecursionError):
        return ""
    return (
        document.get("title", "")
        if isinstance(document, dict) and isinstance(document.get("title"), str)
        else ""
    )
