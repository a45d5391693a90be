"""SendNotice on the local stack: one message per recipient the reviewer chose, each claimed in the send ledger so a
retry sends nothing twice; each message is that recipient's addressing block over the one approved body; a recipient
reachable only by web form is never mailed, and counts only when the reviewer recorded submitting the notice
there."""

from __future__ import annotations

import dataclasses
import html
from typing import TYPE_CHECKING

import requests

from takedown.aws.addressing_store import AddressingStore
from takedown.aws.notice_archive import NoticeArchive
from takedown.aws.send_ledger import SendLedger
from takedown.local.mailbox import sent_mail
from takedown.model import CaseEvent, CaseStatus, Recipient

from .review_cases import case_awaiting_review, notices_sent, open_review, reviewers_of
from .review_cases import links_in as review_links
from .review_cases import mail_to as mail_for

if TYPE_CHECKING:
    from takedown.aws.case_store import CaseStore
    from takedown.local.environment import LocalEnvironment
    from takedown.notices.addressing import AddressingBlock

SITE = "admin@board.example"
OTHER = "abuse@board.example"
FORM_URL = "https://board.example/report"


def _approve(local: LocalEnvironment, chosen: list[str] | None, *, record_form: int | None = None) -> None:
    """Open the emailed review link, optionally record a contact-form submission, and approve with ``chosen``
    ticked (None: the form as the page fills it in)."""
    [link] = review_links(mail_for(reviewers_of(local)[0]))
    with requests.Session() as browser:
        page, post_url, fields = open_review(browser, link)
        assert page.status_code == 200
        if record_form is not None:
            recorded = browser.post(
                post_url, data={**fields, "action": f"form-submitted:{record_form}"}, timeout=10
            )
            assert recorded.status_code == 200
        data = [(k, v) for k, v in fields.items() if chosen is None or k != "recipient"]
        data += [("recipient", address) for address in chosen or []]
        approved = browser.post(post_url, data=[*data, ("decision", "APPROVED")], timeout=10)
        assert approved.status_code == 200, approved.text[:500]


def _only_form_recipients(cases: CaseStore, case_id: str) -> None:
    """Make the case's only recipient a web form without an address (as a platform with a form only would be)."""
    form_only = Recipient(
        address="", role="platform", found_at="contact page", confidence=0.5, contact_form_url=FORM_URL
    )
    cases.update(case_id, lambda r: r.advance(r.status, "test-setup", recipients=[form_only]))


def test_the_first_notice_goes_to_every_chosen_recipient_once(local: LocalEnvironment) -> None:
    # GIVEN a case whose page lists two contacts, both ticked by the reviewer
    case_id, cases = case_awaiting_review(local, contacts=[SITE, OTHER])
    _approve(local, [SITE, OTHER])

    # WHEN SendNotice runs
    assert local.wait_for(lambda: cases.require(case_id).status is CaseStatus.SENT, timeout=60)

    # THEN each chosen recipient got its own message, and nobody else got one
    notices = notices_sent(local)
    assert sorted(tuple(sorted(set(m.destinations))) for m in notices) == [(OTHER,), (SITE,)]
    # AND each send was claimed in the ledger under (case, recipient, version 1), with its SES message id
    record = cases.require(case_id)
    ledger = SendLedger(local.settings("handle_send_notice").cases_table)
    ids = {address: ledger.message_id(case_id, address, 1) for address in (SITE, OTHER)}
    assert all(ids.values()) and set(ids.values()) == set(record.sent_message_ids)
    [sent_event] = [e for e in cases.events(case_id) if e.stage == "send-notice"]
    assert sorted(sent_event.detail["recipients"]) == sorted([SITE, OTHER])
    assert record.follow_up is not None
    assert sorted(r.address for r in record.follow_up.first_notice.recipients) == sorted([SITE, OTHER])

    # WHEN the step runs again as a retry would after its record write was lost (the case still APPROVED)
    before = dataclasses.replace(
        record, status=CaseStatus.APPROVED, sent_message_ids=[], follow_up=None, version=record.version + 1
    )
    cases.save(before, CaseEvent(at=record.updated_at, stage="test-setup", status="APPROVED"))
    answer = local.invoke("handle_send_notice", {"case_id": case_id})

    # THEN nothing is sent again: the message ids are read back from the ledger and the case is SENT
    assert len(notices_sent(local)) == 2
    assert answer["sent"] == 2
    resent = cases.require(case_id)
    assert resent.status is CaseStatus.SENT
    assert set(resent.sent_message_ids) == set(ids.values())


def test_a_form_only_case_is_sent_when_the_reviewer_recorded_the_form(local: LocalEnvironment) -> None:
    # GIVEN a case whose only recipient is a web form, which the reviewer submitted by hand and recorded
    case_id, cases = case_awaiting_review(local, contacts=[SITE])
    _only_form_recipients(cases, case_id)
    mail_before = len(sent_mail())
    _approve(local, None, record_form=0)

    # WHEN SendNotice runs
    assert local.wait_for(
        lambda: cases.require(case_id).status in {CaseStatus.SENT, CaseStatus.SEND_FAILED}, timeout=60
    )

    # THEN the case is SENT through the form, SES sent nothing, and the timeline names the form
    record = cases.require(case_id)
    assert record.status is CaseStatus.SENT
    assert len(sent_mail()) == mail_before
    assert record.sent_message_ids == []
    [sent_event] = [e for e in cases.events(case_id) if e.stage == "send-notice"]
    assert sent_event.detail["contact_forms"] == [FORM_URL]
    assert sent_event.detail["recipients"] == []
    # AND the form is what the re-check's follow-ups will go to
    assert record.follow_up is not None
    assert [r.contact_form_url for r in record.follow_up.first_notice.recipients] == [FORM_URL]


