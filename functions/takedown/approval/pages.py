"""What a reviewer sees: the review emails (request, hand-over, reminder), the review page with its one form,
the signed-in list of pending reviews, and message pages.

Every page is self-contained HTML (inline CSS, no script, no external asset) that works on a phone, in Korean or
English with a switch on every page. The only image is the thumbnail a reviewer explicitly asks for, inline as a
``data:`` URI. The email carries a link and a case summary only: never the draft notice, never any media.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from markupsafe import Markup

from takedown.approval.language import INTERFACE_LANGUAGES
from takedown.config import templates_dir as default_templates_dir
from takedown.evidence.report import REPORT_BODY_END, REPORT_BODY_START
from takedown.notices.addressing import contact_form_text, recipient_key
from takedown.notices.rendering import header_safe, make_environment

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from takedown.model import CaseEvent, MatchEvidence, NoticeDraft, Recipient
    from takedown.notices.addressing import AddressingBlock

__all__ = [
    "EMAIL_PURPOSES",
    "INTERFACE_LANGUAGES",
    "ListedReview",
    "RecipientView",
    "ReviewPageContext",
    "ReviewPageError",
    "blocks_for",
    "embeddable_report",
    "message_keys",
    "recipient_views",
    "render_message_page",
    "render_review_email",
    "render_review_list",
    "render_review_page",
]

EMAIL_PURPOSES = frozenset({"request", "handover", "reminder"})


class ReviewPageError(ValueError):
    """A review email or page cannot be rendered from these inputs; the message says why."""


@dataclass(frozen=True)
class ReviewPageContext:
    """Everything the review page shows.

    ``form_action`` is where the decision is POSTed (it carries the signed query string); ``report_html`` is
    trusted HTML from :func:`takedown.evidence.report.render_report_html` (the whole document or its body);
    ``drafts`` are in sending order, the first one being the draft the reviewer may edit.

    The optional fields serve an open review: ``lang_links`` (the language switch), ``due_at`` (the approval
    deadline, ISO), ``handover_reviewers`` (who it may be handed to), ``chosen_recipients`` (addresses ticked; None
    ticks the first email recipient), ``submitted_forms`` (contact-form URL -> who submitted it by hand, when),
    ``thumbnail_data_uri`` / ``thumbnail_missing`` (after the reviewer asked for the thumbnail), and ``subject``,
    ``body_text``, ``reason`` (the reviewer's edit in progress, kept when the page is shown again).

    ``addressing`` holds the case's stored addressing blocks (any recipient, any locale): beside each recipient the
    page shows its blocks in the drafts' order, which with the approved body is exactly what it would be sent.
    ``follow_up_recipients`` are the recipients of a follow-up under review: shown instead of the discovered set,
    without tick boxes, since a follow-up goes to the recipients its escalation rung names.
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
    lang_links: dict[str, str] = field(default_factory=dict)
    due_at: str = ""
    handover_reviewers: list[str] = field(default_factory=list)
    chosen_recipients: list[str] | None = None
    submitted_forms: dict[str, str] = field(default_factory=dict)
    thumbnail_data_uri: str = ""
    thumbnail_missing: bool = False
    subject: str | None = None
    body_text: str | None = None
    reason: str = ""
    addressing: list[AddressingBlock] = field(default_factory=list)
    follow_up_recipients: list[Recipient] | None = None

    @property
    def shown_recipients(self) -> list[Recipient]:
        """The recipients the page lists (a contact form's number on the page is its index here)."""
        return list(self.follow_up_recipients if self.follow_up_recipients is not None else self.recipients)


@dataclass(frozen=True)
class RecipientView:
    """One recipient as the review page lists it: its addressing blocks in the drafts' order, whether one is
    missing (then it cannot be sent to), and for a contact form the text to paste there."""

    recipient: Recipient
    blocks: list[AddressingBlock]
    unaddressed: bool
    form_text: str = ""


def blocks_for(
    recipient: Recipient, locales: Sequence[str], addressing: Sequence[AddressingBlock]
) -> list[AddressingBlock]:
    """``recipient``'s addressing blocks in the order of ``locales`` (a locale without one is left out)."""
    key = recipient_key(recipient)
    own = {b.locale: b for b in addressing if recipient_key(b.recipient) == key}
    return [own[locale] for locale in locales if locale in own]


def recipient_views(ctx: ReviewPageContext, subject: str, body_text: str) -> list[RecipientView]:
    """Each listed recipient with its blocks and, for a contact form, the primary draft's text to paste."""
    locales = [d.locale for d in ctx.drafts]
    views = []
    for recipient in ctx.shown_recipients:
        blocks = blocks_for(recipient, locales, ctx.addressing)
        addressable = bool(recipient.address or recipient.contact_form_url)
        primary = blocks[0] if blocks and locales and blocks[0].locale == locales[0] else None
        views.append(
            RecipientView(
                recipient=recipient,
                blocks=blocks,
                unaddressed=addressable and len(blocks) < len(locales),
                form_text=contact_form_text(subject, primary, body_text)
                if recipient.contact_form_url
                else "",
            )
        )
    return views


@dataclass(frozen=True)
class ListedReview:
    """One entry of the signed-in reviewer's list: the case, its site, its deadline and a fresh signed link."""

    case_id: str
    page_host: str
    due_at: str  # ISO 8601 UTC
    link: str
    reminded: bool = False


def _require_language(interface_lang: str) -> None:
    if interface_lang not in INTERFACE_LANGUAGES:
        raise ReviewPageError(
            f"interface_lang {interface_lang!r} is not one of {sorted(INTERFACE_LANGUAGES)}"
        )


def _labels(templates_dir: Path | None) -> dict[str, Any]:
    environment = make_environment(templates_dir or default_templates_dir())
    by_lang: dict[str, Any] = environment.get_template("review/_labels.j2").module.by_lang  # type: ignore[attr-defined]
    return by_lang


def message_keys(templates_dir: Path | None = None) -> frozenset[str]:
    """The message pages the labels define (the same in every interface language)."""
    return frozenset(_labels(templates_dir)["en"]["messages"])


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
    purpose: str = "request",
    handed_over_by: str = "",
    due_at: str = "",
    templates_dir: Path | None = None,
) -> tuple[str, str, str]:
    """An email that asks a reviewer to open a case: ``(subject, text, html)``, Korean then English.

    ``purpose`` is ``request`` (a new case), ``handover`` (a colleague handed it over: ``handed_over_by``
    names them) or ``reminder`` (the decision is due by ``due_at``, ISO). The email says which case, which site,
    how many matches and until when the link works. It does not contain the draft notice or any media; those
    are only behind the signed link.

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
    if purpose not in EMAIL_PURPOSES:
        raise ReviewPageError(f"purpose {purpose!r} is not one of {sorted(EMAIL_PURPOSES)}")
    if purpose == "handover" and not handed_over_by:
        raise ReviewPageError("a hand-over email needs handed_over_by")
    if purpose == "reminder" and not due_at:
        raise ReviewPageError("a reminder email needs due_at")
    environment = make_environment(templates_dir or default_templates_dir())
    context = {
        "review_url": review_url,
        "case_id": case_id,
        "page_host": page_host,
        "match_count": match_count,
        "expires_at": expires_at,
        "centre_name": centre_name,
        "purpose": purpose,
        "handed_over_by": handed_over_by,
        "due_at": due_at,
    }
    subject = header_safe(environment.get_template("email/review_request.subject.txt.j2").render(context))
    text = environment.get_template("email/review_request.txt.j2").render(context)
    html = environment.get_template("email/review_request.html.j2").render(context)
    return subject, text, html


def render_review_page(ctx: ReviewPageContext, templates_dir: Path | None = None) -> str:
    """The review page (``templates/review/review.html.j2``).

    It shows why the media matched, who would receive the notice (each with a tick box while the review is
    open, its addressing block in each locale, and contact forms to submit by hand), every draft, the case history and the evidence report, the
    thumbnail only once asked for, and one POST form (id ``review-form``) with the CSRF token, the editable
    ``subject`` and ``body_text`` of the first draft, a ``reason``, the ``approve``/``reject`` buttons and the
    hand-over choice. Once decided, the form is replaced by a notice that the review is closed.
    """
    _require_language(ctx.interface_lang)
    if not ctx.decided and not ctx.drafts:
        raise ReviewPageError(f"case {ctx.case_id}: no draft to review")
    if not ctx.decided and not (ctx.form_action and ctx.csrf_token):
        raise ReviewPageError("an open review needs form_action and csrf_token")
    if ctx.thumbnail_data_uri and not ctx.thumbnail_data_uri.startswith("data:image/jpeg;base64,"):
        raise ReviewPageError("thumbnail_data_uri must be a data:image/jpeg;base64 URI")
    chosen = ctx.chosen_recipients
    if chosen is None:
        chosen = [r.address for r in ctx.recipients if r.address][:1]
    primary = ctx.drafts[0] if ctx.drafts else None
    subject = ctx.subject if ctx.subject is not None else (primary.subject if primary else "")
    body_text = ctx.body_text if ctx.body_text is not None else (primary.body_text if primary else "")
    environment = make_environment(templates_dir or default_templates_dir())
    return environment.get_template("review/review.html.j2").render(
        ctx=replace(ctx, chosen_recipients=chosen),
        subject=subject,
        body_text=body_text,
        recipient_views=recipient_views(ctx, subject, body_text),
        interface_lang=ctx.interface_lang,
        lang_links=ctx.lang_links,
        # Trusted: rendered by render_report_html from escaped data.
        report_body=Markup(embeddable_report(ctx.report_html)),  # noqa: S704
    )


def render_review_list(
    *,
    reviewer: str,
    reviews: list[ListedReview],
    interface_lang: str = "ko",
    lang_links: dict[str, str] | None = None,
    templates_dir: Path | None = None,
) -> str:
    """The signed-in reviewer's pending reviews (``templates/review/list.html.j2``), soonest deadline first."""
    _require_language(interface_lang)
    environment = make_environment(templates_dir or default_templates_dir())
    return environment.get_template("review/list.html.j2").render(
        reviewer=reviewer,
        reviews=sorted(reviews, key=lambda r: r.due_at),
        interface_lang=interface_lang,
        lang_links=lang_links or {},
    )


