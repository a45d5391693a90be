"""The cases-table grants hold in use: the functions run on the local stack through a case's whole life (opened,
scored, reviewed from the list, reminded, approved, sent, fed back by SES, re-checked, followed up, declined), and
every DynamoDB call each makes on the cases table must be one its role in the synthesized template allows.

moto does not enforce IAM (one local role serves every function), so without this a grant narrowed too far would
pass every local test and fail in AWS. Each call is recorded on the real boto client our code uses (a botocore
``before-call`` handler; nothing of ours is replaced) with the function whose handler is running; a call is
checked as IAM checks it: each item of a transaction as its own action, a query on an index against the index.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from PIL import Image

from takedown.aws.case_store import CaseStore
from takedown.aws.clients import client
from takedown.handlers.handle_remind_reviewers import remind_reviewers
from takedown.local.environment import LocalEnvironment
from takedown.local.mailbox import sent_mail
from takedown.local.synth import synthesize
from takedown.model import CaseStatus, parse_iso_utc
from takedown.notices.mail_feedback import notice_tags
from tests.faults.flow import decide
from tests.functional.conftest import register, synthetic_png
from tests.functional.follow_up_site import (
    case_of,
    changing_site,
    deploy_loopback_source,
    recheck,
    review_links,
    reviewer,
    store_sighting,
)
from tests.infra.template_reading import (
    render_intrinsics,
    resources_of,
    resources_of_type,
    role_policy_statements,
    statement_allows,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

EVENTS = Path(__file__).resolve().parents[1] / "events"
HANDLERS = "takedown.handlers."
# IAM action of each item kind of a TransactWriteItems / TransactGetItems request.
TRANSACT_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}
LIST_TOKEN = "local-id-token-of-the-reviewer"


@dataclass(frozen=True)
class Call:
    """One IAM-checked action on the cases table: by which handler module, on the table ("") or an index."""

    handler: str
    action: str
    index: str = ""


@dataclass
class CaseTableCalls:
    """Records, on the process's DynamoDB client, every action a handler takes on the cases table."""

    table: str
    calls: set[Call] = field(default_factory=set)
    _acting: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextlib.contextmanager
    def recording(self) -> Iterator[CaseTableCalls]:
        events = client("dynamodb").meta.events
        events.register("before-call.dynamodb", self._record, unique_id="case-table-calls")
        try:
            yield self
        finally:
            events.unregister("before-call.dynamodb", unique_id="case-table-calls")

    @contextlib.contextmanager
    def acting_as(self, handler_module: str) -> Iterator[None]:
        """Attribute calls made by a handler's function called directly (with an injected time) to that handler."""
        self._acting.module = handler_module
        try:
            yield
        finally:
            self._acting.module = ""

    def _running_handler(self) -> str:
        acting = getattr(self._acting, "module", "")
        if acting:
            return str(acting)
        frame = sys._getframe(1)
        while frame is not None:  # the innermost handler: an S3 put inside one handler runs another
            module = str(frame.f_globals.get("__name__", ""))
            if module.startswith(HANDLERS + "handle_") and frame.f_code.co_name == "handler":
                return module.removeprefix(HANDLERS)
            frame = frame.f_back  # type: ignore[assignment]
        return ""

    def _record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        handler = self._running_handler()
        if not handler:
            return  # the test's own reads
        body = params.get("body", b"")
        request = json.loads(body) if body else {}
        found: list[Call] = []
        if model.name in ("TransactWriteItems", "TransactGetItems"):
            for item in request.get("TransactItems", []):
                for kind, detail in item.items():
                    if detail.get("TableName") == self.table:
                        found.append(Call(handler, TRANSACT_ACTIONS[kind]))
        elif model.name.startswith("Batch"):
            if self.table in request.get("RequestItems", {}):
                found.append(Call(handler, f"dynamodb:{model.name}"))
        elif request.get("TableName") == self.table:
            found.append(Call(handler, f"dynamodb:{model.name}", request.get("IndexName", "")))
        with self._lock:
            self.calls.update(found)


def roles_by_handler(template: dict[str, Any]) -> dict[str, str]:
    """Handler module (``handle_send_notice``) -> the logical id of its function's role."""
    roles: dict[str, str] = {}
    for function in resources_of_type(template["Resources"], "AWS::Lambda::Function").values():
        handler = str(function["Properties"].get("Handler", ""))
        if handler.startswith(HANDLERS):
            roles[handler.removeprefix(HANDLERS).rsplit(".", 1)[0]] = function["Properties"]["Role"][
                "Fn::GetAtt"
            ][0]
    return roles


def allowed(template: dict[str, Any], role: str, table_id: str, call: Call) -> bool:
    """Whether ``role`` may do ``call`` on the cases table (``table_id``) or on the index it names."""
    wanted = "${" + table_id + ".Arn}" + (f"/index/{call.index}" if call.index else "")
    return any(
        render_intrinsics(resource) == wanted
        for statement in role_policy_statements(template["Resources"], role)
        if statement_allows(statement, call.action)
        for resource in resources_of(statement)
    )


