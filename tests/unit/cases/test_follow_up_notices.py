"""What a follow-up, an escalation and a re-upload notice say, in every notice language; and the officer's email."""

from __future__ import annotations

from dataclasses import replace

import pytest

from takedown.cases.follow_up import Approval, CheckRecord, NoticeState, NoticeVersion, Verdict
from takedown.cases.notice_facts import notice_country, notice_facts_for, notice_locales
from takedown.cases.officer_alert import render_ladder_exhausted_email
from takedown.cases.record import CaseRecord
from takedown.model import CaseStatus, FollowUpFacts, Recipient, RelatedCase, iso_utc
from takedown.notices.drafting import available_locales, render_notice

from .follow_up_samples import CDN, HOST, REGISTRAR, SITE, at, follow_up_with, sent_notice, sighting

LOCALES = sorted(available_locales())
MESSAGE_ID = "0100018c2f3a-first-notice"
# English sentences of the new wording a forgotten translation would leave behind.
ENGLISH = [
    "This is a follow-up to our notice",
    "We first reported this content",
    "has reported this same content",
]


def _follow_up(*, to_same_recipient: bool) -> FollowUpFacts:
    return FollowUpFacts(
        version=2,
        first_sent_at="2026-11-28T08:00:00.000000Z",
        first_message_id=MESSAGE_ID,
        still_online_at="2026-11-29T08:05:00.000000Z",
        to_same_recipient=to_same_recipient,
    )


def _record(**changes: object) -> CaseRecord:
    record, _ = CaseRecord.open(sighting(), now=at(-1))
    return replace(
        record,
        recipients=[SITE, HOST],
        report_key="evidence/c/report.html",
        report_sha256="a" * 64,
        **changes,
    )


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("same", [True, False])
def test_a_follow_up_quotes_the_first_notice_in_every_language(locale: str, same: bool) -> None:
    # GIVEN the facts of a follow-up (a reminder, or a notice to someone new)
    record = _record()
    facts = notice_facts_for(record, country="KR", centre_name="Centre", centre_email="desk@centre.example")
    facts = replace(facts, follow_up=_follow_up(to_same_recipient=same))
    # WHEN it is rendered
    draft = render_notice(facts, locale)
    # THEN both bodies quote the first notice's message id and both times, the subject marks it, and no
    # English sentence is left in another language
    for body in (draft.body_text, draft.body_html):
        assert MESSAGE_ID in body
        assert "2026-11-28 08:00 UTC" in body and "2026-11-29 08:05 UTC" in body
    first_notice = render_notice(replace(facts, follow_up=None), locale)
    assert draft.subject != first_notice.subject and MESSAGE_ID not in first_notice.body_text
    if locale != "en":
        assert not any(sentence in draft.body_text for sentence in ENGLISH)


@pytest.mark.parametrize("locale", LOCALES)
def test_a_reupload_notice_says_the_content_was_reported_before(locale: str) -> None:
    facts = notice_facts_for(
        _record(), country="KR", centre_name="Centre", centre_email="desk@centre.example"
    )
    plain = render_notice(facts, locale).body_text
    reported = render_notice(replace(facts, reported_before=True), locale).body_text
    assert len(reported) > len(plain)
    assert ("has reported this same content before" in reported) == (locale == "en")


def test_the_facts_of_a_follow_up_in_flight_come_from_the_case() -> None:
    # GIVEN a case notified to the site, still up at 71 h, with an escalation to the host requested at 72 h
    follow_up = (
        follow_up_with(sent_notice(1, [SITE]))
        .with_check(CheckRecord(iso_utc(at(71)), Verdict.PRESENT, "media:still-served"))
        .with_request(
            NoticeVersion(2, [HOST], 1, NoticeState.REQUESTED, Approval.REVIEWER, iso_utc(at(72))), now=at(72)
        )
    )
    earlier = RelatedCase("c0", "https://mirror.example/p", "t", earlier=True, notified=True)
    record = _record(status=CaseStatus.SENT, follow_up=follow_up, related_cases=[earlier])
    # WHEN the notice facts are gathered
    facts = notice_facts_for(record, country="KR", centre_name="Centre", centre_email="desk@centre.example")
    # THEN the notice goes to the host, quotes the first notice, and says the content was reported before
    assert facts.recipient == HOST
    assert facts.follow_up == FollowUpFacts(
        2, iso_utc(at(0)), "msg-1-0", iso_utc(at(71)), to_same_recipient=False
    )
    assert (facts.reupload, facts.reported_before) == (False, True)
    # AND a first notice has none of it
    first = notice_facts_for(
        _record(), country="KR", centre_name="Centre", centre_email="desk@centre.example"
    )
    assert (first.recipient, first.follow_up, first.reported_before) == (SITE, None, False)


