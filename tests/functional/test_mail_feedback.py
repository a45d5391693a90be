"""Bounces, complaints and deliveries of a sent notice come back through the SNS topic and are recorded on its case.

moto's SES does not emit sending events, so the test publishes, to the stack's mail events topic, the event SES
would publish for the message that was really sent: its message id, and the message tags the notice was really
sent with (read off the SendEmail call). moto delivers the publish to the subscribed function through the seam.
"""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from PIL import Image

from takedown.aws.case_store import CaseStore
from takedown.aws.clients import client
from takedown.aws.crawl_state import CrawlState
from takedown.demo.run import approve_through_page
from takedown.local.mailbox import sent_mail
from takedown.local.stack import REGION
from takedown.model import CaseStatus
from takedown.notices.mail_feedback import TAG_CASE

from .conftest import drop_sighting, register, synthetic_png

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment

EVENTS = Path(__file__).resolve().parents[1] / "events"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/reviews/[A-Za-z0-9_-]+\?e=\d+&s=[A-Za-z0-9_-]+")
RECIPIENT = "admin@board.example"


def _ses_event(name: str, *, message_id: str, tags: list[dict[str, str]], to: str) -> dict[str, Any]:
    """SES's event record for the message sent: its id, its tags (as SES publishes them), its recipient."""
    event: dict[str, Any] = json.loads((EVENTS / f"ses_event_{name}.json").read_text("utf-8"))
    event["mail"]["messageId"] = message_id
    event["mail"]["destination"] = [to]
    event["mail"]["tags"] = {
        "ses:configuration-set": ["takedown"],
        **{tag["Name"]: [tag["Value"]] for tag in tags},
    }
    for body in event.values():
        for key in ("bouncedRecipients", "complainedRecipients", "delayedRecipients"):
            for recipient in body.get(key, []) if isinstance(body, dict) else []:
                recipient["emailAddress"] = to
    if "delivery" in event:
        event["delivery"]["recipients"] = [to]
    return event


