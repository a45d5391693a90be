"""One crawl step end to end on a loopback site: page, media, refusals and next pages."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pytest

from takedown.crawl.crawl_step import (
    PageTask,
    TaskError,
    crawl_page,
    cycle_id_at,
    fetcher_for_source,
)
from takedown.crawl.errors import FetchDeferred
from takedown.crawl.fetch import SafeFetcher
from takedown.crawl.pacing import DEFERRED_HOST_RATE_LIMIT, RequestPacer
from takedown.crawl.sources import Source
from tests.unit.crawl.conftest import unused_port
from tests.unit.crawl.samples import ebml_header, image_bytes, mp4_header

if TYPE_CHECKING:
    from tests.unit.crawl.conftest import LoopbackSite

INDEX_HTML = """<!doctype html>
<html lang="en"><head>
  <title>Synthetic gallery</title>
  <meta property="og:image" content="/site/og.bmp">
  <meta name="twitter:image" content="/site/card.tiff">
  <link rel="next" href="/site/index.html?page=2">
</head><body>
  <img src="photo.jpg" srcset="photo.png 2x, photo.webp 3x">
  <video src="clip.mp4" poster="poster.gif"><source src="clip.webm"></video>
  <a href="movie.mov">download</a>
  <img src="not-image.png">
  <img src="gone.jpg">
  <img src="http://169.254.169.254/latest/x.jpg">
  <a href="page2">two</a> <a href="/site/page3">three</a> <a href="index.html">self</a>
  <a href="http://elsewhere.example/">another site</a>
  <a href="mailto:Abuse@Site.Example">contact</a>
