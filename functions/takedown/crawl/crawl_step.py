"""The work of one crawl-worker message: fetch a page, find its media, fetch them, list the next pages.

Network and policy problems never raise here: each becomes a :class:`Refusal` in the outcome, so the
worker can record every URL it did not get and why. A request the pacer puts off (the host's shared rate
limit, the worker's deadline) ends the step early with ``outcome.deferred`` set, so the worker can queue the
page again. Only a malformed task (wrong source, bad fields) raises, because that is a bug upstream, not
something a site did.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from takedown.crawl.errors import CrawlError, FetchDeferred
from takedown.crawl.fetch import MiB, SafeFetcher
from takedown.crawl.html_media import extract_page
from takedown.crawl.media_types import SNIFF_BYTES, sniff_media_type
from takedown.crawl.pacing import RequestPacer
from takedown.crawl.urls import UrlError, canonicalize_url, host_of

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from takedown.crawl.fetch import FetchResult
    from takedown.crawl.html_media import MediaRef, PageExtract
    from takedown.crawl.pacing import Pacer
    from takedown.crawl.sources import Source

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_TASK_FIELDS = frozenset({"source_id", "url", "depth", "cycle", "deferrals"})
# A cycle id is stamped by the dispatcher: its UTC time, e.g. "20261128T070000Z".
_CYCLE = re.compile(r"[A-Za-z0-9:._-]{1,64}")


class TaskError(ValueError):
    """A crawl task message is malformed or does not belong to the source it was run with."""


def cycle_id_at(epoch_seconds: float, suffix: str = "") -> str:
    """The id of a crawl cycle started at ``epoch_seconds``: its UTC time, and a suffix when given.

    >>> cycle_id_at(1795849200.0), cycle_id_at(1795849200.0, "a1b2c3")
    ('20261128T070000Z', '20261128T070000Z-a1b2c3')
    """
    stamp = datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y%m%dT%H%M%SZ")
    cycle = f"{stamp}-{suffix}" if suffix else stamp
    if not _CYCLE.fullmatch(cycle):
        raise TaskError(f"cycle suffix must be 1-40 of A-Z a-z 0-9 : . _ -, got {suffix[:40]!r}")
    return cycle


@dataclass(frozen=True)
class PageTask:
    """One page to crawl: the message the dispatcher and the worker put on the crawl queue.

    ``cycle`` names the crawl cycle the page belongs to (the dispatcher stamps it; linked pages inherit it):
    a source's page budget and the "already fetched" memory of pages are per cycle. "" is a task from
    before cycles existed, remembered by time instead. ``deferrals`` counts how often the page was put off
    and queued again (rate limit, worker deadline).
    """

    source_id: str
    url: str
    depth: int
    cycle: str = ""
    deferrals: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The task as a JSON-ready dict (``cycle`` and ``deferrals`` only when set)."""
        data: dict[str, Any] = {"source_id": self.source_id, "url": self.url, "depth": self.depth}
        if self.cycle:
            data["cycle"] = self.cycle
        if self.deferrals:
            data["deferrals"] = self.deferrals
        return data

    @classmethod
    def from_dict(cls, data: object) -> PageTask:
        """Read a task from a queue message body, checking every field.

        >>> PageTask.from_dict({"source_id": "demo", "url": "https://site.example/", "depth": 0}).depth
        0
        """
        if not isinstance(data, dict):
            raise TaskError(f"a page task must be a JSON object, got {type(data).__name__}")
        unknown = sorted(str(key) for key in set(data) - _TASK_FIELDS)
        if unknown:
            raise TaskError(f"page task: unknown field {unknown[0]!r}")
        source_id, url, depth = data.get("source_id"), data.get("url"), data.get("depth")
        cycle, deferrals = data.get("cycle", ""), data.get("deferrals", 0)
        if not isinstance(source_id, str) or not source_id:
            raise TaskError("page task: 'source_id' must be a non-empty string")
        if not isinstance(url, str) or not url:
            raise TaskError("page task: 'url' must be a non-empty string")
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise TaskError(f"page task: 'depth' must be an integer >= 0, got {depth!r}")
        if not isinstance(cycle, str) or (cycle and not _CYCLE.fullmatch(cycle)):
            raise TaskError(f"page task: 'cycle' must be '' or 1-64 of A-Z a-z 0-9 : . _ -, got {cycle!r}")
        if isinstance(deferrals, bool) or not isinstance(deferrals, int) or deferrals < 0:
            raise TaskError(f"page task: 'deferrals' must be an integer >= 0, got {deferrals!r}")
        return cls(source_id=source_id, url=url, depth=depth, cycle=cycle, deferrals=deferrals)


