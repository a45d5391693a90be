"""Hostile pages through the crawl worker on the local stack: one SQS batch of attacks, each message ending in a
recorded refusal or in media stored (and then hashed), none failing its batch, none reaching anyone by mail.

Fetcher- and extractor-level tests of the same rules are in ``tests/unit/crawl/test_fetch.py``,
``test_ssrf.py``, ``test_html_media.py`` and ``test_crawl_step.py``; here the pages arrive as queue messages.
"""

from __future__ import annotations

import json
import socket
from typing import TYPE_CHECKING, Any

import pytest

from takedown.aws.crawl_state import CrawlState
from takedown.crawl.crawl_step import PageTask, crawl_page, fetcher_for_source
from takedown.crawl.sources import Source
from takedown.local.mailbox import sent_mail
from tests.hostile.corpus import encode, scene
from tests.hostile.sites import HostileSite, declared_length, drip, redirect, static

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from takedown.local.environment import LocalEnvironment

TWO_GIB = 2 * 1024**3
DEEP_NESTING = 50_000
MANY_LINKS = 100_000  # 3 MB of anchors; the extractor keeps the first 5000 (1,000,000: test_hostile_pages_at_extraction)
PICTURE = encode(scene(41, (200, 150)), "PNG")
PHOTO = encode(scene(42, (200, 150)), "JPEG", quality=85)


def hostile_routes(site_port: int) -> dict[str, Any]:
    deep = ("<div>" * DEEP_NESTING + '<img src="/deep.png">' + "</div>" * DEEP_NESTING).encode()
    links = "".join(f'<a href="/l/{n}">{n}</a>' for n in range(MANY_LINKS)).encode()
    wrong_types = (
        b'<html><body><img src="/fake.png"><img src="/photo.bin"><img src="/huge.png"></body></html>'
    )
    metadata_forms = [
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://0251.0376.0251.0376/latest/",  # octal
        "http://0xa9fea9fe/latest/",  # hex
        "http://2852039166/latest/",  # decimal
        "http://[::ffff:169.254.169.254]/latest/",  # IPv4-mapped IPv6
        "http://[fd00:ec2::254]/latest/",  # IMDS over IPv6
        f"http://0.0.0.0:{site_port}/x.png",
        "http://100.64.0.1/x.png",
        "http://224.0.0.1/x.png",
        "/to-metadata.png",  # a redirect to the metadata service
    ]
    ssrf_page = "".join(f'<img src="{url}">' for url in metadata_forms).encode()
    return {
        "/2gb": declared_length("image/png", TWO_GIB),
        "/huge.png": declared_length("image/png", TWO_GIB),
        "/loop": redirect("/loop"),
        "/html-as-image": static(b"<html><body>not a picture</body></html>", "image/png"),
        "/image-as-html": static(PICTURE, "text/html; charset=utf-8"),
        "/wrong-types": static(wrong_types, "text/html"),
        "/fake.png": static(b"<html>a page pretending to be a PNG</html>", "image/png"),
        "/photo.bin": static(PHOTO, "application/octet-stream"),
        "/deep": static(deep, "text/html"),
        "/deep.png": static(PICTURE, "image/png"),
        "/links": static(links, "text/html"),
        "/ssrf-page": static(ssrf_page, "text/html"),
        "/to-metadata.png": redirect("http://169.254.169.254/latest/meta-data/"),
    }


def SPECIAL_MEDIA_URLS(site_port: int) -> dict[str, str]:
    """The canonical URL each special-address spelling on ``/ssrf-page`` comes to, and its refusal reason."""
    return {
        "http://169.254.169.254/latest/meta-data/iam/": "address:metadata",
        "http://169.254.169.254/latest/": "address:metadata",  # the octal, hex and decimal spellings
        "http://[::ffff:a9fe:a9fe]/latest/": "address:metadata",
        "http://[fd00:ec2::254]/latest/": "address:metadata",
        f"http://0.0.0.0:{site_port}/x.png": "address:unspecified",
        "http://100.64.0.1/x.png": "address:shared",
        "http://224.0.0.1/x.png": "address:multicast",
    }