</body></html>
"""


@pytest.fixture
def gallery(site: LoopbackSite) -> dict[str, bytes]:
    """The synthetic gallery: an index page and its media, returned as path -> served bytes."""
    media = {
        "/site/photo.jpg": image_bytes("JPEG", seed=1),
        "/site/photo.png": image_bytes("PNG", seed=2),
        "/site/photo.webp": image_bytes("WEBP", seed=3),
        "/site/poster.gif": image_bytes("GIF", seed=4),
        "/site/og.bmp": image_bytes("BMP", seed=5),
        "/site/card.tiff": image_bytes("TIFF", seed=6),
        "/site/clip.mp4": mp4_header(),
        "/site/clip.webm": ebml_header(b"webm"),
        "/site/movie.mov": mp4_header(b"qt  ", (b"qt  ",)),
    }
    for path, body in media.items():
        # Deliberately generic: the type must come from the bytes.
        site.serve(path, body, content_type="application/octet-stream")
    site.serve("/site/not-image.png", b"<html>an error page</html>", content_type="text/html")
    site.serve("/site/index.html", INDEX_HTML.encode(), content_type="text/html; charset=utf-8")
    return media


def _source(site: LoopbackSite, **overrides: object) -> Source:
    options: dict[str, object] = {
        "id": "loopback-demo",
        "kind": "community",
        "seeds": [site.url("/site/index.html")],
        "allowed_hosts": ["127.0.0.1"],
        "depth": 1,
        "requests_per_second": 1000.0,
        "allow_private_addresses": True,
    }
    options.update(overrides)
    return Source(**options)  # type: ignore[arg-type]


def _fetcher() -> SafeFetcher:
    return SafeFetcher(allow_private=True, deadline_seconds=10)


def test_crawl_page_end_to_end(site: LoopbackSite, gallery: dict[str, bytes]) -> None:
    # GIVEN a loopback gallery page with media of every kind, plus broken and forbidden media
    source = _source(site)
    task = PageTask(source.id, site.url("/site/index.html"), depth=0)
    # WHEN one crawl step runs on it
    outcome = crawl_page(task, source, _fetcher())
    # THEN the page was fetched and extracted
    assert outcome.page is not None and outcome.page.status == 200
    assert outcome.extract is not None
    assert outcome.extract.title == "Synthetic gallery"
    assert outcome.extract.mailto == ["abuse@site.example"]
    # AND every media file came back with the type its bytes show and correct hashes
    found = {item.url: item for item in outcome.media}
    expected_types = {
        "/site/photo.jpg": ("img[src]", "image/jpeg"),
        "/site/photo.png": ("img[srcset]", "image/png"),
        "/site/photo.webp": ("img[srcset]", "image/webp"),
        "/site/poster.gif": ("video[poster]", "image/gif"),
        "/site/og.bmp": ("meta[og:image]", "image/bmp"),
        "/site/card.tiff": ("meta[twitter:image]", "image/tiff"),
        "/site/clip.mp4": ("video[src]", "video/mp4"),
        "/site/clip.webm": ("video>source[src]", "video/webm"),
        "/site/movie.mov": ("a[href]", "video/quicktime"),
    }
    assert set(found) == {site.url(path) for path in expected_types}
    for path, (via, media_type) in expected_types.items():
        item = found[site.url(path)]
        assert (item.via, item.media_type) == (via, media_type)
        assert item.sha256 == hashlib.sha256(gallery[path]).hexdigest()
        assert item.md5 == hashlib.md5(gallery[path], usedforsecurity=False).hexdigest()
        assert item.size_bytes == len(gallery[path])
        assert item.result.server_ip == "127.0.0.1"
    # AND what could not be had is recorded with a reason, not dropped
    assert {(refusal.url, refusal.reason) for refusal in outcome.refusals} == {
        (site.url("/site/not-image.png"), "type:not-media"),
        (site.url("/site/gone.jpg"), "status:404"),
        ("http://169.254.169.254/latest/x.jpg", "address:metadata"),
    }
    # AND the next pages are the same-site links one level deeper, without the page itself
    assert outcome.next_pages == [
        PageTask(source.id, site.url("/site/index.html?page=2"), 1),
        PageTask(source.id, site.url("/site/page2"), 1),
        PageTask(source.id, site.url("/site/page3"), 1),
    ]


def test_seen_media_are_not_fetched_again(site: LoopbackSite, gallery: dict[str, bytes]) -> None:
    # GIVEN a store that already holds the JPEG and the MP4
    source = _source(site)
    already = {site.url("/site/photo.jpg"), site.url("/site/clip.mp4")}
    # WHEN the page is crawled with that seen() check
    outcome = crawl_page(
        PageTask(source.id, site.url("/site/index.html"), 0), source, _fetcher(), seen=already.__contains__
    )
    # THEN those two were neither fetched nor returned
    requested = {request.path for request in site.requests}
    assert "/site/photo.jpg" not in requested
    assert "/site/clip.mp4" not in requested
    assert not already & {item.url for item in outcome.media}
    assert len(outcome.media) == len(gallery) - 2


def test_media_beyond_the_limit_are_refused(site: LoopbackSite, gallery: dict[str, bytes]) -> None:
    # GIVEN a limit of two media per page
    source = _source(site)
    # WHEN the page is crawled
    outcome = crawl_page(
        PageTask(source.id, site.url("/site/index.html"), 0), source, _fetcher(), max_media=2
    )
    # THEN the first two media in page order are fetched and the rest are refused as over the limit
    assert [item.url for item in outcome.media] == [site.url("/site/og.bmp"), site.url("/site/card.tiff")]
    over_limit = [refusal for refusal in outcome.refusals if refusal.reason == "media:over-limit"]
    assert len(over_limit) == 12 - 2
    assert len(site.requests) == 1 + 2


def test_no_next_pages_at_the_source_depth(site: LoopbackSite, gallery: dict[str, bytes]) -> None:
    # GIVEN a task already at the source's depth
    source = _source(site, depth=1)
    # WHEN it is crawled
    outcome = crawl_page(PageTask(source.id, site.url("/site/index.html"), 1), source, _fetcher())
    # THEN media are still fetched but no deeper pages are queued
    assert outcome.media
    assert outcome.next_pages == []


def test_page_fetch_failure_is_an_outcome_not_an_exception(site: LoopbackSite) -> None:
    # GIVEN a page on a port nobody listens on
    source = _source(site)
    url = f"http://127.0.0.1:{unused_port()}/down"
    # WHEN it is crawled
    outcome = crawl_page(PageTask(source.id, url, 0), source, _fetcher())
    # THEN there is no page and one refusal with the network reason
    assert (outcome.page, outcome.extract, outcome.media, outcome.next_pages) == (None, None, [], [])
    assert [(refusal.url, refusal.reason) for refusal in outcome.refusals] == [(url, "network:connect")]


def test_page_with_error_status_is_recorded(site: LoopbackSite) -> None:
    # GIVEN a page that answers 404
    source = _source(site)
    # WHEN it is crawled
    outcome = crawl_page(PageTask(source.id, site.url("/missing"), 0), source, _fetcher())
    # THEN the response is kept (evidence of removal) but not extracted
    assert outcome.page is not None and outcome.page.status == 404
    assert outcome.extract is None
    assert [refusal.reason for refusal in outcome.refusals] == ["status:404"]


def test_page_that_is_itself_media(site: LoopbackSite) -> None:
    # GIVEN a seed that points straight at an image
    body = image_bytes("PNG", seed=9)
    url = site.serve("/direct.png", body, content_type="image/png")
    source = _source(site)
    # WHEN it is crawled
    outcome = crawl_page(PageTask(source.id, url, 0), source, _fetcher())
    # THEN the page is the one media item
    assert [(item.url, item.via, item.media_type) for item in outcome.media] == [(url, "page", "image/png")]
    assert outcome.extract is None


def test_page_that_is_neither_html_nor_media(site: LoopbackSite) -> None:
    # GIVEN a JSON document
    url = site.serve("/api.json", b'{"items": []}', content_type="application/json")
    source = _source(site)
    # WHEN it is crawled
    outcome = crawl_page(PageTask(source.id, url, 0), source, _fetcher())
    # THEN it is refused as not HTML
    assert [refusal.reason for refusal in outcome.refusals] == ["type:not-html"]
    assert outcome.extract is None


def test_page_on_a_host_outside_the_source_is_not_fetched(site: LoopbackSite) -> None:
    # GIVEN a task whose URL is on a host the source does not allow
    source = _source(site, allowed_hosts=["127.0.0.1"])
    # WHEN it is crawled
    outcome = crawl_page(PageTask(source.id, f"http://localhost:{site.port}/", 0), source, _fetcher())
    # THEN it is refused without a request
    assert [refusal.reason for refusal in outcome.refusals] == ["host:not-allowed"]
    assert site.requests == []


def test_unusable_task_url_is_refused(site: LoopbackSite) -> None:
    # GIVEN a task with a non-http URL
    source = _source(site)
    # WHEN it is crawled
    outcome = crawl_page(PageTask(source.id, "ftp://127.0.0.1/file", 0), source, _fetcher())
    # THEN the refusal carries the URL error's reason
    assert [refusal.reason for refusal in outcome.refusals] == ["scheme:ftp"]


def test_task_for_another_source_raises(site: LoopbackSite) -> None:
    # GIVEN a task that names a different source
    source = _source(site)
    # WHEN it is run with this source
    # THEN it is a bug upstream and raises
    with pytest.raises(TaskError, match="run with source"):
        crawl_page(PageTask("some-other-source", site.url("/"), 0), source, _fetcher())


def test_requests_are_paced_by_the_source_rate(site: LoopbackSite, gallery: dict[str, bytes]) -> None:
    # GIVEN a pacer at 2 requests per second on a fake clock
    now = [100.0]
    sleeps: list[float] = []

    def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    pacer = RequestPacer(2.0, clock=lambda: now[0], sleep=fake_sleep)
    source = _source(site)
    # WHEN a page with three media is crawled (the fake clock does not move while fetching)
    outcome = crawl_page(
        PageTask(source.id, site.url("/site/index.html"), 0), source, _fetcher(), max_media=3, pacer=pacer
    )
    # THEN each request after the first waited half a second
    assert len(outcome.media) == 3
    assert sleeps == [0.5, 0.5, 0.5]


def test_page_task_round_trip_and_validation() -> None:
    # GIVEN a task
    task = PageTask("demo", "https://site.example/a", 2)
    # WHEN it goes through a queue message and back
    again = PageTask.from_dict(task.to_dict())
    # THEN it is unchanged, and malformed messages are refused specifically
    assert again == task
    bad_messages: list[object] = [
        [],
        {"source_id": "demo", "url": "https://site.example/"},
        {"source_id": "demo", "url": "https://site.example/", "depth": -1},
        {"source_id": "demo", "url": "https://site.example/", "depth": True},
        {"source_id": "", "url": "https://site.example/", "depth": 0},
        {"source_id": "demo", "url": "https://site.example/", "depth": 0, "extra": 1},
    ]
    for bad in bad_messages:
        with pytest.raises(TaskError):
            PageTask.from_dict(bad)


def test_fetcher_for_source_follows_the_source_settings(site: LoopbackSite) -> None:
    # GIVEN a source that allows private addresses and one that does not
    private_ok = _source(site)
    strict = _source(site, allow_private_addresses=False)
    url = site.serve("/hello", b"hi")
    # WHEN fetchers are built for each and fetch a loopback URL
    # THEN the source's setting decides
    assert fetcher_for_source(private_ok).fetch(url).body == b"hi"
    outcome = crawl_page(PageTask(strict.id, url, 0), strict, fetcher_for_source(strict))
    assert [refusal.reason for refusal in outcome.refusals] == ["address:loopback"]


def test_request_pacer_rejects_a_zero_rate() -> None:
    # GIVEN a zero rate
    # WHEN a pacer is built
    # THEN it is refused
    with pytest.raises(ValueError, match="requests_per_second"):
        RequestPacer(0)


class DeferAfter:
    """A pacer that lets ``allowed`` requests through, then puts every later one off (a busy host)."""

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.asked: list[str] = []

    def wait(self, url: str) -> None:
        self.asked.append(url)
        if len(self.asked) > self.allowed:
            raise FetchDeferred(url, DEFERRED_HOST_RATE_LIMIT, "the host is busy", 42.0)


def test_a_page_put_off_by_the_pacer_is_not_fetched(site: LoopbackSite, gallery: dict[str, bytes]) -> None:
    # GIVEN a pacer that puts off the very first request
    source = _source(site)
    # WHEN the page is crawled
    outcome = crawl_page(
        PageTask(source.id, site.url("/site/index.html"), 0), source, _fetcher(), pacer=DeferAfter(0)
    )
    # THEN nothing was requested, nothing is refused, and the deferral says when the host is free
    assert site.requests == []
    assert outcome.page is None and outcome.refusals == []
    assert outcome.deferred is not None
    assert (outcome.deferred.url, outcome.deferred.retry_after) == (site.url("/site/index.html"), 42.0)
    assert outcome.deferred_media == []


def test_media_put_off_by_the_pacer_are_listed_and_the_rest_kept(
    site: LoopbackSite, gallery: dict[str, bytes]
) -> None:
    # GIVEN a pacer that lets the page and two media through, then puts requests off
    source = _source(site)
    seen_asked: list[str] = []

    def seen(url: str) -> bool:
        seen_asked.append(url)
        return False

    # WHEN the page is crawled
    outcome = crawl_page(
        PageTask(source.id, site.url("/site/index.html"), 0),
        source,
        _fetcher(),
        pacer=DeferAfter(3),
        seen=seen,
    )
    # THEN the page and the first two media were fetched and kept, with the links to follow
    assert outcome.page is not None
    assert [item.url for item in outcome.media] == [site.url("/site/og.bmp"), site.url("/site/card.tiff")]
    assert len(outcome.next_pages) == 3
    # AND the third media and every one after it are listed as put off, in page order; only the first of
    # them went through seen(), and none of them is a refusal
    assert outcome.deferred is not None and outcome.deferred.url == site.url("/site/photo.jpg")
    deferred = [ref.url for ref in outcome.deferred_media]
    assert deferred[0] == site.url("/site/photo.jpg") and len(deferred) == 12 - 2
    assert seen_asked == [site.url("/site/og.bmp"), site.url("/site/card.tiff"), site.url("/site/photo.jpg")]
    assert not {refusal.url for refusal in outcome.refusals} & set(deferred)
    assert len(site.requests) == 3


def test_linked_pages_inherit_the_cycle(site: LoopbackSite, gallery: dict[str, bytes]) -> None:
    # GIVEN a task of one crawl cycle
    source = _source(site)
    task = PageTask(source.id, site.url("/site/index.html"), 0, cycle="20261128T070000Z")
    # WHEN the page is crawled THEN every page to follow belongs to the same cycle
    outcome = crawl_page(task, source, _fetcher())
    assert {page.cycle for page in outcome.next_pages} == {"20261128T070000Z"}
    assert {page.deferrals for page in outcome.next_pages} == {0}


def test_page_task_carries_its_cycle_and_deferrals_and_old_messages_still_read() -> None:
    # GIVEN a task with a cycle and two deferrals, and a message written before cycles existed
    task = PageTask("demo", "https://site.example/a", 1, cycle="20261128T070000Z-a1b2c3", deferrals=2)
    old = {"source_id": "demo", "url": "https://site.example/a", "depth": 1}
    # WHEN they go through the queue and back
    # THEN the task is unchanged and the old message reads with no cycle and no deferrals
    assert PageTask.from_dict(task.to_dict()) == task
    assert PageTask.from_dict(old) == PageTask("demo", "https://site.example/a", 1, cycle="", deferrals=0)
    assert PageTask("demo", "https://site.example/a", 1).to_dict() == old
    # AND a bad cycle or deferral count is refused specifically
    for bad in ({"cycle": "a b"}, {"cycle": "x" * 65}, {"cycle": 7}, {"deferrals": -1}, {"deferrals": True}):
        with pytest.raises(TaskError, match=next(iter(bad))):
            PageTask.from_dict({**old, **bad})


def test_cycle_ids_are_utc_times() -> None:
    # GIVEN 2026-11-28 07:00:00 UTC WHEN cycle ids are made THEN they are its compact ISO form
    assert cycle_id_at(1795849200.0) == "20261128T070000Z"
    assert cycle_id_at(1795849200.9, "x1") == "20261128T070000Z-x1"
    with pytest.raises(TaskError, match="suffix"):
        cycle_id_at(0.0, "no spaces")
