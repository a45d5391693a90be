"""Find the media, links and contact addresses on an HTML page with a real (forgiving) HTML parser.

Everything comes back absolute and canonical (:func:`takedown.crawl.urls.canonicalize_url`), resolved
against ``<base href>`` when the page has one. URLs that cannot be used (``javascript:``, ``data:``,
malformed hosts ...) are counted in ``skipped_urls`` rather than silently dropped.

Work is bounded, and ends where collecting ends: the page is fed to the parser in chunks, and parsing stops (and
``truncated`` is set) at the first of ``max_links`` references, ``max_tags`` start tags or ``max_chars`` characters
fed. A page of a million links costs what its first few thousand do; ``tags_seen`` and ``chars_fed`` say how much
was read.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote, urlsplit

from takedown.crawl.email_addresses import is_plausible_email
from takedown.crawl.urls import UrlError, canonicalize_url

if TYPE_CHECKING:
    from collections.abc import Callable

# Links whose path ends like this point straight at a media file rather than a page.
MEDIA_EXTENSIONS: Final = (
    ".jpg",
    ".jpeg",
    ".jfif",
    ".png",
    ".gif",
    ".webp",
    ".bmp",
    ".tif",
    ".tiff",
    ".avif",
    ".heic",
    ".mp4",
    ".m4v",
    ".mov",
    ".webm",
    ".mkv",
    ".avi",
)
_IMG_LAZY_ATTRIBUTES: Final = ("data-src", "data-original", "data-lazy-src")
_META_MEDIA: Final = {
    "og:image": "meta[og:image]",
    "og:image:url": "meta[og:image]",
    "og:image:secure_url": "meta[og:image]",
    "og:video": "meta[og:video]",
    "og:video:url": "meta[og:video]",
    "og:video:secure_url": "meta[og:video]",
    "twitter:image": "meta[twitter:image]",
    "twitter:image:src": "meta[twitter:image]",
}
_WHITESPACE: Final = " \t\n\r\f"
# Parse-work bounds (see the module docstring). A page is at most the fetcher's 50 MB; real pages have a few
# thousand tags in well under a megabyte, so these only ever stop hostile or degenerate pages.
MAX_PARSE_TAGS: Final = 100_000
MAX_PARSE_CHARS: Final = 8 * 1024 * 1024
# Small enough that stopping wastes little. A construct left open (a start tag of megabytes, an unclosed comment)
# stays in the parser and is scanned again on every feed, so a chunk is never smaller than what the parser holds
# unparsed: the chunks then grow geometrically and the re-scanning costs at most as much again as the page.
_FEED_CHUNK_CHARS: Final = 256 * 1024
_CHARSET_PRESCAN_BYTES: Final = 4096
_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(frozen=True)
class MediaRef:
    """A media URL found on a page and where (``via``: ``"img[src]"``, ``"meta[og:image]"`` ...)."""

    url: str
    via: str


@dataclass(frozen=True)
class PageExtract:
    """What one HTML page points to."""

    title: str
    lang: str
    base_url: str
    media: list[MediaRef] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    mailto: list[str] = field(default_factory=list)
    truncated: bool = False
    skipped_urls: int = 0
    tags_seen: int = 0
    chars_fed: int = 0


def parse_srcset(value: str) -> list[str]:
    """Every candidate URL in a ``srcset`` value, following the HTML standard's candidate rules.

    URLs may contain commas (image CDNs use them), so a comma only ends a candidate after its URL.

    >>> parse_srcset("a.jpg 1x, https://cdn.example/w_100,h_100/b.jpg 2x,c.jpg")
    ['a.jpg', 'https://cdn.example/w_100,h_100/b.jpg', 'c.jpg']
    """
    urls: list[str] = []
    index, length = 0, len(value)
    while index < length:
        while index < length and (value[index] in _WHITESPACE or value[index] == ","):
            index += 1
        start = index
        while index < length and value[index] not in _WHITESPACE:
            index += 1
        url = value[start:index]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            # Skip the descriptors ("2x", "100w") up to the comma that ends this candidate.
            parentheses = 0
            while index < length:
                char = value[index]
                index += 1
                if char == "(":
                    parentheses += 1
                elif char == ")" and parentheses:
                    parentheses -= 1
                elif char == "," and not parentheses:
                    break
        if url:
            urls.append(url)
    return urls


def _charset_from_content_type(content_type: str) -> str:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'")
    return ""


class _MetaCharsetFinder(HTMLParser):
    """Reads the head of a page for ``<meta charset>`` or ``<meta http-equiv=content-type>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.charset = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "meta" or self.charset:
            return
        values = {name: value or "" for name, value in attrs}
        if values.get("charset"):
            self.charset = values["charset"].strip()
        elif values.get("http-equiv", "").lower() == "content-type":
            self.charset = _charset_from_content_type(values.get("content", ""))