def render_message_page(
    *,
    message_key: str,
    status_code_hint: int,
    interface_lang: str = "ko",
    lang_links: dict[str, str] | None = None,
    facts: dict[str, str] | None = None,
    templates_dir: Path | None = None,
) -> str:
    """A short page for refusals (forged or expired link, already decided, handed over, CSRF failure) and
    confirmations, in the interface language.

    ``message_key`` names the title and text in ``templates/review/_labels.j2``; ``facts`` (label key or text ->
    value) are shown below it, e.g. who a review was handed to. ``status_code_hint`` is the HTTP status the caller
    answers with; it styles the page (error or success) and is shown so a reviewer can quote it.

    >>> "Approved" in render_message_page(message_key="approved", status_code_hint=200, interface_lang="en")
    True
    """
    _require_language(interface_lang)
    if not 100 <= status_code_hint <= 599:
        raise ReviewPageError(f"status_code_hint must be an HTTP status (100..599), got {status_code_hint}")
    if message_key not in message_keys(templates_dir):
        raise ReviewPageError(f"no message {message_key!r} in review/_labels.j2")
    environment = make_environment(templates_dir or default_templates_dir())
    return environment.get_template("review/message.html.j2").render(
        message_key=message_key,
        status_code_hint=status_code_hint,
        interface_lang=interface_lang,
        lang_links=lang_links or {},
        facts=facts or {},
    )