@pytest.fixture
def site() -> Iterator[HostileSite]:
    with HostileSite() as server:
        server.routes.update(hostile_routes(server.port))
        yield server


def deploy_sources(local: LocalEnvironment, tmp_path: Path, sources: list[dict[str, Any]]) -> None:
    path = tmp_path / "sources.json"
    path.write_text(json.dumps({"version": 1, "sources": sources}), encoding="utf-8")
    assert local.stack is not None
    local.stack.deploy_sources(path)


def loopback_source(source_id: str, *, allow_private: bool, hosts: list[str]) -> dict[str, Any]:
    return {
        "id": source_id,
        "kind": "community",
        "seeds": [f"http://{hosts[0]}/"],
        "allowed_hosts": hosts,
        "depth": 0,  # each hostile page is its own seed: nothing it links to is queued
        "requests_per_second": 50.0,
        "allow_private_addresses": allow_private,
    }


def batch(source_id: str, urls: list[str]) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": f"m{n}", "body": json.dumps({"source_id": source_id, "url": url, "depth": 0})}
            for n, url in enumerate(urls)
        ]
    }


def refusals_by_url(local: LocalEnvironment, source_id: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for refusal in CrawlState(local.settings().crawl_table).refusals(source_id):
        found.setdefault(refusal["url"], set()).add(refusal["reason"])
    return found


def stored_media(local: LocalEnvironment) -> dict[str, tuple[str, str]]:
    """media URL -> (outcome, media type) of every media file the hashing stage saw."""
    return {
        o["media_url"]: (o["outcome"], o["media_type"])
        for o in CrawlState(local.settings().crawl_table).media_outcomes()
    }


def test_one_batch_of_hostile_pages_ends_in_recorded_refusals_and_stored_media(
    local: LocalEnvironment, tmp_path: Path, site: HostileSite
) -> None:
    # GIVEN a loopback source (private addresses allowed: it is our own test site) and a batch of attacks
    deploy_sources(local, tmp_path, [loopback_source("hostile", allow_private=True, hosts=["127.0.0.1"])])
    pages = [
        "/2gb",
        "/loop",
        "/html-as-image",
        "/image-as-html",
        "/wrong-types",
        "/deep",
        "/links",
        "/ssrf-page",
    ]
    # WHEN the crawl worker gets them as one SQS batch
    result = local.invoke("handle_crawl_page", batch("hostile", [site.url(p) for p in pages]))
    # THEN no message failed the batch
    assert result == {"batchItemFailures": []}
    # AND each refusal is recorded with its URL and reason
    refused = refusals_by_url(local, "hostile")
    assert refused[site.url("/2gb")] == {"size:exceeded"}
    assert refused[site.url("/huge.png")] == {"size:exceeded"}
    assert refused[site.url("/loop")] == {"redirects:too-many"}
    assert refused[site.url("/html-as-image")] == {"type:not-html"}
    assert refused[site.url("/fake.png")] == {"type:not-media"}
    assert refused[site.url("/links")] == {"extract:truncated"}
    # AND the media served under the wrong type are stored by what their bytes are, and hashed (no match)
    media = stored_media(local)
    assert media[site.url("/image-as-html")] == ("NO_MATCH", "image/png")
    assert media[site.url("/photo.bin")] == ("NO_MATCH", "image/jpeg")
    assert media[site.url("/deep.png")] == ("NO_MATCH", "image/png")
    # AND media pointing at the metadata service or other special addresses, in any spelling, were refused by
    # category (even for a source allowed to reach private addresses), the redirect to it included
    assert refused[site.url("/to-metadata.png")] == {"address:metadata"}
    assert {url: refused[url] for url in SPECIAL_MEDIA_URLS(site.port)} == {
        url: {reason} for url, reason in SPECIAL_MEDIA_URLS(site.port).items()
    }
    # AND the redirect loop was cut after five redirects
    assert site.hits["/loop"] == 6  # the first request and five redirects
    assert local.executions() == [] and sent_mail() == []


def test_internal_addresses_in_any_spelling_are_refused_before_any_connection(
    local: LocalEnvironment,
    tmp_path: Path,
    site: HostileSite,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN every connection this process makes is recorded, and a name whose DNS answer mixes a public and
    # a private address
    connected: list[Any] = []
    real_connect = socket.socket.connect

    def recording_connect(self: socket.socket, address: Any) -> None:
        connected.append(address)
        real_connect(self, address)

    real_getaddrinfo = socket.getaddrinfo

    def rebinding_dns(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
            ]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    # AND a public source (private addresses NOT allowed) whose allowed hosts an attacker filled with internal ones
    port = site.port
    targets = {
        f"http://127.0.0.1:{port}/": "address:loopback",
        f"http://2130706433:{port}/": "address:loopback",  # decimal
        f"http://0177.0.0.1:{port}/": "address:loopback",  # octal
        f"http://0x7f.0.0.1:{port}/": "address:loopback",  # hex
        f"http://127.1:{port}/": "address:loopback",  # short form
        f"http://[::1]:{port}/": "address:loopback",
        f"http://[::ffff:127.0.0.1]:{port}/": "address:loopback",
        f"http://localhost:{port}/": "address:loopback",  # a name that resolves to loopback
        "http://169.254.169.254/latest/meta-data/": "address:metadata",
        "http://10.0.0.1/": "address:private",
        "http://192.168.1.20/": "address:private",
        "http://rebind.example/": "address:private",  # one private address in the answer is enough
    }
    hosts = [
        "127.0.0.1",
        "[::1]",
        "[::ffff:7f00:1]",
        "localhost",
        "169.254.169.254",
        "10.0.0.1",
        "192.168.1.20",
    ]
    deploy_sources(
        local, tmp_path, [loopback_source("public", allow_private=False, hosts=[*hosts, "rebind.example"])]
    )
    # WHEN the worker gets one message per target
    result = local.invoke("handle_crawl_page", batch("public", list(targets)))
    # THEN every target is refused with the category of address it reached, and nothing failed the batch
    assert result == {"batchItemFailures": []}
    refused = refusals_by_url(local, "public")
    canonical = {url: next(u for u in refused if _same_target(u, url)) for url in targets}
    assert {url: refused[canonical[url]] for url in targets} == {
        url: {reason} for url, reason in targets.items()
    }
    # AND the guard refused before any connect: no socket was opened to anything, the site saw nobody
    assert connected == []
    assert site.connections == 0


def _same_target(recorded: str, asked: str) -> bool:
    """Whether a recorded (canonical) URL is the one asked for in another spelling."""
    from takedown.crawl.urls import canonicalize_url

    return recorded == canonicalize_url(asked)


def test_a_slow_drip_page_ends_at_the_fetch_deadline_as_a_refusal(site: HostileSite) -> None:
    # GIVEN a page that sends one byte every 0.2 s forever, and a source fetcher with a 1.5 s deadline
    site.routes["/drip"] = drip("text/html", 0.2)
    source = Source.from_dict(loopback_source("drip", allow_private=True, hosts=["127.0.0.1"]))
    fetcher = fetcher_for_source(source, deadline_seconds=1.5)
    # WHEN the crawl step fetches it
    outcome = crawl_page(PageTask("drip", site.url("/drip"), 0), source, fetcher)
    # THEN it is given up at the deadline with a recorded reason, not a hung worker
    assert outcome.page is None
    assert [(r.url, r.reason) for r in outcome.refusals] == [(site.url("/drip"), "deadline")]
