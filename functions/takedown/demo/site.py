"""A small community-board website for the demo and the end-to-end test, served on loopback only.

:func:`build_demo_site` lays out an index and ``n_pages`` board pages, each carrying one to three
synthetic images (:mod:`takedown.demo.synthetic`). One page per bank seed carries an altered copy of that
seed's picture - scaled to 50-80 %, re-saved as JPEG at quality 60-80, every other one with a caption
strip - which is what the pipeline should find; every other image comes from unrelated seeds (1000 and
up) and must be left alone. :func:`serve_site` serves it from a real HTTP server on 127.0.0.1.
After a notice, :meth:`SiteServer.take_down` and :meth:`SiteServer.replace` change what a path answers, as
its operator would.

Example
-------
>>> site = build_demo_site(bank_seeds=[3], n_pages=2)
>>> site.pages
['/', '/board/1', '/board/2']
>>> with serve_site(site) as server:
...     server.base_url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import html
import ipaddress
import random
import socket
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Final, cast
from urllib.parse import urlsplit

from takedown.demo.synthetic import MEDIA_TYPES, add_caption, encode, make_image, resize

if TYPE_CHECKING:
    from types import TracebackType

HTML_TYPE: Final = "text/html; charset=utf-8"
TEXT_TYPE: Final = "text/plain; charset=utf-8"
#: Stands for ``http://host:port`` in stored HTML; :meth:`DemoSite.render` fills in the real origin.
ORIGIN_PLACEHOLDER: Final = "{{site_origin}}"
#: Unrelated pictures use seeds from here up, so they never coincide with a bank seed.
UNRELATED_SEED_BASE: Final = 1000
MAX_PAGES: Final = 500

_NOT_FOUND: Final = (TEXT_TYPE, b"not found\n")
_EXTENSIONS: Final = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
_UNRELATED_FORMATS: Final = ("PNG", "JPEG", "WEBP", "GIF")
_UNRELATED_SIZES: Final = ((640, 480), (480, 360), (512, 384), (400, 300), (360, 480))
_BOARD_NAME: Final = "자유게시판 · Free board"
_TITLES: Final = (
    "주말 등산 다녀왔어요",
    "오늘의 노을 사진",
    "새로 산 키보드 후기",
    "동네 카페 추천해요",
    "고양이 모양 구름 봤어요",
    "Weekend hike photos",
    "My new desk setup",
    "Rainy afternoon by the river",
    "Sketches from the park",
    "Homemade kimchi jjigae",
    "Testing an old film camera",
    "Bike route along the Han river",
    "도서관 창가 자리",
    "Abstract wallpaper I made",
)
_SNIPPETS: Final = (
    "사진 몇 장 올립니다.",
    "날씨가 정말 좋았어요.",
    "다음에 같이 가요!",
    "Shot on an old phone, no edits.",
    "Any tips are welcome.",
    "색감이 마음에 들어서 공유해요.",
    "Made these with a generative pattern script.",
    "댓글 환영합니다 :)",
)
_CAPTIONS: Final = ("repost · 자유게시판", "shared from the free board", "퍼온 사진 / reposted")


class DemoSiteError(ValueError):
    """The demo site was asked for with arguments it cannot honour (or to bind a non-loopback host)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AlteredCopy:
    """How one matching image on the site was derived from its bank original."""

    bank_item_id: str
    bank_seed: int
    scale: float
    jpeg_quality: int
    caption: str | None


