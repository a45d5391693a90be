"""Forged, altered, expired and replayed review links against the review API on the local stack (real HTTP on
127.0.0.1): each is answered with a refusal status, changes nothing on the case and sends nothing.

Signature and CSRF rules are unit-tested in ``tests/unit/approval/test_links.py``; a forged signature, a POST
without the CSRF field or cookie and a second POST are also in ``tests/functional/test_pipeline_on_local_stack.py``.
"""

from __future__ import annotations

import io
import re
import secrets
import time
from typing import TYPE_CHECKING

import requests
from PIL import Image

from takedown.approval.links import sign_review_link
from takedown.aws.case_store import REVIEW_PENDING, CaseStore, ReviewRecord
from takedown.aws.crawl_state import CrawlState
from takedown.aws.secrets import link_key
from takedown.demo.reviewer import ReviewFormReader
from takedown.local.mailbox import sent_mail
from takedown.model import CaseStatus
from tests.functional.conftest import drop_sighting, register, synthetic_png

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment

LINK = re.compile(r"(http://127\.0\.0\.1:\d+)/reviews/([A-Za-z0-9_-]+)\?e=(\d+)&s=([A-Za-z0-9_-]+)")


def altered(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB").resize((240, 180))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def case_awaiting_review(local: LocalEnvironment) -> tuple[str, str]:
    """A real case at the review step; (case id, the review link the reviewer was mailed)."""
    original = synthetic_png(31)
    register(local, original)
    drop_sighting(local, altered(original), "http://board.example/p/31")
    cases = CaseStore(local.settings().cases_table)
    (case_id,) = [o["reason"] for o in CrawlState(local.settings().crawl_table).media_outcomes()]
    assert local.wait_for(lambda: cases.require(case_id).status is CaseStatus.AWAITING_REVIEW, timeout=90)
    (link,) = {m for mail in sent_mail() for m in LINK.findall(mail.body("plain"))}
    return case_id, f"{link[0]}/reviews/{link[1]}?e={link[2]}&s={link[3]}"


def one_character_changed(text: str) -> str:
    return text[:-1] + ("A" if text[-1] != "A" else "B")


def hostile_link_paths(review_id: str, expiry: str, signature: str, for_someone_else: str) -> dict[str, str]:
    """Altered and forged variants of one review link (paths on the review API), by what was done to it."""
    return {
        "one character of the signature changed": f"/reviews/{review_id}?e={expiry}&s={one_character_changed(signature)}",
        "no signature": f"/reviews/{review_id}?e={expiry}&s=",
        "signature of non-ASCII letters": f"/reviews/{review_id}?e={expiry}&s={'%C3%A9' * 43}",
        "line break in the signature": f"/reviews/{review_id}?e={expiry}&s={signature}%0D%0ASet-Cookie:x=1",
        "expiry moved a second": f"/reviews/{review_id}?e={int(expiry) + 1}&s={signature}",
        "expiry far in the future": f"/reviews/{review_id}?e=99999999999&s={signature}",
        "expiry in full-width digits": f"/reviews/{review_id}?e={'%EF%BC%91' * 10}&s={signature}",
        "negative expiry": f"/reviews/{review_id}?e=-1&s={signature}",
        "no expiry": f"/reviews/{review_id}?s={signature}",
        "signed for another reviewer": f"/reviews/{review_id}?e={expiry}&s={for_someone_else}",
        "another review id": f"/reviews/{secrets.token_urlsafe(18)}?e={expiry}&s={signature}",
        "a 5000-character review id": f"/reviews/{'r' * 5000}?e={expiry}&s={signature}",
        "a template in the review id": f"/reviews/%7B%7B7*191%7D%7D?e={expiry}&s={signature}",
    }


def test_altered_and_forged_links_are_refused_and_change_nothing(local: LocalEnvironment) -> None:
    # GIVEN a case waiting for its reviewer, and the link the reviewer was mailed
    case_id, link = case_awaiting_review(local)
    base, review_id, expiry, signature = LINK.fullmatch(link).groups()  # type: ignore[union-attr]
    cases = CaseStore(local.settings().cases_table)
    before = (cases.require(case_id), len(cases.events(case_id)))
    key = link_key(local.settings("handle_review_http").link_key_secret)
    review = cases.get_review(review_id)
    assert review is not None
    for_someone_else = sign_review_link(
        key, review_id=review_id, reviewer="attacker@evil.example", expires_at=int(expiry)
    ).signature
    hostile = hostile_link_paths(review_id, expiry, signature, for_someone_else)
    # WHEN each is opened and posted to (with a CSRF token the attacker cannot have)
    answers = {}
    for name, path in hostile.items():
        got = requests.get(base + path, timeout=30)
        posted = requests.post(
            base + path,
            data={"decision": "APPROVED", "csrf_token": "x" * 43},
            cookies={"takedown_csrf": "x" * 43},
            timeout=30,
        )
        answers[name] = (got.status_code, posted.status_code)
        assert "1337" not in got.text and "takedown_csrf" not in got.headers.get("Set-Cookie", ""), name
    # THEN every one is refused as forbidden (a plain refusal page, nothing about why beyond "not valid")
    assert answers == dict.fromkeys(hostile, (403, 403))
    # AND nothing changed on the case, and no notice went out
    assert (cases.require(case_id), len(cases.events(case_id))) == before
    reviewers = set(local.settings("handle_request_approval").reviewers)
    assert [m for m in sent_mail() if not reviewers & set(m.destinations)] == []


def test_an_expired_link_is_gone_even_with_a_good_signature(local: LocalEnvironment) -> None:
    # GIVEN a review whose link expired a minute ago, correctly signed with the deployment's key
    settings = local.settings("handle_review_http")
    key = link_key(settings.link_key_secret)
    expired_at = int(time.time()) - 60
    review_id = secrets.token_urlsafe(18)
    CaseStore(settings.cases_table).put_review(
        ReviewRecord(
            review_id=review_id,
            case_id="0" * 32,
            reviewer="officer@example.org",
            task_token="never-shown",
            expires_at=expired_at,
            status=REVIEW_PENDING,
            created_at="2026-11-28T07:00:00.000000Z",
        )
    )
    link = sign_review_link(key, review_id=review_id, reviewer="officer@example.org", expires_at=expired_at)
    assert local.api is not None
    # WHEN it is opened or posted to
    got = requests.get(local.api.base_url + link.path(), timeout=30)
    posted = requests.post(local.api.base_url + link.path(), data={"decision": "APPROVED"}, timeout=30)
    # THEN it is gone (410), says so, and never shows the task token
    assert (got.status_code, posted.status_code) == (410, 410)
    assert "expired" in got.text.lower() and "never-shown" not in got.text


BAD_FORMS = {
    "decision in lower case": ({"decision": "approved"}, 400),
    "decision with a trailing line break": ({"decision": "APPROVED\n"}, 400),
    "decision with markup": ({"decision": "APPROVED<script>"}, 400),
    "empty decision": ({"decision": ""}, 400),
    "form over 200 KB": ({"decision": "APPROVED", "reason": "x" * 250_000}, 413),
}


def test_a_good_link_with_a_bad_form_is_refused_and_the_review_stays_open(local: LocalEnvironment) -> None:
    # GIVEN the reviewer's own link, page and CSRF cookie
    case_id, link = case_awaiting_review(local)
    cases = CaseStore(local.settings().cases_table)
    with requests.Session() as browser:
        reader = ReviewFormReader()
        reader.feed(browser.get(link, timeout=30).text)
        post_url = requests.compat.urljoin(link, reader.action)
        # WHEN the form is posted with a decision that is not exactly APPROVED or REJECTED, or far too large
        answers = {
            name: browser.post(post_url, data={**reader.fields, **form}, timeout=30).status_code
            for name, (form, _) in BAD_FORMS.items()
        }
        # THEN each is refused and the review is still open ...
        assert answers == {name: status for name, (_, status) in BAD_FORMS.items()}
        assert cases.require(case_id).status is CaseStatus.AWAITING_REVIEW
        # ... so the reviewer's own decision still counts, once
        assert (
            browser.post(post_url, data={**reader.fields, "decision": "REJECTED"}, timeout=30).status_code
            == 200
        )
        replayed = browser.post(post_url, data={**reader.fields, "decision": "APPROVED"}, timeout=30)
    assert replayed.status_code == 409
    assert local.wait_for(lambda: cases.require(case_id).status is CaseStatus.REJECTED, timeout=60)
