"""One approved body, several recipients: each recipient's message is its own addressing block, then that body."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from takedown.cases.follow_up import Approval, CheckRecord, NoticeState, NoticeVersion, Verdict
from takedown.cases.notice_facts import addressees, facts_for_addressee, notice_facts_for
from takedown.cases.record import CaseRecord
from takedown.model import NoticeDraft, Recipient, iso_utc
from takedown.notices.addressing import (
    TEXT_LOCALE_SEPARATOR,
    AddressedNotice,
    AddressingBlock,
    AddressingMissingError,
    addressed_draft,
    compose_notice,
    contact_form_text,
)
from takedown.notices.drafting import available_locales, render_addressing, render_notice, render_notice_body

from ..cases.follow_up_samples import HOST, SITE, at, follow_up_with, sent_notice, sighting
from .conftest import HOSTILE
from .html_probe import HtmlProbe

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from takedown.notices.drafting import NoticeFacts

LOCALES = sorted(available_locales())
REGISTRAR = Recipient("abuse@registrar.example.org", "registrar", "RDAP domain of board.site.example", 0.4)
FORM_ONLY = Recipient(
    "", "platform", "contact page", 0.6, contact_form_url="https://board.site.example/report-abuse"
)
NOBODY = Recipient(address="", role="unknown", found_at="not found", confidence=0.0)


def _rendered(
    facts: NoticeFacts, recipients: list[Recipient], locales: list[str], templates: Path
) -> tuple[list[NoticeDraft], list[AddressingBlock]]:
    """The bodies of ``locales`` and every recipient's blocks, as the render step stores them."""
    bodies = [render_notice_body(facts, locale, templates) for locale in locales]
    blocks = [
        render_addressing(replace(facts, recipient=r), locale, templates)
        for r in recipients
        for locale in locales
    ]
    return bodies, blocks


def _without_blocks(message: AddressedNotice, blocks: list[AddressingBlock]) -> str:
    text = message.text
    for block in blocks:
        text = text.replace(block.text.rstrip() + "\n\n", "")
    return text


# --- composing each recipient's message ---------------------------------------------------------------------------


def test_each_recipient_reads_its_own_block_above_the_same_body(
    make_facts: Callable[..., NoticeFacts], templates: Path
) -> None:
    # GIVEN a Korean and an English body and the blocks of a site operator and a registrar
    facts = make_facts()
    site = facts.recipient
    bodies, blocks = _rendered(facts, [site, REGISTRAR], ["ko", "en"], templates)
    # WHEN each recipient's message is composed
    to_site, to_registrar = (compose_notice(r, bodies, blocks) for r in (site, REGISTRAR))
    # THEN each message opens, in every locale, with its own recipient's block and never the other's
    for message, own, other in ((to_site, site, REGISTRAR), (to_registrar, REGISTRAR, site)):
        assert message.recipient == own and message.locales == ("ko", "en")
        parts = message.text.split(TEXT_LOCALE_SEPARATOR)
        assert len(parts) == 2
        assert parts[0].startswith(f"수신: {own.address} (") and parts[1].startswith(f"To: {own.address} (")
        assert own.found_at in message.text and own.found_at in HtmlProbe(message.html).visible_text
        assert other.address not in message.text + message.html
    assert "(domain registrar)" in to_registrar.text and "(website operator)" in to_site.text
    # AND under the blocks both carry the same approved bodies, word for word, with the same subject
    assert _without_blocks(to_site, blocks) == _without_blocks(to_registrar, blocks)
    assert _without_blocks(to_site, blocks) == TEXT_LOCALE_SEPARATOR.join(b.body_text for b in bodies)
    assert to_site.subject == to_registrar.subject == bodies[0].subject
    for body in bodies:
        assert body.body_html in to_site.html and body.body_html in to_registrar.html


def test_a_reviewers_edit_reaches_every_recipient_under_its_own_block(
    make_facts: Callable[..., NoticeFacts], templates: Path
) -> None:
    # GIVEN the approved primary body is the reviewer's edit
    facts = make_facts()
    bodies, blocks = _rendered(facts, [facts.recipient, REGISTRAR], ["ko", "en"], templates)
    edited = replace(bodies[0], subject="수정된 제목", body_text="수정된 본문입니다.\n")
    # WHEN the messages are composed
    messages = [compose_notice(r, [edited, bodies[1]], blocks) for r in (facts.recipient, REGISTRAR)]
    # THEN both carry the edit, each below its own block
    for message in messages:
        assert message.subject == "수정된 제목"
        first = message.text.split(TEXT_LOCALE_SEPARATOR)[0]
        assert first.startswith(f"수신: {message.recipient.address}")
        assert first.endswith("\n\n수정된 본문입니다.\n")