@dataclass(frozen=True)
class DemoSite:
    """An in-memory website: path -> (content type, body), plus what a correct crawl should find.

    ``resources`` holds HTML with :data:`ORIGIN_PLACEHOLDER` where an absolute URL goes; serve through
    :meth:`render`. ``expected_matches`` maps each page that carries an altered bank image to that
    image's path; ``altered_copies`` maps those image paths to how they were made.
    """

    resources: dict[str, tuple[str, bytes]]
    expected_matches: dict[str, str]
    altered_copies: dict[str, AlteredCopy]
    bank_seeds: tuple[int, ...]
    contact: str
    _bank_pngs: dict[str, bytes] = field(repr=False)

    def bank_images(self) -> dict[str, bytes]:
        """The original, unaltered PNG of every bank seed, by bank item id (``sample-<seed>``).

        This is what the centre registers; only its hashes go into the bank.
        """
        return dict(self._bank_pngs)

    @property
    def pages(self) -> list[str]:
        """Paths of the HTML pages: the index ``/`` first, then ``/board/1`` ... ``/board/n``."""
        return [path for path, (content_type, _) in self.resources.items() if content_type == HTML_TYPE]

    def media_paths(self) -> list[str]:
        """Paths of every image on the site (all under ``/media/``)."""
        return [path for path, (kind, _) in self.resources.items() if kind.startswith("image/")]

    def unrelated_media_paths(self) -> list[str]:
        """Paths of the images that match nothing in the bank and must be left alone."""
        return [path for path in self.media_paths() if path not in self.altered_copies]

    def render(self, path: str, *, origin: str) -> tuple[str, bytes] | None:
        """The content type and body served at ``path`` from ``origin`` (``http://host:port``), or None."""
        found = self.resources.get(path)
        if found is None:
            return None
        content_type, body = found
        if content_type == HTML_TYPE:
            body = body.replace(ORIGIN_PLACEHOLDER.encode(), origin.rstrip("/").encode())
        return content_type, body


def bank_item_id(seed: int) -> str:
    """The id a bank seed's original is registered under, e.g. ``sample-17``."""
    return f"sample-{seed}"


# --- building --------------------------------------------------------------------------------------------


@dataclass
class _Placed:
    """One image placed on a page: where it lives and the exact ``<img>`` markup that shows it."""

    media_path: str
    markup: str


@dataclass
class _Builder:
    rng: random.Random
    resources: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    image_count: int = 0
    unrelated_count: int = 0

    def place(self, data: bytes, fmt: str, size: tuple[int, int], alt: str) -> _Placed:
        """Store an image under ``/media/`` and return markup for it.

        The URL is written root-relative, page-relative (``../media/``) or absolute, and the tag itself
        four ways (quotes, extra attributes, a wrapping link, upper case), so a crawler meets the usual mix.
        """
        path = f"/media/{self.rng.getrandbits(40):010x}.{_EXTENSIONS[fmt]}"
        while path in self.resources:  # 40 random bits rarely collide, but a clash would hide an image
            path = f"/media/{self.rng.getrandbits(40):010x}.{_EXTENSIONS[fmt]}"
        url = (path, f"..{path}", f"{ORIGIN_PLACEHOLDER}{path}")[self.image_count % 3]
        style = self.image_count % 4
        self.image_count += 1
        width, height = size
        alt_text = html.escape(alt)
        if style == 0:
            markup = f'<img src="{url}" alt="{alt_text}">'
        elif style == 1:
            markup = f"<img class='attach' loading='lazy' src='{url}' width={width} height={height} alt=''>"
        elif style == 2:
            markup = f'<a href="{url}" target="_blank"><img src="{url}" alt="{alt_text}"></a>'
        else:
            markup = f'<IMG ALT="{alt_text}" SRC="{url}">'
        self.resources[path] = (MEDIA_TYPES[fmt], data)
        return _Placed(media_path=path, markup=markup)

    def place_unrelated(self) -> _Placed:
        seed = UNRELATED_SEED_BASE + self.unrelated_count
        fmt = _UNRELATED_FORMATS[self.unrelated_count % len(_UNRELATED_FORMATS)]
        self.unrelated_count += 1
        size = self.rng.choice(_UNRELATED_SIZES)
        data = encode(make_image(seed, size=size), fmt, quality=85)
        return self.place(data, fmt, size, alt="첨부 이미지")

    def place_altered(self, seed: int, *, captioned: bool) -> tuple[_Placed, AlteredCopy]:
        scale = round(self.rng.uniform(0.5, 0.8), 3)
        quality = self.rng.randint(60, 80)
        caption = self.rng.choice(_CAPTIONS) if captioned else None
        altered = resize(make_image(seed), scale)
        if caption is not None:
            altered = add_caption(altered, caption)
        placed = self.place(encode(altered, "JPEG", quality=quality), "JPEG", altered.size, alt="사진")
        record = AlteredCopy(
            bank_item_id=bank_item_id(seed),
            bank_seed=seed,
            scale=scale,
            jpeg_quality=quality,
            caption=caption,
        )
        return placed, record


