"""The reviewer's side in a real browser: open the emailed link, edit the draft, approve; and what GET must not do."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from takedown.local.mailbox import sent_mail
from takedown.model import CaseStatus

from .conftest import CHROMIUM

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

    from takedown.local.environment import LocalEnvironment

    from .conftest import CaseUnderReview

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent; `make browser` installs Debian's chromium"
)

NEW_SUBJECT = "Removal request (reviewed): copied image on your board"
ADDED_SENTENCE = "Please confirm by reply once the image and its copies are removed."


def test_reviewer_edits_the_draft_and_the_sent_notice_carries_the_edit(
    local: LocalEnvironment, case_under_review: CaseUnderReview, phone: BrowserContext
) -> None:
    # GIVEN a case waiting for review and its primary draft
    case_id, cases = case_under_review.case_id, case_under_review.cases
    record = cases.require(case_id)
    drafts = {d.locale: d for d in cases.drafts(case_id)}
    primary = drafts[record.locales[0]]
    page = phone.new_page()

    # WHEN the reviewer opens the emailed link
    opened = page.goto(case_under_review.link)

    # THEN the page shows the case and the draft subject, ready to edit
    assert opened is not None and opened.status == 200
    assert case_id in page.locator("#summary").inner_text()
    assert primary.subject in page.locator("#drafts").inner_text()
    assert page.locator("#subject").input_value() == primary.subject

    # WHEN they write a new subject, append a sentence to the body and approve
    page.locator("#subject").fill(NEW_SUBJECT)
    body = page.locator("#body_text")
    body.fill(body.input_value().rstrip("\n") + "\n\n" + ADDED_SENTENCE + "\n")
    with page.expect_navigation() as navigation:
        page.locator("#approve").click()

    # THEN the browser shows the confirmation
    assert navigation.value is not None and navigation.value.status == 200
    message = page.locator("#message")
    assert message.get_attribute("role") == "status"
    assert message.get_attribute("data-message") == "approved"
    assert "승인되었습니다" in message.inner_text()  # the browser asked for Korean

    # AND the notice SES sends to the recipient carries the edit
    assert local.wait_for(lambda: cases.require(case_id).status is CaseStatus.SENT, timeout=60)
    recipient = cases.require(case_id).recipients[0].address
    notices = [m for m in sent_mail() if recipient in m.destinations]
    assert len(notices) == 1
    assert notices[0].subject == NEW_SUBJECT
    assert ADDED_SENTENCE in notices[0].body("plain")
    assert ADDED_SENTENCE in notices[0].body("html")
    # AND the timeline records the edit as a diff on the review event
    reviews = [e for e in cases.events(case_id) if e.stage == "review"]
    assert len(reviews) == 1
    assert reviews[0].detail["decision"] == "APPROVED"
    assert f"+Subject: {NEW_SUBJECT}" in reviews[0].detail["edit_diff"]
    assert f"-Subject: {primary.subject}" in reviews[0].detail["edit_diff"]
    assert f"+{ADDED_SENTENCE}" in reviews[0].detail["edit_diff"]


def test_opening_the_link_changes_nothing_and_a_tampered_link_is_refused(
    case_under_review: CaseUnderReview, phone: BrowserContext
) -> None:
    # GIVEN a case waiting for review
    case_id, cases = case_under_review.case_id, case_under_review.cases
    before = (cases.require(case_id), len(cases.events(case_id)))
    page = phone.new_page()

    # WHEN the link is opened twice (a mail scanner's prefetch, then the reviewer)
    first = page.goto(case_under_review.link)
    second = page.goto(case_under_review.link)

    # THEN both show the review form and nothing about the case changed
    assert first is not None and second is not None
    assert first.status == second.status == 200
    assert page.locator("#review-form").is_visible()
    assert (cases.require(case_id), len(cases.events(case_id))) == before
    assert cases.require(case_id).status is CaseStatus.AWAITING_REVIEW

    # WHEN the signature of the link is tampered with
    tampered = re.sub(r"s=[^&]+", "s=AAAAtampered", case_under_review.link)
    refused = page.goto(tampered)

    # THEN the browser gets the refusal page with HTTP 403, no form, and the case is still untouched
    assert refused is not None and refused.status == 403
    message = page.locator("#message")
    assert message.get_attribute("role") == "alert"
    assert "HTTP 403" in message.inner_text()
    assert page.locator("#review-form").count() == 0
    assert (cases.require(case_id), len(cases.events(case_id))) == before


def test_reviewer_switches_to_english_reveals_the_thumbnail_and_chooses_the_recipient(
    local: LocalEnvironment, case_under_review: CaseUnderReview, phone: BrowserContext
) -> None:
    # GIVEN a case waiting for review with more than one discovered recipient, opened in a Korean browser
    case_id, cases = case_under_review.case_id, case_under_review.cases
    discovered = [r.address for r in cases.require(case_id).recipients if r.address]
    assert len(discovered) >= 2
    page = phone.new_page()
    opened = page.goto(case_under_review.link)
    assert opened is not None and opened.status == 200
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.locator("#approve").inner_text() == "승인 후 발송"

    # WHEN the reviewer switches the interface to English
    page.locator("#lang-en").click()
    page.wait_for_load_state()
    # THEN the same review speaks English, and still shows no picture
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#approve").inner_text() == "Approve and send"
    assert page.locator("img").count() == 0

    # WHEN they ask for the thumbnail
    with page.expect_navigation():
        page.locator("#thumbnail-button").click()
    # THEN it is shown blurred, until they click it; the request is on the timeline with who made it
    image = page.locator("#thumbnail-image")
    assert image.is_visible()
    assert "blur" in image.evaluate("element => getComputedStyle(element).filter")
    page.locator("label[for=thumbnail-reveal]").click()
    assert "blur" not in image.evaluate("element => getComputedStyle(element).filter")
    shown = [e for e in cases.events(case_id) if e.stage == "thumbnail-shown"]
    assert [e.detail["reviewer"] for e in shown] == [
        cases.get_review(cases.require(case_id).review_id).reviewer
    ]  # type: ignore[union-attr]
    assert page.locator("html").get_attribute("lang") == "en"

    # WHEN they send the notice to the second recipient instead of the first
    first, second = page.locator("#recipient-0"), page.locator("#recipient-1")
    assert first.is_checked() and not second.is_checked()
    # (beside each tick box is that recipient's own addressing block, what it reads above the approved body)
    block = page.locator("#addressing-1")
    assert block.is_visible()
    assert discovered[1] in block.inner_text() and discovered[0] not in block.inner_text()
    first.uncheck()
    second.check()
    with page.expect_navigation() as navigation:
        page.locator("#approve").click()
    assert navigation.value is not None and navigation.value.status == 200
    assert page.locator("#message").get_attribute("data-message") == "approved"

    # THEN SES sends the notice to that recipient alone
    assert local.wait_for(lambda: cases.require(case_id).status is CaseStatus.SENT, timeout=60)
    chosen = discovered[1]
    notices = [m for m in sent_mail() if set(m.destinations) & set(discovered)]
    assert len(notices) == 1 and set(notices[0].destinations) == {chosen}
    # AND the message opens with that recipient's own addressing, never the first one's
    plain = notices[0].body("plain")
    assert chosen in plain.splitlines()[0] and discovered[0] not in plain
