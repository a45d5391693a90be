"""The case record: one media file seen on one page, and everything that happened to it since.

A case is identified by the pair (media SHA-256, page URL), so the same sighting reported twice (a duplicated S3
event, a re-crawl) collapses into one case and one Step Functions execution. Transitions are pure functions that
return the new record and the audit event to append; the data-access layer stores both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Self

from takedown.cases.follow_up import Approval, FollowUp
from takedown.model import (
    CaseEvent,
    CaseStatus,
    MatchEvidence,
    Recipient,
    RelatedCase,
    ReviewDecision,
    Sighting,
    iso_utc,
    utc_now,
)

if TYPE_CHECKING:
    from datetime import datetime

# Which status may follow which. Anything else is a bug or a replayed step, and is refused.
_ALLOWED: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.SIGHTED: frozenset({CaseStatus.MATCHED, CaseStatus.NO_MATCH}),
    CaseStatus.MATCHED: frozenset({CaseStatus.RECIPIENTS_RESOLVED}),
    CaseStatus.RECIPIENTS_RESOLVED: frozenset({CaseStatus.REPORT_BUILT}),
    CaseStatus.REPORT_BUILT: frozenset({CaseStatus.DRAFTED}),
    # DRAFTED -> APPROVED and -> MONITORING only for follow-up notices (see _follow_up_guard).
    CaseStatus.DRAFTED: frozenset({CaseStatus.AWAITING_REVIEW, CaseStatus.APPROVED, CaseStatus.MONITORING}),
    CaseStatus.AWAITING_REVIEW: frozenset(
        {CaseStatus.APPROVED, CaseStatus.REJECTED, CaseStatus.EXPIRED, CaseStatus.MONITORING}
    ),
    CaseStatus.APPROVED: frozenset({CaseStatus.SENT, CaseStatus.SEND_FAILED, CaseStatus.MONITORING}),
    CaseStatus.SEND_FAILED: frozenset({CaseStatus.SENT}),
    # After a notice: a follow-up is drafted, or the content is gone, or every rung was tried.
    # SENT -> MONITORING: a requested follow-up whose execution never started is given up.
    CaseStatus.SENT: frozenset(
        {CaseStatus.DRAFTED, CaseStatus.REMOVED, CaseStatus.LADDER_EXHAUSTED, CaseStatus.MONITORING}
    ),
    CaseStatus.MONITORING: frozenset({CaseStatus.DRAFTED, CaseStatus.REMOVED, CaseStatus.LADDER_EXHAUSTED}),
    CaseStatus.LADDER_EXHAUSTED: frozenset({CaseStatus.REMOVED}),
    # A follow-up that expired goes back to monitoring (a rejected one goes straight from AWAITING_REVIEW: the
    # review step leaves it there; REJECTED -> MONITORING remains for follow-ups rejected before that).
    CaseStatus.REJECTED: frozenset({CaseStatus.MONITORING}),
    CaseStatus.EXPIRED: frozenset({CaseStatus.MONITORING}),
}
# No workflow execution runs for a case in these statuses: it is closed, or it waits for its next re-check.
FINAL_STATUSES = frozenset(
    {
        CaseStatus.NO_MATCH,
        CaseStatus.REJECTED,
        CaseStatus.EXPIRED,
        CaseStatus.SENT,
        CaseStatus.SEND_FAILED,
        CaseStatus.FAILED,
        CaseStatus.MONITORING,
        CaseStatus.REMOVED,
        CaseStatus.LADDER_EXHAUSTED,
    }
)
# Re-checked on a schedule: a notice went out and the content was not yet confirmed gone. A case whose ladder is
# exhausted is still re-checked, so that its removal (whatever the officer does next) is seen and measured.
MONITORED_STATUSES = frozenset({CaseStatus.SENT, CaseStatus.MONITORING, CaseStatus.LADDER_EXHAUSTED})
# Nothing more happens to these.
CLOSED_STATUSES = FINAL_STATUSES - MONITORED_STATUSES


class CaseTransitionError(ValueError):
    """A step tried to move a case along a path the workflow does not have."""


def case_id_for(media_sha256: str, page_url: str) -> str:
    """The stable id of the case for one media file on one page.

    >>> case_id_for("ab" * 32, "https://example.org/p/1")[:8]
    'd38eb81c'
    """
    digest = hashlib.sha256(f"{media_sha256.lower()}\n{page_url}".encode()).hexdigest()
    return digest[:32]


def execution_name_for(case_id: str, notice_version: int = 1) -> str:
    """The Step Functions execution name of a case's notice: derived, so a duplicate start collapses.

    >>> execution_name_for("c0ffee"), execution_name_for("c0ffee", 3)
    ('case-c0ffee', 'case-c0ffee-v3')
    """
    return f"case-{case_id}" if notice_version == 1 else f"case-{case_id}-v{notice_version}"


@dataclass(frozen=True)
class CaseRecord:
    """The current state of a case. The audit trail is kept as separate :class:`CaseEvent` items."""

    case_id: str
    status: CaseStatus
    created_at: str
    updated_at: str
    sighting: Sighting
    matches: list[MatchEvidence] = field(default_factory=list)
    recipients: list[Recipient] = field(default_factory=list)
    recipient_country: str = ""  # where the recipient is (platform registry, hosting network), "" if unknown
    locales: list[str] = field(default_factory=list)
    report_key: str = ""
    report_sha256: str = ""
    review_id: str = ""
    decision: ReviewDecision | None = None
    sent_message_ids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # When the case first reached each status (status value -> ISO 8601 UTC): the intervals the metrics and
    # ``takedown report`` measure (first sighting -> drafted -> approved -> sent -> removed).
    milestones: dict[str, str] = field(default_factory=dict)
    # After the first notice: checks, notice versions, the escalation rung (None until the first notice is sent).
    follow_up: FollowUp | None = None
    # Other cases of the same registered original (re-uploads), linked both ways at scoring.
    related_cases: list[RelatedCase] = field(default_factory=list)
    version: int = 0

    @classmethod
    def open(cls, sighting: Sighting, *, now: datetime | None = None) -> tuple[Self, CaseEvent]:
        """Open a case for a new sighting."""
        at = iso_utc(now or utc_now())
        record = cls(
            case_id=case_id_for(sighting.sha256, sighting.page_url),
            status=CaseStatus.SIGHTED,
            created_at=at,
            updated_at=at,
            sighting=sighting,
            milestones={CaseStatus.SIGHTED.value: at},
        )
        event = CaseEvent(
            at=at,
            stage="sighted",
            status=CaseStatus.SIGHTED.value,
            detail={
                "page_url": sighting.page_url,
                "media_url": sighting.media_url,
                "fetched_at": sighting.fetched_at,
            },
        )
        return record, event

    def advance(
        self,
        status: CaseStatus,
        stage: str,
        *,
        now: datetime | None = None,
        detail: dict[str, Any] | None = None,
        **changes: Any,
    ) -> tuple[Self, CaseEvent]:
        """Move to ``status``, applying ``changes``; refuse transitions the workflow does not have."""
        allowed = _ALLOWED.get(self.status, frozenset())
        failing = status is CaseStatus.FAILED and not self.is_final
        if status != self.status and status not in allowed and not failing:
            raise CaseTransitionError(
                f"case {self.case_id}: {self.status.value} -> {status.value} is not allowed"
            )
        self._follow_up_guard(status)
        at = iso_utc(now or utc_now())
        milestones = changes.pop("milestones", self.milestones)
        milestones = {**milestones, status.value: milestones.get(status.value, at)}
        updated = replace(
            self, status=status, updated_at=at, version=self.version + 1, milestones=milestones, **changes
        )
        return updated, CaseEvent(at=at, stage=stage, status=status.value, detail=detail or {})

    def _follow_up_guard(self, status: CaseStatus) -> None:
        """Transitions that exist only for a follow-up notice in flight: approval by the deployment's policy
        (DRAFTED -> APPROVED), and the return to monitoring of a follow-up that was not sent."""
        pending = self.follow_up.pending if self.follow_up else None
        policy_approval = self.status is CaseStatus.DRAFTED and status is CaseStatus.APPROVED
        if policy_approval and (pending is None or pending.approval is not Approval.POLICY):
            raise CaseTransitionError(
                f"case {self.case_id}: only a follow-up under the deployment's policy skips the review"
            )
        if status is CaseStatus.MONITORING and self.status is not CaseStatus.MONITORING and pending is None:
            raise CaseTransitionError(f"case {self.case_id}: no follow-up notice in flight to return from")
        if self.status in MONITORED_STATUSES and status is CaseStatus.DRAFTED and pending is None:
            raise CaseTransitionError(f"case {self.case_id}: no follow-up notice was requested")

    @property
    def is_final(self) -> bool:
        """No workflow execution runs for the case (it is closed, or waits for its next re-check)."""
        return self.status in FINAL_STATUSES

    @property
    def is_monitored(self) -> bool:
        return self.status in MONITORED_STATUSES and self.follow_up is not None

    @property
    def recheck_due_at(self) -> str:
        """When the case is next due for a re-check (ISO UTC), or "" when it is not re-checked now."""
        if not self.is_monitored or self.follow_up is None:
            return ""
        return self.follow_up.next_check_at

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "status": self.status.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "sighting": self.sighting.to_dict(),
            "matches": [m.to_dict() for m in self.matches],
            "recipients": [r.to_dict() for r in self.recipients],
            "recipient_country": self.recipient_country,
            "locales": list(self.locales),
            "report_key": self.report_key,
            "report_sha256": self.report_sha256,
            "review_id": self.review_id,
            "decision": self.decision.to_dict() if self.decision else None,
            "sent_message_ids": list(self.sent_message_ids),
            "notes": list(self.notes),
            "milestones": dict(self.milestones),
            "follow_up": self.follow_up.to_dict() if self.follow_up else None,
            "related_cases": [r.to_dict() for r in self.related_cases],
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(
            case_id=data["case_id"],
            status=CaseStatus(data["status"]),
            created_at=data["created_at"],
            updated_at=data["updated_at"],
            sighting=Sighting.from_dict(data["sighting"]),
            matches=[MatchEvidence.from_dict(m) for m in data.get("matches", [])],
            recipients=[Recipient.from_dict(r) for r in data.get("recipients", [])],
            recipient_country=data.get("recipient_country", ""),
            locales=list(data.get("locales", [])),
            report_key=data.get("report_key", ""),
            report_sha256=data.get("report_sha256", ""),
            review_id=data.get("review_id", ""),
            decision=ReviewDecision.from_dict(data["decision"]) if data.get("decision") else None,
            sent_message_ids=list(data.get("sent_message_ids", [])),
            notes=list(data.get("notes", [])),
            milestones=dict(data.get("milestones", {})),
            follow_up=FollowUp.from_dict(data["follow_up"]) if data.get("follow_up") else None,
            related_cases=[RelatedCase.from_dict(r) for r in data.get("related_cases", [])],
            version=int(data.get("version", 0)),
        )
