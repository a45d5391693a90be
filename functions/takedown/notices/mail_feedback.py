"""What SES says happened to a notice after it was sent: bounces, complaints, deliveries, rejections, delays.

Every notice is sent with two SES message tags (:func:`notice_tags`): the case id and the notice version. SES
publishes each sending event of the configuration set to an SNS topic as JSON (the "event publishing" format:
``eventType``, ``mail`` with the tags, and one object named after the event); :func:`parse_ses_event` turns one
such message into one :class:`DeliveryOutcome` per recipient. It keeps what the case needs -- the kind of event,
bounce type and sub-type, the recipient's address, the SMTP status and the remote server's diagnostic -- and never
the message's headers or body.

Anything that is not a usable event raises :class:`MailFeedbackError` with a short ``reason`` code, so the caller
can record and count it; nothing is dropped silently. Pure Python (no AWS).
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Final, Self

from takedown.model import parse_iso_utc

__all__ = [
    "TAG_CASE",
    "TAG_NOTICE_VERSION",
    "DeliveryOutcome",
    "FeedbackKind",
    "MailFeedbackError",
    "notice_tags",
    "parse_ses_event",
]

# SES message tag names (ASCII letters, digits, "_" and "-" only; SES publishes them back under mail.tags).
TAG_CASE: Final = "takedown-case"
TAG_NOTICE_VERSION: Final = "takedown-notice-version"
_TAG_TEXT = re.compile(r"[A-Za-z0-9_-]{1,256}")
_CASE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_MAX_DIAGNOSTIC_CHARS: Final = 500
_MAX_FIELD_CHARS: Final = 120
_MAX_ADDRESS_CHARS: Final = 254


class FeedbackKind(enum.StrEnum):
    """The SES event types the notices care about (SES's own names)."""

    BOUNCE = "Bounce"
    COMPLAINT = "Complaint"
    DELIVERY = "Delivery"
    REJECT = "Reject"
    DELIVERY_DELAY = "DeliveryDelay"


class MailFeedbackError(ValueError):
    """An SES event that cannot be recorded on a case. ``reason`` is a short code for logs and metrics:
    ``malformed-json``, ``not-an-event``, ``unsupported-event``, ``missing-tags``, ``bad-tags``,
    ``no-recipients`` or ``bad-recipient``. ``kind`` is the event type when it was read ("" before that)."""

    def __init__(self, reason: str, message: str, kind: str = "") -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.kind = kind


def notice_tags(case_id: str, notice_version: int) -> dict[str, str]:
    """The SES message tags a notice is sent with, so its bounces and complaints find their case.

    >>> notice_tags("5d41402abc4b2a76b9719d911017c592", 2)
    {'takedown-case': '5d41402abc4b2a76b9719d911017c592', 'takedown-notice-version': '2'}
    """
    if not _TAG_TEXT.fullmatch(case_id) or not _CASE_ID.fullmatch(case_id):
        raise ValueError(f"case id {case_id[:80]!r} cannot be an SES tag value")
    if isinstance(notice_version, bool) or not isinstance(notice_version, int) or notice_version < 1:
        raise ValueError(f"notice version must be a positive integer, got {notice_version!r}")
    return {TAG_CASE: case_id, TAG_NOTICE_VERSION: str(notice_version)}


def _one_line(value: object, limit: int) -> str:
    """Text from a remote mail server, fit for the case record: one line, no control characters, bounded."""
    text = "".join(
        " " if unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp", "Cs"} else c for c in str(value or "")
    )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one SES event says about one recipient of one notice.

    ``address`` is lowercased; ``at`` is the time SES gives for the event (ISO 8601 UTC, ``""`` when it gave
    none that parses). ``diagnostic`` is the remote server's answer (or SES's reason for a rejection), one line,
    at most 500 characters.
    """

    case_id: str
    notice_version: int
    message_id: str
    kind: str
    address: str
    at: str
    bounce_type: str = ""  # Permanent | Transient | Undetermined
    bounce_sub_type: str = ""  # General, NoEmail, Suppressed, MailboxFull, ... (the delay type for delays)
    complaint_type: str = ""  # the feedback type the recipient's provider gave: abuse, fraud, ...
    status: str = ""  # the SMTP enhanced status code, e.g. 5.1.1
    diagnostic: str = ""
    feedback_id: str = ""

    @property
    def undeliverable(self) -> bool:
        """The address must not be used again: a permanent bounce, or a complaint.

        SES puts both on the configuration set's suppression list, so a further message would be dropped.
        """
        return (self.kind == FeedbackKind.BOUNCE and self.bounce_type == "Permanent") or (
            self.kind == FeedbackKind.COMPLAINT
        )

    @property
    def outcome(self) -> str:
        """One word for the timeline and the metrics.

        >>> DeliveryOutcome("c", 1, "m", "Bounce", "a@b.example", "", bounce_type="Permanent").outcome
        'hard-bounce'
        """
        if self.kind == FeedbackKind.BOUNCE:
            return "hard-bounce" if self.bounce_type == "Permanent" else "soft-bounce"
        return {
            FeedbackKind.COMPLAINT: "complaint",
            FeedbackKind.DELIVERY: "delivered",
            FeedbackKind.REJECT: "rejected",
            FeedbackKind.DELIVERY_DELAY: "delayed",
        }.get(FeedbackKind(self.kind), "unknown")

    @property
    def dedupe_key(self) -> str:
        """Stable for the same event about the same recipient, so a redelivered SNS message is recorded once."""
        basis = "\n".join((self.message_id, self.kind, self.address, self.feedback_id, self.at))
        return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]

    def audit_detail(self) -> dict[str, Any]:
        """What the case's timeline records (no message headers, no body)."""
        detail = {k: v for k, v in self.to_dict().items() if v not in ("", None)}
        detail["outcome"] = self.outcome
        detail["undeliverable"] = self.undeliverable
        return detail

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _object(document: dict[str, Any], key: str, reason: str) -> dict[str, Any]:
    value = document.get(key)
    if not isinstance(value, dict):
        raise MailFeedbackError(reason, f"'{key}' is missing or not an object")
    return value


