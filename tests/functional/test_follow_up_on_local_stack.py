"""After the notice, on the local stack: re-checks against a loopback site changed between checks, follow-ups and
escalation through the real state machine, the exhausted ladder, and re-uploads.

Time is injected: the re-check function gets ``now`` in its event, counted from when the first notice really went
out. Waiting happens only for moto's Step Functions threads.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import requests
from PIL import Image

from takedown.aws.notice_archive import NoticeArchive
from takedown.config import ENV_ESCALATE_AFTER_INTERVALS, ENV_FOLLOW_UP_POLICY
from takedown.demo.run import _FormReader
from takedown.model import CaseStatus, Recipient

from .conftest import register, synthetic_png
from .follow_up_site import (
    SITE_CONTACT,
    ChangingSite,
    approve_latest_review,
    case_of,
    cases,
    changing_site,
    deploy_loopback_source,
    deploy_settings,
    first_sent_at,
    hours,
    notices_to,
    recheck,
    review_links,
    reviewer,
    store_sighting,
    wait_for_status,
)

if TYPE_CHECKING:
    from pathlib import Path

    from takedown.cases.record import CaseRecord
    from takedown.local.environment import LocalEnvironment

HOST_ABUSE = "abuse@hosting.example.net"


def _altered(data: bytes, quality: int = 70) -> bytes:
    """A resized, recompressed copy: what a re-upload usually is."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = image.resize((image.width * 3 // 4, image.height * 3 // 4))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _notified_case(
    local: LocalEnvironment,
    site: ChangingSite,
    tmp_path: Path,
    *,
    host_recipient: bool = False,
    host_country: str = "",
) -> CaseRecord:
    """A case whose first notice went out: a matching copy on a loopback page, reviewed and approved."""
    deploy_loopback_source(local, tmp_path)
    original = synthetic_png(5)
    register(local, original)
    copy = _altered(original)
    page_url = site.page("/board/1", "/files/1.jpg")
    media_url = site.media("/files/1.jpg", copy)
    sighting = store_sighting(local, copy, page_url, media_url)
    case_id = case_of(local, sighting)
    wait_for_status(local, case_id, CaseStatus.AWAITING_REVIEW)
    if host_recipient:
        # RDAP cannot answer for a loopback address: the hosting provider's abuse contact is put on the case as
        # discovery would have found it for a public one.
        host = Recipient(
            HOST_ABUSE, "host", "RDAP abuse contact of the hosting network (test)", 0.6, country=host_country
        )
        cases(local).update(
            case_id,
            lambda r: r.advance(r.status, "resolve-recipients", recipients=[*r.recipients, host]),
        )
    approve_latest_review(local)
    record = wait_for_status(local, case_id, CaseStatus.SENT)
    assert record.recipients[0].address == SITE_CONTACT
    return record


