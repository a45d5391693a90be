"""Loopback servers for the recipient-discovery tests: a website and RDAP servers, real HTTP on 127.0.0.1.

Nothing here talks to any other address. RDAP answers are built by the helpers below in the shape of
RFC 9083 (ARIN-style nesting for IP networks, the ICANN profile's registrar/abuse nesting for domains).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from takedown.crawl.errors import FetchRefused
from takedown.crawl.fetch import SafeFetcher

if TYPE_CHECKING:
    from collections.abc import Iterator

    from takedown.crawl.fetch import FetchResult

_HOLD_LIMIT_SECONDS = 10.0  # a held answer never outlives its test for long


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hold: bool = False  # wait (until the test ends) before answering: a slow server


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 answering a dict of path -> :class:`Route`; counts requests."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.accept_headers: list[str] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits[self.path] += 1
                server.accept_headers.append(self.headers.get("Accept", ""))
                route = server.routes.get(self.path, Route(status=404, body=b'{"errorCode": 404}'))
                if route.hold:
                    server.release.wait(_HOLD_LIMIT_SECONDS)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(route.status)
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    self.wfile.write(route.body)

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def serve(
        self, path: str, body: bytes | str, *, status: int = 200, content_type: str = "", hold: bool = False
    ) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        headers = {"Content-Type": content_type} if content_type else {}
        self.routes[path] = Route(status=status, body=data, headers=headers, hold=hold)
        return self.url(path)

    def serve_json(self, path: str, document: Any, *, status: int = 200) -> str:
        return self.serve(path, json.dumps(document), status=status, content_type="application/rdap+json")

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.routes[path] = Route(status=status, headers={"Location": location})
        return self.url(path)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def rdap_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.close()


@pytest.fixture
def website() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.close()


@pytest.fixture
def loopback_fetcher() -> SafeFetcher:
    """The crawler's SafeFetcher, allowed to reach 127.0.0.1, with a short deadline for slow servers."""
    return SafeFetcher(allow_private=True, deadline_seconds=2, max_bytes=512 * 1024)


class RefusingFetcher:
    """A fetcher for tests whose page is on a name that must not be fetched: records and refuses."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def fetch(self, url: str) -> FetchResult:
        self.asked.append(url)
        raise FetchRefused(url, "address:test", "this test fetches nothing")


def vcard(*properties: list[Any]) -> list[Any]:
    return ["vcard", [["version", {}, "text", "4.0"], *properties]]


def abuse_entity(email: str, handle: str = "ABUSE-1") -> dict[str, Any]:
    return {
        "objectClassName": "entity",
        "handle": handle,
        "roles": ["abuse"],
        "vcardArray": vcard(["fn", {}, "text", "Abuse Desk"], ["email", {}, "text", email]),
    }


def ip_network(
    *,
    start: str,
    end: str,
    handle: str = "NET-198-51-100-0-1",
    name: str = "EXAMPLE-HOSTING-NET",
    country: str = "KR",
    entities: list[Any] | None = None,
) -> dict[str, Any]:
    return {
        "rdapConformance": ["rdap_level_0"],
        "objectClassName": "ip network",
        "handle": handle,
        "startAddress": start,
        "endAddress": end,
        "ipVersion": "v6" if ":" in start else "v4",
        "name": name,
        "type": "ASSIGNED",
        "country": country,
        "entities": entities if entities is not None else [],
    }


def hosting_org(*children: dict[str, Any], name: str = "Example Hosting Co.") -> dict[str, Any]:
    """A registrant organisation with its contacts nested inside, the way ARIN answers."""
    return {
        "objectClassName": "entity",
        "handle": "EXHOST",
        "roles": ["registrant"],
        "vcardArray": vcard(["fn", {}, "text", name], ["kind", {}, "text", "org"]),
        "entities": list(children),
    }


def domain_answer(ldh_name: str, *, registrar_children: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "rdapConformance": ["rdap_level_0", "icann_rdap_response_profile_1"],
        "objectClassName": "domain",
        "ldhName": ldh_name,
        "status": ["client transfer prohibited"],
        "entities": [
            {
                "objectClassName": "entity",
                "handle": "9999",
                "roles": ["registrar"],
                "publicIds": [{"type": "IANA Registrar ID", "identifier": "9999"}],
                "vcardArray": vcard(["fn", {}, "text", "Example Registrar, Inc."]),
                "entities": registrar_children,
            },
            {
                "objectClassName": "entity",
                "roles": ["registrant"],
                "remarks": [{"title": "REDACTED FOR PRIVACY"}],
            },
        ],
    }
