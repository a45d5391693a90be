"""Look again: re-fetch a case's page and media URL under the crawler's network policy and describe what is there.

The fetcher is the crawl's :class:`takedown.crawl.fetch.SafeFetcher`, built for the case's source (its proxy, its
private-address setting), so a re-check goes only where the crawl may go. Whether re-fetched media is still the
reported content is for ``compare`` to say (it hashes: see :func:`compare_media`). Nothing here decides; the rule
is :func:`takedown.cases.recheck.decide`.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Protocol

from takedown.cases.recheck import (
    MediaObservation,
    MediaState,
    PageObservation,
    PageState,
    state_for_status,
)
from takedown.crawl.errors import CrawlError
from takedown.crawl.html_media import extract_page
from takedown.crawl.media_types import SNIFF_BYTES, sniff_media_type
from takedown.crawl.urls import UrlError, canonicalize_url

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from takedown.crawl.fetch import FetchResult
    from takedown.hashing.bank_index import BankIndex
    from takedown.model import MatchEvidence, Sighting

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


class Fetcher(Protocol):
    def fetch(self, url: str) -> FetchResult: ...


def observe_page(fetcher: Fetcher, sighting: Sighting) -> PageObservation:
    """Fetch the page and say whether it still refers to the media URL."""
    if sighting.page_url == sighting.media_url:
        return PageObservation(PageState.NOT_CHECKED)
    try:
        result = fetcher.fetch(sighting.page_url)
    except CrawlError as error:
        return PageObservation(PageState.UNKNOWN, detail=error.reason)
    by_status = state_for_status(result.status)
    if by_status is not None:
        gone = by_status is MediaState.GONE
        return PageObservation(
            PageState.GONE if gone else PageState.UNKNOWN,
            result.status,
            "" if gone else f"status:{result.status}",
        )
    return _page_shows_media(result, sighting)


def _page_shows_media(result: FetchResult, sighting: Sighting) -> PageObservation:
    mime = result.content_type.split(";", 1)[0].strip().lower()
    if mime and mime not in _HTML_TYPES:
        return PageObservation(PageState.UNKNOWN, result.status, f"type:{mime[:40]}")
    try:
        extract = extract_page(result.body, result.final_url, content_type=result.content_type)
        wanted = canonicalize_url(sighting.media_url)
    except UrlError as error:
        return PageObservation(PageState.UNKNOWN, result.status, error.reason)
    shown = any(ref.url == wanted for ref in extract.media)
    return PageObservation(PageState.SHOWS_MEDIA if shown else PageState.WITHOUT_MEDIA, result.status)


def observe_media(
    fetcher: Fetcher, sighting: Sighting, compare: Callable[[bytes, str], MediaState]
) -> MediaObservation:
    """Fetch the media URL and say whether it still serves the reported content (``compare`` decides 2xx bodies,
    given the body and its sniffed media type, "" when it is not media)."""
    try:
        result = fetcher.fetch(sighting.media_url)
    except CrawlError as error:
        return MediaObservation(MediaState.UNKNOWN, detail=error.reason)
    by_status = state_for_status(result.status)
    if by_status is MediaState.UNKNOWN:
        return MediaObservation(by_status, result.status, f"status:{result.status}")
    if by_status is not None:
        return MediaObservation(by_status, result.status)
    media_type = sniff_media_type(result.body[:SNIFF_BYTES]) or ""
    state = compare(result.body, media_type)
    return MediaObservation(state, result.status, "" if media_type else "type:not-media")


def compare_media(
    data: bytes,
    media_type: str,
    *,
    sighting: Sighting,
    case_matches: Collection[MatchEvidence],
    index: BankIndex,
) -> MediaState:
    """Is ``data`` still the reported content? The rule, cheapest test first.

    1. The same SHA-256 as when it was seen: the same file.
    2. Not media at all (a placeholder page, an error text): changed.
    3. A video with other bytes: unverified (no frame hashing in this function; see :mod:`takedown.cases.recheck`).
    4. An image (or animated image): hashed and matched against the current bank index; it is the same content
       when a match hits one of the case's bank items or their registered original's group. A file that cannot
       be decoded is not the reported image: changed.
    """
    if hashlib.sha256(data).hexdigest() == sighting.sha256.lower():
        return MediaState.SAME
    if not media_type:
        return MediaState.CHANGED
    if media_type.startswith("video/"):
        return MediaState.UNVERIFIED
    from takedown.hashing.detect import detect_media
    from takedown.hashing.refusals import MediaRejected

    try:
        detection = detect_media(data, media_type, index)
    except MediaRejected:
        return MediaState.CHANGED
    items = {m.bank_item_id for m in case_matches}
    groups = {m.group_id for m in case_matches if m.group_id}
    still = any(m.bank_item_id in items or (m.group_id and m.group_id in groups) for m in detection.matches)
    return MediaState.SAME if still else MediaState.CHANGED