def _document(title: str, head_links: str, body: str) -> bytes:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="ko">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n{head_links}</head>\n"
        f"<body>\n{body}</body>\n</html>\n"
    ).encode()


def _footer(contact: str) -> str:
    # Like most boards, every page carries the operator's abuse address in its footer.
    escaped = html.escape(contact)
    return f'<footer>신고 · Abuse reports: <a href="mailto:{escaped}">{escaped}</a></footer>\n'


def _board_page(
    number: int, n_pages: int, posts: list[tuple[str, str, str, list[_Placed]]], contact: str
) -> bytes:
    links = []
    if number > 1:
        links.append(f'<link rel="prev" href="/board/{number - 1}">\n')
    if number < n_pages:
        links.append(f'<link rel="next" href="/board/{number + 1}">\n')
    articles = []
    for title, author, text, images in posts:
        figures = "".join(f'<div class="attachment">{image.markup}</div>\n' for image in images)
        articles.append(
            f'<article class="post">\n<h2 class="post-title">{html.escape(title)}</h2>\n'
            f'<p class="meta">by {html.escape(author)}</p>\n<p>{html.escape(text)}</p>\n{figures}</article>\n'
        )
    pager = []
    if number > 1:
        pager.append(f'<a rel="prev" href="/board/{number - 1}">이전</a>')
    pager.append(f"<span>{number} / {n_pages}</span>")
    if number < n_pages:
        pager.append(f'<a rel="next" href="/board/{number + 1}">다음</a>')
    body = (
        f'<header><a href="/">{html.escape(_BOARD_NAME)}</a></header>\n<main>\n'
        + "".join(articles)
        + "</main>\n"
        + f'<nav class="pagination">{" ".join(pager)}</nav>\n'
        + _footer(contact)
    )
    return _document(f"{_BOARD_NAME} - {number}", "".join(links), body)


def _index_page(contact: str, first_titles: list[str]) -> bytes:
    rows = "".join(
        f'<li><a href="/board/{number}">{html.escape(title)}</a></li>\n'
        for number, title in enumerate(first_titles, start=1)
    )
    body = (
        f"<header><h1>{html.escape(_BOARD_NAME)}</h1></header>\n"
        f'<main>\n<ul class="board-list">\n{rows}</ul>\n'
        '<nav class="pagination"><a rel="next" href="/board/1">다음</a></nav>\n</main>\n' + _footer(contact)
    )
    return _document(_BOARD_NAME, '<link rel="next" href="/board/1">\n', body)


def _validate(bank_seeds: list[int], n_pages: int, contact: str) -> None:
    if not 1 <= n_pages <= MAX_PAGES:
        raise DemoSiteError(f"n_pages must be 1..{MAX_PAGES}, got {n_pages}")
    if len(set(bank_seeds)) != len(bank_seeds):
        raise DemoSiteError(f"bank seeds must be distinct, got {bank_seeds}")
    if len(bank_seeds) > n_pages:
        raise DemoSiteError(f"{len(bank_seeds)} bank seeds need at least as many pages, got {n_pages}")
    for seed in bank_seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < UNRELATED_SEED_BASE:
            raise DemoSiteError(f"bank seeds must be ints in 0..{UNRELATED_SEED_BASE - 1}, got {seed!r}")
    local, _, domain = contact.partition("@")
    if not local or "." not in domain or any(c.isspace() or c in "<>\"'?" for c in contact):
        raise DemoSiteError(f"contact must be a plain email address, got {contact!r}")


