"""The approval API behind API Gateway.

``GET /reviews/{id}?e=..&s=..`` verifies the signed link and shows the case, the evidence report and the drafts;
it changes nothing, so a mail scanner prefetching the link is harmless. ``POST`` to the same signed URL with the
CSRF token decides: a conditional write makes the review single-use, the case moves to APPROVED or REJECTED, and
only then does the structured decision go back to Step Functions.
"""

from __future__ import annotations

import base64
import difflib
import time
from dataclasses import replace
from datetime import UTC, datetime
from html import escape
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from botocore.exceptions import ClientError

from takedown.approval.links import LinkRefused, csrf_token_for, parse_expiry, verify_csrf, verify_review_link
from takedown.approval.pages import ReviewPageContext, render_message_page, render_review_page
from takedown.aws.case_store import CaseStore, ReviewRecord
from takedown.aws.evidence_store import EvidenceStore
from takedown.aws.secrets import link_key
from takedown.aws.workflow import send_task_result
from takedown.cases.record import CaseTransitionError
from takedown.config import Settings
from takedown.model import CaseStatus, NoticeDraft, ReviewDecision, iso_utc, utc_now
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from takedown.cases.record import CaseRecord
    from takedown.model import CaseEvent

app = APIGatewayRestResolver()

CSRF_COOKIE = "takedown_csrf"
MAX_FORM_BYTES = 200_000
_DECISIONS = {"APPROVED": CaseStatus.APPROVED, "REJECTED": CaseStatus.REJECTED}
# The page embeds no external asset and runs no script; the signed URL must not leak through Referer.
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


class ReviewRefused(Exception):
    """A request that must be answered with a refusal page. ``reason`` is logged; the page says ``message``."""

    def __init__(self, status: HTTPStatus, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


def _html(status: HTTPStatus, body: str, extra_headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status.value,
        content_type="text/html; charset=utf-8",
        body=body,
        headers={**_SECURITY_HEADERS, **(extra_headers or {})},
    )


def _refusal(error: ReviewRefused) -> Response[str]:
    logger.info("review request refused", extra={"reason": error.reason, "status": error.status.value})
    metrics.add_metric(name="ReviewRequestsRefused", unit="Count", value=1)
    page = render_message_page(
        title=error.status.phrase, message=error.message, status_code_hint=error.status.value
    )
    return _html(error.status, page)


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
        raise ReviewRefused(status, refused.reason, str(refused)) from refused
    if expires_at != review.expires_at:
        raise ReviewRefused(HTTPStatus.FORBIDDEN, "link:expiry-mismatch", "This link is not valid.")
    return review, signature


def _ordered_drafts(cases: CaseStore, record: CaseRecord) -> list[NoticeDraft]:
    drafts = {d.locale: d for d in cases.drafts(record.case_id)}
    return [drafts[locale] for locale in record.locales if locale in drafts]


def show_review(settings: Settings, review_id: str, query: dict[str, str]) -> Response[str]:
    """GET: the review page. Reads only."""
    review, signature = _verified_review(settings, review_id, query)
    cases = CaseStore(settings.cases_table)
    record = cases.require(review.case_id)
    key = link_key(settings.link_key_secret)
    csrf = csrf_token_for(key, review_id=review_id, signature=signature)
    report_html = ""
    if record.report_key:
        report_html = EvidenceStore(settings.evidence_bucket).get_bytes(record.report_key).decode("utf-8")
    page = render_review_page(
        ReviewPageContext(
            review_id=review_id,
            case_id=record.case_id,
            status=record.status.value,
            reviewer=review.reviewer,
            expires_at=iso_utc(datetime.fromtimestamp(review.expires_at, UTC)),
            form_action=f"{review_id}?e={review.expires_at}&s={signature}",
            csrf_token=csrf,
            report_html=report_html,
            drafts=_ordered_drafts(cases, record),
            recipients=record.recipients,
            matches=record.matches,
            timeline=cases.events(record.case_id),
            decided=review.status != "PENDING" or record.status is not CaseStatus.AWAITING_REVIEW,
        ),
        settings.templates_dir,
    )
    # API Gateway is HTTPS-only; the local API server on 127.0.0.1 says it is plain HTTP, where a Secure cookie
    # would never come back.
    forwarded = {k.lower(): v for k, v in (app.current_event.headers or {}).items()}.get(
        "x-forwarded-proto", "https"
    )
    secure = "" if forwarded == "http" else " Secure;"
    cookie = f"{CSRF_COOKIE}={csrf}; Path=/;{secure} HttpOnly; SameSite=Strict; Max-Age=86400"
    return _html(HTTPStatus.OK, page, {"Set-Cookie": cookie})


def _cookie(headers: dict[str, str], name: str) -> str:
    raw = next((v for k, v in headers.items() if k.lower() == "cookie"), "")
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def _form(body: str | None, is_base64: bool) -> dict[str, str]:
    raw = (body or "").encode("utf-8")
    if is_base64:
        raw = base64.b64decode(raw, validate=False)
    if len(raw) > MAX_FORM_BYTES:
        raise ReviewRefused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "form:too-large", "The form is too large.")
    parsed = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=20)
    return {k: v[0] for k, v in parsed.items()}


