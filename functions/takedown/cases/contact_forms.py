"""Recipients reached through a web form instead of e-mail, and the reviewer's record of submitting to them.

A recipient with only a ``contact_form_url`` (its ``address`` is "") cannot be mailed: the review page shows the
form's address and the notice text, the reviewer pastes it there by hand and records it, which puts a
``contact-form-submitted`` event (with the form's URL) on the case's timeline. ``SendNotice`` counts a notice to
such a recipient as delivered only when that event is there. Pure: no AWS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from takedown.model import parse_iso_utc

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from takedown.model import CaseEvent, Recipient

__all__ = ["STAGE_CONTACT_FORM_SUBMITTED", "form_only_recipients", "submitted_forms"]

# The timeline stage the review function records when the reviewer says they submitted a contact form.
STAGE_CONTACT_FORM_SUBMITTED = "contact-form-submitted"


def form_only_recipients(recipients: Sequence[Recipient]) -> list[Recipient]:
    """The recipients that have a contact form and no e-mail address, in order.

    >>> from takedown.model import Recipient
    >>> form = Recipient("", "platform", "registry", 0.9, contact_form_url="https://p.example/report")
    >>> [r.contact_form_url for r in form_only_recipients([Recipient("a@x.example", "site", "page", 0.5), form])]
    ['https://p.example/report']
    """
    return [r for r in recipients if not r.address and r.contact_form_url]


def submitted_forms(
    recipients: Sequence[Recipient], events: Iterable[CaseEvent], *, since: str = ""
) -> list[Recipient]:
    """The form-only ``recipients`` whose form the reviewer recorded submitting (at or after ``since``).

    Parameters
    ----------
    recipients
        The notice's recipients; only the form-only ones are considered.
    events
        The case's timeline.
    since
        ISO 8601 UTC: submissions recorded earlier belong to an earlier notice and do not count ("" counts all).
    """
    start = parse_iso_utc(since) if since else None
    submitted = {
        str(event.detail.get("form_url", ""))
        for event in events
        if event.stage == STAGE_CONTACT_FORM_SUBMITTED and (start is None or parse_iso_utc(event.at) >= start)
    }
    return [r for r in form_only_recipients(recipients) if r.contact_form_url in submitted]
