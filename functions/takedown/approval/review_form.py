"""The review form as posted: what the reviewer asked for, checked against what the case allows.

One form carries every request a reviewer can make on an open review, each with its own submit button:

- ``decision=APPROVED`` / ``REJECTED`` decides (with the edited ``subject`` and ``body_text``, the chosen
  ``recipient`` addresses and a ``reason``);
- ``decision=HANDED_OVER`` hands the review to ``handover_to``, one of the configured reviewers, with a reason;
- ``action=thumbnail`` asks for the media's thumbnail;
- ``action=form-submitted:<n>`` records that the notice was submitted by hand through recipient ``n``'s web form.

Nothing here trusts the form: a recipient must be one the case discovered, a reviewer must be configured, and a
recipient can be approved only when the page could show it what it will receive (its addressing blocks).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from takedown.notices.addressing import recipient_key

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from takedown.model import Recipient
    from takedown.notices.addressing import AddressingBlock

__all__ = [
    "APPROVED",
    "DECISIONS",
    "HANDED_OVER",
    "REJECTED",
    "FormRefused",
    "ReviewForm",
    "choose_recipients",
    "email_recipients",
    "form_recipient",
    "handover_target",
    "parse_review_form",
    "require_addressed",
]

APPROVED = "APPROVED"
REJECTED = "REJECTED"
HANDED_OVER = "HANDED_OVER"
DECISIONS = frozenset({APPROVED, REJECTED, HANDED_OVER})
ACTION_DECIDE = "decide"
ACTION_THUMBNAIL = "thumbnail"
ACTION_FORM_SUBMITTED = "form-submitted"
MAX_REASON_CHARS = 2000
MAX_SUBJECT_CHARS = 300
MAX_RECIPIENTS = 20


class FormRefused(ValueError):
    """The posted form asks for something this review does not allow.

    ``reason`` is a short code for the log; ``message_key`` names the page text shown to the reviewer.
    """

    def __init__(self, reason: str, message_key: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message_key = message_key


@dataclass(frozen=True)
class ReviewForm:
    """One posted review form. ``subject``/``body_text`` are None when the form did not carry them."""

    action: str  # ACTION_DECIDE | ACTION_THUMBNAIL | ACTION_FORM_SUBMITTED
    decision: str = ""  # APPROVED | REJECTED | HANDED_OVER, for ACTION_DECIDE
    subject: str | None = None
    body_text: str | None = None
    reason: str = ""
    recipients: tuple[str, ...] = ()
    handover_to: str = ""
    form_index: int = -1  # for ACTION_FORM_SUBMITTED


def _first(fields: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[0] if values else None


def parse_review_form(fields: Mapping[str, Sequence[str]]) -> ReviewForm:
    """Read a posted form (name -> values, as ``parse_qs`` gives them).

    >>> parse_review_form({"decision": ["APPROVED"], "recipient": ["a@x.example"]}).recipients
    ('a@x.example',)
    >>> parse_review_form({"action": ["form-submitted:1"]}).form_index
    1
    """
    subject = _first(fields, "subject")
    body = _first(fields, "body_text")
    recipients = tuple(dict.fromkeys(v.strip() for v in fields.get("recipient", ()) if v.strip()))
    if len(recipients) > MAX_RECIPIENTS:
        raise FormRefused("form:recipients", "recipient_unknown", "too many recipients in the form")
    posted = ReviewForm(
        action=ACTION_DECIDE,
        subject=None
        if subject is None
        else subject.replace("\r", " ").replace("\n", " ").strip()[:MAX_SUBJECT_CHARS],
        body_text=None if body is None else body.replace("\r\n", "\n"),
        reason=(_first(fields, "reason") or "").strip()[:MAX_REASON_CHARS],
        recipients=recipients,
    )
    action = _first(fields, "action") or ACTION_DECIDE
    if action == ACTION_THUMBNAIL:
        return replace(posted, action=ACTION_THUMBNAIL)
    if action.startswith(f"{ACTION_FORM_SUBMITTED}:"):
        index = action.partition(":")[2]
        if not (index.isascii() and index.isdigit() and len(index) <= 3):
            raise FormRefused(
                "form:contact-form", "form_unknown", f"not a contact form number: {index[:20]!r}"
            )
        return replace(posted, action=ACTION_FORM_SUBMITTED, form_index=int(index))
    if action != ACTION_DECIDE:
        raise FormRefused("form:action", "decision_missing", f"unknown action {action[:40]!r}")
    decision = _first(fields, "decision") or ""
    if decision not in DECISIONS:
        raise FormRefused("form:decision", "decision_missing", f"unknown decision {decision[:40]!r}")
    return replace(posted, decision=decision, handover_to=(_first(fields, "handover_to") or "").strip())


def email_recipients(discovered: Sequence[Recipient]) -> list[Recipient]:
    """The discovered recipients a notice can be emailed to (a form-only recipient has no address)."""
    return [r for r in discovered if r.address]


def choose_recipients(discovered: Sequence[Recipient], posted: Sequence[str]) -> list[Recipient]:
    """The recipients the reviewer ticked, in the order they were discovered.

    Every posted address must be one the case discovered (compared without regard to case); at least one must be
    chosen when the case has any email recipient. A free-typed or altered address is refused, never sent to.
    """
    candidates = {r.address.casefold(): r for r in email_recipients(discovered)}
    unknown = [address for address in posted if address.casefold() not in candidates]
    if unknown:
        raise FormRefused(
            "recipient:unknown",
            "recipient_unknown",
            f"{len(unknown)} posted address(es) are not among the case's discovered recipients",
        )
    wanted = {address.casefold() for address in posted}
    chosen = [r for r in email_recipients(discovered) if r.address.casefold() in wanted]
    if candidates and not chosen:
        raise FormRefused("recipient:none", "recipient_none", "no recipient was chosen")
    return chosen


def handover_target(posted: str, reviewers: Sequence[str], current: str, reason: str) -> str:
    """The configured reviewer a review is handed to (as configured), refusing anyone else or oneself."""
    by_address = {r.casefold(): r for r in reviewers}
    target = by_address.get(posted.casefold())
    if target is None:
        raise FormRefused("handover:unknown", "handover_unknown", "not one of the configured reviewers")
    if target.casefold() == current.casefold():
        raise FormRefused("handover:self", "handover_self", "a review cannot be handed to its own reviewer")
    if not reason:
        raise FormRefused("handover:no-reason", "handover_reason", "a hand-over needs a reason")
    return target


def form_recipient(discovered: Sequence[Recipient], index: int) -> Recipient:
    """Discovered recipient ``index`` when it has a contact form; the form number comes from the page."""
    if not 0 <= index < len(discovered) or not discovered[index].contact_form_url:
        raise FormRefused("form:contact-form", "form_unknown", f"recipient {index} has no contact form")
    return discovered[index]


def require_addressed(
    chosen: Sequence[Recipient], locales: Sequence[str], blocks: Sequence[AddressingBlock]
) -> None:
    """Refuse the approval when a chosen recipient lacks its addressing block in one of the notice's locales.

    Each recipient's message is its block before the approved body; without the block the page could not show
    what it would receive, and the send step would refuse to compose it.
    """
    have = {(recipient_key(b.recipient), b.locale) for b in blocks}
    missing = [r for r in chosen if any((recipient_key(r), locale) not in have for locale in locales)]
    if missing:
        raise FormRefused(
            "recipient:unaddressed",
            "recipient_unaddressed",
            f"{len(missing)} chosen recipient(s) have no addressing block in every locale of the notice",
        )
