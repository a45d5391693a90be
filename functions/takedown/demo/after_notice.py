"""After the notices: the demo's boards change as their operators would respond, and the scheduled re-check runs at
+24 h and +48 h from the last first notice (the time goes into the function's event as ``now``; nothing sleeps).

Each notified case gets one response, in case order (the Korean board's cases by page, then the board abroad's):

1. the operator deletes the picture: its URL answers 404;
2. the operator puts a placeholder image ("image removed") at the picture's URL;
3. the operator leaves it up: each re-check finds the same picture, so a follow-up notice to the same recipient,
   quoting the first notice, is drafted and goes to the reviewer (the deployment's ``follow_up_policy`` is
   ``review``: every notice is reviewed), whom the demo plays again through the real review page.

Two removed checks in a row close a case as REMOVED (the first and the placeholder one, at +48 h). The re-check
function, the workflow and the review page are the product's own, invoked through the local stack.
"""

from __future__ import annotations

import enum
import io
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from PIL import Image

from takedown.aws.case_store import CaseStore
from takedown.cases.follow_up import Approval, NoticeState
from takedown.cases.record import FINAL_STATUSES, MONITORED_STATUSES, CaseRecord
from takedown.demo.synthetic import encode, make_placeholder
from takedown.model import CaseStatus, iso_utc, parse_iso_utc

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from takedown.demo.reviewer import ReviewDesk
    from takedown.demo.site import DemoSite, SiteServer
    from takedown.local.environment import LocalEnvironment

CHECK_OFFSETS: Final = (timedelta(hours=24), timedelta(hours=48))
# Drafting, review email and sending of a follow-up run in moto's Step Functions threads: seconds, not minutes.
SETTLE_TIMEOUT_SECONDS: Final = 120.0
PLACEHOLDER_TYPE: Final = "image/jpeg"


class OperatorResponse(enum.StrEnum):
    """What an operator does after the notice (the value is how the demo says it)."""

    DELETES_PICTURE = "deleted the picture (404)"
    PLACEHOLDER = "put a placeholder image in its place"
    LEAVES_UP = "left it up"


RESPONSE_ORDER: Final = (
    OperatorResponse.DELETES_PICTURE,
    OperatorResponse.PLACEHOLDER,
    OperatorResponse.LEAVES_UP,
)


class AfterNoticeError(RuntimeError):
    """A stage after the notices did not finish: which one and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Board:
    """One of the demo's websites as its operator sees it: what it serves and the server that serves it."""

    name: str
    site: DemoSite
    server: SiteServer


@dataclass(frozen=True)
class CaseOutcome:
    """What became of one notified case after its operator's response."""

    case_id: str
    board: str
    page_url: str
    response: OperatorResponse
    status: str
    verdicts: list[str]
    follow_ups_sent: int
    escalations: int
    follow_up_recipients: list[str]

    def line(self) -> str:
        """One line for the summary, e.g. ``/board/3 on the Korean board: deleted ... -> REMOVED (...)``."""
        path = urlsplit(self.page_url).path
        checks = ", ".join(self.verdicts) or "none"
        notices = ""
        if self.follow_ups_sent:
            notices = f", {self.follow_ups_sent} follow-up(s) sent to {', '.join(self.follow_up_recipients)}"
        if self.escalations:
            notices += f", {self.escalations} escalation(s)"
        return f"{path} on {self.board}: {self.response.value} -> {self.status}{notices} (checks: {checks})"


@dataclass
class AfterNotice:
    """The after-the-notice stage: each case's outcome and the injected times of the checks."""

    outcomes: list[CaseOutcome] = field(default_factory=list)
    check_times: list[str] = field(default_factory=list)
    check_offsets_hours: list[int] = field(default_factory=list)
    rechecks: int = 0

    @property
    def removed(self) -> int:
        return sum(1 for o in self.outcomes if o.status == CaseStatus.REMOVED.value)

    @property
    def follow_ups_sent(self) -> int:
        return sum(o.follow_ups_sent for o in self.outcomes)

    @property
    def escalations(self) -> int:
        return sum(o.escalations for o in self.outcomes)


def assign_responses(case_ids: Sequence[str]) -> dict[str, OperatorResponse]:
    """Each case's operator response, in :data:`RESPONSE_ORDER`, round and round.

    >>> [r.name for r in assign_responses(["a", "b", "c", "d"]).values()]
    ['DELETES_PICTURE', 'PLACEHOLDER', 'LEAVES_UP', 'DELETES_PICTURE']
    """
    return {case_id: RESPONSE_ORDER[index % len(RESPONSE_ORDER)] for index, case_id in enumerate(case_ids)}


def settled(record: CaseRecord) -> bool:
    """No step of the case is running: it is in a final status and no follow-up notice is in flight."""
    pending = record.follow_up.pending if record.follow_up else None
    return record.status in FINAL_STATUSES and pending is None


def respond(board: Board, media_path: str, response: OperatorResponse) -> None:
    """Change what ``board`` serves at ``media_path`` as its operator would in ``response``."""
    if response is OperatorResponse.DELETES_PICTURE:
        board.server.take_down(media_path)
    elif response is OperatorResponse.PLACEHOLDER:
        _, picture = board.site.resources[media_path]
        with Image.open(io.BytesIO(picture)) as shown:
            size = shown.size
        board.server.replace(media_path, PLACEHOLDER_TYPE, encode(make_placeholder(size), "JPEG", quality=85))


