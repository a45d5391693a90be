"""A generated community site of thousands of pages on 127.0.0.1, for the crawl benchmark.

Layout (every page is rendered on request from its path; nothing but the media pool is stored)::

    /                          index: one link per section
    /s/<section>/<n>           listing page n of a section: links to its posts, pagination (rel=next/prev,
                               in the head and in the page), a thumbnail strip on the first page
    /post/<section>/<n>/<i>    a post: zero to three media blocks, links to three related posts elsewhere
    /m/<name>.<ext>            media, served from a pool of synthetic pictures and two short videos
    /static/blank.gif          the placeholder lazy-loading pages use

Media blocks come in the ways real pages serve them: ``img src``, ``img srcset`` with two widths, lazy
``img data-src`` over a placeholder, ``picture`` with a WebP ``source`` and a JPEG ``img``, ``video`` with
a ``source`` and a ``poster``, ``og:image`` meta, and links straight at a media file. The media URLs are
unique per post, so each is fetched; their bytes come from a pool made once (pictures from
:func:`takedown.demo.synthetic.make_image`, videos from :func:`bench.corpus.render_video_mp4`), so serving
costs nothing but the copy. All pictures are harmless generated shapes, gradients and labels.

:class:`CrawlSiteServer` serves a site from a thread; :class:`CrawlSiteProcess` runs that server in its
own process, so the site does not compete with the crawl worker being measured for the interpreter lock.
"""

from __future__ import annotations

import html
import random
import threading
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any, Final, cast
from urllib.parse import urlsplit

from takedown.demo.synthetic import encode, make_image

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from types import TracebackType

HTML_TYPE: Final = "text/html; charset=utf-8"
_MEDIA_TYPES: Final = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "mp4": "video/mp4",
}
_PICTURE_FORMATS: Final = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF"}
# Media blocks, drawn with these weights; each names the URLs it puts on the page.
BLOCK_KINDS: Final = ("img", "srcset", "lazy", "picture", "video", "og", "link")
_BLOCK_WEIGHTS: Final = (30, 15, 12, 12, 4, 12, 15)
_BLOCK_COUNTS: Final = (0, 1, 2, 3)
_BLOCK_COUNT_WEIGHTS: Final = (15, 40, 30, 15)
_RELATED_LINKS: Final = 3
_PLACEHOLDER: Final = "/static/blank.gif"
# Lossless formats get smaller pictures, so no format dominates the bytes moved (PNG of a textured picture
# is about ten times its JPEG).
_PICTURE_SIZES: Final = {"jpg": (320, 240), "png": (160, 120), "webp": (320, 240), "gif": (200, 150)}
_VIDEO_SECONDS: Final = 1.0