def decide_review(
    settings: Settings, review_id: str, query: dict[str, str], form: dict[str, str], cookie_token: str
) -> Response[str]:
    """POST: verify link and CSRF, claim the review once, record the decision and any edit, resume the workflow."""
    review, signature = _verified_review(settings, review_id, query)
    key = link_key(settings.link_key_secret)
    try:
        verify_csrf(
            key,
            review_id=review_id,
            signature=signature,
            form_token=form.get("csrf_token", ""),
            cookie_token=cookie_token,
        )
    except LinkRefused as refused:
        raise ReviewRefused(HTTPStatus.FORBIDDEN, refused.reason, str(refused)) from refused
    status = _DECISIONS.get(form.get("decision", ""))
    if status is None:
        raise ReviewRefused(HTTPStatus.BAD_REQUEST, "form:decision", "Choose approve or reject.")
    cases = CaseStore(settings.cases_table)
    record = cases.require(review.case_id)
    edit = _edited_primary_draft(_ordered_drafts(cases, record), form)
    decision = ReviewDecision(
        decision=status.value,
        reviewer=review.reviewer,
        decided_at=iso_utc(utc_now()),
        reason=form.get("reason", "")[:2000],
    )
    if not cases.claim_review(review_id, decision):
        raise ReviewRefused(
            HTTPStatus.CONFLICT, "review:already-decided", "This review has already been decided."
        )
    if edit is not None and status is CaseStatus.APPROVED:
        cases.put_draft(record.case_id, edit[0])

    def decided(current: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        detail: dict[str, Any] = {
            "decision": decision.decision,
            "reviewer": decision.reviewer,
            "reason": decision.reason,
        }
        if edit is not None and status is CaseStatus.APPROVED:
            detail["edit_diff"] = edit[1]
        return current.advance(status, "review", detail=detail, decision=decision)

    try:
        cases.update(record.case_id, decided)
    except CaseTransitionError as error:
        raise ReviewRefused(
            HTTPStatus.GONE, "review:case-closed", "This review is closed (it may have expired)."
        ) from error
    try:
        send_task_result(review.task_token, decision.to_dict())
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        logger.warning(
            "decision not delivered to the workflow", extra={"case_id": record.case_id, "code": code}
        )
        raise ReviewRefused(
            HTTPStatus.GONE, "review:task-closed", "This review is closed (it may have expired)."
        ) from error
    logger.info("review decided", extra={"case_id": record.case_id, "decision": decision.decision})
    metrics.add_metric(name=f"Reviews{status.value.title()}", unit="Count", value=1)
    message = (
        "The notice is approved and will be sent."
        if status is CaseStatus.APPROVED
        else "The notice is rejected."
    )
    return _html(HTTPStatus.OK, render_message_page(title="Thank you", message=message, status_code_hint=200))


def _edited_primary_draft(drafts: list[NoticeDraft], form: dict[str, str]) -> tuple[NoticeDraft, str] | None:
    """The primary draft with the reviewer's edit and the unified diff of it, or None when nothing changed."""
    if not drafts:
        return None
    primary = drafts[0]
    subject = (
        form.get("subject", primary.subject).replace("\r", " ").replace("\n", " ").strip() or primary.subject
    )
    body = form.get("body_text", primary.body_text).replace("\r\n", "\n")
    if subject == primary.subject and body == primary.body_text:
        return None
    diff = "".join(
        difflib.unified_diff(
            [f"Subject: {primary.subject}\n", *primary.body_text.splitlines(keepends=True)],
            [f"Subject: {subject}\n", *body.splitlines(keepends=True)],
            fromfile=f"draft/{primary.locale}",
            tofile=f"approved/{primary.locale}",
        )
    )
    # The reviewer edited the text: the HTML alternative carries the same edited words, escaped, so that what is
    # sent is exactly what was approved.
    edited = replace(primary, subject=subject, body_text=body, body_html=_text_as_html(body))
    return edited, diff


def _text_as_html(text: str) -> str:
    paragraphs = "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n"))
    return f"<!DOCTYPE html><html><body>{paragraphs}</body></html>"


def _route(review_id: str, *, post: bool) -> Response[str]:
    settings = Settings.from_env()
    event = app.current_event
    query = {k: v for k, v in (event.query_string_parameters or {}).items() if isinstance(v, str)}
    try:
        if not post:
            return show_review(settings, review_id, query)
        form = _form(event.body, bool(event.is_base64_encoded))
        return decide_review(
            settings, review_id, query, form, _cookie(dict(event.headers or {}), CSRF_COOKIE)
        )
    except ReviewRefused as refused:
        return _refusal(refused)


@app.get("/reviews/<review_id>")
def get_review(review_id: str) -> Response[str]:
    return _route(review_id, post=False)


@app.post("/reviews/<review_id>")
def post_review(review_id: str) -> Response[str]:
    return _route(review_id, post=True)


@app.get("/reviews")
def list_reviews() -> Response[str]:
    # Reviewers open reviews from their signed email links; a signed-in list needs the reviewer sign-in
    # (Cognito) described in docs/ARCHITECTURE.md, which this deployment does not configure yet.
    return _refusal(
        ReviewRefused(HTTPStatus.NOT_FOUND, "list:not-configured", "Open the review link from your email.")
    )


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
