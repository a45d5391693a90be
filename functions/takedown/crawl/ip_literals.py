"""Recognise IP address literals in URL hosts, including the odd IPv4 spellings.

Browsers, ``inet_aton`` and ``getaddrinfo`` all accept IPv4 addresses written as one decimal number
(``2130706433``), in octal (``0177.0.0.1``), in hex (``0x7f.1``) or with fewer than four parts (``127.1``).
An address guard that only understands dotted quads can be walked around with them, so both URL
canonicalisation and the SSRF guard parse hosts here.

The rules are the WHATWG URL Standard's IPv4 parser, which accepts the same spellings as ``inet_aton``
but, unlike glibc's ``inet_aton``, does not ignore trailing text after a space.
"""

from __future__ import annotations

import ipaddress
import string

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_HEX_DIGITS = frozenset(string.hexdigits)
_OCT_DIGITS = frozenset(string.octdigits)
_DEC_DIGITS = frozenset(string.digits)


class IpLiteralError(ValueError):
    """A host looks like an IP address but is not a valid one (``1.2.3.999``, ``0x7g.1``)."""


def _parse_ipv4_number(part: str) -> int | None:
    """One dot-separated part: decimal, ``0x`` hex or leading-zero octal; None if it is not a number."""
    digits, radix, allowed = part, 10, _DEC_DIGITS
    if part[:2].lower() == "0x":
        digits, radix, allowed = part[2:], 16, _HEX_DIGITS
    elif len(part) > 1 and part[0] == "0":
        digits, radix, allowed = part[1:], 8, _OCT_DIGITS
    if not part:
        return None
    if not digits:
        return 0
    if not set(digits) <= allowed:
        return None
    return int(digits, radix)


def _ends_in_a_number(parts: list[str]) -> bool:
    last = parts[-1]
    if last and set(last) <= _DEC_DIGITS:
        return True
    return last[:2].lower() == "0x" and set(last[2:]) <= _HEX_DIGITS


def parse_ipv4_loose(host: str) -> ipaddress.IPv4Address | None:
    """Parse an IPv4 address in any spelling ``inet_aton`` accepts; None when the host is a name.

    Parameters
    ----------
    host
        A URL host without brackets, e.g. ``"0x7f.1"`` or ``"example.com"``.

    Returns
    -------
    IPv4Address | None
        The address meant, or None when the host does not end in a number (so it is a domain name).

    Raises
    ------
    IpLiteralError
        When the host ends in a number but is not a valid IPv4 address.

    Examples
    --------
    >>> parse_ipv4_loose("0177.0.0.1"), parse_ipv4_loose("2130706433"), parse_ipv4_loose("0x7f.1")
    (IPv4Address('127.0.0.1'), IPv4Address('127.0.0.1'), IPv4Address('127.0.0.1'))
    >>> parse_ipv4_loose("example.com") is None
    True
    """
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # a trailing dot is allowed: "127.0.0.1."
    if not _ends_in_a_number(parts):
        return None
    if len(parts) > 4:
        raise IpLiteralError(f"{host!r} ends in a number but has more than four parts")
    numbers: list[int] = []
    for part in parts:
        number = _parse_ipv4_number(part)
        if number is None:
            raise IpLiteralError(f"{host!r} ends in a number but part {part!r} is not a number")
        numbers.append(number)
    if any(number > 255 for number in numbers[:-1]):
        raise IpLiteralError(f"{host!r}: a part before the last is above 255")
    if numbers[-1] >= 256 ** (5 - len(numbers)):
        raise IpLiteralError(f"{host!r}: the last part is too large for its position")
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number * 256 ** (3 - index)
    return ipaddress.IPv4Address(value)


def parse_ip_literal(host: str) -> IPAddress | None:
    """The IP address a URL host spells, or None when the host is a domain name.

    Accepts bracketed or bare IPv6 (``[::1]``, ``::1``) and every IPv4 spelling of
    :func:`parse_ipv4_loose`. IPv6 zone identifiers (``fe80::1%eth0``) are refused: a crawler has no
    business choosing a network interface.

    Raises
    ------
    IpLiteralError
        When the host is shaped like an address but is not a valid one.

    Examples
    --------
    >>> parse_ip_literal("[::ffff:127.0.0.1]")
    IPv6Address('::ffff:7f00:1')
    >>> parse_ip_literal("127.1")
    IPv4Address('127.0.0.1')
    """
    bracketed = host.startswith("[") and host.endswith("]")
    inner = host[1:-1] if bracketed else host
    if bracketed or ":" in inner:
        if "%" in inner:
            raise IpLiteralError(f"{host!r}: IPv6 zone identifiers are not allowed")
        try:
            return ipaddress.IPv6Address(inner)
        except ValueError as error:
            raise IpLiteralError(f"{host!r} is not a valid IPv6 address") from error
    return parse_ipv4_loose(inner)