_NOT_PAGE_ENCODINGS = frozenset(
    {"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape", "utf-7", "mbcs", "oem"}
)


def _usable_codec(label: str, *, from_meta: bool) -> str:
    """A Python codec for a declared charset label, following the HTML standard's overrides."""
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):  # unknown label, or one with a NUL in it
        return ""
    name = info.name
    # Python knows codecs no browser would decode a page with (hex, base64, rot13, zlib, idna, ...): a page declaring
    # one must not be able to make itself unreadable to the crawler, so such a label is ignored.
    if not getattr(info, "_is_text_encoding", True) or name in _NOT_PAGE_ENCODINGS:
        return ""
    if from_meta and name.startswith(("utf-16", "utf-32")):
        return "utf-8"  # a <meta> readable as ASCII means the page is not really UTF-16
    if name in ("ascii", "iso8859-1"):
        return "cp1252"  # browsers decode both labels as windows-1252
    return name


def decode_html(raw: bytes, content_type: str = "") -> str:
    """Decode page bytes: BOM, then the HTTP charset, then ``<meta>``, else UTF-8; bad bytes replaced.

    >>> decode_html(b'<meta charset="iso-8859-2"><p>\\xb1</p>')
    '<meta charset="iso-8859-2"><p>ą</p>'
    """
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            return raw[len(bom) :].decode(codec, errors="replace")
    codec = _usable_codec(_charset_from_content_type(content_type), from_meta=False) if content_type else ""
    if not codec:
        finder = _MetaCharsetFinder()
        finder.feed(raw[:_CHARSET_PRESCAN_BYTES].decode("latin-1"))
        codec = _usable_codec(finder.charset, from_meta=True) if finder.charset else ""
    try:
        return raw.decode(codec or "utf-8", errors="replace")
    except (
        LookupError,
        UnicodeError,
        ValueError,
    ):  # a codec that still cannot decode: read the page as UTF-8
        return raw.decode("utf-8", errors="replace")


class _ParseStopped(Exception):
    """Raised inside the parser's callbacks to end parsing at a work bound (HTMLParser has no way to stop)."""


@dataclass
class _RawRef:
    kind: str  # "media" | "anchor" | "link"
    value: str
    via: str = ""