def run_after_notice(
    local: LocalEnvironment, boards: Sequence[Board], desk: ReviewDesk, say: Callable[[str], None]
) -> AfterNotice:
    """Let the operators respond, re-check at each of :data:`CHECK_OFFSETS`, and review any follow-up.

    With no notified case (a person rejected every first notice) there is nothing to follow: nothing changes and
    the result is empty.

    Raises
    ------
    AfterNoticeError
        If a case does not settle after a check or a follow-up review.
    """
    cases = CaseStore(local.settings().cases_table)
    notified = _notified_cases(cases, boards)
    if not notified:
        say("no notice went out, so there is nothing to re-check")
        return AfterNotice()
    responses = assign_responses([record.case_id for record, _ in notified])
    for record, board in notified:
        response = responses[record.case_id]
        respond(board, urlsplit(record.sighting.media_url).path, response)
        say(f"{board.name}, {urlsplit(record.sighting.page_url).path}: the operator {response.value}")
    base = max(_first_sent_at(record) for record, _ in notified)
    result = AfterNotice()
    for offset in CHECK_OFFSETS:
        at = base + offset
        hours = round(offset.total_seconds() / 3600)
        result.check_times.append(iso_utc(at))
        result.check_offsets_hours.append(hours)
        answer = local.invoke("handle_recheck_cases", {"now": iso_utc(at)})
        say(f"re-check at +{hours} h (injected time {iso_utc(at)}): {answer['due']} case(s) due")
        for record, board in notified:
            checked = cases.require(record.case_id)
            say(f"  {board.name}, {urlsplit(record.sighting.page_url).path}: {_check_said(checked)}")
        _review_follow_ups(local, cases, [r.case_id for r, _ in notified], desk)
    records = {record.case_id: cases.require(record.case_id) for record, _ in notified}
    result.rechecks = sum(r.follow_up.checks_total for r in records.values() if r.follow_up)
    result.outcomes = [
        _outcome(records[record.case_id], board.name, responses[record.case_id]) for record, board in notified
    ]
    return result


def _notified_cases(cases: CaseStore, boards: Sequence[Board]) -> list[tuple[CaseRecord, Board]]:
    """The cases whose first notice went out, each with its board, in board order then page order."""
    found: list[tuple[int, str, CaseRecord, Board]] = []
    for document in cases.case_documents():
        record = CaseRecord.from_dict(document)
        if record.status not in MONITORED_STATUSES or record.follow_up is None:
            continue
        for index, board in enumerate(boards):
            if record.sighting.media_url.startswith(board.server.base_url + "/"):
                found.append((index, record.sighting.page_url, record, board))
    return [(record, board) for _, _, record, board in sorted(found, key=lambda item: item[:2])]


def _first_sent_at(record: CaseRecord) -> datetime:
    if record.follow_up is None:
        raise AfterNoticeError(f"case {record.case_id} has no notice on record")
    return parse_iso_utc(record.follow_up.first_notice.sent_at)


def _check_said(record: CaseRecord) -> str:
    """What the last check found and what the case does next, for a progress line."""
    follow_up = record.follow_up
    check = follow_up.last_check if follow_up else None
    if follow_up is None or check is None:
        return f"not checked ({record.status.value})"
    said = f"{check.verdict.value} ({check.reason})"
    if record.status is CaseStatus.REMOVED:
        return f"{said}: removed at two checks in a row -> REMOVED"
    pending = follow_up.pending
    if pending is not None:
        kind = "follow-up" if pending.rung == 0 else "escalation"
        to = ", ".join(pending.addresses)
        review = "to the reviewer" if pending.approval is Approval.REVIEWER else "under the follow-up policy"
        return f"{said} -> {kind} notice v{pending.version} to {to}, {review}"
    return said


def _review_follow_ups(
    local: LocalEnvironment, cases: CaseStore, case_ids: list[str], desk: ReviewDesk
) -> None:
    """Wait until each follow-up notice a check requested is drafted and waiting for review (or already sent), let
    the reviewer decide it, and wait until every case has settled."""

    def ready() -> bool:
        records = [cases.require(case_id) for case_id in case_ids]
        return all(r.status is CaseStatus.AWAITING_REVIEW or settled(r) for r in records)

    def done() -> bool:
        return all(settled(cases.require(case_id)) for case_id in case_ids)

    if not local.wait_for(ready, timeout=SETTLE_TIMEOUT_SECONDS):
        raise AfterNoticeError(f"a follow-up notice was not drafted within {SETTLE_TIMEOUT_SECONDS:.0f} s")
    desk.decide_round(done, what="follow-up notice")
    if not local.wait_for(done, timeout=SETTLE_TIMEOUT_SECONDS):
        statuses = ", ".join(cases.require(case_id).status.value for case_id in case_ids)
        raise AfterNoticeError(f"the cases did not settle after the follow-up review: {statuses}")


def _outcome(record: CaseRecord, board: str, response: OperatorResponse) -> CaseOutcome:
    follow_up = record.follow_up
    notices = follow_up.notices[1:] if follow_up else []
    sent_follow_ups = [n for n in notices if n.rung == 0 and n.state is NoticeState.SENT]
    return CaseOutcome(
        case_id=record.case_id,
        board=board,
        page_url=record.sighting.page_url,
        response=response,
        status=record.status.value,
        verdicts=[check.verdict.value for check in follow_up.checks] if follow_up else [],
        follow_ups_sent=len(sent_follow_ups),
        escalations=sum(1 for n in notices if n.rung > 0),
        follow_up_recipients=list(dict.fromkeys(a for n in sent_follow_ups for a in n.addresses)),
    )