def altered(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = image.resize((image.width * 3 // 4, image.height * 3 // 4))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def delivery_event(message_id: str, case_id: str, to: str) -> dict[str, Any]:
    """The SNS delivery of SES's Delivery event for a notice sent as ``message_id`` (tests/events samples)."""
    ses: dict[str, Any] = json.loads((EVENTS / "ses_event_delivery.json").read_text("utf-8"))
    ses["mail"]["messageId"] = message_id
    ses["mail"]["destination"] = [to]
    ses["delivery"]["recipients"] = [to]
    ses["mail"]["tags"] = {name: [value] for name, value in notice_tags(case_id, 1).items()}
    sns: dict[str, Any] = json.loads((EVENTS / "sns_lambda_event.json").read_text("utf-8"))
    sns["Records"][0]["Sns"]["Message"] = json.dumps(ses)
    return sns


def wait_for(local: LocalEnvironment, case_id: str, *statuses: CaseStatus) -> None:
    cases = CaseStore(local.settings().cases_table)
    assert local.wait_for(lambda: cases.require(case_id).status in statuses, timeout=90), (
        f"case is {cases.require(case_id).status}, expected one of {statuses}"
    )


def decide_latest(local: LocalEnvironment, decision: str) -> None:
    links = review_links(local)
    assert links, "no review link was emailed"
    assert decide(links[-1], decision) == 200


@pytest.fixture
def local() -> Iterator[LocalEnvironment]:
    with LocalEnvironment() as environment:
        yield environment


def test_every_call_the_functions_make_on_the_cases_table_is_one_their_role_allows(
    local: LocalEnvironment, tmp_path: Path
) -> None:
    template, _ = synthesize()
    table_id = next(lid for lid, name in local.resources.physical.items() if name == local.cases_table())
    cases = CaseStore(local.settings().cases_table)
    recorder = CaseTableCalls(local.settings().cases_table)
    with recorder.recording(), changing_site() as site:
        # GIVEN a matching copy on a loopback page: hashing opens a case, the workflow takes it to review
        deploy_loopback_source(local, tmp_path)
        original = synthetic_png(31)
        register(local, original)
        copy = altered(original)
        page_url = site.page("/board/31", "/files/31.jpg")
        sighting = store_sighting(local, copy, page_url, site.media("/files/31.jpg", copy))
        case_id = case_of(local, sighting)
        wait_for(local, case_id, CaseStatus.AWAITING_REVIEW)
        # AND the reviewer lists their reviews, and is reminded six hours before the deadline
        assert local.api is not None
        local.api.sign_in(LIST_TOKEN, {"email": reviewer(local), "email_verified": "true"})
        listed = requests.get(
            f"{local.api.base_url}/reviews", headers={"Authorization": LIST_TOKEN}, timeout=30
        )
        assert listed.status_code == 200
        review = cases.get_review(cases.require(case_id).review_id)
        assert review is not None
        with recorder.acting_as("handle_remind_reviewers"):
            due = parse_iso_utc(review.created_at) + timedelta(hours=72)
            reminded = remind_reviewers(
                local.settings("handle_remind_reviewers"), now=due - timedelta(hours=6)
            )
        assert reminded["reminded"] == 1
        # WHEN the reviewer approves: the notice is sent, and SES reports its delivery
        decide_latest(local, "APPROVED")
        wait_for(local, case_id, CaseStatus.SENT)
        sent = cases.require(case_id)
        [message_id] = sent.sent_message_ids
        to = sent.recipients[0].address
        local.invoke("handle_mail_feedback", delivery_event(message_id, case_id, to))
        # AND a re-check a day later finds the picture still up: a follow-up is drafted for review, and declined
        assert sent.follow_up is not None
        recheck(local, parse_iso_utc(sent.follow_up.first_notice.sent_at) + timedelta(hours=25))
        wait_for(local, case_id, CaseStatus.AWAITING_REVIEW)
        decide_latest(local, "REJECTED")
        wait_for(local, case_id, CaseStatus.MONITORING)
    assert sent_mail()

    # THEN every function with a case to handle made calls on the table (so the check below means something) ...
    roles = roles_by_handler(template)
    exercised = {call.handler for call in recorder.calls}
    assert exercised == {
        "handle_hash_media",
        "handle_score_match",
        "handle_resolve_recipients",
        "handle_build_report",
        "handle_draft_notice",
        "handle_render_notice_locale",
        "handle_request_approval",
        "handle_review_http",
        "handle_remind_reviewers",
        "handle_send_notice",
        "handle_mail_feedback",
        "handle_recheck_cases",
        "handle_close_case",
    }
    # ... and each call is one the function's role allows on the table or the index it named
    denied = sorted(
        (call.handler, call.action, call.index)
        for call in recorder.calls
        if not allowed(template, roles[call.handler], table_id, call)
    )
    assert denied == []
