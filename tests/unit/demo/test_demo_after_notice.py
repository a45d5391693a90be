"""The demo after the notice: which operator does what, what the boards then serve (judged by the re-check's own
rule), when a case has settled, and how the summary tells it."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from takedown.cases.follow_up import Approval, FollowUp, NoticeState, NoticeVersion
from takedown.cases.recheck import MediaState
from takedown.cases.recheck_observe import compare_media
from takedown.cases.record import CaseRecord
from takedown.commands.bank import items_for_bytes
from takedown.demo.after_notice import (
    Board,
    CaseOutcome,
    OperatorResponse,
    assign_responses,
    respond,
    settled,
)
from takedown.demo.site import build_demo_site, serve_site
from takedown.demo.summary import DemoSummary
from takedown.hashing.bank_index import BankIndex
from takedown.hashing.detect import detect_media
from takedown.model import CaseStatus, MatchEvidence, Recipient, Sighting, iso_utc
from tests.unit.demo.loopback_http import fetch

if TYPE_CHECKING:
    from takedown.demo.site import DemoSite

SENT_AT = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
SITE = Recipient("abuse@site.example", "site", "mailto link on the page", 0.7)


@pytest.fixture(scope="module")
def site() -> DemoSite:
    return build_demo_site(bank_seeds=[11, 23], n_pages=4)


@pytest.fixture(scope="module")
def bank(site: DemoSite) -> BankIndex:
    """The centre's bank for the site, registered as the demo registers it."""
    items = [
        item
        for index, data in enumerate(site.bank_images().values())
        for item in items_for_bytes(
            data, "image/png", bank="centre", case_ref=f"T-{index}", added_at="2026-11-28"
        )
    ]
    return BankIndex.build(items, strict=True)


def _sighting(data: bytes, media_url: str) -> Sighting:
    return Sighting(
        media_key="media/test",
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        page_url="http://127.0.0.1/board/1",
        media_url=media_url,
        fetched_at="2026-11-28T07:00:00.000000Z",
        content_type="image/jpeg",
        source_id="demo-board",
        size_bytes=len(data),
    )


def _recheck_state(data: bytes, seen: bytes, matches: list[MatchEvidence], index: BankIndex) -> MediaState:
    """What the re-check function's rule says of ``data`` for a case opened on ``seen``."""
    media_type = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
    return compare_media(
        data,
        media_type,
        sighting=_sighting(seen, "http://127.0.0.1/x.jpg"),
        case_matches=matches,
        index=index,
    )


def test_each_case_gets_the_next_response_in_turn() -> None:
    # GIVEN / WHEN four cases in order
    responses = assign_responses(["c1", "c2", "c3", "c4"])
    # THEN the picture is deleted, replaced, left up, then deleted again, case by case
    assert list(responses.items()) == [
        ("c1", OperatorResponse.DELETES_PICTURE),
        ("c2", OperatorResponse.PLACEHOLDER),
        ("c3", OperatorResponse.LEAVES_UP),
        ("c4", OperatorResponse.DELETES_PICTURE),
    ]
    assert assign_responses([]) == {}


@pytest.mark.parametrize(
    ("response", "status", "state"),
    [
        (OperatorResponse.DELETES_PICTURE, 404, None),
        (OperatorResponse.PLACEHOLDER, 200, MediaState.CHANGED),
        (OperatorResponse.LEAVES_UP, 200, MediaState.SAME),
    ],
    ids=["deleted", "placeholder", "left-up"],
)
def test_an_operator_response_changes_what_the_recheck_finds(
    site: DemoSite, bank: BankIndex, response: OperatorResponse, status: int, state: MediaState | None
) -> None:
    # GIVEN a served board and a case on one of its altered copies, matched against the bank
    picture = sorted(site.altered_copies)[0]
    seen = site.resources[picture][1]
    matches = detect_media(seen, "image/jpeg", bank).matches
    assert matches, "the altered copy must match its original for this test to mean anything"
    with serve_site(site) as server:
        # WHEN its operator responds
        respond(Board("the board", site, server), picture, response)
        # THEN the picture's URL answers as the response says, and the re-check rule reads it so
        answered, content_type, body = fetch(server.base_url + picture)
        assert answered == status
        if state is not None:
            assert _recheck_state(body, seen, matches, bank) is state
        if response is OperatorResponse.PLACEHOLDER:
            # a placeholder of the picture's size, in the format its URL promises
            assert content_type == "image/jpeg"
            with Image.open(io.BytesIO(body)) as placeholder, Image.open(io.BytesIO(seen)) as original:
                assert (placeholder.format, placeholder.size) == ("JPEG", original.size)
            # and it matches nothing in the bank at all
            assert detect_media(body, "image/jpeg", bank).matches == []