@dataclass(frozen=True)
class Refusal:
    """A URL the step did not get, with the reason code (``"address:loopback"``, ``"type:not-media"`` ...)."""

    url: str
    reason: str
    message: str


@dataclass(frozen=True)
class FetchedMedia:
    """A media file fetched from a page, with its sniffed type and content hashes."""

    url: str  # as found on the page; result.final_url is where it was served from
    via: str
    result: FetchResult
    media_type: str
    sha256: str
    md5: str

    @property
    def size_bytes(self) -> int:
        """The body's length."""
        return len(self.result.body)


@dataclass
class PageOutcome:
    """Everything one crawl step produced.

    ``deferred`` is set when the pacer put a request off: the page itself (``page`` is None) or one of its
    media, in which case ``deferred_media`` lists that media reference and every one after it, unfetched
    (the first was already passed to ``seen``; the others were not).
    """

    page: FetchResult | None
    extract: PageExtract | None
    media: list[FetchedMedia] = field(default_factory=list)
    next_pages: list[PageTask] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    deferred: FetchDeferred | None = None
    deferred_media: list[MediaRef] = field(default_factory=list)


def _never_seen(url: str) -> bool:
    del url
    return False


def fetcher_for_source(
    source: Source,
    *,
    max_bytes: int = 50 * MiB,
    deadline_seconds: float = 30,
    credential_headers: Mapping[str, str] | None = None,
) -> SafeFetcher:
    """A :class:`SafeFetcher` configured for a source: its proxy, its private-address setting, and
    its secret headers (if any) limited to its own allowed hosts.
    """
    return SafeFetcher(
        allow_private=source.allow_private_addresses,
        proxy=source.proxy,
        max_bytes=max_bytes,
        deadline_seconds=deadline_seconds,
        credential_headers=credential_headers,
        credential_hosts=source.allowed_hosts,
    )


def _media_from(url: str, via: str, result: FetchResult, media_type: str) -> FetchedMedia:
    return FetchedMedia(
        url=url,
        via=via,
        result=result,
        media_type=media_type,
        sha256=hashlib.sha256(result.body).hexdigest(),
        md5=hashlib.md5(result.body, usedforsecurity=False).hexdigest(),
    )


def _is_html(result: FetchResult) -> bool:
    mime = result.content_type.split(";", 1)[0].strip().lower()
    return not mime or mime in _HTML_TYPES


def _fetch_or_refuse(
    url: str, fetcher: SafeFetcher, pacer: Pacer, refusals: list[Refusal]
) -> FetchResult | None:
    """Fetch ``url`` in its turn; None (with a refusal) when it failed. The pacer may raise FetchDeferred."""
    pacer.wait(url)
    try:
        result = fetcher.fetch(url)
    except CrawlError as error:
        refusals.append(Refusal(url, error.reason, str(error)))
        return None
    return result


def _refuse_error_status(url: str, result: FetchResult, refusals: list[Refusal]) -> bool:
    """Record an HTTP error status as a refusal; True when there was one."""
    if result.status < 400:
        return False
    refusals.append(Refusal(url, f"status:{result.status}", f"the server answered HTTP {result.status}"))
    return True


def _fetch_media(
    refs: list[MediaRef],
    fetcher: SafeFetcher,
    pacer: Pacer,
    *,
    seen: Callable[[str], bool],
    max_media: int,
    outcome: PageOutcome,
) -> list[FetchedMedia]:
    fetched: list[FetchedMedia] = []
    refusals = outcome.refusals
    attempted = 0
    for position, ref in enumerate(refs):
        if seen(ref.url):
            continue
        if attempted >= max_media:
            refusals.append(Refusal(ref.url, "media:over-limit", f"more than {max_media} media on the page"))
            continue
        attempted += 1
        try:
            result = _fetch_or_refuse(ref.url, fetcher, pacer, refusals)
        except FetchDeferred as deferred:
            # Keep what was fetched; the worker queues the page again for the rest.
            outcome.deferred = deferred
            outcome.deferred_media = list(refs[position:])
            break
        if result is None or _refuse_error_status(ref.url, result, refusals):
            continue
        media_type = sniff_media_type(result.body[:SNIFF_BYTES])
        if media_type is None:
            refusals.append(
                Refusal(ref.url, "type:not-media", f"the body is not a known image or video ({ref.via})")
            )
            continue
        fetched.append(_media_from(ref.url, ref.via, result, media_type))
    return fetched


def _next_pages(task: PageTask, source: Source, extract: PageExtract, own_urls: set[str]) -> list[PageTask]:
    if task.depth >= source.depth:
        return []
    allowed = set(source.allowed_hosts)
    return [
        PageTask(source_id=source.id, url=link, depth=task.depth + 1, cycle=task.cycle)
        for link in extract.links
        if link not in own_urls and host_of(link) in allowed
    ]


