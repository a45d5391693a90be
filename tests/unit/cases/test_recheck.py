"""Is it still up? The decision rule, what the page and media URL answer (a real server on 127.0.0.1, fetched with
the crawler's SafeFetcher), and whether re-fetched media is still the reported content (a real bank index)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import random
import socket
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest
from PIL import Image, ImageDraw

from takedown.cases.follow_up import Verdict
from takedown.cases.recheck import (
    MediaObservation,
    MediaState,
    PageObservation,
    PageState,
    decide,
)
from takedown.cases.recheck_observe import compare_media, observe_media, observe_page
from takedown.commands.bank import items_for_bytes
from takedown.crawl.fetch import SafeFetcher
from takedown.hashing.bank_index import BankIndex

from .follow_up_samples import sighting

if TYPE_CHECKING:
    from collections.abc import Iterator

    from takedown.model import MatchEvidence, Sighting


# --- the rule --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "media", "verdict"),
    [
        # the file decides, whatever the page shows now
        (PageState.SHOWS_MEDIA, MediaState.SAME, Verdict.PRESENT),
        (PageState.WITHOUT_MEDIA, MediaState.SAME, Verdict.PRESENT),
        (PageState.GONE, MediaState.SAME, Verdict.PRESENT),
        (PageState.SHOWS_MEDIA, MediaState.GONE, Verdict.REMOVED),
        (PageState.GONE, MediaState.GONE, Verdict.REMOVED),
        (PageState.WITHOUT_MEDIA, MediaState.CHANGED, Verdict.REMOVED),
        (PageState.UNKNOWN, MediaState.CHANGED, Verdict.REMOVED),
        # what cannot be told is not a removal, even with the page gone
        (PageState.GONE, MediaState.UNKNOWN, Verdict.UNKNOWN),
        (PageState.WITHOUT_MEDIA, MediaState.UNKNOWN, Verdict.UNKNOWN),
        (PageState.SHOWS_MEDIA, MediaState.UNVERIFIED, Verdict.UNKNOWN),
    ],
)
def test_the_verdict_follows_the_media(page: PageState, media: MediaState, verdict: Verdict) -> None:
    decision = decide(PageObservation(page, 200), MediaObservation(media, 200))
    assert decision.verdict is verdict
    assert decision.reason.startswith("media:") and f"; page:{page.value}" in decision.reason


def test_the_reason_names_what_was_seen() -> None:
    decision = decide(
        PageObservation(PageState.UNKNOWN, detail="network:connect"),
        MediaObservation(MediaState.UNKNOWN, 503, "status:503"),
    )
    assert decision.reason == "media:unknown (status:503); page:unknown (network:connect)"


# --- looking again ---------------------------------------------------------------------------------------------


class _Site:
    """A real HTTP server on 127.0.0.1: path -> (status, content type, body)."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, str, bytes]] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, kind, body = site.answers.get(self.path, (404, "text/plain", b"missing"))
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


@pytest.fixture
def site() -> Iterator[_Site]:
    served = _Site()
    yield served
    served.server.shutdown()
    served.server.server_close()


@pytest.fixture
def fetcher() -> SafeFetcher:
    return SafeFetcher(allow_private=True, deadline_seconds=5, max_bytes=2 * 1024 * 1024)


