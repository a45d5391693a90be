"""The typed records that travel through the pipeline.

Every record is a frozen dataclass that round-trips through plain JSON (``to_dict`` / ``from_dict``),
because records cross Lambda, Step Functions and DynamoDB boundaries as JSON. Nothing here touches AWS.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """Format a timezone-aware time as ISO 8601 in UTC with a ``Z`` suffix.

    >>> iso_utc(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    '2026-01-02T03:04:05.000000Z'
    """
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time in a case record is UTC-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso_utc(text: str) -> datetime:
    """Parse a time written by :func:`iso_utc` (or any ISO 8601 time with an offset)."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"time without a UTC offset: {text!r}")
    return parsed.astimezone(UTC)


class _Record:
    """JSON round-tripping for the dataclasses below."""

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))  # type: ignore[call-overload, no-any-return]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
        return cls(**data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class CaseStatus(enum.StrEnum):
    """Where a case stands. The case timeline records every change with its UTC time."""

    SIGHTED = "SIGHTED"
    NO_MATCH = "NO_MATCH"
    MATCHED = "MATCHED"
    RECIPIENTS_RESOLVED = "RECIPIENTS_RESOLVED"
    REPORT_BUILT = "REPORT_BUILT"
    DRAFTED = "DRAFTED"
    AWAITING_REVIEW = "AWAITING_REVIEW"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    SENT = "SENT"  # a notice (first or follow-up) went out; the case is re-checked on a schedule
    SEND_FAILED = "SEND_FAILED"
    FAILED = "FAILED"  # a step failed after its retries; the error is on the timeline
    # After the first notice a case is monitored until the content is gone (see takedown.cases.follow_up).
    MONITORING = "MONITORING"  # re-checked; the last follow-up was not sent (declined, expired or failed)
    REMOVED = "REMOVED"  # two consecutive checks found the content gone
    LADDER_EXHAUSTED = "LADDER_EXHAUSTED"  # every rung was notified and it is still up: the officer decides


@dataclass(frozen=True)
class Sighting(_Record):
    """One media file seen on one page: what the crawl stored and where it came from."""

    media_key: str  # S3 key under media/
    sha256: str
    md5: str
    page_url: str
    media_url: str
    fetched_at: str  # ISO 8601 UTC
    content_type: str
    source_id: str
    size_bytes: int
    server_ip: str = ""
    server_country: str = ""  # ISO 3166 alpha-2 of the server IP where known (RDAP), "" otherwise
    page_title: str = ""
    page_lang: str = ""
    page_contacts: list[str] = field(default_factory=list)  # mailto: addresses found on the page
    capture_key: str = ""  # the WARC of the page and its media, as fetched (captures/...)
    response_headers: dict[str, str] = field(default_factory=dict)  # the page's, for CDN and host clues


@dataclass(frozen=True)
class BankItem(_Record):
    """One hash in the centre's bank. The original image never leaves the centre."""

    item_id: str
    bank: str
    algorithm: str  # "phash" | "pdq" | "sha256" | "md5"
    hash_hex: str
    case_ref: str = ""  # the centre's own reference; never a victim's name
    quality: int | None = None
    enabled: bool = True
    added_at: str = ""
    # Items derived from one registered original share its group id: the frames of a video, and the crops and
    # rotations hashed at registration so that cropped or rotated copies still match. "" for a plain item.
    group_id: str = ""
    variant: str = ""  # e.g. "original", "crop10", "rot-5", "frame:12@3.00s"
    media_kind: str = "image"  # "image" | "video"


@dataclass(frozen=True)
class MatchEvidence(_Record):
    """Why a sighting matched: what a reviewer sees before anything is sent."""

    algorithm: str
    distance: int
    threshold: int
    bank: str
    bank_item_id: str
    case_ref: str
    query_hash: str
    bank_hash: str
    quality: int | None = None
    rule: str = ""  # the fusion rule that made this a candidate, e.g. "pdq+phash", "pdq-strict", "exact"
    variant: str = ""  # which variant matched: "query:flipy", "bank:crop10", "frames:41/48 (85%)"
    group_id: str = ""


@dataclass(frozen=True)
class Recipient(_Record):
    """Someone a notice can go to, with where the address was found and how sure we are."""

    address: str
    role: str  # "site" | "host" | "registrar" | "cdn" | "platform" | "source-contact"
    found_at: str  # e.g. "mailto link on https://site/page" or "source configuration"
    confidence: float
    country: str = ""
    language: str = ""
    # A recipient reachable only (or also) through a web form: the form's URL. ``address`` is "" for a form-only
    # recipient; such a notice is handed to the reviewer to submit by hand and recorded when they do.
    contact_form_url: str = ""


@dataclass(frozen=True)
class FollowUpFacts(_Record):
    """What a follow-up or escalation notice says about the notices before it (see ``NoticeFacts.follow_up``).

    Only our own records: when the first notice went out and its message id, and when the content was last
    seen online. Nothing about the person depicted, nothing about whom else we wrote to.
    """

    version: int  # this notice's version: 2 for the first follow-up
    first_sent_at: str  # ISO 8601 UTC
    first_message_id: str
    still_online_at: str  # ISO 8601 UTC: the check that found the content still online
    to_same_recipient: bool  # a reminder to the first notice's recipient, or an escalation to someone new


@dataclass(frozen=True)
class RelatedCase(_Record):
    """Another case of the same registered original (a re-upload), as one case sees it.

    ``notified`` and ``removed`` say what the other case had reached when the link was made: whether a notice
    had gone out for it, and whether its removal had been confirmed.
    """

    case_id: str
    page_url: str
    linked_at: str  # ISO 8601 UTC
    earlier: bool  # the other case was opened before this one
    notified: bool = False
    removed: bool = False


@dataclass(frozen=True)
class NoticeDraft(_Record):
    """A notice rendered in one locale."""

    locale: str
    subject: str
    body_text: str
    body_html: str


@dataclass(frozen=True)
class CaseEvent(_Record):
    """One entry of the audit trail."""

    at: str  # ISO 8601 UTC
    stage: str
    status: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReviewDecision(_Record):
    """The structured result the approval step hands to Step Functions."""

    decision: str  # "APPROVED" | "REJECTED"
    reviewer: str
    decided_at: str
    reason: str = ""
