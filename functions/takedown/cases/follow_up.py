"""What happens to a case after its first notice: re-checks, notice versions, the escalation rung.

A notice is the beginning of a case, not its end. Once the first notice is sent the case is re-checked on a
schedule; each check is recorded here (and on the timeline). While the content stays up, follow-up notices go to
the same recipient and then up the escalation ladder (:mod:`takedown.cases.escalation`), each notice a new
*version* of the case's notice. Two consecutive checks that find the content gone close the case as removed.

The record is plain data that round-trips through JSON with the case record. The changes are pure functions that
return a new record; the handlers store it with the case (one optimistic-locked write).

Protocol of a follow-up notice (who writes what):

- the re-check function appends a :class:`NoticeVersion` in state ``requested`` and starts the execution
  ``case-<id>-v<version>`` (a failed start is retried by the next run: the case stays due an hour later);
- ``SendNotice`` marks it ``sent`` (time, message ids, who approved) and schedules the next check;
- ``CloseRejected`` / ``CloseExpired`` / ``CloseFailed`` mark it ``declined`` / ``expired`` / ``failed``, the
  case goes to ``MONITORING`` and the next check is scheduled.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Self

from takedown.model import FollowUpFacts, Recipient, iso_utc, parse_iso_utc

if TYPE_CHECKING:
    from datetime import datetime

# The record keeps the latest checks only (every check is also an event on the timeline): a case watched for a
# year must still fit in one DynamoDB item.
MAX_CHECKS_KEPT = 60
# Two consecutive "removed" checks close a case: one could be a deploy, a cache miss or a moved page.
REMOVED_CHECKS_TO_CLOSE = 2
# A notice whose execution did not start is retried this soon, and given up after this long.
START_RETRY_DELAY = timedelta(hours=1)
START_GIVE_UP_AFTER = timedelta(hours=6)


class Verdict(enum.StrEnum):
    """What one check found."""

    REMOVED = "removed"  # the page is gone, no longer shows the media, or the media is gone or changed
    PRESENT = "present"  # the media is still served and still matches the bank
    UNKNOWN = "unknown"  # we could not tell (timeout, 5xx, refused connection, unverifiable video)


class NoticeState(enum.StrEnum):
    """Where one notice version stands."""

    REQUESTED = "requested"  # decided by a check; its execution is (being) started
    SENT = "sent"
    DECLINED = "declined"  # the reviewer rejected it
    EXPIRED = "expired"  # no review decision in time
    FAILED = "failed"  # a step failed, or the execution never started


class Approval(enum.StrEnum):
    """Who let a notice version go out."""

    REVIEWER = "reviewer"  # a reviewer approved it on the review page
    POLICY = "policy"  # the deployment's follow_up_policy: a reminder to a recipient a reviewer approved


NOT_SENT_STATES = frozenset({NoticeState.DECLINED, NoticeState.EXPIRED, NoticeState.FAILED})


@dataclass(frozen=True)
class CheckRecord:
    """One re-check: when, what it found and why (a short reason code), and the HTTP statuses seen."""

    at: str
    verdict: Verdict
    reason: str
    page_status: int = 0
    media_status: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "page_status": self.page_status,
            "media_status": self.media_status,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(
            at=data["at"],
            verdict=Verdict(data["verdict"]),
            reason=data.get("reason", ""),
            page_status=int(data.get("page_status", 0)),
            media_status=int(data.get("media_status", 0)),
        )


@dataclass(frozen=True)
class NoticeVersion:
    """One notice of a case: version 1 is the first notice, every follow-up or escalation the next number.

    ``message_ids`` follow ``recipients`` (one message per recipient). ``requested_at`` is when it was decided
    (for version 1, when it was sent); the ladder's timing counts from it.
    """

    version: int
    recipients: list[Recipient]
    rung: int
    state: NoticeState
    approval: Approval
    requested_at: str
    sent_at: str = ""
    message_ids: list[str] = field(default_factory=list)
    approved_by: str = ""
    reason: str = ""  # why it was requested (follow-up, escalation) or why it was not sent

    @property
    def addresses(self) -> list[str]:
        return [r.address.lower() for r in self.recipients if r.address]

    def message_id_for(self, address: str) -> str:
        """The message id of the copy sent to ``address`` ("" when none)."""
        for recipient, message_id in zip(self.recipients, self.message_ids, strict=False):
            if recipient.address.lower() == address.lower():
                return message_id
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "recipients": [r.to_dict() for r in self.recipients],
            "rung": self.rung,
            "state": self.state.value,
            "approval": self.approval.value,
            "requested_at": self.requested_at,
            "sent_at": self.sent_at,
            "message_ids": list(self.message_ids),
            "approved_by": self.approved_by,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(
            version=int(data["version"]),
            recipients=[Recipient.from_dict(r) for r in data.get("recipients", [])],
            rung=int(data.get("rung", 0)),
            state=NoticeState(data["state"]),
            approval=Approval(data["approval"]),
            requested_at=data["requested_at"],
            sent_at=data.get("sent_at", ""),
            message_ids=list(data.get("message_ids", [])),
            approved_by=data.get("approved_by", ""),
            reason=data.get("reason", ""),
        )


@dataclass(frozen=True)
class FollowUp:
    """The monitoring of a case after its first notice.

    Attributes
    ----------
    notices
        Every notice version, oldest first (``notices[0]`` is the first notice).
    checks
        The latest :data:`MAX_CHECKS_KEPT` checks, oldest first; ``checks_total`` counts all of them.
    consecutive_removed, first_removed_at
        The current run of "removed" checks and when it began (the removal time the metrics report).
    rung
        The ladder rung of the latest notice (0: whoever received the first notice).
    next_check_at
        When the case is next due ("" while a notice is in flight: its execution schedules the next check).
    exhausted_at, officer_notified_at
        When the ladder ran out, and when the officer in charge was told.
    """

    notices: list[NoticeVersion]
    checks: list[CheckRecord] = field(default_factory=list)
    checks_total: int = 0
    consecutive_removed: int = 0
    first_removed_at: str = ""
    rung: int = 0
    next_check_at: str = ""
    exhausted_at: str = ""
    officer_notified_at: str = ""

    @classmethod
    def start(cls, first_notice: NoticeVersion, *, next_check_at: datetime) -> Self:
        """The follow-up of a case whose first notice just went out."""
        return cls(notices=[first_notice], next_check_at=iso_utc(next_check_at))

    # -- reading ------------------------------------------------------------------------------------------------
    @property
    def first_notice(self) -> NoticeVersion:
        return self.notices[0]

    @property
    def pending(self) -> NoticeVersion | None:
        """The notice version in flight (requested, not yet sent or closed), if any."""
        latest = self.notices[-1]
        return latest if latest.state is NoticeState.REQUESTED else None

    @property
    def next_version(self) -> int:
        return max(n.version for n in self.notices) + 1

    @property
    def last_check(self) -> CheckRecord | None:
        return self.checks[-1] if self.checks else None

    def notice(self, version: int) -> NoticeVersion:
        for notice in self.notices:
            if notice.version == version:
                return notice
        raise KeyError(f"no notice version {version}")

    def sent_notices(self) -> list[NoticeVersion]:
        return [n for n in self.notices if n.state is NoticeState.SENT]

    # -- changes ------------------------------------------------------------------------------------------------
    def with_check(self, check: CheckRecord) -> Self:
        """Record a check: a removed check extends the run, anything else ends it."""
        removed = check.verdict is Verdict.REMOVED
        return replace(
            self,
            checks=[*self.checks, check][-MAX_CHECKS_KEPT:],
            checks_total=self.checks_total + 1,
            consecutive_removed=self.consecutive_removed + 1 if removed else 0,
            first_removed_at=(self.first_removed_at or check.at) if removed else "",
        )

    @property
    def removal_confirmed(self) -> bool:
        return self.consecutive_removed >= REMOVED_CHECKS_TO_CLOSE

    def scheduled(self, next_check_at: datetime | None) -> Self:
        """Set (or, with None, clear) the next check."""
        return replace(self, next_check_at=iso_utc(next_check_at) if next_check_at else "")

    def with_request(self, notice: NoticeVersion, *, now: datetime) -> Self:
        """A check decided to send ``notice``: it is in flight, and the case comes due again soon in case its
        execution does not start (the next run starts it again; the name makes that idempotent)."""
        if self.pending is not None:
            raise ValueError(f"notice version {self.pending.version} is still in flight")
        if notice.version != self.next_version or notice.state is not NoticeState.REQUESTED:
            raise ValueError(f"expected a requested notice version {self.next_version}, got {notice.version}")
        return replace(
            self,
            notices=[*self.notices, notice],
            rung=notice.rung,
            next_check_at=iso_utc(now + START_RETRY_DELAY),
        )

    def with_sent(
        self,
        version: int,
        *,
        sent_at: datetime,
        message_ids: list[str],
        approved_by: str,
        next_check_at: datetime,
    ) -> Self:
        """Notice ``version`` went out."""
        notice = replace(
            self.notice(version),
            state=NoticeState.SENT,
            sent_at=iso_utc(sent_at),
            message_ids=list(message_ids),
            approved_by=approved_by,
        )
        return replace(self, notices=self._replaced(notice), next_check_at=iso_utc(next_check_at))

    def with_not_sent(
        self, version: int, state: NoticeState, reason: str, *, next_check_at: datetime
    ) -> Self:
        """Notice ``version`` ended without being sent (``state`` is declined, expired or failed)."""
        if state not in NOT_SENT_STATES:
            raise ValueError(f"{state.value} is not a state of a notice that was not sent")
        notice = replace(self.notice(version), state=state, reason=reason)
        return replace(self, notices=self._replaced(notice), next_check_at=iso_utc(next_check_at))

    def with_exhausted(self, *, now: datetime, next_check_at: datetime) -> Self:
        return replace(self, exhausted_at=iso_utc(now), next_check_at=iso_utc(next_check_at))

    def with_officer_notified(self, *, now: datetime) -> Self:
        return replace(self, officer_notified_at=iso_utc(now))

    def _replaced(self, notice: NoticeVersion) -> list[NoticeVersion]:
        return [notice if n.version == notice.version else n for n in self.notices]

    # -- JSON ---------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "notices": [n.to_dict() for n in self.notices],
            "checks": [c.to_dict() for c in self.checks],
            "checks_total": self.checks_total,
            "consecutive_removed": self.consecutive_removed,
            "first_removed_at": self.first_removed_at,
            "rung": self.rung,
            "next_check_at": self.next_check_at,
            "exhausted_at": self.exhausted_at,
            "officer_notified_at": self.officer_notified_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        notices = [NoticeVersion.from_dict(n) for n in data.get("notices", [])]
        if not notices:
            raise ValueError("a follow-up record without its first notice")
        return cls(
            notices=notices,
            checks=[CheckRecord.from_dict(c) for c in data.get("checks", [])],
            checks_total=int(data.get("checks_total", 0)),
            consecutive_removed=int(data.get("consecutive_removed", 0)),
            first_removed_at=data.get("first_removed_at", ""),
            rung=int(data.get("rung", 0)),
            next_check_at=data.get("next_check_at", ""),
            exhausted_at=data.get("exhausted_at", ""),
            officer_notified_at=data.get("officer_notified_at", ""),
        )


def follow_up_facts(follow_up: FollowUp, notice: NoticeVersion) -> FollowUpFacts:
    """What follow-up notice ``notice`` says about the earlier ones.

    A reminder to someone already written to quotes the first notice *they* received; a notice to someone new
    quotes the case's first notice. "Still online at" is the last check that found the content up.
    """
    earlier = [n for n in follow_up.sent_notices() if n.version < notice.version]
    own = next((n for n in earlier if set(n.addresses) & set(notice.addresses)), None)
    quoted = own or follow_up.first_notice
    address = next(
        (a for a in quoted.addresses if a in notice.addresses),
        quoted.addresses[0] if quoted.addresses else "",
    )
    seen = [c.at for c in follow_up.checks if c.verdict is Verdict.PRESENT]
    return FollowUpFacts(
        version=notice.version,
        first_sent_at=quoted.sent_at or quoted.requested_at,
        first_message_id=quoted.message_id_for(address) if address else "",
        still_online_at=seen[-1] if seen else notice.requested_at,
        to_same_recipient=own is not None,
    )


def elapsed(since: str, now: datetime) -> timedelta:
    """Time from an ISO time written in a record to ``now``."""
    return now - parse_iso_utc(since)