def _tag(tags: dict[str, Any], name: str) -> str:
    values = tags.get(name)
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not values:
        raise MailFeedbackError(
            "missing-tags", f"the message has no {name!r} tag: not a notice, or sent untagged"
        )
    value = values[0]
    if not isinstance(value, str) or not _TAG_TEXT.fullmatch(value):
        raise MailFeedbackError("bad-tags", f"tag {name!r} is not a tag value: {str(value)[:80]!r}")
    return value


def _notice_of(mail: dict[str, Any]) -> tuple[str, int]:
    """The case id and notice version the message was tagged with."""
    tags = mail.get("tags")
    if not isinstance(tags, dict):
        raise MailFeedbackError("missing-tags", "the message carries no tags: not a notice, or sent untagged")
    case_id = _tag(tags, TAG_CASE)
    version = _tag(tags, TAG_NOTICE_VERSION)
    if not version.isdigit() or int(version) < 1 or not _CASE_ID.fullmatch(case_id):
        raise MailFeedbackError("bad-tags", f"tags name case {case_id[:40]!r} version {version[:10]!r}")
    return case_id, int(version)


def _time(*candidates: object) -> str:
    for candidate in candidates:
        if isinstance(candidate, str) and candidate:
            try:
                return parse_iso_utc(candidate[:40]).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            except ValueError:
                continue
    return ""


def _address(value: object) -> str:
    address = value.get("emailAddress") if isinstance(value, dict) else value
    if not isinstance(address, str):
        raise MailFeedbackError("bad-recipient", f"a recipient is not an address: {str(address)[:80]!r}")
    # SES may give "Name <address>"; keep the address part.
    plain = address.strip().rsplit("<", 1)[-1].rstrip(">").strip().lower()
    if (
        not 3 <= len(plain) <= _MAX_ADDRESS_CHARS
        or plain.count("@") != 1
        or any(c.isspace() or unicodedata.category(c).startswith("C") for c in plain)
    ):
        raise MailFeedbackError("bad-recipient", f"not a mail address: {address[:80]!r}")
    return plain