def build_demo_site(
    *, bank_seeds: list[int], n_pages: int = 12, contact: str = "abuse@site.example", seed: int = 7
) -> DemoSite:
    """Build the board site; the same arguments always give the same bytes.

    Parameters
    ----------
    bank_seeds
        Distinct seeds (0..999) whose originals the centre registered. Each gets one page, chosen at
        random, that carries an altered copy; ``len(bank_seeds) <= n_pages``.
    n_pages
        Board pages ``/board/1`` ... ``/board/n`` (1..500), each with one to three images.
    contact
        The site's abuse address, linked with ``mailto:`` from the footer of every page.
    seed
        Drives every layout choice: which pages match, sizes, formats, qualities, markup, texts.

    Returns
    -------
    DemoSite

    Raises
    ------
    DemoSiteError
        For duplicate or out-of-range bank seeds, too few pages, or a malformed contact.

    Examples
    --------
    >>> site = build_demo_site(bank_seeds=[5], n_pages=3)
    >>> list(site.expected_matches.values())[0] in site.media_paths()
    True
    """
    _validate(bank_seeds, n_pages, contact)
    rng = random.Random(seed)  # noqa: S311 - layout choices, not secrets; must be reproducible
    builder = _Builder(rng=rng)
    match_pages = dict(
        zip(sorted(rng.sample(range(1, n_pages + 1), len(bank_seeds))), bank_seeds, strict=True)
    )
    expected_matches: dict[str, str] = {}
    altered_copies: dict[str, AlteredCopy] = {}
    pages: dict[str, bytes] = {}
    first_titles: list[str] = []
    for number in range(1, n_pages + 1):
        page_path = f"/board/{number}"
        images: list[_Placed] = []
        bank_seed = match_pages.get(number)
        if bank_seed is not None:
            # Every other match is captioned, so a site with two or more bank seeds always has both kinds.
            placed, record = builder.place_altered(bank_seed, captioned=len(altered_copies) % 2 == 0)
            images.append(placed)
            expected_matches[page_path] = placed.media_path
            altered_copies[placed.media_path] = record
        total = rng.randint(max(1, len(images)), 3)
        images.extend(builder.place_unrelated() for _ in range(total - len(images)))
        rng.shuffle(images)
        titles = rng.sample(_TITLES, rng.randint(max(2, len(images)), 4))
        posts: list[tuple[str, str, str, list[_Placed]]] = [
            (title, f"user{rng.randint(100, 999)}", rng.choice(_SNIPPETS), []) for title in titles
        ]
        for image in images:
            rng.choice(posts)[3].append(image)
        first_titles.append(titles[0])
        pages[page_path] = _board_page(number, n_pages, posts, contact)
    resources: dict[str, tuple[str, bytes]] = {
        "/": (HTML_TYPE, _index_page(contact, first_titles)),
        **{path: (HTML_TYPE, body) for path, body in pages.items()},
        "/robots.txt": (TEXT_TYPE, b"User-agent: *\nAllow: /\n"),
        **builder.resources,
    }
    bank_pngs = {bank_item_id(s): encode(make_image(s), "PNG") for s in bank_seeds}
    return DemoSite(
        resources=resources,
        expected_matches=expected_matches,
        altered_copies=altered_copies,
        bank_seeds=tuple(bank_seeds),
        contact=contact,
        _bank_pngs=bank_pngs,
    )


# --- serving ---------------------------------------------------------------------------------------------


class _DemoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], site: DemoSite, family: socket.AddressFamily) -> None:
        self.address_family = family
        self.site = site
        self.origin = ""
        self.hits: dict[str, int] = {}
        self.errors: list[str] = []
        # What the operator changed after the crawl: path -> (status, content type, body), served instead.
        self.changed: dict[str, tuple[int, str, bytes]] = {}
        self.lock = threading.Lock()
        super().__init__(address, _DemoRequestHandler)

    def handle_error(self, request: object, client_address: object) -> None:
        # The default prints a traceback to stderr. A client hanging up early is normal for a crawler
        # under test; anything else is kept for the test to look at.
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            with self.lock:
                self.errors.append(repr(error))


