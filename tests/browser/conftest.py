"""Fixtures for the reviewer's browser tests: the local stack, a case waiting for review, and headless chromium.

Chromium is Debian's (``make browser`` installs it); Playwright's own browser download is never used. The browser is
only ever pointed at the approval API on 127.0.0.1.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from takedown.aws.case_store import CaseStore
from takedown.aws.crawl_state import CrawlState
from takedown.local.environment import LocalEnvironment
from takedown.local.mailbox import sent_mail
from takedown.model import CaseStatus

from ..functional.conftest import drop_sighting, register, synthetic_png

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, BrowserContext, ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
# Quiet, offline chromium: no GPU, no QUIC, no first-run, update, sync or background traffic to anywhere.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE_VIEWPORT: ViewportSize = {"width": 390, "height": 844}
REVIEW_LINK = re.compile(r"http://127\.0\.0\.1:\d+/reviews/[A-Za-z0-9_-]+\?e=\d+&s=[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class CaseUnderReview:
    """A case at AWAITING_REVIEW and the signed link the reviewer was emailed for it."""

    case_id: str
    link: str
    cases: CaseStore


@pytest.fixture
def local() -> Iterator[LocalEnvironment]:
    with LocalEnvironment() as environment:
        yield environment


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless Debian chromium for the session; each test opens its own context (fresh cookies)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent; `make browser` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def phone(chromium: Browser) -> Iterator[BrowserContext]:
    """A phone-sized browser context with its own cookie jar."""
    context = chromium.new_context(viewport=PHONE_VIEWPORT, locale="ko-KR")
    try:
        yield context
    finally:
        context.close()


def _altered_copy(data: bytes) -> bytes:
    """The picture as a re-upload would change it: scaled down and JPEG-compressed."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = image.resize((image.width * 3 // 4, image.height * 3 // 4))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


@pytest.fixture
def case_under_review(local: LocalEnvironment) -> CaseUnderReview:
    """Register a synthetic original, drop an altered copy on a page, and wait for the reviewer's email."""
    original = synthetic_png(3)
    register(local, original)
    drop_sighting(local, _altered_copy(original), "http://board.example/p/1")
    case_ids = [o["reason"] for o in CrawlState(local.settings().crawl_table).media_outcomes()]
    assert len(case_ids) == 1, "the altered copy should have become a candidate"
    cases = CaseStore(local.settings().cases_table)
    assert local.wait_for(lambda: cases.require(case_ids[0]).status is CaseStatus.AWAITING_REVIEW, timeout=60)
    links = list(
        dict.fromkeys(link for mail in sent_mail() for link in REVIEW_LINK.findall(mail.body("plain")))
    )
    assert len(links) == 1, "exactly one review link should have been emailed"
    return CaseUnderReview(case_id=case_ids[0], link=links[0], cases=cases)
