"""What a reviewer sees: the review-request email, the review page with its one form, and message pages.

Every page is self-contained HTML (inline CSS, no script, no external asset, no image) that works on a phone.
The email carries a link and a case summary only: never the draft notice, never any media.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from markupsafe import Markup

from takedown.config import templates_dir as default_templates_dir
from takedown.evidence.report import REPORT_BODY_END, REPORT_BODY_START
from takedown.notices.rendering import header_safe, make_environment

if TYPE_CHECKING:
    from pathlib import Path

    from takedown.model import CaseEvent, MatchEvidence, NoticeDraft, Recipient

__all__ = [
    "INTERFACE_LANGUAGES",
    "ReviewPageContext",
    "ReviewPageError",
    "embeddable_report",
    "render_message_page",
    "render_review_email",
    "render_review_page",
]

INTERFACE_LANGUAGES = frozenset({"ko", "en"})


class ReviewPageError(ValueError):
    """A review email or page cannot be rendered from these inputs; the message says why."""


@dataclass(frozen=True)
class ReviewPageContext:
    """Everything the review page shows.

    ``form_action`` is where the decision is POSTed (it carries the signed query string); ``report_html`` is
    trusted HTML from :func:`takedown.evidence.report.render_report_html` (the whole document or its body);
    ``drafts`` are in sending order, the first one being the draft the reviewer may edit.
    """

    review_id: str
    case_id: str
    status: str
    reviewer: str
    expires_at: str
    form_action: str
    csrf_token: str
    report_html: str
    drafts: list[NoticeDraft]
    recipients: list[Recipient]
    matches: list[MatchEvidence]
    timeline: list[CaseEvent]
    decided: bool
    interface_lang: str = "ko"


def _require_language(interface_lang: str) -> None:
    if interface_lang not in INTERFACE_LANGUAGES:
        raise ReviewPageError(
            f"interface_lang {interface_lang!r} is not one of {sorted(INTERFACE_LANGUAGES)}"
        )


def embeddable_report(report_html: str) -> str:
    """The part of an evidence report that goes inside the review page.

    A whole report document is cut to the body between its marker comments; a body already cut is returned
    unchanged; any other complete HTML document is refused, because nesting documents breaks the page.

    >>> embeddable_report("<html><body><!-- evidence-report:start --><article>r</article>"
    ...                   "<!-- evidence-report:end --></body></html>")
    '<article>r</article>'
    """
    start, end = report_html.find(REPORT_BODY_START), report_html.find(REPORT_BODY_END)
    if start != -1 and end > start:
        return report_html[start + len(REPORT_BODY_START) : end].strip()
    head = report_html.lstrip()[:200].lower()
    if head.startswith(("<!doctype", "<html")):
        raise ReviewPageError("report_html is a whole HTML document without the evidence-report markers")
    return report_html.strip()


def render_review_email(
    *,
    review_url: str,
    case_id: str,
    page_host: str,
    match_count: int,
    expires_at: str,
    centre_name: str,
    templates_dir: Path | None = None,
) -> tuple[str, str, str]:
    """The email that asks a reviewer to open a case: ``(subject, text, html)``, Korean then English.

    It says which case, which site, how many matches and until when the link works. It does not contain the
    draft notice or any media; those are only behind the signed link.

    Examples
    --------
    >>> subject, text, html = render_review_email(
    ...     review_url="https://review.example/reviews/r1?e=1&s=x", case_id="c0ffee",
    ...     page_host="site.example", match_count=1, expires_at="2026-12-01T07:25:00Z",
    ...     centre_name="Seoul Support Centre")
    >>> "c0ffee" in subject and "https://review.example/reviews/r1?e=1&s=x" in text
    True
    """
    parts = urlsplit(review_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ReviewPageError(f"review_url must be an absolute http(s) URL, got {review_url[:80]!r}")
    if not case_id.strip():
        raise ReviewPageError("case_id is empty")
    if match_count < 0:
        raise ReviewPageError(f"match_count must not be negative, got {match_count}")
    environment = make_environment(templates_dir or default_templates_dir())
    context = {
        "review_url": review_url,
        "case_id": case_id,
        "page_host": page_host,
        "match_count": match_count,
        "expires_at": expires_at,
        "centre_name": centre_name,
    }
    subject = header_safe(environment.get_template("email/review_request.subject.txt.j2").render(context))
    text = environment.get_template("email/review_request.txt.j2").render(context)
    html = environment.get_template("email/review_request.html.j2").render(context)
    return subject, text, html


def render_review_page(ctx: ReviewPageContext, templates_dir: Path | None = None) -> str:
    """The review page (``templates/review/review.html.j2``).

    It shows why the media matched, who would receive the notice, every draft, the case history and the
    evidence report, and one POST form (id ``review-form``) with the CSRF token, the editable ``subject`` and
    ``body_text`` of the first draft, a ``reason`` and the ``approve``/``reject`` buttons. Once decided, the form
    is replaced by a notice that the review is closed.
    """
    _require_language(ctx.interface_lang)
    if not ctx.decided and not ctx.drafts:
        raise ReviewPageError(f"case {ctx.case_id}: no draft to review")
    if not ctx.decided and not (ctx.form_action and ctx.csrf_token):
        raise ReviewPageError("an open review needs form_action and csrf_token")
    environment = make_environment(templates_dir or default_templates_dir())
    return environment.get_template("review/review.html.j2").render(
        ctx=ctx,
        interface_lang=ctx.interface_lang,
        # Trusted: rendered by render_report_html from escaped data.
        report_body=Markup(embeddable_report(ctx.report_html)),  # noqa: S704
    )


def render_message_page(
    *,
    title: str,
    message: str,
    status_code_hint: int,
    interface_lang: str = "ko",
    templates_dir: Path | None = None,
) -> str:
    """A short page for refusals (forged or expired link, already decided, CSRF failure) and confirmations.

    ``status_code_hint`` is the HTTP status the caller answers with; it styles the page (error or success)
    and is shown so a reviewer can quote it.

    >>> "Thank you" in render_message_page(title="Thank you", message="Sent.", status_code_hint=200)
    True
    """
    _require_language(interface_lang)
    if not 100 <= status_code_hint <= 599:
        raise ReviewPageError(f"status_code_hint must be an HTTP status (100..599), got {status_code_hint}")
    environment = make_environment(templates_dir or default_templates_dir())
    return environment.get_template("review/message.html.j2").render(
        title=title,
        message=message,
        status_code_hint=status_code_hint,
        interface_lang=interface_lang,
    )