def _case_on(site: _Site, data: bytes = b"x") -> Sighting:
    return replace(
        sighting(site.url("/p/1")),
        media_url=site.url("/m/1.jpg"),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _page(media_src: str | None) -> bytes:
    body = f'<img src="{media_src}">' if media_src else "<p>removed by the operator</p>"
    return f"<!doctype html><html><body>{body}</body></html>".encode()


@pytest.mark.parametrize(
    ("answer", "state", "detail"),
    [
        ((200, "text/html", _page("/m/1.jpg")), PageState.SHOWS_MEDIA, ""),
        ((200, "text/html; charset=utf-8", _page("../m/1.jpg")), PageState.SHOWS_MEDIA, ""),
        ((200, "text/html", _page(None)), PageState.WITHOUT_MEDIA, ""),
        ((404, "text/html", b"gone"), PageState.GONE, ""),
        ((410, "text/html", b"gone"), PageState.GONE, ""),
        ((503, "text/html", b"later"), PageState.UNKNOWN, "status:503"),
        ((403, "text/html", b"no"), PageState.UNKNOWN, "status:403"),
        ((200, "application/pdf", b"%PDF"), PageState.UNKNOWN, "type:application/pdf"),
    ],
)
def test_the_page_is_gone_without_the_media_or_still_showing_it(
    site: _Site, fetcher: SafeFetcher, answer: tuple[int, str, bytes], state: PageState, detail: str
) -> None:
    site.answers["/p/1"] = answer
    observed = observe_page(fetcher, _case_on(site))
    assert (observed.state, observed.status, observed.detail) == (state, answer[0], detail)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_connection_or_a_refused_address_is_unknown(fetcher: SafeFetcher) -> None:
    # GIVEN a page on a port nobody listens on, and one the fetch policy refuses (no private addresses)
    closed = replace(sighting(f"http://127.0.0.1:{_free_port()}/p/1"), media_url="http://127.0.0.1:9/m.jpg")
    # THEN neither is taken for a removal
    assert observe_page(fetcher, closed) == PageObservation(PageState.UNKNOWN, detail="network:connect")
    refused = observe_media(SafeFetcher(), closed, lambda data, kind: MediaState.SAME)
    assert refused.state is MediaState.UNKNOWN and refused.detail.startswith("address:")


def test_media_reported_without_a_page_is_checked_by_its_url_alone(fetcher: SafeFetcher) -> None:
    direct = replace(sighting("https://files.example/x.jpg"), media_url="https://files.example/x.jpg")
    assert observe_page(fetcher, direct).state is PageState.NOT_CHECKED


@pytest.mark.parametrize(
    ("status", "state"), [(404, MediaState.GONE), (410, MediaState.GONE), (451, MediaState.GONE)]
)
def test_a_media_url_that_answers_gone_is_gone(
    site: _Site, fetcher: SafeFetcher, status: int, state: MediaState
) -> None:
    site.answers["/m/1.jpg"] = (status, "text/plain", b"")
    assert observe_media(fetcher, _case_on(site), _never_called) == MediaObservation(state, status)


@pytest.mark.parametrize("status", [500, 503, 429, 403])
def test_a_media_url_that_fails_tells_nothing(site: _Site, fetcher: SafeFetcher, status: int) -> None:
    site.answers["/m/1.jpg"] = (status, "text/plain", b"")
    observed = observe_media(fetcher, _case_on(site), _never_called)
    assert (observed.state, observed.detail) == (MediaState.UNKNOWN, f"status:{status}")


def _never_called(data: bytes, media_type: str) -> MediaState:
    raise AssertionError("a body that is not 2xx is never compared")


def test_a_2xx_body_is_compared_with_its_sniffed_type(site: _Site, fetcher: SafeFetcher) -> None:
    # GIVEN a placeholder page served where the file was
    site.answers["/m/1.jpg"] = (200, "image/jpeg", b"<html>this file was removed</html>")
    seen: list[tuple[bytes, str]] = []

    def compare(data: bytes, media_type: str) -> MediaState:
        seen.append((data, media_type))
        return MediaState.CHANGED

    # THEN the comparison gets the body and no media type, and the observation says it is not media
    observed = observe_media(fetcher, _case_on(site), compare)
    assert seen == [(b"<html>this file was removed</html>", "")]
    assert (observed.state, observed.detail) == (MediaState.CHANGED, "type:not-media")


# --- still the reported content? -------------------------------------------------------------------------------


def _picture(seed: int) -> bytes:
    """A harmless generated picture: coloured rectangles."""
    rng = random.Random(seed)
    image = Image.new("RGB", (320, 240), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x, y = rng.randrange(320), rng.randrange(240)
        draw.rectangle(
            (x, y, x + rng.randrange(20, 160), y + rng.randrange(20, 120)),
            fill=tuple(rng.randrange(256) for _ in range(3)),
        )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _recompressed(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB").resize((240, 180))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=60)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def bank() -> tuple[BankIndex, list[MatchEvidence]]:
    """A bank with one registered original, and the matches of a case opened on a copy of it."""
    original = _picture(1)
    items = items_for_bytes(
        original, "image/png", bank="centre", case_ref="REF-1", added_at="2026-11-28T07:00:00Z"
    )
    index = BankIndex.build(items)
    from takedown.hashing.detect import detect_media

    matches = detect_media(_recompressed(original), "image/jpeg", index).matches
    assert matches
    return index, matches


def test_the_same_bytes_are_the_same_content_without_hashing(
    bank: tuple[BankIndex, list[MatchEvidence]],
) -> None:
    index, matches = bank
    data = _recompressed(_picture(1))
    case = replace(sighting(), sha256=hashlib.sha256(data).hexdigest())
    assert (
        compare_media(data, "image/jpeg", sighting=case, case_matches=matches, index=index) is MediaState.SAME
    )


def test_another_copy_of_the_original_still_matches(bank: tuple[BankIndex, list[MatchEvidence]]) -> None:
    # GIVEN the URL now serves the original at another size (other bytes, same picture)
    index, matches = bank
    other = Image.open(io.BytesIO(_picture(1))).resize((300, 225))
    buffer = io.BytesIO()
    other.save(buffer, "PNG")
    # THEN it is still the reported content
    state = compare_media(
        buffer.getvalue(), "image/png", sighting=sighting(), case_matches=matches, index=index
    )
    assert state is MediaState.SAME


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (_picture(2), "image/png"),  # another picture
        (b"<html>removed</html>", ""),  # a placeholder page
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png"),  # a file that cannot be decoded
    ],
)
def test_anything_else_is_changed(
    bank: tuple[BankIndex, list[MatchEvidence]], data: bytes, media_type: str
) -> None:
    index, matches = bank
    state = compare_media(data, media_type, sighting=sighting(), case_matches=matches, index=index)
    assert state is MediaState.CHANGED


def test_a_video_with_other_bytes_is_unverified(bank: tuple[BankIndex, list[MatchEvidence]]) -> None:
    index, matches = bank
    state = compare_media(
        b"\x00\x00\x00\x18ftypmp42", "video/mp4", sighting=sighting(), case_matches=matches, index=index
    )
    assert state is MediaState.UNVERIFIED