def test_no_message_is_composed_for_a_recipient_without_its_blocks(
    make_facts: Callable[..., NoticeFacts], templates: Path
) -> None:
    facts = make_facts()
    bodies, blocks = _rendered(facts, [facts.recipient], ["ko", "en"], templates)
    # a recipient the blocks were never rendered for
    with pytest.raises(AddressingMissingError, match=r"abuse@registrar\.example\.org"):
        compose_notice(REGISTRAR, bodies, blocks)
    # a recipient whose block is missing in one locale
    with pytest.raises(AddressingMissingError, match=r"\['en'\]"):
        compose_notice(facts.recipient, bodies, [b for b in blocks if b.locale == "ko"])
    with pytest.raises(ValueError, match="no drafts"):
        compose_notice(facts.recipient, [], blocks)
    with pytest.raises(ValueError, match="cannot address"):
        addressed_draft(blocks[0], bodies[1])


def test_recipients_are_matched_without_regard_to_case(
    make_facts: Callable[..., NoticeFacts], templates: Path
) -> None:
    facts = make_facts()
    bodies, blocks = _rendered(facts, [facts.recipient], ["en"], templates)
    shouting = replace(facts.recipient, address=facts.recipient.address.upper())
    assert compose_notice(shouting, bodies, blocks).text.startswith(f"To: {facts.recipient.address} (")


def test_blocks_and_messages_survive_storage_unchanged(
    make_facts: Callable[..., NoticeFacts], templates: Path
) -> None:
    facts = make_facts()
    bodies, blocks = _rendered(facts, [facts.recipient, FORM_ONLY], ["ja", "en"], templates)
    for block in blocks:
        assert AddressingBlock.from_dict(block.to_dict()) == block
    message = compose_notice(facts.recipient, bodies, blocks)
    assert AddressedNotice.from_dict(message.to_dict()) == message