def _task_url_or_refuse(task: PageTask, source: Source, refusals: list[Refusal]) -> str | None:
    """The task's canonical URL, or None (with a refusal) if it is unusable or off the source's hosts."""
    try:
        page_url = canonicalize_url(task.url)
    except UrlError as error:
        refusals.append(Refusal(task.url, error.reason, str(error)))
        return None
    if host_of(page_url) not in source.allowed_hosts:
        refusals.append(
            Refusal(page_url, "host:not-allowed", f"the host is not in source {source.id!r}'s allowed_hosts")
        )
        return None
    return page_url


def _follow_html_page(
    page_url: str,
    page: FetchResult,
    *,
    task: PageTask,
    source: Source,
    fetcher: SafeFetcher,
    pacer: Pacer,
    seen: Callable[[str], bool],
    max_media: int,
    outcome: PageOutcome,
) -> None:
    """Extract an HTML page into ``outcome``, fetch its media and list its next pages."""
    extract = extract_page(page.body, page.final_url, content_type=page.content_type)
    outcome.extract = extract
    if extract.truncated:
        outcome.refusals.append(
            Refusal(page_url, "extract:truncated", "the page had more links than the extractor collects")
        )
    outcome.media = _fetch_media(
        extract.media, fetcher, pacer, seen=seen, max_media=max_media, outcome=outcome
    )
    outcome.next_pages = _next_pages(task, source, extract, {page_url, page.final_url})


def crawl_page(
    task: PageTask,
    source: Source,
    fetcher: SafeFetcher,
    *,
    seen: Callable[[str], bool] = _never_seen,
    max_media: int = 200,
    pacer: Pacer | None = None,
) -> PageOutcome:
    """Crawl one page: fetch it, extract it, fetch its media, and list the pages to crawl next.

    Parameters
    ----------
    task
        The page and its depth; ``task.source_id`` must be ``source.id``.
    source
        The page's source: allowed hosts, depth and request rate.
    fetcher
        The fetcher to use (see :func:`fetcher_for_source`).
    seen
        Returns True for media URLs already stored; those are not fetched again.
    max_media
        The most media fetched from this page; the rest are refused with ``media:over-limit``.
    pacer
        Asked before every request; defaults to a :class:`RequestPacer` at the source's
        ``requests_per_second``. The worker passes a :class:`~takedown.crawl.pacing.SharedHostPacer`.

    Returns
    -------
    PageOutcome
        ``page`` is None when the page itself could not be fetched (the reason is in ``refusals``).
        A page URL that is itself an image or video comes back as one media item with via ``"page"``.
        ``next_pages`` holds links on the source's allowed hosts, one level deeper, while
        ``task.depth < source.depth``, in the task's cycle. ``deferred`` is set when the pacer put a
        request off (see :class:`PageOutcome`).

    Raises
    ------
    TaskError
        When the task belongs to another source, or ``max_media`` is negative.

    Examples
    --------
    >>> from takedown.crawl.sources import Source
    >>> source = Source(id="demo", kind="community", seeds=["https://site.example/"],
    ...                 allowed_hosts=["site.example"])
    >>> outcome = crawl_page(PageTask("demo", "https://elsewhere.example/", 0), source, SafeFetcher())
    >>> outcome.page, [refusal.reason for refusal in outcome.refusals]
    (None, ['host:not-allowed'])
    """
    if task.source_id != source.id:
        raise TaskError(f"task for source {task.source_id!r} run with source {source.id!r}")
    if max_media < 0:
        raise TaskError(f"max_media must be >= 0, got {max_media}")
    pacer = pacer or RequestPacer(source.requests_per_second)
    outcome = PageOutcome(page=None, extract=None)
    page_url = _task_url_or_refuse(task, source, outcome.refusals)
    if page_url is None:
        return outcome
    try:
        page = _fetch_or_refuse(page_url, fetcher, pacer, outcome.refusals)
    except FetchDeferred as deferred:
        outcome.deferred = deferred
        return outcome
    if page is None:
        return outcome
    outcome.page = page  # kept even for an error status: a 404 or 410 is evidence of removal
    if _refuse_error_status(page_url, page, outcome.refusals):
        return outcome
    page_media_type = sniff_media_type(page.body[:SNIFF_BYTES])
    if page_media_type is not None:
        outcome.media.append(_media_from(page_url, "page", page, page_media_type))
    elif not _is_html(page):
        outcome.refusals.append(
            Refusal(page_url, "type:not-html", f"the page is {page.content_type!r}, not HTML or media")
        )
    else:
        _follow_html_page(
            page_url,
            page,
            task=task,
            source=source,
            fetcher=fetcher,
            pacer=pacer,
            seen=seen,
            max_media=max_media,
            outcome=outcome,
        )
    return outcome
