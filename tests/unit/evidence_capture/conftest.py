"""A loopback site that answers with exact bytes, and helpers to capture from it and take WARCs apart.

The site is a real HTTP server on 127.0.0.1 (OS-chosen port, daemon threads). Each route gives the status
line, the header lines as raw bytes (so a test can send octets that are not UTF-8) and the body, optionally
chunked. Nothing here talks to any other address.
"""

from __future__ import annotations

import gzip
import io
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image, ImageDraw
from warcio.archiveiterator import ArchiveIterator

from takedown.crawl.fetch import SafeFetcher
from takedown.evidence.warc import CapturedExchange, build_warc

if TYPE_CHECKING:
    from collections.abc import Iterator

CENTRE = "Example Hotline Centre"


@dataclass
class RawRoute:
    """One answer: ``head`` is the status line without CRLF, ``headers`` raw ``name: value`` lines."""

    body: bytes = b""
    head: bytes = b"HTTP/1.1 200 OK"
    headers: list[bytes] = field(default_factory=list)
    chunked: bool = False
    content_length: bool = True


class RawSite:
    """A real HTTP server on 127.0.0.1 answering each path with the bytes of its :class:`RawRoute`."""

    def __init__(self) -> None:
        self.routes: dict[str, RawRoute] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = site.routes.get(self.path, RawRoute(b"not found", head=b"HTTP/1.1 404 Not Found"))
                self.close_connection = True
                self.wfile.write(site.response_bytes(route))

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def serve(self, path: str, route: RawRoute) -> str:
        self.routes[path] = route
        return self.url(path)

    def redirect(self, path: str, location: str) -> str:
        return self.serve(
            path, RawRoute(head=b"HTTP/1.1 302 Found", headers=[b"Location: " + location.encode()])
        )

    @staticmethod
    def response_bytes(route: RawRoute) -> bytes:
        lines = [route.head, *route.headers, b"Connection: close"]
        if route.chunked:
            lines.append(b"Transfer-Encoding: chunked")
            size = 4096
            pieces = [route.body[start : start + size] for start in range(0, len(route.body), size)]
            body = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
        else:
            body = route.body
            if route.content_length:
                lines.append(b"Content-Length: %d" % len(body))
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[RawSite]:
    server = RawSite()
    yield server
    server.close()


@pytest.fixture
def fetcher() -> SafeFetcher:
    return SafeFetcher(allow_private=True, user_agent="takedown-test/1 (evidence capture)")


def gradient_png(width: int = 64, height: int = 48) -> bytes:
    """A synthetic PNG: a colour gradient with a rectangle on it."""
    image = Image.new("RGB", (width, height))
    image.putdata([(x * 4 % 256, y * 5 % 256, (x + y) % 256) for y in range(height) for x in range(width)])
    ImageDraw.Draw(image).rectangle((8, 8, 30, 20), fill=(10, 200, 40))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def page_html(image_url: str) -> bytes:
    return f'<!doctype html><title>synthetic page</title><img src="{image_url}">'.encode()


def capture(fetcher: SafeFetcher, *urls_and_roles: tuple[str, str]) -> tuple[list[CapturedExchange], bytes]:
    """Fetch each URL for real and build the WARC of those exchanges."""
    exchanges = [
        CapturedExchange.from_fetch(fetcher, fetcher.fetch(url), role) for url, role in urls_and_roles
    ]
    return exchanges, build_warc(exchanges, warcinfo={"operator": CENTRE})


@dataclass(frozen=True)
class ReadRecord:
    """A record as warcio reads it back: WARC fields, HTTP head (parsed) and content, fully loaded."""

    type: str
    warc: dict[str, str]
    http: Any  # warcio StatusAndHeaders or None
    content: bytes


def read_warc(warc: bytes) -> list[ReadRecord]:
    records = []
    for record in ArchiveIterator(io.BytesIO(warc)):
        records.append(
            ReadRecord(
                type=record.rec_type,
                warc=dict(record.rec_headers.headers),
                http=record.http_headers,
                content=record.raw_stream.read(),
            )
        )
    return records


def gzip_members(warc: bytes) -> list[bytes]:
    """The WARC's gzip members, one per record, as warcio's iterator finds their offsets."""
    iterator = ArchiveIterator(io.BytesIO(warc))
    members = []
    for _record in iterator:
        offset, length = iterator.get_record_offset(), iterator.get_record_length()
        members.append(warc[offset : offset + length])
    return members


def repack(warc: bytes, change: Any) -> bytes:
    """Decompress each record's member, apply ``change`` (bytes -> bytes) to each, and recompress per record."""
    return b"".join(gzip.compress(change(gzip.decompress(member))) for member in gzip_members(warc))
