"""The escalation ladder: who gets the next notice while the content stays up, and when.

Rungs, after whoever received the first notice (rung 0)::

    host  ->  site owner (site, platform, source contact, youth-protection officer)  ->  registrar  ->  CDN

like SCART's host -> site owner -> registrar. A rung with no discovered address is skipped, and so is the rung of
the first notice's recipient (it *is* rung 0); an address that hard-bounced is never used again (the next address
of the same rung, if any, takes its place, after review). Timing, with the deployment's follow-up interval *I*
(24 h by default) and ``escalate_after_intervals`` *k* (3 by default):

- while a rung is current, its recipients get a follow-up every *I* (a reminder quoting the first notice they got);
- *k* x *I* after a rung's first notice, the next rung is notified (so at 3 x I and 6 x I from the first notice
  with the defaults, as SCART does); a rung whose notice a reviewer declined, or whose addresses all bounced, is
  passed at the next check;
- when there is no rung left, the ladder is exhausted: the officer in charge is told and decides.

A follow-up to the same recipients may skip review under the deployment's ``follow_up_policy``
("auto-same-recipient"), but only when a reviewer approved a notice to each of them before; a new recipient always
goes to review. Everything here is pure: the re-check function calls :func:`next_step` and acts on the answer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from takedown.cases.follow_up import Approval, NoticeState, elapsed

if TYPE_CHECKING:
    from collections.abc import Collection
    from datetime import datetime

    from takedown.cases.follow_up import FollowUp
    from takedown.model import Recipient

# (rung name, the recipient roles that stand for it), in escalation order.
LADDER: Final[tuple[tuple[str, frozenset[str]], ...]] = (
    ("host", frozenset({"host"})),
    ("site owner", frozenset({"site", "platform", "source-contact", "youth-protection"})),
    ("registrar", frozenset({"registrar"})),
    ("cdn", frozenset({"cdn"})),
)
FOLLOW_UP_POLICIES: Final = ("review", "auto-same-recipient")


class EscalationConfigError(ValueError):
    """An escalation setting the ladder cannot work with."""


@dataclass(frozen=True)
class EscalationPolicy:
    """The deployment's follow-up settings.

    Parameters
    ----------
    follow_up_interval
        Time between notices to the same recipients.
    escalate_after_intervals
        How many follow-up intervals a rung gets before the next rung is notified.
    follow_up_policy
        ``"review"``: every follow-up is reviewed; ``"auto-same-recipient"``: a follow-up to recipients a reviewer
        approved before goes out without a new review.
    """

    follow_up_interval: timedelta = timedelta(hours=24)
    escalate_after_intervals: int = 3
    follow_up_policy: str = "review"

    def __post_init__(self) -> None:
        if self.follow_up_interval <= timedelta(0):
            raise EscalationConfigError(f"follow_up_interval must be positive, got {self.follow_up_interval}")
        if self.escalate_after_intervals < 1:
            raise EscalationConfigError(
                f"escalate_after_intervals must be at least 1, got {self.escalate_after_intervals}"
            )
        if self.follow_up_policy not in FOLLOW_UP_POLICIES:
            raise EscalationConfigError(
                f"follow_up_policy must be one of {', '.join(FOLLOW_UP_POLICIES)}, got {self.follow_up_policy!r}"
            )

    @property
    def rung_period(self) -> timedelta:
        return self.follow_up_interval * self.escalate_after_intervals


@dataclass(frozen=True)
class Rung:
    """One step of the ladder: its name and its candidate recipients, best first."""

    index: int
    name: str
    candidates: list[Recipient]


def build_ladder(first_recipients: list[Recipient], discovered: list[Recipient]) -> list[Rung]:
    """The ladder of a case: rung 0 is the first notice's recipients, then one rung per role group of
    :data:`LADDER` with a discovered e-mail address, minus the group(s) rung 0 already stands for.

    Rung 0 lists the other addresses of the first recipients' group after them: one of those is asked when the
    first bounces. The ladder depends only on the case's first notice and its discovered recipients, so it is the
    same at every check; bounced addresses are skipped when a rung is used, not removed from the ladder.

    Examples
    --------
    >>> from takedown.model import Recipient
    >>> site = Recipient("abuse@site.example", "site", "page", 0.7)
    >>> host = Recipient("abuse@host.example", "host", "RDAP", 0.6)
    >>> registrar = Recipient("abuse@registrar.example", "registrar", "RDAP", 0.4)
    >>> [(r.name, [c.address for c in r.candidates]) for r in build_ladder([site], [site, host, registrar])]
    [('first notice', ['abuse@site.example']), ('host', ['abuse@host.example']), ('registrar', ['abuse@registrar.example'])]
    """
    notified = {r.address.lower() for r in first_recipients}
    first_roles = {r.role for r in first_recipients}
    first_groups = [roles for _, roles in LADDER if roles & first_roles]

    def others(roles: frozenset[str]) -> list[Recipient]:
        return [r for r in discovered if r.role in roles and r.address and r.address.lower() not in notified]

    # Rung 0 also holds the other addresses of its own group: they stand in when the first one bounces.
    alternates = [r for roles in first_groups for r in others(roles)]
    rungs = [Rung(0, "first notice", [*first_recipients, *alternates])]
    for name, roles in LADDER:
        if roles in first_groups:
            continue
        if candidates := others(roles):
            rungs.append(Rung(len(rungs), name, candidates))
    return rungs


class StepKind(enum.StrEnum):
    WAIT = "wait"  # nothing is due yet
    FOLLOW_UP = "follow-up"  # remind the current rung's recipients
    ESCALATE = "escalate"  # notify someone new (the next rung, or the next address of a bounced rung)
    EXHAUSTED = "exhausted"  # nobody left to notify


@dataclass(frozen=True)
class NextStep:
    """What a check that found the content still up should do."""

    kind: StepKind
    reason: str
    rung: int = 0
    recipients: list[Recipient] = field(default_factory=list)
    needs_review: bool = True


def next_step(
    follow_up: FollowUp,
    ladder: list[Rung],
    policy: EscalationPolicy,
    *,
    now: datetime,
    undeliverable: Collection[str] = (),
) -> NextStep:
    """The step a still-up check takes (see the module documentation for the rules).

    Parameters
    ----------
    follow_up
        The case's follow-up record; no notice may be in flight.
    ladder
        :func:`build_ladder` of the case.
    policy
        The deployment's follow-up settings.
    now
        The time of the check.
    undeliverable
        Addresses that hard-bounced (any case), lowercase.
    """
    if follow_up.pending is not None:
        raise ValueError(f"notice version {follow_up.pending.version} is still in flight")
    bounced = {a.lower() for a in undeliverable}
    current = min(follow_up.rung, len(ladder) - 1)
    on_rung = [n for n in follow_up.notices if n.rung == current]
    sent_on_rung = [n for n in on_rung if n.state is NoticeState.SENT]
    same = [
        r for r in (sent_on_rung[-1].recipients if sent_on_rung else []) if r.address.lower() not in bounced
    ]
    started = on_rung[0].requested_at if on_rung else follow_up.first_notice.requested_at
    if not same:
        notified = {a for n in follow_up.notices for a in n.addresses}
        alternates = [
            r for r in ladder[current].candidates if r.address.lower() not in bounced | notified and r.address
        ]
        if alternates and sent_on_rung:
            return NextStep(
                StepKind.ESCALATE,
                f"every address of the {ladder[current].name} rung bounced: its next address",
                current,
                alternates[:1],
            )
        return _climb(ladder, current, bounced, "the current rung has no deliverable recipient")
    if elapsed(started, now) >= policy.rung_period:
        return _climb(
            ladder, current, bounced, f"{policy.escalate_after_intervals} follow-up intervals passed"
        )
    latest = follow_up.notices[-1]
    if elapsed(latest.requested_at, now) < policy.follow_up_interval:
        return NextStep(StepKind.WAIT, "the last notice is more recent than the follow-up interval", current)
    return NextStep(
        StepKind.FOLLOW_UP,
        "still online: a reminder to the same recipients",
        current,
        same,
        needs_review=not policy_allows(follow_up, same, policy),
    )


def _climb(ladder: list[Rung], current: int, bounced: set[str], why: str) -> NextStep:
    for rung in ladder[current + 1 :]:
        deliverable = [r for r in rung.candidates if r.address.lower() not in bounced]
        if deliverable:
            return NextStep(StepKind.ESCALATE, f"{why}: the {rung.name}", rung.index, deliverable[:1])
    return NextStep(StepKind.EXHAUSTED, f"{why}: no rung left", current)


def policy_allows(follow_up: FollowUp, recipients: list[Recipient], policy: EscalationPolicy) -> bool:
    """Whether a reminder to ``recipients`` may skip review: only under "auto-same-recipient", and only when a
    reviewer approved a notice that went to each of them (``SendNotice`` checks this again before sending)."""
    if policy.follow_up_policy != "auto-same-recipient" or not recipients:
        return False
    approved = {
        a
        for n in follow_up.notices
        if n.state is NoticeState.SENT and n.approval is Approval.REVIEWER
        for a in n.addresses
    }
    return all(r.address.lower() in approved for r in recipients)
