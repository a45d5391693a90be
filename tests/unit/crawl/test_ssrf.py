"""The address guard and IP-literal parsing: every special-purpose address is refused before a connection."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import pytest

from takedown.crawl.ip_literals import IpLiteralError, parse_ip_literal, parse_ipv4_loose
from takedown.crawl.ssrf import AddressRefused, ResolutionError, check_address, resolve_and_check

if TYPE_CHECKING:
    from tests.unit.crawl.conftest import FakeDns


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "address:loopback"),
        ("127.255.0.9", "address:loopback"),
        ("::1", "address:loopback"),
        ("10.0.0.1", "address:private"),
        ("172.16.5.4", "address:private"),
        ("192.168.1.1", "address:private"),
        ("fd12:3456::1", "address:private"),
        ("169.254.169.254", "address:metadata"),
        ("fd00:ec2::254", "address:metadata"),
        ("169.254.10.10", "address:link-local"),
        ("fe80::1", "address:link-local"),
        ("224.0.0.1", "address:multicast"),
        ("ff02::1", "address:multicast"),
        ("100.64.0.1", "address:shared"),
        ("100.127.255.254", "address:shared"),
        ("0.0.0.0", "address:unspecified"),
        ("0.1.2.3", "address:unspecified"),
        ("::", "address:unspecified"),
        ("240.0.0.1", "address:reserved"),
        ("192.0.2.10", "address:non-global"),
        ("::ffff:127.0.0.1", "address:loopback"),
        ("::ffff:169.254.169.254", "address:metadata"),
        ("::ffff:10.1.1.1", "address:private"),
        ("64:ff9b::a9fe:a9fe", "address:metadata"),
        ("2002:a9fe:a9fe::", "address:metadata"),
    ],
)
def test_check_address_refuses_special_addresses(address: str, reason: str) -> None:
    # GIVEN an address in a special-purpose range
    ip = ipaddress.ip_address(address)
    # WHEN it is checked with private addresses not allowed
    with pytest.raises(AddressRefused) as raised:
        check_address(ip, allow_private=False)
    # THEN it is refused with the range's reason
    assert raised.value.reason == reason


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2001:4860:4860::8888", "::ffff:8.8.4.4"])
def test_check_address_allows_global_addresses(address: str) -> None:
    # GIVEN a global unicast address
    # WHEN it is checked
    # THEN nothing is raised
    check_address(ipaddress.ip_address(address), allow_private=False)


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "::1", "10.0.0.1", "192.168.0.7", "fd12::1", "::ffff:127.0.0.1"]
)
def test_allow_private_lets_only_loopback_and_private_through(address: str) -> None:
    # GIVEN a loopback or private address
    # WHEN it is checked with allow_private (tests and the local demo)
    # THEN it passes
    check_address(ipaddress.ip_address(address), allow_private=True)


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "fd00:ec2::254",
        "::ffff:169.254.169.254",
        "169.254.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
    ],
)
def test_allow_private_never_allows_metadata_or_other_ranges(address: str) -> None:
    # GIVEN metadata, link-local, CGNAT, unspecified or multicast addresses
    # WHEN checked with allow_private
    # THEN they are still refused
    with pytest.raises(AddressRefused):
        check_address(ipaddress.ip_address(address), allow_private=True)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0xA9.0xFE.0xA9.0xFE", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
        ("10.0.0.1.", "10.0.0.1"),
    ],
)
def test_parse_ipv4_loose_reads_every_inet_aton_spelling(host: str, expected: str) -> None:
    # GIVEN an IPv4 address in decimal, octal, hex or short form
    # WHEN it is parsed
    address = parse_ipv4_loose(host)
    # THEN it is the address inet_aton would connect to
    assert address == ipaddress.IPv4Address(expected)


@pytest.mark.parametrize(
    "host", ["1.2.3.256", "0x7g.1", "1.2.3.4.5", "256.1", "08.1.1.1", "[::1", "[fe80::1%eth0]"]
)
def test_parse_ip_literal_refuses_malformed_addresses(host: str) -> None:
    # GIVEN a host that looks like an address but is not a valid one
    # WHEN it is parsed
    # THEN a specific error says so (it is not mistaken for a host name)
    with pytest.raises(IpLiteralError):
        parse_ip_literal(host)


@pytest.mark.parametrize("host", ["example.com", "localhost", "1.2.3.example", "0x7f.example"])
def test_parse_ip_literal_leaves_names_alone(host: str) -> None:
    # GIVEN host names (some starting with digits)
    # WHEN parsed
    # THEN they are not addresses
    assert parse_ip_literal(host) is None


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "address:loopback"),
        ("10.0.0.1", "address:private"),
        ("169.254.169.254", "address:metadata"),
        ("[::1]", "address:loopback"),
        ("2130706433", "address:loopback"),
        ("0177.0.0.1", "address:loopback"),
        ("0x7f000001", "address:loopback"),
        ("localhost", "address:loopback"),
        ("1.2.3.999", "address:invalid"),
    ],
)
def test_resolve_and_check_refuses_literals_and_names(host: str, reason: str) -> None:
    # GIVEN a host that is or resolves to a refused address
    # WHEN it is resolved and checked
    with pytest.raises(AddressRefused) as raised:
        resolve_and_check(host, 80, allow_private=False)
    # THEN it is refused with the reason
    assert raised.value.reason == reason


def test_resolve_and_check_refuses_if_any_address_is_bad(fake_dns: FakeDns) -> None:
    # GIVEN a name whose DNS answer mixes a public and an internal address
    lookups = fake_dns.install({"mixed.test": ["8.8.8.8", "10.0.0.5"]})
    # WHEN it is resolved and checked
    with pytest.raises(AddressRefused) as raised:
        resolve_and_check("mixed.test", 80, allow_private=False)
    # THEN the internal address makes the whole host refused
    assert raised.value.reason == "address:private"
    assert lookups == ["mixed.test"]


def test_resolve_and_check_returns_every_checked_address(fake_dns: FakeDns) -> None:
    # GIVEN a name that resolves to global IPv4 and IPv6 addresses
    lookups = fake_dns.install({"public.test": ["93.184.216.34", "2001:4860:4860::8888"]})
    # WHEN resolved and checked
    addresses = resolve_and_check("public.test", 443, allow_private=False)
    # THEN every address comes back, from one lookup
    assert addresses == [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("2001:4860:4860::8888")]
    assert lookups == ["public.test"]


def test_resolve_and_check_reports_unresolvable_names(fake_dns: FakeDns) -> None:
    # GIVEN a name the resolver does not know
    fake_dns.install({})
    # WHEN resolved
    # THEN it is a resolution failure, not an address refusal
    with pytest.raises(ResolutionError) as raised:
        resolve_and_check("no-such-host.test", 80, allow_private=False)
    assert raised.value.reason == "network:dns"
