"""Keep a benchmark process on the machine: every connection and name lookup must stay on loopback.

The test suite gets this from pytest-socket; ``make bench`` runs outside pytest, so the crawl, pipeline and
load benchmarks install this guard in their worker processes before anything connects. A connection to
any other address, or a lookup of any name but ``localhost``, raises :class:`LoopbackOnlyError` instead
of leaving the machine (for instance if the recipient step tried to look up a site's contact page).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any, Final

_ORIGINAL_CONNECT: Final = socket.socket.connect
_ORIGINAL_CONNECT_EX: Final = socket.socket.connect_ex
_ORIGINAL_GETADDRINFO: Final = socket.getaddrinfo
_LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class LoopbackOnlyError(ConnectionError):
    """A benchmark tried to reach something that is not on loopback. ``reason``: ``address:not-loopback``."""

    def __init__(self, target: str) -> None:
        super().__init__(f"address:not-loopback: benchmarks talk to loopback only, not to {target!r}")
        self.reason = "address:not-loopback"
        self.target = target


def is_loopback_host(host: object) -> bool:
    """True for ``localhost`` and loopback IP literals (``127.0.0.0/8``, ``::1``), False otherwise.

    Examples
    --------
    >>> is_loopback_host("127.0.0.1"), is_loopback_host("::1"), is_loopback_host("localhost")
    (True, True, True)
    >>> is_loopback_host("10.0.0.1"), is_loopback_host("board.example")
    (False, False)
    """
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").lower().rstrip(".")
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _check_address(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # Unix sockets and the like never leave the machine
    host = address[0] if isinstance(address, tuple) and address else address
    if not is_loopback_host(host):
        raise LoopbackOnlyError(str(host))


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check_address(self, address)
    _ORIGINAL_CONNECT(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check_address(self, address)
    return _ORIGINAL_CONNECT_EX(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and not is_loopback_host(host):
        raise LoopbackOnlyError(str(host))
    return _ORIGINAL_GETADDRINFO(host, *args, **kwargs)


def install() -> None:
    """Refuse every non-loopback connection and name lookup in this process. Idempotent."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign, assignment]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign, assignment]
    socket.getaddrinfo = _guarded_getaddrinfo


def uninstall() -> None:
    """Lift the guard."""
    socket.socket.connect = _ORIGINAL_CONNECT  # type: ignore[method-assign]
    socket.socket.connect_ex = _ORIGINAL_CONNECT_EX  # type: ignore[method-assign]
    socket.getaddrinfo = _ORIGINAL_GETADDRINFO