class _PageParser(HTMLParser):
    """Collects raw references; resolution happens at the end, once ``<base href>`` is known."""

    def __init__(self, max_links: int, max_tags: int) -> None:
        super().__init__(convert_charrefs=True)
        self.max_links = max_links
        self.max_tags = max_tags
        self.tags_seen = 0
        self.refs: list[_RawRef] = []
        self.truncated = False
        self.base_href = ""
        self.lang = ""
        self.title_parts: list[str] = []
        self.title_done = False
        self.in_title = False
        self.video_depth = 0
        self._start_handlers: dict[str, Callable[[dict[str, str | None]], None]] = {
            "html": self._start_html,
            "title": self._start_title,
            "base": self._start_base,
            "img": self._start_img,
            "source": self._start_source,
            "video": self._start_video,
            "meta": self._start_meta,
            "a": self._start_a,
            "link": self._start_link,
        }

    def _add(self, kind: str, value: str | None, via: str = "") -> None:
        if value is None or not value.strip(_WHITESPACE):
            return
        if len(self.refs) >= self.max_links:
            self.truncated = True
            raise _ParseStopped
        self.refs.append(_RawRef(kind, value, via))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.tags_seen >= self.max_tags:
            self.truncated = True
            raise _ParseStopped
        self.tags_seen += 1
        handler = self._start_handlers.get(tag)
        if handler is not None:
            handler(dict(attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in ("video", "title"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "video" and self.video_depth:
            self.video_depth -= 1
        elif tag == "title" and self.in_title:
            self.in_title = False
            self.title_done = True

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title_parts.append(data)

    def _start_html(self, values: dict[str, str | None]) -> None:
        if not self.lang:
            self.lang = (values.get("lang") or "").strip()

    def _start_title(self, values: dict[str, str | None]) -> None:
        del values
        if not self.title_done:
            self.in_title = True

    def _start_base(self, values: dict[str, str | None]) -> None:
        if not self.base_href and values.get("href"):
            self.base_href = values["href"] or ""

    def _start_img(self, values: dict[str, str | None]) -> None:
        self._add("media", values.get("src"), "img[src]")
        for candidate in parse_srcset(values.get("srcset") or ""):
            self._add("media", candidate, "img[srcset]")
        for attribute in _IMG_LAZY_ATTRIBUTES:
            self._add("media", values.get(attribute), f"img[{attribute}]")
        for candidate in parse_srcset(values.get("data-srcset") or ""):
            self._add("media", candidate, "img[data-srcset]")

    def _start_source(self, values: dict[str, str | None]) -> None:
        for candidate in parse_srcset(values.get("srcset") or ""):
            self._add("media", candidate, "source[srcset]")
        if self.video_depth:
            self._add("media", values.get("src"), "video>source[src]")

    def _start_video(self, values: dict[str, str | None]) -> None:
        self.video_depth += 1
        self._add("media", values.get("src"), "video[src]")
        self._add("media", values.get("poster"), "video[poster]")

    def _start_meta(self, values: dict[str, str | None]) -> None:
        key = (values.get("property") or values.get("name") or "").strip().lower()
        via = _META_MEDIA.get(key)
        if via is not None:
            self._add("media", values.get("content"), via)

    def _start_a(self, values: dict[str, str | None]) -> None:
        self._add("anchor", values.get("href"), "a[href]")

    def _start_link(self, values: dict[str, str | None]) -> None:
        rel = (values.get("rel") or "").lower().split()
        if "next" in rel:
            self._add("link", values.get("href"), "link[rel=next]")


def _mailto_addresses(href: str) -> tuple[list[str], int]:
    """Addresses of a ``mailto:`` link (lowercased, query dropped) and how many were unusable."""
    target = href.strip(_WHITESPACE)[len("mailto:") :].split("?", 1)[0]
    addresses, invalid = [], 0
    for part in unquote(target).split(","):
        address = part.strip().lower()
        if not address:
            continue
        if is_plausible_email(address):
            addresses.append(address)
        else:
            invalid += 1
    return addresses, invalid


def _is_media_path(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(MEDIA_EXTENSIONS)


class _Collector:
    """Resolves raw references into the deduplicated lists of a :class:`PageExtract`."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.media: list[MediaRef] = []
        self.media_seen: set[str] = set()
        self.links: list[str] = []
        self.links_seen: set[str] = set()
        self.mailto: list[str] = []
        self.skipped = 0

    def add(self, ref: _RawRef) -> None:
        if ref.kind == "anchor" and ref.value.strip(_WHITESPACE).lower().startswith("mailto:"):
            addresses, invalid = _mailto_addresses(ref.value)
            self.skipped += invalid
            self.mailto.extend(address for address in addresses if address not in self.mailto)
            return
        try:
            url = canonicalize_url(ref.value, base=self.base_url)
        except UrlError:
            self.skipped += 1
            return
        if ref.kind == "media" or (ref.kind == "anchor" and _is_media_path(url)):
            if url not in self.media_seen:
                self.media_seen.add(url)
                self.media.append(MediaRef(url, ref.via))
        elif url not in self.links_seen:
            self.links_seen.add(url)
            self.links.append(url)


def _feed_in_chunks(parser: _PageParser, text: str, max_chars: int) -> int:
    """Feed ``text`` chunk by chunk until it ends or a bound stops the parser; the characters fed."""
    fed = 0
    try:
        while fed < len(text) and not parser.truncated:
            if fed >= max_chars:
                parser.truncated = True
                break
            size = max(_FEED_CHUNK_CHARS, len(parser.rawdata))
            chunk = text[fed : fed + min(size, max_chars - fed)]
            fed += len(chunk)
            parser.feed(chunk)
        if not parser.truncated:
            parser.close()
    except _ParseStopped:
        pass  # a bound was reached inside a chunk; what was collected stands
    return fed


def extract_page(
    html: bytes | str,
    page_url: str,
    *,
    max_links: int = 5000,
    content_type: str = "",
    max_tags: int = MAX_PARSE_TAGS,
    max_chars: int = MAX_PARSE_CHARS,
) -> PageExtract:
    """Extract title, language, media, page links and ``mailto:`` addresses from an HTML page.

    Parameters
    ----------
    html
        The page; bytes are decoded with :func:`decode_html`.
    page_url
        The URL the page was served from (after redirects): relative URLs resolve against it, or
        against its ``<base href>``.
    max_links
        Stop parsing after this many references (media, links and mailto together).
    content_type
        The response's Content-Type header, whose charset wins over a ``<meta>`` one.
    max_tags
        Stop parsing after this many start tags, references or not.
    max_chars
        Stop parsing after this many characters of the decoded page.

    Returns
    -------
    PageExtract
        Media (deduplicated by URL, first ``via`` kept), page links (deduplicated, in order, including
        ``<link rel=next>`` pagination), mailto addresses, the counts of what was skipped, whether a bound
        stopped the parsing (``truncated``), and how much was parsed (``tags_seen``, ``chars_fed``).

    Raises
    ------
    UrlError
        When ``page_url`` itself is not a usable http(s) URL.
    ValueError
        When ``max_links``, ``max_tags`` or ``max_chars`` is below 1.

    Examples
    --------
    >>> page = extract_page('<title>T</title><img src="a.png"><a href="/b">b</a>', "https://site.example/x/")
    >>> [m.url for m in page.media], page.links
    (['https://site.example/x/a.png'], ['https://site.example/b'])
    """
    for name, bound in (("max_links", max_links), ("max_tags", max_tags), ("max_chars", max_chars)):
        if bound < 1:
            raise ValueError(f"{name} must be >= 1, got {bound}")
    canonical_page = canonicalize_url(page_url)
    text = decode_html(html, content_type) if isinstance(html, bytes) else html
    parser = _PageParser(max_links, max_tags)
    chars_fed = _feed_in_chunks(parser, text, max_chars)
    base_url = canonical_page
    skipped = 0
    if parser.base_href:
        try:
            base_url = canonicalize_url(parser.base_href, base=canonical_page)
        except UrlError:
            skipped += 1
    collector = _Collector(base_url)
    for ref in parser.refs:
        collector.add(ref)
    return PageExtract(
        title=" ".join("".join(parser.title_parts).split()),
        lang=parser.lang,
        base_url=base_url,
        media=collector.media,
        links=collector.links,
        mailto=collector.mailto,
        truncated=parser.truncated,
        skipped_urls=skipped + collector.skipped,
        tags_seen=parser.tags_seen,
        chars_fed=chars_fed,
    )
