"""Made-up cases, recipients and notices for the follow-up tests (reserved example domains only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from takedown.cases.follow_up import Approval, FollowUp, NoticeState, NoticeVersion
from takedown.model import Recipient, Sighting, iso_utc

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
SITE = Recipient("abuse@board.example", "site", "mailto link on the page", 0.7)
SITE_FORM_DESK = Recipient("desk@board.example", "site", "contact page", 0.6)
SOURCE_CONTACT = Recipient("report@board.example", "source-contact", "source configuration", 0.9)
HOST = Recipient("abuse@hosting.example.net", "host", "RDAP network", 0.6)
REGISTRAR = Recipient("abuse@registrar.example.org", "registrar", "RDAP domain", 0.4)
CDN = Recipient("abuse@cdn.example.com", "cdn", "RDAP network behind a CDN", 0.5)


def at(hours: float) -> datetime:
    """``hours`` after the first notice went out."""
    return T0 + timedelta(hours=hours)


def sighting(page: str = "https://board.example/p/1") -> Sighting:
    return Sighting(
        media_key="media/abc/def",
        sha256="ab" * 32,
        md5="cd" * 16,
        page_url=page,
        media_url="https://board.example/m/1.jpg",
        fetched_at="2026-11-28T07:00:00.000000Z",
        content_type="image/jpeg",
        source_id="demo",
        size_bytes=1234,
    )


def sent_notice(
    version: int,
    recipients: list[Recipient],
    *,
    rung: int = 0,
    hours: float = 0,
    approval: Approval = Approval.REVIEWER,
) -> NoticeVersion:
    moment = iso_utc(at(hours))
    return NoticeVersion(
        version=version,
        recipients=recipients,
        rung=rung,
        state=NoticeState.SENT,
        approval=approval,
        requested_at=moment,
        sent_at=moment,
        message_ids=[f"msg-{version}-{i}" for i in range(len(recipients))],
        approved_by="reviewer@centre.example"
        if approval is Approval.REVIEWER
        else "policy:auto-same-recipient",
    )


def follow_up_with(*notices: NoticeVersion, rung: int | None = None) -> FollowUp:
    first, *rest = notices
    follow_up = FollowUp.start(first, next_check_at=at(24))
    return FollowUp(
        notices=[first, *rest],
        next_check_at=follow_up.next_check_at,
        rung=notices[-1].rung if rung is None else rung,
    )