# --- the block itself ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_a_form_only_recipient_is_addressed_to_its_form(
    make_facts: Callable[..., NoticeFacts], templates: Path, locale: str
) -> None:
    block = render_addressing(make_facts(recipient=FORM_ONLY), locale, templates)
    first_line = block.text.splitlines()[0]
    assert "https://board.site.example/report-abuse" in first_line and "@" not in first_line
    page = HtmlProbe(block.html)
    assert "https://board.site.example/report-abuse" in page.visible_text
    assert page.tags("a") == [] and page.elements[0].attrs["lang"] == locale
    # the text to paste into that form: subject, this block, then the body
    body = render_notice_body(make_facts(recipient=FORM_ONLY), locale, templates)
    pasted = contact_form_text(body.subject, block, body.body_text)
    assert (
        pasted
        == f"{body.subject}\n\n{render_notice(make_facts(recipient=FORM_ONLY), locale, templates).body_text}"
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_nobody_to_address_gets_no_block_and_the_body_alone(
    make_facts: Callable[..., NoticeFacts], templates: Path, locale: str
) -> None:
    facts = make_facts(recipient=NOBODY)
    block = render_addressing(facts, locale, templates)
    assert block.empty and block.text == block.html == ""
    assert render_notice(facts, locale, templates) == render_notice_body(facts, locale, templates)


@pytest.mark.parametrize("locale", LOCALES)
def test_hostile_recipient_details_stay_inert_in_the_block(
    make_facts: Callable[..., NoticeFacts], templates: Path, locale: str
) -> None:
    # GIVEN recipients whose address, provenance and form URL carry markup, template syntax, CR/LF and an override
    by_mail = Recipient(f"abuse@site.example{HOSTILE}", "host", f"page titled {HOSTILE}", 0.6)
    by_form = Recipient(
        "", "cdn", "contact page", 0.5, contact_form_url=f"https://cdn.example/report?{HOSTILE}"
    )
    for recipient in (by_mail, by_form):
        # WHEN their blocks are rendered
        block = render_addressing(make_facts(recipient=recipient), locale, templates)
        page = HtmlProbe(block.html)
        # THEN nothing was evaluated or injected: no markup, no line break, no reversed text, in text or HTML
        assert page.tags("script") == [] and "<script" not in block.html
        assert "7*7" in block.text and "49" not in block.text + page.visible_text
        for shown in (block.text, block.html):
            assert "\r" not in shown and "\u202e" not in shown and "\nBcc:" not in shown
    mail_block = render_addressing(make_facts(recipient=by_mail), locale, templates)
    assert "[U+000D][U+000A]Bcc" in mail_block.text and "&lt;script&gt;" in mail_block.html
    form_block = render_addressing(make_facts(recipient=by_form), locale, templates)
    assert "%3Cscript%3E" in form_block.text and "%0D%0ABcc" in form_block.text


# --- follow-ups: what each recipient is reminded of --------------------------------------------------------------


def _record_with_reminder_to_both() -> CaseRecord:
    """A first notice to the site and the host (one message each), still online, and a reminder to both pending."""
    follow_up = (
        follow_up_with(sent_notice(1, [SITE, HOST]))
        .with_check(CheckRecord(iso_utc(at(25)), Verdict.PRESENT, "media:still-served"))
        .with_request(
            NoticeVersion(2, [SITE, HOST], 0, NoticeState.REQUESTED, Approval.REVIEWER, iso_utc(at(26))),
            now=at(26),
        )
    )
    record, _ = CaseRecord.open(sighting(), now=at(-1))
    return replace(
        record, recipients=[SITE, HOST], report_key="evidence/c/report.html", report_sha256="a" * 64,
        follow_up=follow_up,
    )  # fmt: skip


@pytest.mark.parametrize("locale", LOCALES)
def test_a_reminder_quotes_to_each_recipient_the_message_it_received(templates: Path, locale: str) -> None:
    # GIVEN a reminder to two recipients that each received their own first message (msg-1-0, msg-1-1)
    record = _record_with_reminder_to_both()
    facts = notice_facts_for(record, country="KR", centre_name="Centre", centre_email="desk@centre.example")
    assert addressees(record) == [SITE, HOST]
    # WHEN the body and each recipient's block are rendered
    body = render_notice_body(facts, locale, templates)
    blocks = {
        r.address: render_addressing(facts_for_addressee(record, facts, r), locale, templates)
        for r in (SITE, HOST)
    }
    # THEN each block quotes that recipient's own first message, never the other's
    assert "msg-1-0" in blocks[SITE.address].text and "msg-1-1" not in blocks[SITE.address].text
    assert "msg-1-1" in blocks[HOST.address].text and "msg-1-0" not in blocks[HOST.address].text
    assert "msg-1-1" in HtmlProbe(blocks[HOST.address].html).visible_text
    # AND the body, read by both, quotes no one's message and is marked as a follow-up in its subject
    assert "msg-1-" not in body.body_text + body.body_html
    first = render_notice_body(replace(facts, follow_up=None), locale, templates)
    assert body.subject != first.subject


@pytest.mark.parametrize("locale", ["en", "ko"])
def test_an_escalation_tells_the_new_recipient_of_the_first_notice_in_the_body(
    templates: Path, locale: str
) -> None:
    # GIVEN an escalation to the registrar after the site's notice
    follow_up = follow_up_with(sent_notice(1, [SITE])).with_request(
        NoticeVersion(2, [REGISTRAR], 1, NoticeState.REQUESTED, Approval.REVIEWER, iso_utc(at(72))),
        now=at(72),
    )
    record, _ = CaseRecord.open(sighting(), now=at(-1))
    record = replace(
        record, recipients=[SITE, REGISTRAR], report_key="evidence/c/report.html", report_sha256="a" * 64,
        follow_up=follow_up,
    )  # fmt: skip
    facts = notice_facts_for(record, country="KR", centre_name="Centre", centre_email="desk@centre.example")
    # WHEN the body and the registrar's block are rendered
    body = render_notice_body(facts, locale, templates)
    block = render_addressing(facts_for_addressee(record, facts, REGISTRAR), locale, templates)
    # THEN the body says the content was reported to someone else first, quoting that message
    assert "msg-1-0" in body.body_text
    # AND the registrar's block addresses it in its capacity, without a reminder of a notice it never got
    assert addressees(record) == [REGISTRAR]
    assert REGISTRAR.address in block.text and "msg-1-0" not in block.text
