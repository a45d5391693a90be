"""The address guard: the crawler never connects to internal, cloud-metadata or otherwise special addresses.

Crawled pages choose the URLs we fetch, so a page (or a redirect, or a DNS answer) can point the crawler
at the Lambda's own network: the instance metadata service, VPC endpoints, loopback. Every address a
fetch would connect to passes :func:`check_address` first, and :func:`resolve_and_check` refuses a host
if ANY of its addresses is refused (a mixed answer is how DNS rebinding attacks start).

``allow_private`` exists for tests and the local demo that crawl 127.0.0.1: it lets loopback and
RFC 1918 / unique-local addresses through, and nothing else. The metadata addresses are never allowed.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Final

from takedown.crawl.ip_literals import IPAddress, IpLiteralError, parse_ip_literal

# AWS instance metadata (IMDS over IPv4 and IPv6); also ECS task metadata / EKS pod identity agents.
_METADATA_ADDRESSES: Final = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("169.254.170.2"),
        ipaddress.ip_address("169.254.170.23"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("fd00:ec2::23"),
    }
)
_PRIVATE_NETWORKS: Final = (
    ipaddress.ip_network("10.0.0.0/8"),
    ipaddress.ip_network("172.16.0.0/12"),
    ipaddress.ip_network("192.168.0.0/16"),
    ipaddress.ip_network("fc00::/7"),
)
_SHARED_ADDRESS_SPACE: Final = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
_THIS_NETWORK: Final = ipaddress.ip_network("0.0.0.0/8")  # Linux connects 0.x.x.x to the local host
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(Exception):
    """The address guard refused an address.

    Attributes
    ----------
    reason
        ``address:<category>``: metadata, unspecified, loopback, private, link-local, multicast, shared,
        reserved, non-global, invalid.
    address
        The address (or host text) refused.
    """

    def __init__(self, address: str, reason: str, message: str) -> None:
        self.address = address
        self.reason = reason
        super().__init__(f"{message}: {address}")


class ResolutionError(Exception):
    """A host name did not resolve to any address (a network problem, not a policy refusal)."""

    def __init__(self, host: str, message: str) -> None:
        self.host = host
        self.reason = "network:dns"
        super().__init__(f"{message}: {host}")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4 or NAT64), which is what it reaches."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _category(ip: IPAddress) -> str:
    """The first special-purpose category an address falls in, or "" for a global unicast address."""
    checks: tuple[tuple[str, bool], ...] = (
        ("metadata", ip in _METADATA_ADDRESSES),
        ("unspecified", ip.is_unspecified or (ip.version == 4 and ip in _THIS_NETWORK)),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("shared", ip.version == 4 and ip in _SHARED_ADDRESS_SPACE),
        ("private", any(ip.version == net.version and ip in net for net in _PRIVATE_NETWORKS)),
        ("reserved", ip.is_reserved),
        ("non-global", not ip.is_global),
    )
    return next((name for name, matched in checks if matched), "")


def check_address(ip: IPAddress, *, allow_private: bool) -> None:
    """Refuse an address the crawler must not connect to.

    Parameters
    ----------
    ip
        The address a connection would go to.
    allow_private
        Let loopback and private (RFC 1918, fc00::/7) addresses through; tests and the local demo only.
        Metadata, link-local, multicast, CGNAT, reserved and unspecified addresses stay refused.

    Raises
    ------
    AddressRefused
        With ``reason`` ``address:<category>``.

    Examples
    --------
    >>> check_address(ipaddress.ip_address("127.0.0.1"), allow_private=True)
    >>> try:
    ...     check_address(ipaddress.ip_address("169.254.169.254"), allow_private=True)
    ... except AddressRefused as refused:
    ...     print(refused.reason)
    address:metadata
    """
    if ip.version == 6:
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            try:
                check_address(embedded, allow_private=allow_private)
            except AddressRefused as refused:
                raise AddressRefused(
                    str(ip), refused.reason, f"refused {ip} (it reaches {embedded})"
                ) from None
            return
    category = _category(ip)
    if not category:
        return
    if allow_private and category in ("loopback", "private"):
        return
    raise AddressRefused(str(ip), f"address:{category}", f"refused {category} address")


def resolve_and_check(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """Resolve a host and check every address it resolves to.

    IP literals in any spelling (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``[::1]``) are read as the
    address they mean without any DNS query. Names are resolved once with ``getaddrinfo``; connect to
    the returned addresses, never re-resolve the name (a second answer could be a different address).

    Parameters
    ----------
    host
        A host name or IP literal (brackets optional for IPv6).
    port
        The port, passed to ``getaddrinfo``.
    allow_private
        See :func:`check_address`.

    Returns
    -------
    list[IPv4Address | IPv6Address]
        Every address of the host, deduplicated, in resolver order.

    Raises
    ------
    AddressRefused
        When any address is refused, or the host is a malformed IP literal.
    ResolutionError
        When the name does not resolve.
    """
    try:
        literal = parse_ip_literal(host)
    except IpLiteralError as error:
        raise AddressRefused(host, "address:invalid", str(error)) from error
    if literal is not None:
        check_address(literal, allow_private=allow_private)
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise ResolutionError(host, f"could not resolve ({error})") from error
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]))
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ResolutionError(host, "no addresses")
    for address in addresses:
        check_address(address, allow_private=allow_private)
    return addresses