def _recompressed(data: bytes) -> bytes:
    """The picture as a site would serve a copy: smaller, recompressed."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    buffer = io.BytesIO()
    image.resize((image.width * 3 // 4, image.height * 3 // 4)).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def _mail_events_topic(local: LocalEnvironment) -> str:
    """The topic the feedback function is subscribed to, as provisioned from the template."""
    function = local.function_name("handle_mail_feedback")
    subscriptions = boto3.client("sns", region_name=REGION).list_subscriptions()["Subscriptions"]
    [topic] = {
        s["TopicArn"]
        for s in subscriptions
        if s["Protocol"] == "lambda" and s["Endpoint"].endswith(f":{function}")
    }
    return str(topic)


def _publish(local: LocalEnvironment, event: dict[str, Any]) -> None:
    boto3.client("sns", region_name=REGION).publish(
        TopicArn=_mail_events_topic(local), Message=json.dumps(event)
    )


@pytest.fixture
def sent_notice(local: LocalEnvironment) -> tuple[str, str, list[dict[str, str]]]:
    """Drive one matching sighting to a sent notice; (case id, SES message id, the tags it was sent with)."""
    sent_requests: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        sent_requests.append(copy.deepcopy(params))

    # The functions run in this process and share the process's boto3 clients: observe the real SendEmail call.
    client("sesv2").meta.events.register("provide-client-params.sesv2.SendEmail", capture)
    original = synthetic_png(11)
    register(local, original)
    drop_sighting(local, _recompressed(original), "http://board.example/p/9", contacts=[RECIPIENT])
    cases = CaseStore(local.settings().cases_table)
    [case_id] = [o["reason"] for o in CrawlState(local.settings().crawl_table).media_outcomes()]
    assert local.wait_for(lambda: cases.require(case_id).status is CaseStatus.AWAITING_REVIEW, timeout=60)
    [link] = {link for mail in sent_mail() for link in LINK.findall(mail.body("plain"))}
    assert approve_through_page(link) == 200
    assert local.wait_for(lambda: cases.require(case_id).status is CaseStatus.SENT, timeout=60)
    client("sesv2").meta.events.unregister("provide-client-params.sesv2.SendEmail", capture)
    [notice] = [r for r in sent_requests if r.get("EmailTags")]
    [message_id] = cases.require(case_id).sent_message_ids
    return case_id, message_id, notice["EmailTags"]


def _feedback_events(cases: CaseStore, case_id: str) -> list[dict[str, Any]]:
    return [e.detail for e in cases.events(case_id) if e.stage == "mail-feedback"]


def test_a_hard_bounce_is_recorded_once_and_marks_the_address_undeliverable(
    local: LocalEnvironment, sent_notice: tuple[str, str, list[dict[str, str]]]
) -> None:
    # GIVEN a sent notice, tagged with its case and version
    case_id, message_id, tags = sent_notice
    assert {t["Name"]: t["Value"] for t in tags} == {"takedown-case": case_id, "takedown-notice-version": "1"}
    cases = CaseStore(local.settings().cases_table)
    recipient = cases.require(case_id).recipients[0].address
    # WHEN SES publishes a permanent bounce for it (twice: SNS delivers at least once)
    bounce = _ses_event("bounce_permanent", message_id=message_id, tags=tags, to=recipient)
    _publish(local, bounce)
    _publish(local, bounce)
    # THEN the case has one delivery outcome and one audit event, and the address is undeliverable
    [outcome] = cases.deliveries(case_id)
    assert (outcome.kind, outcome.bounce_type, outcome.address, outcome.message_id) == (
        "Bounce",
        "Permanent",
        recipient,
        message_id,
    )
    assert cases.undeliverable_addresses(case_id) == {recipient}
    [detail] = _feedback_events(cases, case_id)
    assert detail["outcome"] == "hard-bounce" and detail["bounce_sub_type"] == "General"
    assert detail["address"] == recipient and detail["diagnostic"].startswith("smtp; 550 5.1.1")
    # AND nothing of the message itself (its subject) is on the timeline
    assert "Removal request" not in json.dumps(detail)
    # AND the case itself is unchanged: still SENT
    assert cases.require(case_id).status is CaseStatus.SENT


def test_deliveries_complaints_and_soft_bounces_are_recorded_each_as_what_it_is(
    local: LocalEnvironment, sent_notice: tuple[str, str, list[dict[str, str]]]
) -> None:
    case_id, message_id, tags = sent_notice
    cases = CaseStore(local.settings().cases_table)
    recipient = cases.require(case_id).recipients[0].address
    # WHEN SES reports a delivery and a soft bounce
    for name in ("delivery", "bounce_transient"):
        _publish(local, _ses_event(name, message_id=message_id, tags=tags, to=recipient))
    # THEN both are on the case, and the address may still be used
    assert [o.outcome for o in cases.deliveries(case_id)] == ["delivered", "soft-bounce"]
    assert cases.undeliverable_addresses(case_id) == set()
    # WHEN the recipient then reports the notice as spam
    _publish(local, _ses_event("complaint", message_id=message_id, tags=tags, to=recipient))
    # THEN the address is not used again (SES suppresses it too)
    assert cases.undeliverable_addresses(case_id) == {recipient}
    assert [d["outcome"] for d in _feedback_events(cases, case_id)] == [
        "delivered",
        "soft-bounce",
        "complaint",
    ]


def test_hostile_feedback_is_refused_with_its_reason_and_never_stops_the_batch(
    local: LocalEnvironment, sent_notice: tuple[str, str, list[dict[str, str]]]
) -> None:
    # GIVEN an SNS batch as Lambda receives it: malformed JSON, an untagged message (a review email), a message
    # tagged with a case that does not exist, a record without a message, and one real bounce
    case_id, message_id, tags = sent_notice
    cases = CaseStore(local.settings().cases_table)
    recipient = cases.require(case_id).recipients[0].address
    bounce = _ses_event("bounce_permanent", message_id=message_id, tags=tags, to=recipient)
    untagged = copy.deepcopy(bounce)
    del untagged["mail"]["tags"][TAG_CASE]
    stranger = copy.deepcopy(bounce)
    stranger["mail"]["tags"][TAG_CASE] = ["0" * 32]
    envelope = json.loads((EVENTS / "sns_lambda_event.json").read_text("utf-8"))
    template = envelope["Records"][0]
    records = []
    for message in ['{"eventType": "Bounce", ', untagged, stranger, None, bounce]:
        record = copy.deepcopy(template)
        if message is None:
            del record["Sns"]["Message"]
        else:
            record["Sns"]["Message"] = message if isinstance(message, str) else json.dumps(message)
        records.append(record)
    # WHEN the function is invoked with it, as SNS would
    result = local.invoke("handle_mail_feedback", {"Records": records})
    # THEN each record has its outcome, the bad ones refused with a reason, the real one recorded
    assert [(r["outcome"], r.get("reason", "")) for r in result["results"]] == [
        ("refused", "malformed-json"),
        ("ignored", "missing-tags"),
        ("refused", "unknown-case"),
        ("refused", "not-an-sns-record"),
        ("recorded", ""),
    ]
    assert [o.outcome for o in cases.deliveries(case_id)] == ["hard-bounce"]
    # AND nothing was written for the case that does not exist
    assert cases.get("0" * 32) is None and cases.deliveries("0" * 32) == []
    # AND an event that is not even a batch is refused, not raised
    assert local.invoke("handle_mail_feedback", {"unexpected": True})["results"][0]["reason"] == (
        "not-an-sns-event"
    )