def _record(status: CaseStatus, follow_up: FollowUp | None) -> CaseRecord:
    opened, _ = CaseRecord.open(_sighting(b"picture", "http://127.0.0.1/m/1.jpg"), now=SENT_AT)
    return replace(opened, status=status, follow_up=follow_up)


def _first_notice() -> FollowUp:
    first = NoticeVersion(
        version=1,
        recipients=[SITE],
        rung=0,
        state=NoticeState.SENT,
        approval=Approval.REVIEWER,
        requested_at=iso_utc(SENT_AT),
        sent_at=iso_utc(SENT_AT),
        message_ids=["msg-1"],
    )
    return FollowUp.start(first, next_check_at=SENT_AT + timedelta(hours=24))


def test_a_case_has_settled_only_in_a_final_status_with_no_notice_in_flight() -> None:
    # GIVEN a notified case, the same case with a follow-up requested by a check, and a case waiting for review
    notified = _record(CaseStatus.SENT, _first_notice())
    follow_up = NoticeVersion(
        version=2,
        recipients=[SITE],
        rung=0,
        state=NoticeState.REQUESTED,
        approval=Approval.REVIEWER,
        requested_at=iso_utc(SENT_AT + timedelta(hours=24)),
    )
    requested = _record(
        CaseStatus.SENT, _first_notice().with_request(follow_up, now=SENT_AT + timedelta(hours=24))
    )
    waiting = _record(CaseStatus.AWAITING_REVIEW, None)
    # WHEN / THEN only the first has settled
    assert settled(notified)
    assert not settled(requested)
    assert not settled(waiting)
    assert settled(_record(CaseStatus.REMOVED, _first_notice()))


def test_the_summary_tells_what_became_of_each_case_and_carries_the_report() -> None:
    # GIVEN what the after-notice stage found and the report's text
    removed = CaseOutcome(
        case_id="a" * 32,
        board="the Korean board",
        page_url="http://127.0.0.1:8000/board/3",
        response=OperatorResponse.DELETES_PICTURE,
        status="REMOVED",
        verdicts=["removed", "removed"],
        follow_ups_sent=0,
        escalations=0,
        follow_up_recipients=[],
    )
    left_up = replace(
        removed,
        case_id="b" * 32,
        board="the board abroad",
        page_url="http://127.0.0.1:8001/board/2",
        response=OperatorResponse.LEAVES_UP,
        status="SENT",
        verdicts=["present", "present"],
        follow_ups_sent=2,
        follow_up_recipients=["abuse@board.example.vn"],
    )
    summary = DemoSummary(
        check_offsets_hours=[24, 48],
        rechecks=4,
        removed=1,
        follow_ups_sent=2,
        follow_ups_reviewed=2,
        case_outcomes=[removed, left_up],
        report_text="2 cases (REMOVED 1, SENT 1)\n\ninterval  cases\n--------  -----",
        chart_path="demo-out/time-to-notice.png",
    )
    # WHEN it is printed
    lines = summary.lines()
    # THEN it says when the checks ran, what each operator did and what came of it, then the report, indented
    assert "after the notice (re-checked at +24 h and +48 h; the time is injected, not waited for):" in lines
    assert "  re-checks done ........... 4" in lines
    assert "  follow-ups sent .......... 2 (2 approved by the reviewer)" in lines
    assert (
        "  /board/3 on the Korean board: deleted the picture (404) -> REMOVED (checks: removed, removed)"
        in lines
    )
    assert (
        "  /board/2 on the board abroad: left it up -> SENT, 2 follow-up(s) sent to abuse@board.example.vn "
        "(checks: present, present)"
    ) in lines
    report_at = lines.index("takedown report (the same tables as `takedown report`):")
    assert lines[report_at + 1 : report_at + 5] == [
        "  2 cases (REMOVED 1, SENT 1)",
        "",
        "  interval  cases",
        "  --------  -----",
    ]
    assert lines[-1] == "  time-to-notice chart: demo-out/time-to-notice.png"


def test_a_summary_with_no_notice_sent_says_nothing_was_rechecked() -> None:
    # GIVEN a run in which a person rejected every first notice
    summary = DemoSummary(matches=2, rejected=2, report_text="2 cases (REJECTED 2)", chart_path="c.png")
    # WHEN it is printed
    lines = summary.lines()
    # THEN it says so instead of naming check times, and still counts zero re-checks and carries the report
    assert "after the notice: no notice went out, so nothing was re-checked" in lines
    assert "  re-checks done ........... 0" in lines
    assert "  2 cases (REJECTED 2)" in lines