class _DemoRequestHandler(BaseHTTPRequestHandler):
    server_version = "DemoBoard/1.0"
    sys_version = ""

    def do_GET(self) -> None:
        self._respond(include_body=True)

    def do_HEAD(self) -> None:
        self._respond(include_body=False)

    def log_message(self, format: str, *args: object) -> None:
        """Stay silent: the demo site must not write to stderr."""

    def _respond(self, *, include_body: bool) -> None:
        server = cast("_DemoHTTPServer", self.server)
        path = urlsplit(self.path).path
        with server.lock:
            server.hits[path] = server.hits.get(path, 0) + 1
            changed = server.changed.get(path)
        if changed is not None:
            status, content_type, body = changed
        else:
            found = server.site.render(path, origin=server.origin)
            status, (content_type, body) = (200, found) if found else (404, _NOT_FOUND)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if include_body:
            self.wfile.write(body)


def _loopback_family(host: str) -> socket.AddressFamily:
    """The address family for ``host``, which must be loopback: the demo site never leaves the machine."""
    if host == "localhost":
        return socket.AF_INET
    try:
        address = ipaddress.ip_address(host)
    except ValueError as error:
        raise DemoSiteError(f"host must be a loopback address, got {host!r}") from error
    if not address.is_loopback:
        raise DemoSiteError(f"host must be a loopback address, got {host!r}")
    return socket.AF_INET6 if address.version == 6 else socket.AF_INET


class SiteServer:
    """A running demo site. Use as a context manager, or call :meth:`close`."""

    def __init__(self, site: DemoSite, host: str = "127.0.0.1", port: int = 0) -> None:
        family = _loopback_family(host)
        self._server = _DemoHTTPServer((host, port), site, family)
        bound_port = self._server.server_address[1]
        shown_host = f"[{host}]" if family == socket.AF_INET6 else host
        self.base_url = f"http://{shown_host}:{bound_port}"
        self._server.origin = self.base_url
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="demo-site", daemon=True
        )
        self._thread.start()
        self._closed = False

    @property
    def hits(self) -> dict[str, int]:
        """Requests received so far per path (query strings ignored), including 404s."""
        with self._server.lock:
            return dict(self._server.hits)

    @property
    def errors(self) -> list[str]:
        """Unexpected errors raised while handling requests (a client hanging up is not one)."""
        with self._server.lock:
            return list(self._server.errors)

    def take_down(self, path: str) -> None:
        """Answer 404 at ``path`` from now on, as an operator who deleted the file.

        Raises
        ------
        DemoSiteError
            If ``path`` is not a path the site serves.
        """
        self._change(path, (404, *_NOT_FOUND))

    def replace(self, path: str, content_type: str, body: bytes) -> None:
        """Serve ``body`` at ``path`` from now on, as an operator who put a placeholder in a picture's place.

        Raises
        ------
        DemoSiteError
            If ``path`` is not a path the site serves, or ``content_type`` is blank.
        """
        if not content_type.strip():
            raise DemoSiteError("a replacement needs a content type")
        self._change(path, (200, content_type, body))

    def _change(self, path: str, answer: tuple[int, str, bytes]) -> None:
        # Only what the site serves can be changed: a typo would otherwise change nothing the crawl saw.
        if path not in self._server.site.resources:
            raise DemoSiteError(f"the site serves nothing at {path!r}")
        with self._server.lock:
            self._server.changed[path] = answer

    def close(self) -> None:
        """Stop serving and release the port; calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> SiteServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def serve_site(site: DemoSite, host: str = "127.0.0.1", port: int = 0) -> SiteServer:
    """Serve ``site`` over HTTP from a daemon thread on a loopback ``host`` (port 0 picks a free one).

    Unknown paths get 404; nothing is logged. ``SiteServer.hits`` counts requests per path.

    >>> with serve_site(build_demo_site(bank_seeds=[], n_pages=1)) as server:
    ...     server.hits
    {}
    """
    return SiteServer(site, host=host, port=port)