class CrawlSiteError(ValueError):
    """The site cannot be built or served. ``reason``: ``plan:invalid`` (sizes it cannot honour) or
    ``server:not-started`` (the site process ended or hung before serving)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class CrawlSitePlan:
    """How big the site is; the same plan always gives the same pages and media.

    ``pages`` = 1 index + ``sections * listing_pages`` listings + as many times ``posts_per_listing``
    posts. The default is 5,201 pages.
    """

    sections: int = 40
    listing_pages: int = 5
    posts_per_listing: int = 25
    pictures_per_format: int = 8
    seed: int = 11

    def __post_init__(self) -> None:
        for name in ("sections", "listing_pages", "posts_per_listing", "pictures_per_format"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise CrawlSiteError("plan:invalid", f"{name} must be an integer >= 1, got {value!r}")

    @classmethod
    def smoke(cls) -> CrawlSitePlan:
        """A site of 11 pages with a picture pool of one per format: checks the code in seconds."""
        return cls(sections=1, listing_pages=2, posts_per_listing=4, pictures_per_format=1)

    @property
    def posts(self) -> int:
        return self.sections * self.listing_pages * self.posts_per_listing

    @property
    def pages(self) -> int:
        return 1 + self.sections * self.listing_pages + self.posts

    @property
    def depth(self) -> int:
        """Link depth of the deepest page from the index: the crawl source needs at least this."""
        return self.listing_pages + 1


@dataclass(frozen=True)
class MediaBlock:
    """One media block of a post: its kind and the media URLs (paths) it puts on the page."""

    kind: str
    paths: tuple[str, ...]


def _media_path(post: str, slot: int, suffix: str, extension: str) -> str:
    return f"/m/{post}-{slot}{suffix}.{extension}"


def _block(kind: str, post: str, slot: int) -> MediaBlock:
    """The media URLs a block of ``kind`` at ``slot`` of ``post`` uses (the placeholder is not counted)."""
    paths: tuple[str, ...]
    if kind == "srcset":
        paths = (_media_path(post, slot, "-s", "jpg"), _media_path(post, slot, "-l", "jpg"))
    elif kind == "lazy":
        paths = (_media_path(post, slot, "", "png"),)
    elif kind == "picture":
        paths = (_media_path(post, slot, "", "webp"), _media_path(post, slot, "", "jpg"))
    elif kind == "video":
        paths = (_media_path(post, slot, "", "mp4"), _media_path(post, slot, "-poster", "jpg"))
    elif kind == "link":
        paths = (_media_path(post, slot, "", "gif"),)
    else:  # img, og
        paths = (_media_path(post, slot, "", "jpg"),)
    return MediaBlock(kind, paths)


def _block_markup(block: MediaBlock) -> str:
    first, *rest = (html.escape(path) for path in block.paths)
    second = rest[0] if rest else ""
    markup = {
        "srcset": f'<img src="{first}" srcset="{first} 480w, {second} 960w" sizes="(max-width: 600px) 480px, 960px">',
        "lazy": f'<img class="lazy" loading="lazy" src="{_PLACEHOLDER}" data-src="{first}" alt="">',
        "picture": f'<picture><source srcset="{first}" type="image/webp"><img src="{second}" alt=""></picture>',
        "video": f'<video controls poster="{second}"><source src="{first}" type="video/mp4"></video>',
        "link": f'<p><a href="{first}">original file</a></p>',
        "og": "",  # in the head, see _post
    }
    return markup.get(block.kind, f'<img src="{first}" alt="attachment">')


class CrawlSite:
    """The site of a plan: pages rendered on request, media from a pool made on first use (:meth:`warm`)."""

    def __init__(self, plan: CrawlSitePlan) -> None:
        self.plan = plan
        self._pool: dict[str, list[bytes]] = {}
        self._placeholder = b""

    def warm(self) -> CrawlSite:
        """Make the media pool now (a few seconds), before the site is served; return the site."""
        if self._pool:
            return self
        for index, (extension, fmt) in enumerate(_PICTURE_FORMATS.items()):
            self._pool[extension] = [
                encode(make_image(5000 + index * 100 + n, size=_PICTURE_SIZES[extension]), fmt, quality=80)
                for n in range(self.plan.pictures_per_format)
            ]
        from bench.corpus import render_video_mp4  # PyAV is only needed here

        self._pool["mp4"] = [
            render_video_mp4(_VIDEO_SECONDS, 160, 96, fps=10, seed=seed, scene_seconds=1.0) for seed in (0, 1)
        ]
        self._placeholder = encode(make_image(4999, size=(64, 64)), "GIF")
        return self

    # -- structure ---------------------------------------------------------------------------------------
    def listing_paths(self) -> list[str]:
        plan = self.plan
        return [f"/s/{s}/{n}" for s in range(plan.sections) for n in range(1, plan.listing_pages + 1)]

    def post_paths(self) -> list[str]:
        plan = self.plan
        return [
            f"/post/{s}/{n}/{i}"
            for s in range(plan.sections)
            for n in range(1, plan.listing_pages + 1)
            for i in range(plan.posts_per_listing)
        ]

    def page_paths(self) -> list[str]:
        """Every HTML page: the index, the listings, the posts."""
        return ["/", *self.listing_paths(), *self.post_paths()]

    def _rng(self, path: str) -> random.Random:
        return random.Random(f"{self.plan.seed}:{path}")  # noqa: S311 - layout, not secrets

    def post_blocks(self, path: str) -> list[MediaBlock]:
        """The media blocks of a post page, the same on every call."""
        rng = self._rng(path)
        count = rng.choices(_BLOCK_COUNTS, _BLOCK_COUNT_WEIGHTS)[0]
        kinds = rng.choices(BLOCK_KINDS, _BLOCK_WEIGHTS, k=count)
        post = path.removeprefix("/post/").replace("/", "-")
        # At most one og:image per page: a second becomes a plain img.
        kinds = [k if k != "og" or k not in kinds[:slot] else "img" for slot, k in enumerate(kinds)]
        return [_block(kind, post, slot) for slot, kind in enumerate(kinds)]

    def _thumbnail_blocks(self, path: str) -> list[MediaBlock]:
        if not path.endswith("/1"):
            return []
        section = path.removeprefix("/s/").split("/")[0]
        return [_block("srcset", f"s{section}-thumb", slot) for slot in range(2)]

    def media_urls_placed(self) -> dict[str, int]:
        """Distinct media URLs per page, summed over the pages, by block kind (the lazy-loading placeholder,
        the same URL on every page that has one, as ``placeholder``). A crawler that fetches each media
        URL of each page once makes exactly this many media requests."""
        counts = dict.fromkeys([*BLOCK_KINDS, "placeholder"], 0)
        pages = [(path, self.post_blocks(path)) for path in self.post_paths()]
        pages += [(path, self._thumbnail_blocks(path)) for path in self.listing_paths()]
        for _, blocks in pages:
            seen: set[str] = set()
            for block in blocks:
                fresh = [url for url in block.paths if url not in seen]
                seen.update(fresh)
                counts[block.kind] += len(fresh)
            counts["placeholder"] += any(block.kind == "lazy" for block in blocks)
        return counts

    # -- rendering ---------------------------------------------------------------------------------------
    def render(self, path: str) -> tuple[str, bytes] | None:
        """Content type and body of ``path``, or None (404)."""
        if path.startswith("/m/"):
            return self._media(path)
        if path == _PLACEHOLDER:
            return "image/gif", self.warm()._placeholder
        if path == "/":
            return HTML_TYPE, self._index()
        page = self._html_page(path)
        return (HTML_TYPE, page) if page is not None else None

    def _html_page(self, path: str) -> bytes | None:
        parts = path.strip("/").split("/")
        try:
            numbers = [int(part) for part in parts[1:]]
        except ValueError:
            return None
        plan = self.plan
        if parts[0] == "s" and len(numbers) == 2:
            section, page = numbers
            if 0 <= section < plan.sections and 1 <= page <= plan.listing_pages:
                return self._listing(section, page)
        if parts[0] == "post" and len(numbers) == 3:
            section, page, item = numbers
            if (
                0 <= section < plan.sections
                and 1 <= page <= plan.listing_pages
                and 0 <= item < plan.posts_per_listing
            ):
                return self._post(path, section, page)
        return None

    def _media(self, path: str) -> tuple[str, bytes] | None:
        self.warm()
        extension = path.rsplit(".", 1)[-1]
        pool = self._pool.get(extension)
        if pool is None:
            return None
        return _MEDIA_TYPES[extension], pool[zlib.crc32(path.encode()) % len(pool)]

    def _index(self) -> bytes:
        links = "".join(f'<li><a href="/s/{s}/1">Section {s}</a></li>\n' for s in range(self.plan.sections))
        return _document("Bench board", "", f"<h1>Bench board</h1>\n<ul>\n{links}</ul>\n")

    def _listing(self, section: int, page: int) -> bytes:
        plan = self.plan
        head, pager = [], []
        if page > 1:
            head.append(f'<link rel="prev" href="/s/{section}/{page - 1}">')
            pager.append(f'<a rel="prev" href="/s/{section}/{page - 1}">previous</a>')
        if page < plan.listing_pages:
            head.append(f'<link rel="next" href="/s/{section}/{page + 1}">')
            pager.append(f'<a rel="next" href="{page + 1}">next</a>')  # relative on purpose
        posts = "".join(
            f'<li><a href="/post/{section}/{page}/{i}">Post {section}-{page}-{i}</a></li>\n'
            for i in range(plan.posts_per_listing)
        )
        thumbs = "".join(_block_markup(b) for b in self._thumbnail_blocks(f"/s/{section}/{page}"))
        body = (
            f'<header><a href="/">Bench board</a></header>\n<h1>Section {section}, page {page}</h1>\n'
            f'<div class="thumbs">{thumbs}</div>\n<ul class="posts">\n{posts}</ul>\n'
            f'<nav class="pagination">{" ".join(pager)}</nav>\n'
        )
        return _document(f"Section {section} - {page}", "\n".join(head), body)

    def _post(self, path: str, section: int, page: int) -> bytes:
        rng = self._rng(path + "#links")
        plan = self.plan
        blocks = self.post_blocks(path)
        head = "".join(
            f'<meta property="og:image" content="{html.escape(b.paths[0])}">'
            for b in blocks
            if b.kind == "og"
        )
        related = "".join(
            f'<li><a href="/post/{rng.randrange(plan.sections)}/{rng.randint(1, plan.listing_pages)}/'
            f'{rng.randrange(plan.posts_per_listing)}">related</a></li>'
            for _ in range(_RELATED_LINKS)
        )
        media = "".join(f'<div class="attachment">{_block_markup(b)}</div>\n' for b in blocks)
        body = (
            f'<header><a href="/">Bench board</a> / <a href="/s/{section}/{page}">Section {section}</a></header>\n'
            f"<article><h1>Post {html.escape(path)}</h1>\n<p>Generated text for the crawl benchmark.</p>\n"
            f"{media}</article>\n<aside><ul>{related}</ul></aside>\n"
        )
        return _document(f"Post {path}", head, body)


def _document(title: str, head: str, body: str) -> bytes:
    footer = '<footer>Abuse reports: <a href="mailto:abuse@bench.example">abuse@bench.example</a></footer>\n'
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
        f"{head}\n</head>\n<body>\n{body}{footer}</body>\n</html>\n"
    ).encode()


# --- serving ---------------------------------------------------------------------------------------------


@dataclass
class ServedCounts:
    """What the server answered: requests and bytes per kind (``page``, ``media``, ``missing``)."""

    requests: dict[str, int] = field(default_factory=dict)
    bytes_sent: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, kind: str, size: int) -> None:
        self.requests[kind] = self.requests.get(kind, 0) + 1
        self.bytes_sent[kind] = self.bytes_sent.get(kind, 0) + size


class _SiteHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, site: CrawlSite) -> None:
        self.site = site
        self.counts = ServedCounts()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _SiteRequestHandler)

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            with self.lock:
                self.counts.errors.append(repr(error))


class _SiteRequestHandler(BaseHTTPRequestHandler):
    server_version = "BenchBoard/1.0"
    sys_version = ""

    def do_GET(self) -> None:
        server = cast("_SiteHTTPServer", self.server)
        path = urlsplit(self.path).path
        found = server.site.render(path)
        if found is None:
            status, content_type, body, kind = 404, "text/plain", b"not found\n", "missing"
        else:
            content_type, body = found
            status, kind = 200, "page" if content_type == HTML_TYPE else "media"
        with server.lock:
            server.counts.add(kind, len(body))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Stay silent."""


