"""The email that tells the officer in charge a case has exhausted its escalation ladder.

Every rung was notified and the content is still up: no further notice goes out on its own, and what comes next
(the regulator, the police, search engines) is a person's decision. The email says which case, where, which notices
went out to whom and when, and what the last check found. It carries no media and nothing about the person
depicted. Korean first, then English, like the reviewer's email.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from takedown.config import templates_dir as default_templates_dir
from takedown.notices.rendering import header_safe, make_environment

if TYPE_CHECKING:
    from pathlib import Path

    from takedown.cases.record import CaseRecord

TEMPLATE_FOLDER = "officer"


def render_ladder_exhausted_email(
    record: CaseRecord, *, centre_name: str, recheck_interval_hours: int, templates_dir: Path | None = None
) -> tuple[str, str, str]:
    """``(subject, text, html)`` of the email to the officer in charge about ``record``.

    Raises
    ------
    ValueError
        When the case has no follow-up record (it was never notified, so it cannot have exhausted a ladder).
    """
    follow_up = record.follow_up
    if follow_up is None:
        raise ValueError(f"case {record.case_id} has no follow-up record")
    environment = make_environment(templates_dir or default_templates_dir())
    last = follow_up.last_check
    context: dict[str, Any] = {
        "centre_name": centre_name,
        "case_id": record.case_id,
        "page_host": urlsplit(record.sighting.page_url).hostname or "",
        "page_url": record.sighting.page_url,
        "media_url": record.sighting.media_url,
        "notices": [
            {
                "version": n.version,
                "state": n.state.value,
                "approval": n.approval.value,
                "at": n.sent_at or n.requested_at,
                "recipients": [f"{r.address} ({r.role})" for r in n.recipients],
            }
            for n in follow_up.notices
        ],
        "last_check_at": last.at if last else "",
        "last_check_reason": last.reason if last else "",
        "exhausted_at": follow_up.exhausted_at,
        "recheck_interval_hours": recheck_interval_hours,
    }
    subject = header_safe(
        environment.get_template(f"{TEMPLATE_FOLDER}/ladder_exhausted.subject.txt.j2").render(context)
    )
    text = environment.get_template(f"{TEMPLATE_FOLDER}/ladder_exhausted.txt.j2").render(context)
    html = environment.get_template(f"{TEMPLATE_FOLDER}/ladder_exhausted.html.j2").render(context)
    return subject, text, html