def test_a_form_only_case_without_a_recorded_submission_says_why_nothing_was_sent(
    local: LocalEnvironment,
) -> None:
    # GIVEN a case whose only recipient is a web form, approved without recording its submission
    case_id, cases = case_awaiting_review(local, contacts=[SITE])
    _only_form_recipients(cases, case_id)
    mail_before = len(sent_mail())
    _approve(local, None)

    # WHEN SendNotice runs
    assert local.wait_for(
        lambda: cases.require(case_id).status in {CaseStatus.SENT, CaseStatus.SEND_FAILED}, timeout=60
    )

    # THEN nothing went to SES, the case ends SEND_FAILED (not FAILED: nothing crashed), and it says why
    record = cases.require(case_id)
    assert record.status is CaseStatus.SEND_FAILED
    assert len(sent_mail()) == mail_before
    [event] = [e for e in cases.events(case_id) if e.stage == "send-notice"]
    assert "no submission of its contact form(s) was recorded" in event.detail["error"]
    assert event.detail["contact_forms_not_submitted"] == [FORM_URL]


def _plain(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def test_each_chosen_recipient_gets_its_own_addressing_over_the_same_edited_body(
    local: LocalEnvironment,
) -> None:
    # GIVEN a case with two recipients of different roles: the source's abuse desk and the page's own contact
    case_id, cases = case_awaiting_review(local, contacts=[SITE])
    record = cases.require(case_id)
    by_role = {r.role: r for r in record.recipients if r.address}
    assert {"source-contact", "site"} <= set(by_role)
    desk, site = by_role["source-contact"], by_role["site"]
    blocks = AddressingStore(local.settings().cases_table).blocks(case_id)
    primary = record.locales[0]
    [link] = review_links(mail_for(reviewers_of(local)[0]))
    with requests.Session() as browser:
        page, post_url, fields = open_review(browser, link)
        # THEN the page shows each recipient the block it will be sent, in the notice's first language
        for recipient in (desk, site):
            [block] = [b for b in blocks if b.recipient.address == recipient.address and b.locale == primary]
            assert recipient.address in block.text
            assert block.text.rstrip() in html.unescape(page.text)
        # WHEN the reviewer edits the body, ticks both and approves
        edited = fields["body_text"].replace(
            record.sighting.page_url, record.sighting.page_url + "\n\n검토자 수정 문장", 1
        )
        assert edited != fields["body_text"]
        data = [(k, v) for k, v in fields.items() if k not in {"recipient", "body_text"}]
        data += [("body_text", edited), ("recipient", desk.address), ("recipient", site.address)]
        approved = browser.post(post_url, data=[*data, ("decision", "APPROVED")], timeout=10)
        assert approved.status_code == 200, approved.text[:500]
    assert local.wait_for(lambda: cases.require(case_id).status is CaseStatus.SENT, timeout=60)
    # THEN each got one message that opens with its own addressing, in its own capacity, and never names the other
    mail = {m.destinations[0]: m for m in notices_sent(local)}
    assert set(mail) == {desk.address, site.address}
    texts = {address: _plain(m.body("plain")) for address, m in mail.items()}
    for own, other in ((desk, site), (site, desk)):
        assert texts[own.address].startswith(f"수신: {own.address} (")
        assert other.address not in texts[own.address] and other.address not in mail[own.address].body("html")
    assert "지정된 신고 접수 담당자" in texts[desk.address] and "웹사이트 운영자" in texts[site.address]
    # AND under the blocks both carry the same approved body, the reviewer's edit included
    own_blocks = {
        address: [b for b in blocks if b.recipient.address == address]
        for address in (desk.address, site.address)
    }
    bodies = {
        address: _without(texts[address], own_blocks[address]) for address in (desk.address, site.address)
    }
    assert bodies[desk.address] == bodies[site.address]
    assert "검토자 수정 문장" in bodies[desk.address]
    assert mail[desk.address].subject == mail[site.address].subject
    # AND the case keeps exactly what each one was sent, and the body they share
    archive = NoticeArchive(local.settings().cases_table)
    for address, sent in mail.items():
        kept = archive.message(case_id, 1, address)
        assert kept is not None and _plain(kept.text) == texts[address] and kept.subject == sent.subject
    [kept_primary] = [d for d in archive.sent(case_id, 1) if d.locale == primary]
    assert "검토자 수정 문장" in kept_primary.body_text and desk.address not in kept_primary.body_text


def _without(text: str, blocks: list[AddressingBlock]) -> str:
    for block in blocks:
        text = text.replace(block.text.rstrip() + "\n\n", "")
    return text
