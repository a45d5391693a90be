from __future__ import annotations

import pytest

from takedown.approval.review_form import (
    FormRefused,
    choose_recipients,
    form_recipient,
    handover_target,
    parse_review_form,
    require_addressed,
)
from takedown.model import Recipient
from takedown.notices.addressing import AddressingBlock

SITE = Recipient(address="abuse@site.example", role="site", found_at="mailto on the page", confidence=0.9)
HOST = Recipient(address="Abuse@Host.example", role="host", found_at="RDAP", confidence=0.7)
FORM = Recipient(
    address="",
    role="platform",
    found_at="contact page",
    confidence=0.5,
    contact_form_url="https://p.example/f",
)
REVIEWERS = ("a@centre.example", "B@centre.example", "c@centre.example")


def test_a_decision_form_is_read_with_its_edit_and_choice() -> None:
    form = parse_review_form(
        {
            "decision": ["APPROVED"],
            "subject": ["  Line\r\nbreak  "],
            "body_text": ["one\r\ntwo"],
            "reason": ["  ok  "],
            "recipient": ["abuse@site.example", "abuse@site.example", " ", "x@y.example"],
        }
    )
    assert (form.action, form.decision) == ("decide", "APPROVED")
    assert form.subject == "Line  break" and form.body_text == "one\ntwo" and form.reason == "ok"
    assert form.recipients == ("abuse@site.example", "x@y.example")


def test_fields_the_form_did_not_carry_stay_unset() -> None:
    form = parse_review_form({"decision": ["REJECTED"]})
    assert form.subject is None and form.body_text is None and form.recipients == ()


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, "form:decision"),
        ({"decision": ["MAYBE"]}, "form:decision"),
        ({"action": ["delete"]}, "form:action"),
        ({"action": ["form-submitted:x"]}, "form:contact-form"),
        ({"action": ["form-submitted:12345"]}, "form:contact-form"),
        ({"decision": ["APPROVED"], "recipient": [f"r{n}@x.example" for n in range(21)]}, "form:recipients"),
    ],
)
def test_a_form_that_asks_for_nothing_known_is_refused(fields: dict[str, list[str]], reason: str) -> None:
    with pytest.raises(FormRefused) as refused:
        parse_review_form(fields)
    assert refused.value.reason == reason


def test_thumbnail_and_contact_form_requests_keep_the_edit_in_progress() -> None:
    thumbnail = parse_review_form({"action": ["thumbnail"], "subject": ["s"], "decision": ["APPROVED"]})
    assert (thumbnail.action, thumbnail.decision, thumbnail.subject) == ("thumbnail", "", "s")
    submitted = parse_review_form({"action": ["form-submitted:2"], "body_text": ["b"]})
    assert (submitted.action, submitted.form_index, submitted.body_text) == ("form-submitted", 2, "b")


def test_chosen_recipients_come_from_the_discovered_set_in_its_order() -> None:
    # WHEN the reviewer ticks the host (in another case) and the site
    chosen = choose_recipients([SITE, HOST, FORM], ["abuse@host.example", "abuse@site.example"])
    # THEN both are chosen, as discovered, with their provenance
    assert chosen == [SITE, HOST]


@pytest.mark.parametrize(
    ("posted", "reason"),
    [
        (["attacker@evil.example"], "recipient:unknown"),
        (["abuse@site.example", "abuse@site.example.evil.example"], "recipient:unknown"),
        ([""], "recipient:unknown"),
        ([], "recipient:none"),
    ],
)
def test_a_free_typed_or_missing_recipient_is_refused(posted: list[str], reason: str) -> None:
    with pytest.raises(FormRefused) as refused:
        choose_recipients([SITE, HOST], posted)
    assert refused.value.reason == reason


def test_a_case_with_only_a_contact_form_needs_no_email_recipient() -> None:
    assert choose_recipients([FORM], []) == []


def test_a_review_is_handed_only_to_another_configured_reviewer_with_a_reason() -> None:
    assert (
        handover_target("b@centre.example", REVIEWERS, "a@centre.example", "on leave") == "B@centre.example"
    )
    for posted, current, reason, code in [
        ("someone@else.example", "a@centre.example", "r", "handover:unknown"),
        ("A@centre.example", "a@centre.example", "r", "handover:self"),
        ("c@centre.example", "a@centre.example", "", "handover:no-reason"),
    ]:
        with pytest.raises(FormRefused) as refused:
            handover_target(posted, REVIEWERS, current, reason)
        assert refused.value.reason == code


def test_only_a_recipient_with_a_contact_form_can_be_marked_submitted() -> None:
    assert form_recipient([SITE, FORM], 1) is FORM
    for index in (0, 2, -1):
        with pytest.raises(FormRefused):
            form_recipient([SITE, FORM], index)


def test_a_recipient_can_be_approved_only_with_its_addressing_block_in_every_locale() -> None:
    # GIVEN blocks for the site in Korean and English, and for the host in Korean only
    blocks = [
        AddressingBlock("ko", SITE, "수신: abuse@site.example\n", "<div>ko</div>"),
        AddressingBlock("en", SITE, "To: abuse@site.example\n", "<div>en</div>"),
        AddressingBlock("ko", HOST, "수신: abuse@host.example\n", "<div>ko</div>"),
    ]
    # THEN the site may be approved (the address compared without regard to case), the host may not
    require_addressed([SITE], ["ko", "en"], blocks)
    require_addressed([HOST], ["ko"], blocks)
    with pytest.raises(FormRefused) as refused:
        require_addressed([SITE, HOST], ["ko", "en"], blocks)
    assert (refused.value.reason, refused.value.message_key) == (
        "recipient:unaddressed",
        "recipient_unaddressed",
    )
