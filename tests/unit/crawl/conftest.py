"""Loopback servers for the crawl tests: a programmable HTTP site and a tiny SOCKS5 proxy.

Both are real servers on 127.0.0.1 with an OS-chosen port, run in daemon threads. Nothing here talks to
any other address.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import io
    from collections.abc import Iterator

# How long a dripping handler keeps going at most, so a test server never outlives its test for long.
_DRIP_LIMIT_SECONDS = 20.0


@dataclass
class Route:
    """What the site answers for one path.

    mode: "static" (Content-Length set unless given), "no-length" (body then close, no Content-Length),
    "drip-body" (headers, then one byte per ``drip_interval``), "drip-headers" (status line, then the
    headers one byte per ``drip_interval``).
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    mode: str = "static"
    drip_interval: float = 0.05


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]


class LoopbackSite:
    """A real HTTP server on 127.0.0.1 serving a dict of path -> :class:`Route`."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[RecordedRequest] = []
        self.stopping = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append(RecordedRequest(self.path, dict(self.headers.items())))
                route = site.routes.get(self.path, Route(status=404, body=b"not found"))
                # The client may hang up mid-answer, as the deadline tests make it do.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    site.answer(self, route)

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def serve(
        self, path: str, body: bytes = b"", *, status: int = 200, content_type: str = "", **options: object
    ) -> str:
        headers = dict(options.pop("headers", {}) or {})  # type: ignore[call-overload]
        if content_type:
            headers["Content-Type"] = content_type
        self.routes[path] = Route(status=status, headers=headers, body=body, **options)  # type: ignore[arg-type]
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.serve(path, status=status, headers={"Location": location})

    def answer(self, handler: BaseHTTPRequestHandler, route: Route) -> None:
        out = handler.wfile
        if route.mode == "drip-headers":
            out.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
            self._drip(out, route.drip_interval)
            return
        handler.send_response(route.status)
        for name, value in route.headers.items():
            handler.send_header(name, value)
        if route.mode == "static" and "Content-Length" not in route.headers:
            handler.send_header("Content-Length", str(len(route.body)))
        if route.mode == "drip-body":
            handler.send_header("Content-Length", "100000")
        handler.end_headers()
        if route.mode == "drip-body":
            self._drip(out, route.drip_interval)
            return
        for start in range(0, len(route.body), 4096):
            out.write(route.body[start : start + 4096])

    def _drip(self, out: io.BufferedIOBase, interval: float) -> None:
        stop_at = time.monotonic() + _DRIP_LIMIT_SECONDS
        while not self.stopping.is_set() and time.monotonic() < stop_at:
            out.write(b"x")
            out.flush()
            self.stopping.wait(interval)

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    server = LoopbackSite()
    yield server
    server.close()


def _recv_exact(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("client closed during the SOCKS handshake")
        data += chunk
    return data


class Socks5Proxy:
    """A minimal SOCKS5 server (no auth, CONNECT only) that records the destinations it is asked for.

    ``names`` maps a requested host name to the loopback (host, port) it really connects to; any other
    destination is answered with "host unreachable".
    """

    def __init__(self) -> None:
        self.names: dict[str, tuple[str, int]] = {}
        self.requested: list[tuple[int, str, int]] = []  # (address type, host, port)
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy.handle(self.request)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def handle(self, client: socket.socket) -> None:
        _version, method_count = _recv_exact(client, 2)
        _recv_exact(client, method_count)
        client.sendall(b"\x05\x00")  # no authentication
        _version, command, _reserved, address_type = _recv_exact(client, 4)
        if address_type == 0x03:
            host = _recv_exact(client, _recv_exact(client, 1)[0]).decode("ascii")
        elif address_type == 0x01:
            host = socket.inet_ntoa(_recv_exact(client, 4))
        else:
            host = socket.inet_ntop(socket.AF_INET6, _recv_exact(client, 16))
        port = int.from_bytes(_recv_exact(client, 2), "big")
        self.requested.append((address_type, host, port))
        target = self.names.get(host)
        if command != 0x01 or target is None:
            client.sendall(b"\x05\x04\x00\x01" + bytes(6))
            return
        with socket.create_connection(target, timeout=5) as upstream:
            client.sendall(b"\x05\x00\x00\x01" + bytes(6))
            self._relay(client, upstream)

    @staticmethod
    def _relay(client: socket.socket, upstream: socket.socket) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            while True:
                for key, _events in selector.select(timeout=10):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def socks_proxy() -> Iterator[Socks5Proxy]:
    proxy = Socks5Proxy()
    yield proxy
    proxy.close()


@pytest.fixture
def connect_attempts(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Records (and blocks) every outgoing socket connection, to prove a guard refused before connecting."""
    attempts: list[object] = []

    def refuse_connect(self: socket.socket, address: object) -> None:
        del self
        attempts.append(address)
        raise ConnectionRefusedError(f"test blocked a connection to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse_connect)
    return attempts


class FakeDns:
    """Installs a fake ``getaddrinfo`` with a fixed table and records every name looked up."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.lookups: list[str] = []

    def install(self, table: dict[str, list[str]], *, rebinding: bool = False) -> list[str]:
        """Answer names from ``table``: all addresses at once, or with ``rebinding`` one address per
        call, moving to the next on each call (a DNS rebinding attacker). ``.onion`` names and names not
        in the table fail (there is no real DNS in tests); IP literals and localhost go to the resolver.
        """
        real_getaddrinfo = socket.getaddrinfo
        calls: dict[str, int] = {}

        def answer(name: str, port: int) -> list[tuple[Any, ...]]:
            addresses = table[name]
            if rebinding:
                addresses = [addresses[min(calls.get(name, 0), len(addresses) - 1)]]
                calls[name] = calls.get(name, 0) + 1
            infos: list[tuple[Any, ...]] = []
            for address in addresses:
                if ":" in address:
                    infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
                else:
                    infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
            return infos

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
            name = host.decode() if isinstance(host, bytes) else str(host)
            self.lookups.append(name)
            if name.endswith(".onion"):
                raise socket.gaierror(socket.EAI_NONAME, "test: .onion names must never be resolved locally")
            if name in table:
                return answer(name, int(port or 0))
            if name == "localhost" or ":" in name or name.replace(".", "").isdigit():
                return real_getaddrinfo(host, port, *args, **kwargs)
            raise socket.gaierror(socket.EAI_NONAME, f"test: no real DNS for {name}")

        self.monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return self.lookups


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    return FakeDns(monkeypatch)


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Records every outgoing socket connection and lets it through."""
    log: list[object] = []
    original_connect = socket.socket.connect

    def recording_connect(self: socket.socket, address: Any) -> None:
        log.append(address)
        original_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    return log


def unused_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
