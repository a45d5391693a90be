"""SES sending events (as SES publishes them to SNS) read into delivery outcomes, and everything refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from takedown.notices.mail_feedback import (
    TAG_CASE,
    TAG_NOTICE_VERSION,
    DeliveryOutcome,
    MailFeedbackError,
    notice_tags,
    parse_ses_event,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"
CASE_ID = "5d41402abc4b2a76b9719d911017c592"


def ses_event(name: str, case_id: str = CASE_ID) -> dict[str, Any]:
    """One of the SES event records in tests/events, for ``case_id``."""
    document: dict[str, Any] = json.loads((EVENTS / f"ses_event_{name}.json").read_text("utf-8"))
    document["mail"]["tags"][TAG_CASE] = [case_id]
    return document


def test_notice_tags_name_the_case_and_version_and_refuse_anything_else() -> None:
    assert notice_tags(CASE_ID, 3) == {TAG_CASE: CASE_ID, TAG_NOTICE_VERSION: "3"}
    for case_id, version in [("a b", 1), ("x\r\ny", 1), ("", 1), (CASE_ID, 0), (CASE_ID, True)]:
        with pytest.raises(ValueError, match=r"case id|notice version"):
            notice_tags(case_id, version)  # type: ignore[arg-type]


def test_a_permanent_bounce_makes_the_address_undeliverable() -> None:
    # GIVEN SES's record of a hard bounce of a notice
    event = ses_event("bounce_permanent")
    # WHEN it is read
    [outcome] = parse_ses_event(json.dumps(event))
    # THEN the case, notice version, recipient, bounce type and diagnostic are kept, and the address is done for
    assert (outcome.case_id, outcome.notice_version, outcome.kind) == (CASE_ID, 1, "Bounce")
    assert (outcome.bounce_type, outcome.bounce_sub_type, outcome.status) == ("Permanent", "General", "5.1.1")
    assert outcome.address == "abuse@host.example"
    assert outcome.diagnostic.startswith("smtp; 550 5.1.1")
    assert outcome.at == "2026-11-28T09:00:01.669000Z"
    assert outcome.message_id == event["mail"]["messageId"]
    assert outcome.feedback_id == event["bounce"]["feedbackId"]
    assert (outcome.outcome, outcome.undeliverable) == ("hard-bounce", True)


@pytest.mark.parametrize(
    ("name", "kind", "outcome", "undeliverable"),
    [
        ("bounce_transient", "Bounce", "soft-bounce", False),
        ("complaint", "Complaint", "complaint", True),
        ("delivery", "Delivery", "delivered", False),
        ("reject", "Reject", "rejected", False),
        ("delivery_delay", "DeliveryDelay", "delayed", False),
    ],
)
def test_each_event_kind_gives_its_outcome(name: str, kind: str, outcome: str, undeliverable: bool) -> None:
    [read] = parse_ses_event(json.dumps(ses_event(name)))
    assert (read.kind, read.outcome, read.undeliverable) == (kind, outcome, undeliverable)
    assert read.address == "abuse@host.example" and read.case_id == CASE_ID


def test_what_each_kind_keeps_from_its_own_object() -> None:
    [complaint] = parse_ses_event(json.dumps(ses_event("complaint")))
    [delivery] = parse_ses_event(json.dumps(ses_event("delivery")))
    [reject] = parse_ses_event(json.dumps(ses_event("reject")))
    [delay] = parse_ses_event(json.dumps(ses_event("delivery_delay")))
    assert complaint.complaint_type == "abuse" and complaint.at == "2026-11-28T10:12:00.000000Z"
    assert delivery.diagnostic == "250 2.6.0 Message received"
    # a rejection has no event time of its own: the send time stands in
    assert reject.diagnostic == "Bad content" and reject.at == "2026-11-28T09:00:00.012000Z"
    assert delay.bounce_sub_type == "TransientCommunicationFailure" and delay.status == "4.4.1"


def test_identity_notifications_read_like_published_events() -> None:
    # GIVEN the older notification format, which names the type "notificationType"
    event = ses_event("bounce_permanent")
    event["notificationType"] = event.pop("eventType")
    # THEN it reads the same
    assert parse_ses_event(json.dumps(event))[0].outcome == "hard-bounce"


def test_one_outcome_per_recipient_and_addresses_are_plain_and_lowercase() -> None:
    event = ses_event("bounce_permanent")
    event["bounce"]["bouncedRecipients"] = [
        {"emailAddress": "Abuse@Host.Example", "status": "5.1.1"},
        {"emailAddress": "Desk <desk@host.example>", "status": "5.2.1"},
    ]
    outcomes = parse_ses_event(json.dumps(event))
    assert [(o.address, o.status) for o in outcomes] == [
        ("abuse@host.example", "5.1.1"),
        ("desk@host.example", "5.2.1"),
    ]
    assert len({o.dedupe_key for o in outcomes}) == 2


def test_the_same_event_has_the_same_key_so_a_redelivery_is_recognised() -> None:
    first = parse_ses_event(json.dumps(ses_event("bounce_permanent")))[0]
    again = parse_ses_event(json.dumps(ses_event("bounce_permanent")).encode("utf-8"))[0]
    other = parse_ses_event(json.dumps(ses_event("complaint")))[0]
    assert first.dedupe_key == again.dedupe_key != other.dedupe_key


def test_a_hostile_diagnostic_is_one_bounded_line_and_headers_are_never_kept() -> None:
    # GIVEN a remote server answering with line breaks, a bidi override and a very long text
    event = ses_event("bounce_permanent")
    event["bounce"]["bouncedRecipients"][0]["diagnosticCode"] = (
        "smtp; 550\r\nBcc: attacker@evil.test\u202e<script>" + "x" * 2000
    )
    [outcome] = parse_ses_event(json.dumps(event))
    # THEN the diagnostic is one line, without control characters, at most 500 characters
    assert (
        "\r" not in outcome.diagnostic
        and "\n" not in outcome.diagnostic
        and "\u202e" not in outcome.diagnostic
    )
    assert outcome.diagnostic.startswith("smtp; 550 Bcc: attacker@evil.test <script>")
    assert len(outcome.diagnostic) == 500 and outcome.diagnostic.endswith("…")
    # AND nothing of the message's headers (its subject) is in what the case records
    recorded = json.dumps(outcome.audit_detail())
    assert "Removal request" not in recorded and "Subject" not in recorded
    assert DeliveryOutcome.from_dict(outcome.to_dict()) == outcome


def _without_tag(event: dict[str, Any]) -> dict[str, Any]:
    del event["mail"]["tags"][TAG_CASE]
    return event


def _set(path: tuple[str, ...], value: Any) -> Any:
    def change(event: dict[str, Any]) -> dict[str, Any]:
        target = event
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return event

    return change


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: "{not json", "malformed-json"),
        (lambda e: b"\xff\xfe", "malformed-json"),
        (lambda e: [e], "not-an-event"),
        (_set(("eventType",), "Open"), "unsupported-event"),
        (_set(("eventType",), None), "unsupported-event"),
        (_set(("mail",), "nothing"), "not-an-event"),
        (_set(("bounce",), None), "not-an-event"),
        (_set(("mail", "messageId"), ""), "not-an-event"),
        (_set(("mail", "tags"), None), "missing-tags"),
        (_without_tag, "missing-tags"),
        (_set(("mail", "tags", TAG_CASE), ["x\r\nBcc: y"]), "bad-tags"),
        (_set(("mail", "tags", TAG_CASE), [{"S": "x"}]), "bad-tags"),
        (_set(("mail", "tags", TAG_NOTICE_VERSION), ["0"]), "bad-tags"),
        (_set(("mail", "tags", TAG_NOTICE_VERSION), ["one"]), "bad-tags"),
        (_set(("bounce", "bouncedRecipients"), []), "no-recipients"),
        (_set(("bounce", "bouncedRecipients"), "abuse@host.example"), "no-recipients"),
        (_set(("bounce", "bouncedRecipients"), [{"emailAddress": 7}]), "bad-recipient"),
        (_set(("bounce", "bouncedRecipients"), [{"emailAddress": "a@b@c"}]), "bad-recipient"),
        (_set(("bounce", "bouncedRecipients"), [{"emailAddress": "a@b.example\r\nX: y"}]), "bad-recipient"),
    ],
)
def test_what_cannot_be_recorded_is_refused_with_a_reason(change: Any, reason: str) -> None:
    # GIVEN an SNS message that is not a usable SES event of a notice
    message = change(ses_event("bounce_permanent"))
    raw = message if isinstance(message, str | bytes) else json.dumps(message)
    # WHEN it is read THEN it is refused, and the reason says why
    with pytest.raises(MailFeedbackError) as refused:
        parse_ses_event(raw)
    assert refused.value.reason == reason
    assert str(refused.value).startswith(f"{reason}: ")
    # AND once the event type is known, the error says which (an untagged bounce may be a reviewer's address)
    if reason in {"missing-tags", "bad-tags"}:
        assert refused.value.kind == "Bounce"