def test_a_case_closes_as_removed_after_two_consecutive_removed_checks(
    local: LocalEnvironment, tmp_path: Path
) -> None:
    with changing_site() as site:
        # GIVEN a notified case, first checked 24 hours after its notice
        record = _notified_case(local, site, tmp_path)
        sent = first_sent_at(record)
        assert record.recheck_due_at
        # WHEN the media answers 404 at the first check
        site.answer("/files/1.jpg", 404)
        recheck(local, sent + hours(25))
        # THEN one removed check is recorded and the case stays open
        after_first = cases(local).require(record.case_id)
        assert after_first.status is CaseStatus.SENT
        assert after_first.follow_up is not None and after_first.follow_up.consecutive_removed == 1
        # WHEN the next check meets a server error THEN nothing is learnt and the run of removed checks ends
        site.answer("/files/1.jpg", 503)
        recheck(local, sent + hours(50))
        after_error = cases(local).require(record.case_id)
        assert after_error.follow_up is not None
        assert after_error.follow_up.last_check is not None
        assert after_error.follow_up.last_check.verdict.value == "unknown"
        assert after_error.follow_up.consecutive_removed == 0
        # WHEN the post is deleted and its file answers 410 at two checks in a row
        site.page("/board/1", None)
        site.answer("/files/1.jpg", 410)
        recheck(local, sent + hours(75))
        assert cases(local).require(record.case_id).status is CaseStatus.SENT
        recheck(local, sent + hours(100))
        # THEN the case is REMOVED, removed since the first of the two checks, and no longer due
        closed = cases(local).require(record.case_id)
        assert closed.status is CaseStatus.REMOVED
        assert closed.milestones["REMOVED"] == (sent + hours(75)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert closed.recheck_due_at == ""
        checks = [e for e in cases(local).events(record.case_id) if e.stage == "recheck"]
        assert [e.detail["verdict"] for e in checks] == ["removed", "unknown", "removed", "removed"]
        assert "page:without-media" in checks[2].detail["reason"]
        # AND a later run finds nothing due
        assert recheck(local, sent + hours(200))["due"] == 0


def test_still_up_gets_a_reminder_then_escalates_to_the_host_through_review(
    local: LocalEnvironment, tmp_path: Path
) -> None:
    # GIVEN reminders to approved recipients may skip review, and a rung lasts two follow-up intervals
    deploy_settings(
        local,
        ["handle_recheck_cases", "handle_send_notice"],
        {ENV_FOLLOW_UP_POLICY: "auto-same-recipient", ENV_ESCALATE_AFTER_INTERVALS: "2"},
    )
    with changing_site() as site:
        record = _notified_case(local, site, tmp_path, host_recipient=True)
        sent = first_sent_at(record)
        assert record.follow_up is not None
        first_id = record.follow_up.first_notice.message_ids[0]
        reviews_before = len(review_links(local))
        # WHEN the content is still up a day later
        result = recheck(local, sent + hours(25))
        # THEN a reminder (notice v2) goes to the same recipient without a new review, quoting the first notice
        assert result["results"][0]["step"] == "follow-up"
        assert local.wait_for(lambda: len(notices_to(SITE_CONTACT)) == 2, timeout=90)
        wait_for_status(local, record.case_id, CaseStatus.SENT)
        reminder = notices_to(SITE_CONTACT)[-1]
        assert first_id in reminder.body("plain")
        assert reminder.subject.startswith("[후속 요청]")
        assert len(review_links(local)) == reviews_before
        reminded = cases(local).require(record.case_id)
        assert reminded.follow_up is not None
        assert reminded.follow_up.notice(2).approval.value == "policy"
        assert reminded.decision is not None and reminded.decision.reviewer.startswith("policy:")
        # WHEN it is still up two intervals after the first notice
        result = recheck(local, sent + hours(49))
        # THEN the host is asked next: a new recipient goes through review
        assert result["results"][0]["step"] == "escalate"
        wait_for_status(local, record.case_id, CaseStatus.AWAITING_REVIEW)
        assert len(review_links(local)) == reviews_before + 1
        assert notices_to(HOST_ABUSE) == []
        approve_latest_review(local)
        escalated = wait_for_status(local, record.case_id, CaseStatus.SENT)
        # AND the host's notice says the content was reported before, quoting the first notice
        to_host = notices_to(HOST_ABUSE)
        assert len(to_host) == 1
        assert first_id in to_host[0].body("plain")
        assert "another party responsible for the site" in to_host[0].body("plain")
        assert escalated.follow_up is not None
        assert [(n.version, n.rung, n.state.value) for n in escalated.follow_up.notices] == [
            (1, 0, "sent"),
            (2, 0, "sent"),
            (3, 1, "sent"),
        ]
        assert escalated.follow_up.notice(3).approval.value == "reviewer"
        # AND the site got no third notice
        assert len(notices_to(SITE_CONTACT)) == 2
        # AND what each version said when it went out is kept, although the drafts were rewritten
        archive = NoticeArchive(local.settings().cases_table)
        kept = {
            version: {d.locale: d for d in archive.sent(record.case_id, version)} for version in (1, 2, 3)
        }
        assert all(set(by_locale) == set(escalated.locales) for by_locale in kept.values())
        assert first_id not in kept[1]["en"].body_text and first_id in kept[3]["en"].body_text
        # AND what each recipient was sent: the reminder quotes, in the site's own addressing, the message the site
        # received; the escalation is addressed to the host; the bodies (shared by all recipients) name no one
        reminder = archive.message(record.case_id, 2, SITE_CONTACT)
        to_host_kept = archive.message(record.case_id, 3, HOST_ABUSE)
        assert reminder is not None and first_id in reminder.text
        assert to_host_kept is not None and f"To: {HOST_ABUSE} (hosting provider)" in to_host_kept.text
        assert HOST_ABUSE not in kept[3]["en"].body_text and first_id not in kept[2]["en"].body_text


def test_an_exhausted_ladder_tells_the_officer_and_the_case_is_still_rechecked(
    local: LocalEnvironment, tmp_path: Path
) -> None:
    # GIVEN a rung lasts one interval and the case has no address beyond the site's
    deploy_settings(
        local, ["handle_recheck_cases", "handle_send_notice"], {ENV_ESCALATE_AFTER_INTERVALS: "1"}
    )
    with changing_site() as site:
        record = _notified_case(local, site, tmp_path)
        sent = first_sent_at(record)
        officer = reviewer(local)
        to_officer_before = len(notices_to(officer))
        # WHEN the content is still up after the rung's time
        result = recheck(local, sent + hours(25))
        # THEN the ladder is exhausted and the officer in charge is emailed about the case
        assert result["results"][0]["step"] == "exhausted"
        exhausted = cases(local).require(record.case_id)
        assert exhausted.status is CaseStatus.LADDER_EXHAUSTED
        assert exhausted.follow_up is not None and exhausted.follow_up.officer_notified_at
        alerts = notices_to(officer)[to_officer_before:]
        assert len(alerts) == 1
        assert "Escalation exhausted" in alerts[0].subject and record.case_id in alerts[0].subject
        assert record.sighting.page_url in alerts[0].body("plain")
        assert len(notices_to(SITE_CONTACT)) == 1  # no further notice on its own
        # WHEN it is still up at the next check THEN nothing more is sent
        recheck(local, sent + hours(50))
        assert len(notices_to(officer)) == to_officer_before + 1
        assert len(notices_to(SITE_CONTACT)) == 1
        # WHEN the file is gone at two later checks THEN the removal is still seen and recorded
        site.answer("/files/1.jpg", 404)
        recheck(local, sent + hours(75))
        recheck(local, sent + hours(100))
        assert cases(local).require(record.case_id).status is CaseStatus.REMOVED


def test_an_escalation_to_a_host_abroad_is_written_in_its_language_under_its_law(
    local: LocalEnvironment, tmp_path: Path
) -> None:
    # GIVEN a Korean case (the site's notice in Korean and English) whose hosting provider is in Vietnam, and a
    # rung that lasts one interval
    deploy_settings(
        local, ["handle_recheck_cases", "handle_send_notice"], {ENV_ESCALATE_AFTER_INTERVALS: "1"}
    )
    with changing_site() as site:
        record = _notified_case(local, site, tmp_path, host_recipient=True, host_country="VN")
        sent = first_sent_at(record)
        assert record.locales == ["ko", "en"]
        # WHEN the content is still up a day later
        result = recheck(local, sent + hours(25))
        # THEN the host is asked next, through review
        assert result["results"][0]["step"] == "escalate"
        wait_for_status(local, record.case_id, CaseStatus.AWAITING_REVIEW)
        approve_latest_review(local)
        escalated = wait_for_status(local, record.case_id, CaseStatus.SENT)
        # AND its notice is in Vietnamese then English, drafted for Vietnam's law, not the case's Korean
        assert escalated.locales == ["vi", "en"]
        drafted = [e for e in cases(local).events(record.case_id) if e.stage == "draft-notice"]
        assert [e.detail["country"] for e in drafted] == ["KR", "VN"]
        to_host = notices_to(HOST_ABUSE)
        assert len(to_host) == 1
        assert to_host[0].subject.startswith("[Nhắc lại]")
        assert "Yêu cầu gỡ bỏ" in to_host[0].body("plain")
        # AND what went out to the site first is kept in its own languages
        archive = NoticeArchive(local.settings().cases_table)
        assert {d.locale for d in archive.sent(record.case_id, 1)} == {"ko", "en"}
        assert {d.locale for d in archive.sent(record.case_id, 2)} == {"vi", "en"}


def test_a_reupload_is_linked_both_ways_and_its_notice_says_so(
    local: LocalEnvironment, tmp_path: Path
) -> None:
    with changing_site() as site:
        # GIVEN a notified case of one original
        first = _notified_case(local, site, tmp_path)
        # WHEN another copy of the same original turns up on another page
        copy = _altered(synthetic_png(5), quality=55)
        page_url = site.page("/board/77", "/files/77.jpg")
        media_url = site.media("/files/77.jpg", copy)
        sighting = store_sighting(local, copy, page_url, media_url)
        second_id = case_of(local, sighting)
        assert second_id != first.case_id
        second = wait_for_status(local, second_id, CaseStatus.AWAITING_REVIEW)
        # THEN the cases are linked both ways, each with an event on its timeline
        assert [(r.case_id, r.earlier, r.notified) for r in second.related_cases] == [
            (first.case_id, True, True)
        ]
        earlier = cases(local).require(first.case_id)
        assert [(r.case_id, r.earlier) for r in earlier.related_cases] == [(second_id, False)]
        assert any(e.stage == "reupload" for e in cases(local).events(second_id))
        assert any(
            e.stage == "reupload-seen" and e.detail["case_id"] == second_id
            for e in cases(local).events(first.case_id)
        )
        # AND the new notice says the content was reported before, without naming the other page
        drafts = {d.locale: d for d in cases(local).drafts(second_id)}
        assert "The centre has reported this same content before" in drafts["en"].body_text
        assert "이미 삭제를 요청한 바 있습니다" in drafts["ko"].body_text
        assert first.sighting.page_url not in drafts["en"].body_text


def test_a_follow_up_the_reviewer_rejects_returns_the_case_to_monitoring(
    local: LocalEnvironment, tmp_path: Path
) -> None:
    with changing_site() as site:
        # GIVEN a notified case still up a day later, under the default policy (every notice is reviewed)
        record = _notified_case(local, site, tmp_path)
        sent = first_sent_at(record)
        recheck(local, sent + hours(25))
        wait_for_status(local, record.case_id, CaseStatus.AWAITING_REVIEW)
        # WHEN the reviewer rejects the reminder
        link = review_links(local)[-1]
        with requests.Session() as browser:
            form = _FormReader()
            form.feed(browser.get(link, timeout=10).text)
            answer = browser.post(
                requests.compat.urljoin(link, form.action),
                data={**form.fields, "decision": "REJECTED", "reason": "too soon"},
                timeout=10,
            )
            assert answer.status_code == 200
        # THEN the case is monitored again, v2 is recorded as declined, nothing went out, and a check is due
        monitored = wait_for_status(local, record.case_id, CaseStatus.MONITORING)
        assert monitored.follow_up is not None
        assert monitored.follow_up.notice(2).state.value == "declined"
        # AND the case was never REJECTED: the reviewer declined a follow-up, not the case
        assert CaseStatus.REJECTED.value not in monitored.milestones
        [decided] = [e for e in cases(local).events(record.case_id) if e.stage == "review"][-1:]
        assert (decided.status, decided.detail["decision"]) == (CaseStatus.AWAITING_REVIEW.value, "REJECTED")
        assert monitored.recheck_due_at
        assert len(notices_to(SITE_CONTACT)) == 1
        assert len(monitored.sent_message_ids) == 1
