"""The escalation ladder: which rungs a case has, and what a still-up check does at each point in time."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from takedown.cases.escalation import (
    EscalationConfigError,
    EscalationPolicy,
    StepKind,
    build_ladder,
    next_step,
    policy_allows,
)
from takedown.cases.follow_up import Approval, NoticeState, NoticeVersion
from takedown.model import iso_utc

from .follow_up_samples import (
    CDN,
    HOST,
    REGISTRAR,
    SITE,
    SITE_FORM_DESK,
    SOURCE_CONTACT,
    at,
    follow_up_with,
    sent_notice,
)

REVIEW = EscalationPolicy()
AUTO = EscalationPolicy(follow_up_policy="auto-same-recipient")
EVERYONE = [SOURCE_CONTACT, SITE, SITE_FORM_DESK, HOST, CDN, REGISTRAR]


def _names(ladder: list) -> list[tuple[str, list[str]]]:
    return [(rung.name, [r.address for r in rung.candidates]) for rung in ladder]


def test_the_ladder_climbs_host_site_registrar_cdn_after_the_first_recipient() -> None:
    # GIVEN a first notice to the site's mailto address and every kind of recipient discovered
    ladder = build_ladder([SITE], EVERYONE)
    # THEN rung 0 is the site (its other addresses stand in), and no site-owner rung follows
    assert _names(ladder) == [
        ("first notice", [SITE.address, SOURCE_CONTACT.address, SITE_FORM_DESK.address]),
        ("host", [HOST.address]),
        ("registrar", [REGISTRAR.address]),
        ("cdn", [CDN.address]),
    ]


def test_a_first_notice_to_the_host_puts_the_site_owner_next_and_missing_rungs_are_skipped() -> None:
    # GIVEN a first notice to the host and no registrar or CDN found
    ladder = build_ladder([HOST], [HOST, SOURCE_CONTACT, SITE])
    # THEN the site owner's addresses form the next rung, in the order found, and nothing else follows
    assert _names(ladder) == [
        ("first notice", [HOST.address]),
        ("site owner", [SOURCE_CONTACT.address, SITE.address]),
    ]


def test_form_only_recipients_are_not_rungs() -> None:
    form_only = replace(CDN, address="", contact_form_url="https://abuse.cdn.example.com/")
    assert _names(build_ladder([SITE], [SITE, form_only])) == [("first notice", [SITE.address])]


@pytest.mark.parametrize(
    ("hours_since_first", "expected"),
    [(12, StepKind.WAIT), (24, StepKind.FOLLOW_UP), (48, StepKind.FOLLOW_UP), (72, StepKind.ESCALATE)],
)
def test_reminders_every_interval_then_the_next_rung_at_three_intervals(
    hours_since_first: float, expected: StepKind
) -> None:
    # GIVEN a first notice to the site at T0, and a reminder a day later when the check is two days in
    notices = [sent_notice(1, [SITE])]
    if hours_since_first >= 48:
        notices.append(sent_notice(2, [SITE], hours=24))
    ladder = build_ladder([SITE], EVERYONE)
    # WHEN a check finds the content still up
    step = next_step(follow_up_with(*notices), ladder, REVIEW, now=at(hours_since_first))
    # THEN it waits, reminds the same recipient, or escalates to the host at 3 x 24 h
    assert step.kind is expected
    if expected is StepKind.FOLLOW_UP:
        assert step.recipients == [SITE] and step.rung == 0
    if expected is StepKind.ESCALATE:
        assert step.recipients == [HOST] and step.rung == 1 and step.needs_review


def test_each_rung_gets_its_own_period_counted_from_its_first_notice() -> None:
    # GIVEN the host was notified late (at 80 h, after a slow review)
    follow_up = follow_up_with(sent_notice(1, [SITE]), sent_notice(2, [HOST], rung=1, hours=80))
    ladder = build_ladder([SITE], EVERYONE)
    # THEN the registrar is not due 3 intervals after the first notice, but 3 intervals after the host's
    assert next_step(follow_up, ladder, REVIEW, now=at(144)).kind is StepKind.FOLLOW_UP
    step = next_step(follow_up, ladder, REVIEW, now=at(152))
    assert (step.kind, step.recipients) == (StepKind.ESCALATE, [REGISTRAR])


def test_a_reminder_skips_review_only_under_the_policy_and_only_to_reviewed_addresses() -> None:
    ladder = build_ladder([SITE], EVERYONE)
    reviewed = follow_up_with(sent_notice(1, [SITE]))
    # THEN under "review" every reminder is reviewed; under "auto-same-recipient" it is not
    assert next_step(reviewed, ladder, REVIEW, now=at(25)).needs_review
    assert not next_step(reviewed, ladder, AUTO, now=at(25)).needs_review
    # AND a recipient that only ever got policy-approved notices is not "approved by a reviewer"
    unreviewed = follow_up_with(sent_notice(1, [SITE], approval=Approval.POLICY))
    assert next_step(unreviewed, ladder, AUTO, now=at(25)).needs_review
    assert not policy_allows(reviewed, [HOST], AUTO)
    assert not policy_allows(reviewed, [], AUTO)


def test_a_bounced_first_recipient_moves_to_the_next_address_of_its_rung_then_up() -> None:
    # GIVEN the first notice went to the source contact, which hard-bounced
    ladder = build_ladder([SOURCE_CONTACT], EVERYONE)
    follow_up = follow_up_with(sent_notice(1, [SOURCE_CONTACT]))
    # WHEN the content is still up THEN the rung's next address is asked (a new recipient: reviewed)
    step = next_step(follow_up, ladder, REVIEW, now=at(2), undeliverable={SOURCE_CONTACT.address})
    assert (step.kind, step.rung, step.recipients, step.needs_review) == (StepKind.ESCALATE, 0, [SITE], True)
    # WHEN every address of the rung bounced THEN the ladder climbs at once, skipping a bounced host
    every_site_address = {SOURCE_CONTACT.address, SITE.address, SITE_FORM_DESK.address, HOST.address}
    followed = follow_up_with(sent_notice(1, [SOURCE_CONTACT]), sent_notice(2, [SITE], hours=2))
    step = next_step(followed, ladder, REVIEW, now=at(3), undeliverable=every_site_address)
    assert (step.kind, step.recipients) == (StepKind.ESCALATE, [REGISTRAR])


def test_a_declined_escalation_passes_its_rung_at_the_next_check() -> None:
    # GIVEN the reviewer declined the notice to the host
    declined = NoticeVersion(
        version=2,
        recipients=[HOST],
        rung=1,
        state=NoticeState.DECLINED,
        approval=Approval.REVIEWER,
        requested_at=iso_utc(at(72)),
    )
    follow_up = follow_up_with(sent_notice(1, [SITE]), declined)
    # THEN the next check asks the registrar
    step = next_step(follow_up, build_ladder([SITE], EVERYONE), REVIEW, now=at(96))
    assert (step.kind, step.rung, step.recipients) == (StepKind.ESCALATE, 2, [REGISTRAR])


def test_a_declined_reminder_waits_a_full_interval_before_asking_again() -> None:
    declined = NoticeVersion(2, [SITE], 0, NoticeState.DECLINED, Approval.REVIEWER, iso_utc(at(24)))
    follow_up = follow_up_with(sent_notice(1, [SITE]), declined)
    ladder = build_ladder([SITE], EVERYONE)
    assert next_step(follow_up, ladder, REVIEW, now=at(40)).kind is StepKind.WAIT
    assert next_step(follow_up, ladder, REVIEW, now=at(48)).kind is StepKind.FOLLOW_UP


def test_the_ladder_is_exhausted_when_no_rung_is_left() -> None:
    # GIVEN a case whose only discovered address got the first notice
    ladder = build_ladder([SITE], [SITE])
    # THEN after the rung's period the ladder is exhausted
    assert (
        next_step(follow_up_with(sent_notice(1, [SITE])), ladder, REVIEW, now=at(72)).kind
        is StepKind.EXHAUSTED
    )
    # AND so it is at the top of a full ladder
    full = build_ladder([SITE], EVERYONE)
    top = follow_up_with(sent_notice(1, [SITE]), sent_notice(2, [CDN], rung=3, hours=216))
    assert next_step(top, full, REVIEW, now=at(288)).kind is StepKind.EXHAUSTED


def test_a_step_is_refused_while_a_notice_is_in_flight() -> None:
    requested = NoticeVersion(2, [SITE], 0, NoticeState.REQUESTED, Approval.REVIEWER, iso_utc(at(24)))
    with pytest.raises(ValueError, match="still in flight"):
        next_step(
            follow_up_with(sent_notice(1, [SITE]), requested), build_ladder([SITE], []), REVIEW, now=at(48)
        )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"follow_up_interval": timedelta(0)}, "follow_up_interval must be positive"),
        ({"escalate_after_intervals": 0}, "escalate_after_intervals must be at least 1"),
        ({"follow_up_policy": "auto"}, "follow_up_policy must be one of"),
    ],
)
def test_unusable_escalation_settings_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(EscalationConfigError, match=message):
        EscalationPolicy(**settings)