def test_the_officer_is_told_which_case_where_and_what_went_out() -> None:
    follow_up = follow_up_with(sent_notice(1, [SITE]), sent_notice(2, [HOST], rung=1, hours=72)).with_check(
        CheckRecord(iso_utc(at(144)), Verdict.PRESENT, "media:still-served; page:shows-media")
    )
    record = _record(
        status=CaseStatus.LADDER_EXHAUSTED,
        follow_up=follow_up.with_exhausted(now=at(144), next_check_at=at(168)),
    )
    subject, text, html = render_ladder_exhausted_email(
        record, centre_name="Centre", recheck_interval_hours=24
    )
    assert record.case_id in subject and "board.example" in subject
    for body in (text, html):
        assert record.sighting.page_url in body and record.sighting.media_url in body
        assert SITE.address in body and HOST.address in body
        assert "media:still-served" in body
    assert "24" in text and "단계적 삭제 요청 종료" in text


def test_no_officer_email_for_a_case_never_notified() -> None:
    with pytest.raises(ValueError, match="no follow-up record"):
        render_ladder_exhausted_email(_record(), centre_name="Centre", recheck_interval_hours=24)


def _escalated_to(*recipients: Recipient, page_lang: str = "ko") -> CaseRecord:
    """A Korean case (recipient country KR, a Korean page) notified to the site, with a follow-up in flight."""
    follow_up = (
        follow_up_with(sent_notice(1, [SITE]))
        .with_check(CheckRecord(iso_utc(at(71)), Verdict.PRESENT, "media:still-served"))
        .with_request(
            NoticeVersion(2, list(recipients), 1, NoticeState.REQUESTED, Approval.REVIEWER, iso_utc(at(72))),
            now=at(72),
        )
    )
    record = _record(status=CaseStatus.SENT, follow_up=follow_up, recipient_country="KR")
    return replace(record, sighting=replace(record.sighting, page_lang=page_lang))


def test_an_escalation_abroad_is_written_in_the_recipients_language_under_its_law() -> None:
    # GIVEN a Korean case escalated to a registrar in Japan and, in another case, to a CDN in the United States
    to_japan = _escalated_to(replace(REGISTRAR, country="JP"))
    to_us = _escalated_to(replace(CDN, country="us"))
    # WHEN the notice's country and languages are chosen
    # THEN each cites the law where its recipient is, in its language then English; the Korean page does not
    # make Korean their language (they do not run the site)
    assert (notice_country(to_japan, "KR"), notice_locales(to_japan, "KR")) == ("JP", ["ja", "en"])
    assert (notice_country(to_us, "KR"), notice_locales(to_us, "KR")) == ("US", ["en"])
    facts = notice_facts_for(
        to_us, country=notice_country(to_us, "KR"), centre_name="Centre", centre_email="desk@centre.example"
    )
    assert (facts.jurisdiction, facts.legal_basis, facts.deadline_hours) == ("US", "us_take_it_down", 48)


def test_a_follow_up_to_recipients_at_home_or_of_unknown_country_keeps_the_case_languages() -> None:
    # GIVEN a reminder to the site (no country known) and an escalation to a Korean host
    reminder = _escalated_to(SITE)
    at_home = _escalated_to(replace(HOST, country="KR"))
    # THEN both are in the case's languages and under its law, as the first notice was
    first = _record(recipient_country="KR")
    first = replace(first, sighting=replace(first.sighting, page_lang="ko"))
    assert notice_locales(first, "KR") == ["ko", "en"] and notice_country(first, "KR") == "KR"
    for record in (reminder, at_home):
        assert (notice_country(record, "KR"), notice_locales(record, "KR")) == ("KR", ["ko", "en"])


def test_a_follow_up_to_several_recipients_is_in_each_of_their_languages() -> None:
    # GIVEN an escalation to a host in Vietnam (which runs no site) and a site operator in Japan whose page is
    # in Korean
    record = _escalated_to(replace(HOST, country="VN"), replace(SITE, country="JP"))
    # THEN the first recipient's country decides the law; the languages are each one's, English last, once
    assert notice_country(record, "KR") == "VN"
    assert notice_locales(record, "KR") == ["vi", "ko", "ja", "en"]