class CrawlSiteServer:
    """A site served from a daemon thread on 127.0.0.1 (a free port). A context manager."""

    def __init__(self, site: CrawlSite) -> None:
        self._server = _SiteHTTPServer(site.warm())
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="crawl-site", daemon=True
        )
        self._thread.start()

    def counts(self) -> ServedCounts:
        with self._server.lock:
            counts = self._server.counts
            return ServedCounts(dict(counts.requests), dict(counts.bytes_sent), list(counts.errors))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> CrawlSiteServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _serve_in_child(plan: CrawlSitePlan, connection: Connection) -> None:
    """The site process: build the site, serve it, report the URL; on "stop", report the counts and end."""
    with CrawlSiteServer(CrawlSite(plan)) as server:
        connection.send(server.base_url)
        connection.recv()  # any message means stop
        connection.send(server.counts())
    connection.close()


class CrawlSiteProcess:
    """The site served from its own process (spawned), so it does not share the crawl worker's CPU time.

    A context manager; :meth:`stop` returns what the server answered.
    """

    def __init__(self, plan: CrawlSitePlan, *, start_timeout_s: float = 120.0) -> None:
        context = get_context("spawn")
        self._connection, child = context.Pipe()
        self._process: Any = context.Process(target=_serve_in_child, args=(plan, child), daemon=True)
        self._process.start()
        child.close()
        try:
            if not self._connection.poll(start_timeout_s):
                raise EOFError
            self.base_url: str = self._connection.recv()
        except EOFError:
            self._process.kill()
            raise CrawlSiteError(
                "server:not-started", f"the site process did not start serving within {start_timeout_s:g} s"
            ) from None
        self._stopped: ServedCounts | None = None

    def stop(self) -> ServedCounts:
        if self._stopped is None:
            self._connection.send("stop")
            self._stopped = cast("ServedCounts", self._connection.recv())
            self._process.join(timeout=30)
        return self._stopped

    def __enter__(self) -> CrawlSiteProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.stop()
        finally:
            if self._process.is_alive():
                self._process.kill()
