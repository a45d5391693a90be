"""Recipients from the discovered set: the reviewer's choice is kept with the approval and is where SES sends."""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from takedown.model import CaseStatus, Recipient

from .review_cases import case_awaiting_review, notices_sent, open_review, reviewers_of
from .review_cases import links_in as review_links
from .review_cases import mail_to as mail_for

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment

SITE = "admin@board.example"
OTHER = "abuse@board.example"
FORM_URL = "https://board.example/report"


def test_the_notice_goes_to_the_recipient_the_reviewer_chose(local: LocalEnvironment) -> None:
    # GIVEN a case whose page lists two contacts
    case_id, cases = case_awaiting_review(local, contacts=[SITE, OTHER])
    discovered = [r.address for r in cases.require(case_id).recipients]
    assert {SITE, OTHER} <= set(discovered)
    [link] = review_links(mail_for(reviewers_of(local)[0]))
    with requests.Session() as browser:
        page, post_url, fields = open_review(browser, link)
        # THEN the page offers both, the first discovered one ticked
        assert page.status_code == 200
        assert f'value="{SITE}"' in page.text and f'value="{OTHER}"' in page.text
        assert fields["recipient"] == discovered[0]
        # WHEN the form names an address that was never discovered, or none at all
        for chosen, message in ((["attacker@evil.example"], "recipient_unknown"), ([], "recipient_none")):
            refused = browser.post(
                post_url,
                data=[*_without_recipients(fields), ("decision", "APPROVED"), *_ticked(chosen)],
                timeout=10,
            )
            # THEN it is refused, and the case still waits
            assert refused.status_code == 400 and f'data-message="{message}"' in refused.text
        assert cases.require(case_id).status is CaseStatus.AWAITING_REVIEW
        # WHEN the reviewer ticks the other contact only and approves
        other = next(a for a in discovered if a != discovered[0])
        approved = browser.post(
            post_url,
            data=[*_without_recipients(fields), ("decision", "APPROVED"), *_ticked([other])],
            timeout=10,
        )
        assert approved.status_code == 200
    # THEN the notice goes to that contact alone
    assert local.wait_for(lambda: cases.require(case_id).status is CaseStatus.SENT, timeout=60)
    notices = notices_sent(local)
    assert len(notices) == 1 and set(notices[0].destinations) == {other}
    # AND the choice is kept with the approval: on the review and on the timeline beside who was left out
    record = cases.require(case_id)
    review = cases.get_review(record.review_id)
    assert review is not None and review.recipients == (other,)
    assert [r.address for r in cases.approved_recipients(record)] == [other]
    [decided] = [e for e in cases.events(case_id) if e.stage == "review"]
    assert decided.detail["recipients"]["chosen"] == [other]
    assert discovered[0] in [r["address"] for r in decided.detail["recipients"]["left_out"]]
    # AND every discovered recipient stays on the case (a later escalation needs them)
    assert {r.address for r in record.recipients} == set(discovered)


def test_a_contact_form_submitted_by_hand_is_recorded(local: LocalEnvironment) -> None:
    # GIVEN a case whose recipients include a web form without an address
    case_id, cases = case_awaiting_review(local, contacts=[SITE])
    form_only = Recipient(
        address="", role="platform", found_at="contact page", confidence=0.5, contact_form_url=FORM_URL
    )
    cases.update(
        case_id,
        lambda r: r.advance(r.status, "test-setup", recipients=[*r.recipients, form_only]),
    )
    index = len(cases.require(case_id).recipients) - 1
    [link] = review_links(mail_for(reviewers_of(local)[0]))
    with requests.Session() as browser:
        page, post_url, fields = open_review(browser, link)
        # THEN the page shows the form's address and the notice text to paste
        assert FORM_URL in page.text and f'id="form-text-{index}"' in page.text
        # WHEN the reviewer records that they submitted it, with an edited subject in the form
        recorded = browser.post(
            post_url,
            data={**fields, "subject": "Edited subject", "action": f"form-submitted:{index}"},
            timeout=10,
        )
        # THEN the page comes back with the submission noted and the edit still in the form
        assert recorded.status_code == 200
        assert f'id="form-submitted-note-{index}"' in recorded.text
        assert 'value="Edited subject"' in recorded.text
        # AND a form number that is not a contact form is refused
        wrong = browser.post(post_url, data={**fields, "action": "form-submitted:0"}, timeout=10)
        assert wrong.status_code == 400 and 'data-message="form_unknown"' in wrong.text
    # AND the timeline says who submitted it where; the case still waits for the decision
    [event] = [e for e in cases.events(case_id) if e.stage == "contact-form-submitted"]
    assert event.detail["form_url"] == FORM_URL
    assert event.detail["reviewer"] == reviewers_of(local)[0]
    assert len(event.detail["text_sha256"]) == 64
    assert cases.require(case_id).status is CaseStatus.AWAITING_REVIEW


def _without_recipients(fields: dict[str, str]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in fields.items() if k != "recipient"]


def _ticked(addresses: list[str]) -> list[tuple[str, str]]:
    return [("recipient", a) for a in addresses]


def test_a_recipient_without_its_addressing_block_cannot_be_approved(local: LocalEnvironment) -> None:
    # GIVEN a case reviewed after a hosting provider was added to it, once its drafts were rendered (so the page
    # cannot show what the host would receive)
    case_id, cases = case_awaiting_review(local, contacts=[SITE])
    host = Recipient("abuse@hosting.example.net", "host", "RDAP abuse contact (test)", 0.6)
    cases.update(case_id, lambda r: r.advance(r.status, "test-setup", recipients=[*r.recipients, host]))
    index = len(cases.require(case_id).recipients) - 1
    notices_before = len(notices_sent(local))
    [link] = review_links(mail_for(reviewers_of(local)[0]))
    with requests.Session() as browser:
        page, post_url, fields = open_review(browser, link)
        # THEN the page says so beside the host, while every other recipient shows its block
        assert f'id="addressing-missing-{index}"' in page.text
        assert all(f'id="addressing-{n}"' in page.text for n in range(index))
        # WHEN the reviewer ticks the host and approves
        refused = browser.post(
            post_url,
            data=[*_without_recipients(fields), ("decision", "APPROVED"), *_ticked([host.address])],
            timeout=10,
        )
    # THEN the approval is refused and nothing is sent; the case still waits for a decision
    assert refused.status_code == 400 and 'data-message="recipient_unaddressed"' in refused.text
    assert cases.require(case_id).status is CaseStatus.AWAITING_REVIEW
    assert len(notices_sent(local)) == notices_before
