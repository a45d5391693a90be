"""Shared steps of the review tests on the local stack: a case waiting for review, its emailed links, its form."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

import boto3
import requests
from PIL import Image

from takedown.aws.case_store import CaseStore
from takedown.aws.crawl_state import CrawlState
from takedown.config import ENV_REVIEWERS
from takedown.demo.run import _FormReader
from takedown.local.mailbox import SentMail, sent_mail
from takedown.model import CaseStatus

from .conftest import drop_sighting, register, synthetic_png

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment

LINK = re.compile(r"http://127\.0\.0\.1:\d+/reviews/[A-Za-z0-9_-]+\?e=\d+&s=[A-Za-z0-9_-]+")
SECOND_REVIEWER = "second.reviewer@example.org"


def altered(data: bytes) -> bytes:
    """The picture as a re-upload changes it: scaled down and JPEG-compressed."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = image.resize((image.width * 3 // 4, image.height * 3 // 4))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def case_awaiting_review(
    local: LocalEnvironment, *, contacts: list[str] | None = None, seed: int = 3
) -> tuple[str, CaseStore]:
    """Drive one matching sighting to the review step; return its case id and the case store."""
    original = synthetic_png(seed)
    register(local, original)
    drop_sighting(local, altered(original), "http://board.example/p/1", contacts=contacts)
    case_ids = [o["reason"] for o in CrawlState(local.settings().crawl_table).media_outcomes()]
    assert len(case_ids) == 1, "the altered copy should have become a candidate"
    cases = CaseStore(local.settings().cases_table)
    assert local.wait_for(lambda: cases.require(case_ids[0]).status is CaseStatus.AWAITING_REVIEW, timeout=60)
    return case_ids[0], cases


def mail_to(address: str) -> list[SentMail]:
    return [m for m in sent_mail() if address in m.destinations]


def links_in(mail: list[SentMail]) -> list[str]:
    return list(dict.fromkeys(link for m in mail for link in LINK.findall(m.body("plain"))))


def reviewers_of(local: LocalEnvironment) -> tuple[str, ...]:
    return local.settings("handle_request_approval").reviewers


def notices_sent(local: LocalEnvironment) -> list[SentMail]:
    """Everything SES sent to anyone but a reviewer."""
    reviewers = set(reviewers_of(local)) | {SECOND_REVIEWER}
    return [m for m in sent_mail() if not reviewers & set(m.destinations)]


def open_review(browser: requests.Session, link: str) -> tuple[requests.Response, str, dict[str, str]]:
    """GET the link as a browser does; the page, the form's POST URL and the fields a browser would submit."""
    page = browser.get(link, timeout=10)
    form = _FormReader()
    form.feed(page.text)
    return page, requests.compat.urljoin(link, form.action), form.fields


def add_reviewer(local: LocalEnvironment, reviewer: str = SECOND_REVIEWER) -> None:
    """Deploy the review function with a second configured reviewer (as editing the deployment file would)."""
    name = local.function_name("handle_review_http")
    environment = dict(local.resources.environment[name])
    environment[ENV_REVIEWERS] = ",".join([*reviewers_of(local), reviewer])
    boto3.client("lambda", region_name="us-east-1").update_function_configuration(
        FunctionName=name, Environment={"Variables": environment}
    )
    local.resources.environment[name] = environment