def _recipients(kind: FeedbackKind, body: dict[str, Any], mail: dict[str, Any]) -> list[Any]:
    key = {
        FeedbackKind.BOUNCE: "bouncedRecipients",
        FeedbackKind.COMPLAINT: "complainedRecipients",
        FeedbackKind.DELIVERY: "recipients",
        FeedbackKind.DELIVERY_DELAY: "delayedRecipients",
    }.get(kind)
    # A rejected message reached nobody: the outcome concerns every destination.
    recipients = body.get(key) if key else mail.get("destination")
    if not isinstance(recipients, list) or not recipients:
        raise MailFeedbackError("no-recipients", f"the {kind.value} event names no recipient")
    return recipients


def _parse_document(message: str | bytes) -> dict[str, Any]:
    try:
        document = json.loads(message)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise MailFeedbackError("malformed-json", f"the SNS message is not JSON ({error})") from error
    if not isinstance(document, dict):
        raise MailFeedbackError("not-an-event", "the SNS message is not a JSON object")
    return document


def parse_ses_event(message: str | bytes) -> list[DeliveryOutcome]:
    """The outcomes one SES event (the ``Message`` of an SNS notification) reports, one per recipient.

    Accepts event publishing records (``eventType``) and identity notifications (``notificationType``).

    Raises
    ------
    MailFeedbackError
        When the message is not JSON, not an SES event of a kind in :class:`FeedbackKind`, carries no notice
        tags, or names no valid recipient.

    Examples
    --------
    >>> event = {"eventType": "Bounce",
    ...     "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
    ...                "bouncedRecipients": [{"emailAddress": "abuse@host.example", "status": "5.1.1",
    ...                                       "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
    ...                "timestamp": "2026-11-28T09:00:01.000Z", "feedbackId": "0100-f"},
    ...     "mail": {"messageId": "0100-m", "timestamp": "2026-11-28T09:00:00.000Z",
    ...              "tags": {"takedown-case": ["c0ffee"], "takedown-notice-version": ["1"]}}}
    >>> [outcome] = parse_ses_event(json.dumps(event))
    >>> outcome.address, outcome.outcome, outcome.undeliverable, outcome.diagnostic
    ('abuse@host.example', 'hard-bounce', True, 'smtp; 550 5.1.1 user unknown')
    """
    document = _parse_document(message)
    kind_name = document.get("eventType") or document.get("notificationType")
    try:
        kind = FeedbackKind(str(kind_name))
    except ValueError:
        raise MailFeedbackError(
            "unsupported-event", f"event type {str(kind_name)[:40]!r} is not one the notices record"
        ) from None
    mail = _object(document, "mail", "not-an-event")
    body_key = {FeedbackKind.DELIVERY_DELAY: "deliveryDelay"}.get(kind, kind.value.lower())
    body = _object(document, body_key, "not-an-event")
    message_id = mail.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        raise MailFeedbackError("not-an-event", "mail.messageId is missing")
    try:
        case_id, version = _notice_of(mail)
    except MailFeedbackError as error:
        raise MailFeedbackError(error.reason, str(error).split(": ", 1)[1], kind.value) from None
    outcome = DeliveryOutcome(
        case_id=case_id,
        notice_version=version,
        message_id=_one_line(message_id, _MAX_FIELD_CHARS),
        kind=kind.value,
        address="",
        at=_time(body.get("timestamp"), mail.get("timestamp")),
        bounce_type=_one_line(body.get("bounceType"), _MAX_FIELD_CHARS),
        bounce_sub_type=_one_line(body.get("bounceSubType") or body.get("delayType"), _MAX_FIELD_CHARS),
        complaint_type=_one_line(body.get("complaintFeedbackType"), _MAX_FIELD_CHARS),
        feedback_id=_one_line(body.get("feedbackId"), _MAX_FIELD_CHARS),
    )
    outcomes = []
    for recipient in _recipients(kind, body, mail):
        detail = recipient if isinstance(recipient, dict) else {}
        diagnostic = detail.get("diagnosticCode") or body.get("smtpResponse") or body.get("reason")
        outcomes.append(
            replace(
                outcome,
                address=_address(recipient),
                status=_one_line(detail.get("status"), _MAX_FIELD_CHARS),
                diagnostic=_one_line(diagnostic, _MAX_DIAGNOSTIC_CHARS),
            )
        )
    return outcomes
