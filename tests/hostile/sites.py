"""A hostile website on 127.0.0.1: every path is an attack on the crawler, and the server counts connections.

Routes are plain functions that write the whole answer themselves (status line, headers, body), so a route can
lie about its length, redirect to itself, drip bytes or serve HTML as an image. Nothing here talks to any other
address.
"""

from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

    Answer = Callable[[BaseHTTPRequestHandler], None]

# A dripping route stops after this long whatever happens, so the server never outlives its test for long.
DRIP_LIMIT_SECONDS = 10.0


def respond(handler: BaseHTTPRequestHandler, body: bytes, content_type: str, status: int = 200) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def static(body: bytes, content_type: str, status: int = 200) -> Answer:
    return lambda handler: respond(handler, body, content_type, status)


def declared_length(content_type: str, length: int) -> Answer:
    """Headers declaring ``length`` bytes, then a few bytes and a hang-up (a 2 GB file that never comes)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(length))
        handler.end_headers()
        handler.wfile.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 1024)

    return answer


def redirect(location: str, status: int = 302) -> Answer:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def drip(content_type: str, interval: float) -> Answer:
    """Headers at once, then one byte every ``interval`` seconds, without end (a slow-drip server)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.end_headers()
        handler.wfile.flush()
        ends = time.monotonic() + DRIP_LIMIT_SECONDS
        while time.monotonic() < ends:
            handler.wfile.write(b"<")
            handler.wfile.flush()
            time.sleep(interval)

    return answer


class HostileSite:
    """A threaded HTTP server on 127.0.0.1; ``hits`` counts requests per path, ``connections`` every accept."""

    def __init__(self, routes: dict[str, Answer] | None = None) -> None:
        self.routes: dict[str, Answer] = dict(routes or {})
        self.hits: dict[str, int] = {}
        self.connections = 0
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with site._lock:
                    site.hits[self.path] = site.hits.get(self.path, 0) + 1
                answer = site.routes.get(self.path) or static(b"not found", "text/plain", 404)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    answer(self)

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        class CountingServer(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[socket.socket, object]:
                accepted = super().get_request()
                with site._lock:
                    site.connections += 1
                return accepted

        self.server = CountingServer(("127.0.0.1", 0), Handler)
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

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> HostileSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
