"""Addresses a site publishes about itself: on the crawled page and on its contact pages.

From the crawled page: ``mailto:`` links and addresses written in the text (plain, obfuscated or
Cloudflare-protected, see :mod:`takedown.recipients.text_addresses`). Then links that look like contact
pages - "contact", "about", "문의" (inquiry), "연락처" (contact details), "고객센터" (customer centre),
"abuse", "DMCA", "신고" (report), "청소년보호" (youth protection) - on the same site are fetched through the
caller's fetcher (the crawler's SSRF-safe :class:`~takedown.crawl.fetch.SafeFetcher`) and read the same
way, the most useful kinds first and only a few.

Korean law (정보통신망법 Art. 42-3) makes larger services name a youth-protection officer
(청소년보호책임자); an address written next to that title gets the role ``youth-protection``, because that
officer is the person obliged to act on exactly this kind of report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote, urlsplit

from takedown.crawl.errors import CrawlError
from takedown.crawl.html_media import decode_html, extract_page
from takedown.crawl.urls import UrlError, canonicalize_url
from takedown.model import Recipient
from takedown.recipients.domains import HostNameError, registered_domain
from takedown.recipients.rdap_json import clean_text
from takedown.recipients.resolve import InvalidAddress, validate_address
from takedown.recipients.text_addresses import decode_cloudflare_email, find_addresses_in_text

if TYPE_CHECKING:
    from takedown.recipients.fetching import PageFetcher

YOUTH_PROTECTION_CONFIDENCE: Final = 0.8
SITE_ABUSE_CONFIDENCE: Final = 0.75
PAGE_MAILTO_CONFIDENCE: Final = 0.7  # as takedown.recipients.resolve gives page mailto links
PAGE_TEXT_CONFIDENCE: Final = 0.65
CONTACT_PAGE_CONFIDENCE: Final = 0.6

# Contact link kinds, most useful first; keywords are matched in the link text and the URL path, lowercase
# with spaces, "-" and "_" removed.
CONTACT_LINK_KINDS: Final = (
    ("youth-protection", ("청소년보호", "youthprotection")),
    ("abuse", ("abuse", "dmca", "신고", "copyright", "저작권", "takedown")),
    ("contact", ("contact", "문의", "연락처", "고객센터", "impressum", "imprint")),
    ("about", ("about", "회사소개")),
)
_YOUTH_WORDS: Final = CONTACT_LINK_KINDS[0][1]
_ABUSE_WORDS: Final = CONTACT_LINK_KINDS[1][1]
_ABUSE_MAILBOXES: Final = frozenset({"abuse", "dmca", "copyright", "takedown", "legal", "report", "reports"})
_CONTEXT_CHARS: Final = 80  # how far before an address its label is looked for
_MAX_ANCHORS: Final = 5000
_SKIPPED_TAGS: Final = frozenset({"script", "style", "template", "svg"})
_BLOCK_TAGS: Final = frozenset(
    {"p", "div", "li", "ul", "ol", "tr", "td", "th", "table", "dl", "dt", "dd", "h1", "h2", "h3", "h4",
     "h5", "h6", "section", "article", "footer", "header", "address", "br", "hr", "nav", "aside", "main"}
)  # fmt: skip
_SQUASH: Final = re.compile(r"[\s\-_]+")
_LANGUAGE: Final = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class ContactLink:
    """A link on a page that looks like it leads to the site's contact details."""

    url: str
    kind: str  # "youth-protection" | "abuse" | "contact" | "about"
    label: str


@dataclass(frozen=True)
class SiteContacts:
    """What the site says about whom to contact: candidates, notes, and what was looked at."""

    recipients: list[Recipient] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    contact_links: list[ContactLink] = field(default_factory=list)
    pages_read: list[str] = field(default_factory=list)


@dataclass
class _Anchor:
    href: str
    label_parts: list[str] = field(default_factory=list)


