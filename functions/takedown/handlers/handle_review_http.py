"""The approval API behind API Gateway.

``GET /reviews/{id}?e=..&s=..`` verifies the signed link and shows the case, the evidence report and the drafts;
it changes nothing, so a mail scanner prefetching the link is harmless. ``POST`` to the same signed URL with the
CSRF token acts on the review:

- a decision (approve with the chosen recipients and any edit, or reject): a conditional write makes the review
  single-use, the case moves to APPROVED or REJECTED, and only then does the structured decision go back to Step
  Functions;
- a hand-over to another configured reviewer: this review closes as HANDED_OVER and a new review, bound to the
  new reviewer and holding the same task token, is emailed to them;
- a request for the thumbnail, or the record that the notice was submitted by hand through a contact form: both
  go on the case's timeline and the page comes back with the reviewer's edits in progress.

``GET /reviews`` lists the signed-in reviewer's pending reviews (API Gateway's Cognito authorizer supplies the
claims), each with a fresh signed link. Every page is in Korean or English (``?lang=``, else the browser's
preference) with a switch to the other.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from botocore.exceptions import ClientError

from takedown.approval.edits import edited_primary_draft, recipient_choice_detail
from takedown.approval.language import interface_language, language_links
from takedown.approval.links import (
    LinkRefused,
    csrf_token_for,
    latest_issued_expiry,
    parse_expiry,
    reissued_link_expiry,
    sign_review_link,
    verify_csrf,
    verify_review_link,
)
from takedown.approval.pages import (
    ListedReview,
    ReviewPageContext,
    blocks_for,
    render_message_page,
    render_review_list,
)
from takedown.approval.pages import render_review_page as render_page
from takedown.approval.review_form import (
    ACTION_FORM_SUBMITTED,
    ACTION_THUMBNAIL,
    APPROVED,
    HANDED_OVER,
    FormRefused,
    ReviewForm,
    choose_recipients,
    form_recipient,
    handover_target,
    parse_review_form,
    require_addressed,
)
from takedown.approval.thumbnail import MAX_THUMBNAIL_BYTES, ThumbnailError, thumbnail_data_uri, thumbnail_key
from takedown.aws.addressing_store import AddressingStore
from takedown.aws.case_store import REVIEW_HANDED_OVER, REVIEW_PENDING, CaseStore, ReviewRecord
from takedown.aws.evidence_store import EvidenceStore
from takedown.aws.secrets import link_key
from takedown.aws.workflow import send_task_result
from takedown.cases.contact_forms import STAGE_CONTACT_FORM_SUBMITTED
from takedown.cases.record import CaseTransitionError
from takedown.config import Settings
from takedown.handlers.review_email import email_review_link, iso_from_unix
from takedown.model import CaseEvent, CaseStatus, NoticeDraft, ReviewDecision, iso_utc, utc_now
from takedown.notices.addressing import contact_form_text
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from takedown.cases.record import CaseRecord
    from takedown.model import Recipient

app = APIGatewayRestResolver()

CSRF_COOKIE = "takedown_csrf"
MAX_FORM_BYTES = 200_000
MAX_FORM_FIELDS = 60
_DECIDED_STATUS = {"APPROVED": CaseStatus.APPROVED, "REJECTED": CaseStatus.REJECTED}
# The page embeds no external asset and runs no script; the only image is a requested thumbnail, inline. The signed
# URL must not leak through Referer.
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
_LINK_MESSAGES = {
    "link:malformed": "link_malformed",
    "link:expired": "link_expired",
    "csrf:mismatch": "csrf_mismatch",
}
STAGE_THUMBNAIL = "thumbnail-shown"
STAGE_FORM_SUBMITTED = STAGE_CONTACT_FORM_SUBMITTED  # SendNotice reads it (takedown.cases.contact_forms)
STAGE_HAND_OVER = "hand-over"


class ReviewRefused(Exception):
    """A request answered with a message page. ``reason`` is logged; ``message_key`` names the page's text."""

    def __init__(
        self, status: HTTPStatus, reason: str, message_key: str, facts: dict[str, str] | None = None
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.message_key = message_key
        self.facts = facts or {}


@dataclass(frozen=True)
class PageLanguage:
    """The interface language of this request and the switch to the other one."""

    lang: str
    links: dict[str, str] = field(default_factory=dict)


def _headers() -> dict[str, str]:
    return {k.lower(): v for k, v in (app.current_event.headers or {}).items()}


def _query() -> dict[str, str]:
    return {k: v for k, v in (app.current_event.query_string_parameters or {}).items() if isinstance(v, str)}


def _page_language(page: str, query: dict[str, str]) -> PageLanguage:
    lang = interface_language(query.get("lang"), _headers().get("accept-language"))
    return PageLanguage(lang=lang, links=language_links(page, query))


def _html(status: HTTPStatus, body: str, extra_headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status.value,
        content_type="text/html; charset=utf-8",
        body=body,
        headers={**_SECURITY_HEADERS, **(extra_headers or {})},
    )


def _message(
    status: HTTPStatus, key: str, language: PageLanguage, facts: dict[str, str] | None = None
) -> str:
    return render_message_page(
        message_key=key,
        status_code_hint=status.value,
        interface_lang=language.lang,
        lang_links=language.links,
        facts=facts,
    )


def _refusal(error: ReviewRefused, language: PageLanguage) -> Response[str]:
    logger.info("review request refused", extra={"reason": error.reason, "status": error.status.value})
    metrics.add_metric(name="ReviewRequestsRefused", unit="Count", value=1)
    return _html(error.status, _message(error.status, error.message_key, language, error.facts))


def _verified_review(settings: Settings, review_id: str, query: dict[str, str]) -> tuple[ReviewRecord, str]:
    """The review a signed link opens, and the link's signature; refuse anything else."""
    try:
        expires_at = parse_expiry(query.get("e"))
        signature = query.get("s", "")
        review = CaseStore(settings.cases_table).get_review(review_id) if len(review_id) <= 64 else None
        if review is None:
            raise LinkRefused("link:unknown-review", "This link is not valid.")
        verify_review_link(
            link_key(settings.link_key_secret),
            review_id=review_id,
            reviewer=review.reviewer,
            expires_at=expires_at,
            signature=signature,
            now=int(time.time()),
        )
    except LinkRefused as refused:
        status = HTTPStatus.GONE if refused.reason == "link:expired" else HTTPStatus.FORBIDDEN
        raise ReviewRefused(
            status, refused.reason, _LINK_MESSAGES.get(refused.reason, "link_invalid")
        ) from refused
    if expires_at > latest_issued_expiry(first_expiry=review.expires_at, due_at=review.due_at):
        raise ReviewRefused(HTTPStatus.FORBIDDEN, "link:expiry-not-issued", "link_invalid")
    return review, signature


def _closed_refusal(review: ReviewRecord, record: CaseRecord) -> ReviewRefused | None:
    """The page for a review that can no longer be acted on through this link, when it is not a decided one."""
    if record.status is CaseStatus.EXPIRED:
        return ReviewRefused(HTTPStatus.GONE, "review:expired", "review_expired", {"case": record.case_id})
    if review.status == REVIEW_HANDED_OVER:
        facts = {"handover_to": review.handed_over_to}
        if review.decision is not None:
            facts["time"] = review.decision.decided_at
            facts["reason"] = review.decision.reason
        return ReviewRefused(HTTPStatus.GONE, "review:handed-over", "handed_over", facts)
    return None


def _ordered_drafts(cases: CaseStore, record: CaseRecord) -> list[NoticeDraft]:
    drafts = {d.locale: d for d in cases.drafts(record.case_id)}
    return [drafts[locale] for locale in record.locales if locale in drafts]


def _follow_up_recipients(record: CaseRecord) -> list[Recipient] | None:
    """The recipients of the follow-up under review (its escalation rung chose them), or None for a first notice."""
    pending = record.follow_up.pending if record.follow_up else None
    return list(pending.recipients) if pending is not None else None


def _listed_recipients(record: CaseRecord) -> list[Recipient]:
    """The recipients the review page lists, in its order (a contact form's number is its index here)."""
    follow_up = _follow_up_recipients(record)
    return follow_up if follow_up is not None else list(record.recipients)


def _submitted_forms(events: list[CaseEvent]) -> dict[str, str]:
    """Contact-form URL -> who recorded submitting the notice there by hand, and when."""
    return {
        str(e.detail.get("form_url", "")): f"{e.detail.get('reviewer', '')} · {e.at}"
        for e in events
        if e.stage == STAGE_FORM_SUBMITTED
    }


def _csrf_cookie(csrf: str) -> str:
    # API Gateway is HTTPS-only; the local API server on 127.0.0.1 says it is plain HTTP, where a Secure cookie
    # would never come back.
    secure = "" if _headers().get("x-forwarded-proto", "https") == "http" else " Secure;"
    return f"{CSRF_COOKIE}={csrf}; Path=/;{secure} HttpOnly; SameSite=Strict; Max-Age=86400"


@dataclass(frozen=True)
class OpenedReview:
    """A review opened through a verified link: the request's settings, the review, its case and how it looks."""

    settings: Settings
    review: ReviewRecord
    record: CaseRecord
    signature: str
    language: PageLanguage


@dataclass(frozen=True)
class PageExtras:
    """What a POST that shows the page again adds to it."""

    form: ReviewForm | None = None
    thumbnail_data_uri: str = ""
    thumbnail_missing: bool = False


def _review_page(opened: OpenedReview, extras: PageExtras | None = None) -> Response[str]:
    settings, review, record, language = opened.settings, opened.review, opened.record, opened.language
    extras = extras or PageExtras()
    cases = CaseStore(settings.cases_table)
    csrf = csrf_token_for(
        link_key(settings.link_key_secret), review_id=review.review_id, signature=opened.signature
    )
    report_html = ""
    if record.report_key:
        report_html = EvidenceStore(settings.evidence_bucket).get_bytes(record.report_key).decode("utf-8")
    events = cases.events(record.case_id)
    expires_at = int(_query().get("e", review.expires_at))
    form = extras.form
    page = render_page(
        ReviewPageContext(
            review_id=review.review_id,
            case_id=record.case_id,
            status=record.status.value,
            reviewer=review.reviewer,
            expires_at=iso_from_unix(expires_at),
            form_action=language.links[language.lang],
            csrf_token=csrf,
            report_html=report_html,
            drafts=_ordered_drafts(cases, record),
            recipients=record.recipients,
            matches=record.matches,
            timeline=events,
            decided=review.status != REVIEW_PENDING or record.status is not CaseStatus.AWAITING_REVIEW,
            interface_lang=language.lang,
            lang_links=language.links,
            due_at=iso_from_unix(review.due_at) if review.due_at else "",
            handover_reviewers=[r for r in settings.reviewers if r.casefold() != review.reviewer.casefold()],
            chosen_recipients=list(form.recipients) if form else None,
            submitted_forms=_submitted_forms(events),
            thumbnail_data_uri=extras.thumbnail_data_uri,
            thumbnail_missing=extras.thumbnail_missing,
            subject=form.subject if form else None,
            body_text=form.body_text if form else None,
            reason=form.reason if form else "",
            addressing=AddressingStore(settings.cases_table).blocks(record.case_id),
            follow_up_recipients=_follow_up_recipients(record),
        ),
        settings.templates_dir,
    )
    return _html(HTTPStatus.OK, page, {"Set-Cookie": _csrf_cookie(csrf)})


def show_review(
    settings: Settings, review_id: str, query: dict[str, str], language: PageLanguage
) -> Response[str]:
    """GET: the review page, or the page saying why this link no longer opens it. Reads only."""
    review, signature = _verified_review(settings, review_id, query)
    record = CaseStore(settings.cases_table).require(review.case_id)
    closed = _closed_refusal(review, record)
    if closed is not None:
        raise closed
    return _review_page(OpenedReview(settings, review, record, signature, language))


def _cookie(headers: dict[str, str], name: str) -> str:
    raw = next((v for k, v in headers.items() if k.lower() == "cookie"), "")
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def _form_fields(body: str | None, is_base64: bool) -> dict[str, list[str]]:
    raw = (body or "").encode("utf-8")
    if is_base64:
        raw = base64.b64decode(raw, validate=False)
    if len(raw) > MAX_FORM_BYTES:
        raise ReviewRefused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "form:too-large", "form_too_large")
    try:
        return parse_qs(
            raw.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except ValueError as error:
        raise ReviewRefused(HTTPStatus.BAD_REQUEST, "form:too-many-fields", "form_too_large") from error


def _event(record: CaseRecord, stage: str, detail: dict[str, Any]) -> CaseEvent:
    return CaseEvent(at=iso_utc(utc_now()), stage=stage, status=record.status.value, detail=detail)


def act_on_review(
    settings: Settings,
    review_id: str,
    query: dict[str, str],
    fields: dict[str, list[str]],
    *,
    cookie_token: str,
    language: PageLanguage,
) -> Response[str]:
    """POST: verify link and CSRF, then decide, hand over, show the thumbnail or record a contact-form submission."""
    review, signature = _verified_review(settings, review_id, query)
    try:
        verify_csrf(
            link_key(settings.link_key_secret),
            review_id=review_id,
            signature=signature,
            form_token=(fields.get("csrf_token") or [""])[0],
            cookie_token=cookie_token,
        )
    except LinkRefused as refused:
        raise ReviewRefused(HTTPStatus.FORBIDDEN, refused.reason, "csrf_mismatch") from refused
    try:
        form = parse_review_form(fields)
    except FormRefused as refused:
        raise ReviewRefused(HTTPStatus.BAD_REQUEST, refused.reason, refused.message_key) from refused
    record = CaseStore(settings.cases_table).require(review.case_id)
    closed = _closed_refusal(review, record)
    if closed is not None:
        raise closed
    if review.status != REVIEW_PENDING:
        raise ReviewRefused(HTTPStatus.CONFLICT, "review:already-decided", "already_decided")
    if record.status is not CaseStatus.AWAITING_REVIEW:
        raise ReviewRefused(HTTPStatus.GONE, "review:case-closed", "case_closed")
    opened = OpenedReview(settings, review, record, signature, language)
    try:
        if form.action == ACTION_THUMBNAIL:
            return _show_thumbnail(opened, form)
        if form.action == ACTION_FORM_SUBMITTED:
            return _record_form_submission(opened, form)
        if form.decision == HANDED_OVER:
            return _hand_over(opened, form)
        return _decide(opened, form)
    except FormRefused as refused:
        raise ReviewRefused(HTTPStatus.BAD_REQUEST, refused.reason, refused.message_key) from refused


def _show_thumbnail(opened: OpenedReview, form: ReviewForm) -> Response[str]:
    """The page again, with the media's thumbnail inline; showing it is recorded on the timeline."""
    settings, review, record = opened.settings, opened.review, opened.record
    uri = ""
    try:
        jpeg = EvidenceStore(settings.evidence_bucket).get_bytes(
            thumbnail_key(record.sighting.sha256), max_bytes=MAX_THUMBNAIL_BYTES
        )
        uri = thumbnail_data_uri(jpeg)
    except ThumbnailError as error:
        logger.warning("thumbnail not shown", extra={"case_id": record.case_id, "reason": error.reason})
    except ValueError:
        logger.warning(
            "thumbnail not shown", extra={"case_id": record.case_id, "reason": "thumbnail:too-large"}
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code not in {"NoSuchKey", "404"}:
            raise
        logger.info("thumbnail not shown", extra={"case_id": record.case_id, "reason": "thumbnail:missing"})
    if uri:
        CaseStore(settings.cases_table).append_event(
            record.case_id,
            _event(record, STAGE_THUMBNAIL, {"reviewer": review.reviewer, "review_id": review.review_id}),
        )
        metrics.add_metric(name="ThumbnailsShown", unit="Count", value=1)
    extras = PageExtras(form=form, thumbnail_data_uri=uri, thumbnail_missing=not uri)
    return _review_page(opened, extras)


def _record_form_submission(opened: OpenedReview, form: ReviewForm) -> Response[str]:
    """Record that the reviewer submitted the notice by hand through a recipient's contact form."""
    settings, review, record = opened.settings, opened.review, opened.record
    recipient = form_recipient(_listed_recipients(record), form.form_index)
    locales = [d.locale for d in _ordered_drafts(CaseStore(settings.cases_table), record)]
    blocks = blocks_for(recipient, locales[:1], AddressingStore(settings.cases_table).blocks(record.case_id))
    # The text the page offered to paste: the subject, this recipient's block, the body (primary locale).
    shown_text = contact_form_text(form.subject or "", blocks[0] if blocks else None, form.body_text or "")
    detail = {
        "reviewer": review.reviewer,
        "review_id": review.review_id,
        "form_url": recipient.contact_form_url,
        "role": recipient.role,
        # Which text was pasted, without storing it twice: the digest of the text the page offered to copy.
        "text_sha256": hashlib.sha256(shown_text.encode("utf-8")).hexdigest(),
    }
    CaseStore(settings.cases_table).append_event(record.case_id, _event(record, STAGE_FORM_SUBMITTED, detail))
    metrics.add_metric(name="ContactFormsSubmitted", unit="Count", value=1)
    return _review_page(opened, PageExtras(form=form))


def _hand_over(opened: OpenedReview, form: ReviewForm) -> Response[str]:
    """Close this review as HANDED_OVER and open one for the chosen reviewer with the same task token."""
    settings, review, record, language = opened.settings, opened.review, opened.record, opened.language
    target = handover_target(form.handover_to, settings.reviewers, review.reviewer, form.reason)
    cases = CaseStore(settings.cases_table)
    decision = ReviewDecision(
        decision=HANDED_OVER, reviewer=review.reviewer, decided_at=iso_utc(utc_now()), reason=form.reason
    )
    if not cases.claim_review(review.review_id, decision, status=REVIEW_HANDED_OVER, handed_over_to=target):
        raise ReviewRefused(HTTPStatus.CONFLICT, "review:already-decided", "already_decided")
    now = int(time.time())
    new_review = ReviewRecord(
        review_id=secrets.token_urlsafe(18),
        case_id=record.case_id,
        reviewer=target,
        task_token=review.task_token,
        expires_at=reissued_link_expiry(
            now=now, ttl_hours=settings.link_ttl_hours, due_at=review.due_at, first_expiry=0
        ),
        status=REVIEW_PENDING,
        created_at=iso_utc(utc_now()),
        due_at=review.due_at,
        handed_over_from=review.reviewer,
    )
    cases.put_review(new_review)
    email_id, email_error = "", ""
    try:
        email_id = email_review_link(
            settings,
            record,
            review_id=new_review.review_id,
            reviewer=target,
            expires_at=new_review.expires_at,
            purpose="handover",
            handed_over_by=review.reviewer,
        )
    except ClientError as error:
        # The hand-over stands; the reminder emails the new reviewer a link before the deadline.
        email_error = error.response.get("Error", {}).get("Code", "") or "error"
        logger.warning("hand-over email not sent", extra={"case_id": record.case_id, "code": email_error})

    def handed(current: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        detail = {
            "reviewer": review.reviewer,
            "handed_to": target,
            "reason": form.reason,
            "review_id": new_review.review_id,
            "previous_review_id": review.review_id,
            "email_id": email_id,
        }
        if email_error:
            detail["email_error"] = email_error
        return current.advance(
            CaseStatus.AWAITING_REVIEW, STAGE_HAND_OVER, detail=detail, review_id=new_review.review_id
        )

    try:
        cases.update(record.case_id, handed)
    except CaseTransitionError as error:
        raise ReviewRefused(HTTPStatus.GONE, "review:case-closed", "case_closed") from error
    logger.info("review handed over", extra={"case_id": record.case_id})
    metrics.add_metric(name="ReviewsHandedOver", unit="Count", value=1)
    return _html(HTTPStatus.OK, _message(HTTPStatus.OK, "handover_done", language, {"handover_to": target}))


def _recipients_chosen_first(discovered: list[Recipient], chosen: list[Recipient]) -> list[Recipient]:
    # Every discovered recipient stays on the case (escalation needs them); the chosen ones lead, in order.
    return [*chosen, *(r for r in discovered if r not in chosen)]


def _decide(opened: OpenedReview, form: ReviewForm) -> Response[str]:
    """Approve (with the chosen recipients and any edit) or reject, once, then resume the workflow."""
    settings, review, record, language = opened.settings, opened.review, opened.record, opened.language
    status = _DECIDED_STATUS[form.decision]
    approved = form.decision == APPROVED
    cases = CaseStore(settings.cases_table)
    drafts = _ordered_drafts(cases, record)
    follow_up = _follow_up_recipients(record)
    chosen: list[Recipient] = []
    if approved:
        # A follow-up goes to the recipients its rung named (SendNotice reads them from the follow-up); a first
        # notice to the discovered recipients the reviewer ticked.
        if follow_up is not None:
            chosen = [r for r in follow_up if r.address]
        else:
            chosen = choose_recipients(record.recipients, form.recipients)
        # Each chosen recipient's message is its addressing block before the approved body: the page showed it.
        blocks = AddressingStore(settings.cases_table).blocks(record.case_id)
        require_addressed(chosen, [d.locale for d in drafts], blocks)
    edit = edited_primary_draft(drafts, form.subject, form.body_text) if approved else None
    decision = ReviewDecision(
        decision=status.value, reviewer=review.reviewer, decided_at=iso_utc(utc_now()), reason=form.reason
    )
    if not cases.claim_review(review.review_id, decision, recipients=tuple(r.address for r in chosen)):
        raise ReviewRefused(HTTPStatus.CONFLICT, "review:already-decided", "already_decided")
    if edit is not None:
        cases.put_draft(record.case_id, edit[0])

    def decided(current: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        detail: dict[str, Any] = {
            "decision": decision.decision,
            "reviewer": decision.reviewer,
            "reason": decision.reason,
            "review_id": review.review_id,
        }
        if not approved:
            # A rejected follow-up is not a rejected case: it stays in review until CloseRejected records the
            # notice as declined and returns the case to MONITORING, so no REJECTED milestone lands on a case
            # whose first notice went out.
            follow_up_pending = current.follow_up is not None and current.follow_up.pending is not None
            rejected = current.status if follow_up_pending else status
            return current.advance(rejected, "review", detail=detail, decision=decision)
        detail["recipients"] = recipient_choice_detail(current.recipients, chosen)
        if edit is not None:
            detail["edit_diff"] = edit[1]
        return current.advance(
            status,
            "review",
            detail=detail,
            decision=decision,
            # A follow-up keeps the discovered order: the escalation ladder is built from it.
            recipients=current.recipients
            if follow_up is not None
            else _recipients_chosen_first(current.recipients, chosen),
        )

    try:
        cases.update(record.case_id, decided)
    except CaseTransitionError as error:
        raise ReviewRefused(HTTPStatus.GONE, "review:case-closed", "case_closed") from error
    try:
        send_task_result(review.task_token, decision.to_dict())
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        logger.warning(
            "decision not delivered to the workflow", extra={"case_id": record.case_id, "code": code}
        )
        raise ReviewRefused(HTTPStatus.GONE, "review:task-closed", "case_closed") from error
    logger.info("review decided", extra={"case_id": record.case_id, "decision": decision.decision})
    metrics.add_metric(name=f"Reviews{status.value.title()}", unit="Count", value=1)
    key = "approved" if approved else "rejected"
    return _html(HTTPStatus.OK, _message(HTTPStatus.OK, key, language))


def list_pending_reviews(settings: Settings, claims: dict[str, Any], language: PageLanguage) -> Response[str]:
    """GET /reviews: the signed-in reviewer's pending reviews, each with a fresh signed link."""
    email = str(claims.get("email", "")).strip()
    if not email:
        raise ReviewRefused(HTTPStatus.UNAUTHORIZED, "list:no-identity", "sign_in_required")
    verified = str(claims.get("email_verified", "")).lower() == "true"
    if not verified or email.casefold() not in {r.casefold() for r in settings.reviewers}:
        raise ReviewRefused(HTTPStatus.FORBIDDEN, "list:not-a-reviewer", "not_a_reviewer")
    cases = CaseStore(settings.cases_table)
    key = link_key(settings.link_key_secret)
    now = int(time.time())
    listed: list[ListedReview] = []
    for pending in cases.pending_reviews():
        if pending.reviewer.casefold() != email.casefold() or pending.due_at <= now:
            continue
        record = cases.get(pending.case_id)
        if record is None or record.status is not CaseStatus.AWAITING_REVIEW:
            continue
        expires_at = reissued_link_expiry(
            now=now, ttl_hours=settings.link_ttl_hours, due_at=pending.due_at, first_expiry=pending.expires_at
        )
        link = sign_review_link(
            key, review_id=pending.review_id, reviewer=pending.reviewer, expires_at=expires_at
        )
        listed.append(
            ListedReview(
                case_id=record.case_id,
                page_host=urlsplit(record.sighting.page_url).hostname or "",
                due_at=iso_from_unix(pending.due_at),
                # Relative to /reviews (or /<stage>/reviews), like the review page's own links.
                link=f"reviews/{pending.review_id}?{urlencode({'e': expires_at, 's': link.signature})}",
                reminded=bool(pending.reminded_at),
            )
        )
    page = render_review_list(
        reviewer=email,
        reviews=listed,
        interface_lang=language.lang,
        lang_links=language.links,
        templates_dir=settings.templates_dir,
    )
    return _html(HTTPStatus.OK, page)


def _route(review_id: str | None, *, post: bool) -> Response[str]:
    query = _query()
    language = _page_language(review_id or "reviews", query)
    try:
        settings = Settings.from_env()
        if review_id is None:
            claims = app.current_event.request_context.authorizer.claims
            return list_pending_reviews(settings, claims, language)
        if not post:
            return show_review(settings, review_id, query, language)
        event = app.current_event
        fields = _form_fields(event.body, bool(event.is_base64_encoded))
        cookie = _cookie(dict(event.headers or {}), CSRF_COOKIE)
        return act_on_review(settings, review_id, query, fields, cookie_token=cookie, language=language)
    except ReviewRefused as refused:
        return _refusal(refused, language)


@app.get("/reviews/<review_id>")
def get_review(review_id: str) -> Response[str]:
    return _route(review_id, post=False)


@app.post("/reviews/<review_id>")
def post_review(review_id: str) -> Response[str]:
    return _route(review_id, post=True)


@app.get("/reviews")
def list_reviews() -> Response[str]:
    return _route(None, post=False)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
