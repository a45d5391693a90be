"""Email a reviewer a signed link to one review: the request, a hand-over and the reminder all go out here.

Shared by ``handle_request_approval``, ``handle_review_http`` (hand-over) and ``handle_remind_reviewers``. The link
is signed here and goes into the email only; it is never logged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from takedown.approval.links import sign_review_link
from takedown.approval.pages import render_review_email
from takedown.aws.mailer import build_message, send_message
from takedown.aws.secrets import link_key
from takedown.model import iso_utc

if TYPE_CHECKING:
    from takedown.cases.record import CaseRecord
    from takedown.config import Settings


def iso_from_unix(seconds: int) -> str:
    """Unix seconds as the ISO 8601 UTC text the case record uses."""
    return iso_utc(datetime.fromtimestamp(seconds, UTC))


def email_review_link(
    settings: Settings,
    record: CaseRecord,
    *,
    review_id: str,
    reviewer: str,
    expires_at: int,
    purpose: str = "request",
    handed_over_by: str = "",
    due_at: int = 0,
) -> str:
    """Sign a link to ``review_id`` for ``reviewer`` valid until ``expires_at`` and email it; returns the SES id.

    Raises ``botocore.exceptions.ClientError`` when SES refuses the message (the caller records or retries).
    """
    link = sign_review_link(
        link_key(settings.link_key_secret), review_id=review_id, reviewer=reviewer, expires_at=expires_at
    )
    subject, text, html = render_review_email(
        review_url=f"{settings.review_base_url}{link.path()}",
        case_id=record.case_id,
        page_host=urlsplit(record.sighting.page_url).hostname or "",
        match_count=len(record.matches),
        expires_at=iso_from_unix(expires_at),
        centre_name=settings.centre_name,
        purpose=purpose,
        handed_over_by=handed_over_by,
        due_at=iso_from_unix(due_at) if due_at else "",
        templates_dir=settings.templates_dir,
    )
    message = build_message(
        sender=settings.sender,
        to=[reviewer],
        subject=subject,
        text=text,
        html=html,
        sender_name=settings.centre_name,
    )
    return send_message(message, configuration_set=settings.configuration_set)