class _ContactTextParser(HTMLParser):
    """The page's visible text (blocks on their own lines) and its links with their text.

    Addresses from ``mailto:`` links and Cloudflare e-mail protection are written into the text where
    they stand, so their labels ("청소년보호책임자: ...") are read like those of plain-text addresses.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.anchors: list[_Anchor] = []
        self.mailto: set[str] = set()
        self.protected: set[str] = set()
        self.refused: list[str] = []
        self.link_spans: list[tuple[int, int]] = []  # where link texts stand in the text
        self._length = 0
        self._skip_depth = 0
        self._open_anchor: _Anchor | None = None
        self._anchor_start = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth += 1
            return
        if tag in _BLOCK_TAGS:
            self._write("\n")
        values = {name: value or "" for name, value in attrs}
        if values.get("data-cfemail"):
            self._write_protected(values["data-cfemail"])
        if tag == "a":
            self._close_anchor()
            href = values.get("href", "").strip()
            if href.lower().startswith("mailto:"):
                self._write_mailto(href)
            elif "/cdn-cgi/l/email-protection#" in href:
                self._write_protected(href.rsplit("#", 1)[-1])
            elif href and len(self.anchors) < _MAX_ANCHORS:
                self._open_anchor = _Anchor(href, [values.get("title", ""), values.get("aria-label", "")])
                self.anchors.append(self._open_anchor)
                self._anchor_start = self._length

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in _SKIPPED_TAGS:
            self._skip_depth -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "a":
            self._close_anchor()
        elif tag in _BLOCK_TAGS:
            self._write("\n")

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        self._write(data)
        if self._open_anchor is not None:
            self._open_anchor.label_parts.append(data)

    def _write_mailto(self, href: str) -> None:
        target = unquote(href[len("mailto:") :].split("?", 1)[0])
        for part in target.split(","):
            if not part.strip():
                continue
            try:
                address = validate_address(part)
            except InvalidAddress as error:
                self.refused.append(f"mailto link refused: {error}")
                continue
            self.mailto.add(address)
            self._write(f" {address} ")

    def _write_protected(self, encoded: str) -> None:
        address = decode_cloudflare_email(encoded)
        if address:
            self.protected.add(address.lower())
            self._write(f" {address} ")

    def _write(self, text: str) -> None:
        self.chunks.append(text)
        self._length += len(text)

    def _close_anchor(self) -> None:
        if self._open_anchor is not None:
            self.link_spans.append((self._anchor_start, self._length))
        self._open_anchor = None

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def label_text(self) -> str:
        """The text with the texts of links blanked out: "DMCA" in a menu labels a link, not an address."""
        characters = list(self.text)
        for start, end in self.link_spans:
            characters[start:end] = " " * (end - start)
        return "".join(characters)


def _squash(text: str) -> str:
    return _SQUASH.sub("", text.lower())


def _label_kind(label: str, url: str) -> str:
    haystacks = (_squash(label), _squash(unquote(urlsplit(url).path)))
    for kind, words in CONTACT_LINK_KINDS:
        if any(word in haystack for word in words for haystack in haystacks):
            return kind
    return ""


def _same_site(url: str, other: str) -> bool:
    host, other_host = urlsplit(url).hostname or "", urlsplit(other).hostname or ""
    if host == other_host:
        return True
    try:
        domain = registered_domain(host)
        return bool(domain) and domain == registered_domain(other_host)
    except HostNameError:
        return False


def _parse(page_html: str | bytes, content_type: str) -> _ContactTextParser:
    parser = _ContactTextParser()
    parser.feed(decode_html(page_html, content_type) if isinstance(page_html, bytes) else page_html)
    parser.close()
    return parser


def find_contact_links(page_html: str | bytes, page_url: str, *, content_type: str = "") -> list[ContactLink]:
    """Links on the page, to the same site, that look like contact pages; most useful kinds first.

    Examples
    --------
    >>> html = '<a href="/about">About</a> <a href="/help/qna">고객 문의</a> <a href="https://x.example/contact">c</a>'
    >>> [(link.url, link.kind) for link in find_contact_links(html, "https://site.example/p/1")]
    [('https://site.example/help/qna', 'contact'), ('https://site.example/about', 'about')]
    """
    base_url = extract_page(page_html, page_url, content_type=content_type).base_url
    page = canonicalize_url(page_url)
    found: dict[str, ContactLink] = {}
    for anchor in _parse(page_html, content_type).anchors:
        try:
            url = canonicalize_url(anchor.href, base=base_url)
        except UrlError:
            continue
        label = clean_text(" ".join(anchor.label_parts), 60)
        kind = _label_kind(label, url)
        if kind and url != page and url not in found and _same_site(url, page):
            found[url] = ContactLink(url, kind, label)
    order = [kind for kind, _words in CONTACT_LINK_KINDS]
    return sorted(found.values(), key=lambda link: order.index(link.kind))


def _page_language(page_html: str | bytes, page_url: str, content_type: str) -> str:
    lang = extract_page(page_html, page_url, content_type=content_type).lang.strip()
    return lang if _LANGUAGE.match(lang) else ""


def addresses_on_page(
    page_html: str | bytes,
    page_url: str,
    *,
    content_type: str = "",
    linked_as: ContactLink | None = None,
    linked_from: str = "",
) -> tuple[list[Recipient], list[str]]:
    """The addresses a page publishes, each as a candidate recipient, plus notes on refused ones.

    ``linked_as``/``linked_from`` describe how a contact page was reached (for ``found_at``); without
    them the page is the crawled page itself.

    Examples
    --------
    >>> html = '<footer>청소년보호책임자: 홍길동 | 이메일: youth(at)site.example.com</footer>'
    >>> found, notes = addresses_on_page(html, "https://site.example.com/")
    >>> [(r.address, r.role) for r in found]
    [('youth@site.example.com', 'youth-protection')]
    """
    parser = _parse(page_html, content_type)
    text, labels = parser.text, parser.label_text()
    language = _page_language(page_html, page_url, content_type)
    notes = list(parser.refused)
    found: dict[str, Recipient] = {}
    previous_end = 0
    for hit in find_addresses_in_text(text):
        context = labels[max(previous_end, hit.start - _CONTEXT_CHARS) : hit.start]
        previous_end = hit.end
        try:
            address = validate_address(hit.address)
        except InvalidAddress as error:
            notes.append(f"address on {page_url} refused: {error}")
            continue
        if address in found:
            continue
        if address in parser.mailto:
            how = "mailto link"
        elif address in parser.protected:
            how = "Cloudflare-protected address"
        else:
            how = "obfuscated address" if hit.obfuscated else "address"
        found[address] = _site_recipient(
            address,
            how=how,
            context=context,
            page_url=page_url,
            language=language,
            linked_as=linked_as,
            linked_from=linked_from,
        )
    return list(found.values()), notes


def _site_recipient(
    address: str,
    *,
    how: str,
    context: str,
    page_url: str,
    language: str,
    linked_as: ContactLink | None,
    linked_from: str,
) -> Recipient:
    if linked_as is None:
        where = f"{how} on {page_url}"
        confidence = PAGE_MAILTO_CONFIDENCE if how == "mailto link" else PAGE_TEXT_CONFIDENCE
    else:
        where = (
            f"{how} on {linked_as.kind} page {page_url} (linked as {linked_as.label!r} from {linked_from})"
        )
        confidence = CONTACT_PAGE_CONFIDENCE
    squashed = _squash(context)
    role = "site"
    if any(word in squashed for word in _YOUTH_WORDS):
        role, confidence = "youth-protection", YOUTH_PROTECTION_CONFIDENCE
        label = next(
            (
                line
                for line in reversed(context.splitlines())
                if any(word in _squash(line) for word in _YOUTH_WORDS)
            ),
            "",
        )
        where += f", labelled {clean_text(label, 40).strip(' :|ㅣ')!r}"
    elif address.split("@", 1)[0] in _ABUSE_MAILBOXES or any(word in squashed for word in _ABUSE_WORDS):
        confidence = max(confidence, SITE_ABUSE_CONFIDENCE)
        where += ", an abuse mailbox"
    return Recipient(address=address, role=role, found_at=where, confidence=confidence, language=language)


def discover_site_contacts(
    *,
    page_url: str,
    page_html: str | bytes,
    fetcher: PageFetcher,
    max_contact_pages: int = 4,
    content_type: str = "",
) -> SiteContacts:
    """Candidates from the crawled page and from up to ``max_contact_pages`` of its contact pages.

    Contact pages are fetched with ``fetcher`` (pass the crawler's SafeFetcher); a page that fails,
    answers other than 200, is not HTML or redirects off the site becomes a note, never an exception.
    """
    recipients, notes = addresses_on_page(page_html, page_url, content_type=content_type)
    links = find_contact_links(page_html, page_url, content_type=content_type)
    result = SiteContacts(recipients=recipients, notes=notes, contact_links=links)
    for link in links[:max_contact_pages]:
        _read_contact_page(link, page_url, fetcher, result)
    if len(links) > max_contact_pages:
        result.notes.append(
            f"{len(links) - max_contact_pages} more contact-like links on {page_url} were not followed"
        )
    return result


def _read_contact_page(link: ContactLink, page_url: str, fetcher: PageFetcher, result: SiteContacts) -> None:
    try:
        fetched = fetcher.fetch(link.url)
    except CrawlError as error:
        result.notes.append(f"{link.kind} page {link.url} not read: {error.reason}")
        return
    if fetched.status != 200:
        result.notes.append(f"{link.kind} page {link.url} not read: HTTP {fetched.status}")
        return
    content_type = fetched.content_type
    if content_type and "html" not in content_type.lower():
        result.notes.append(
            f"{link.kind} page {link.url} not read: not HTML ({clean_text(content_type, 60)!r})"
        )
        return
    if not _same_site(fetched.final_url, page_url):
        result.notes.append(f"{link.kind} page {link.url} not read: it redirects off the site")
        return
    result.pages_read.append(fetched.final_url)
    found, notes = addresses_on_page(
        fetched.body, fetched.final_url, content_type=content_type, linked_as=link, linked_from=page_url
    )
    result.recipients.extend(found)
    result.notes.extend(notes)
