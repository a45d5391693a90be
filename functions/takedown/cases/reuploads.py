"""Re-uploads: the same registered original found again on another page (or again on the same page, as other bytes).

Every original the centre registers is a *group* in the bank (its crops, rotations and frames share the
``group_id``). Scoring files each matched case under its groups; a case that shares a group with an earlier case
is linked to it both ways, so the reviewer sees the history, and its notice says the content was reported (or even
removed) before. The link says nothing about the person depicted: only case ids, page URLs and what the earlier
case had reached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from takedown.model import CaseStatus, RelatedCase, iso_utc

if TYPE_CHECKING:
    from datetime import datetime

    from takedown.cases.record import CaseRecord
    from takedown.model import MatchEvidence

# Enough for the reviewer to see the history; a bounded record for an original that spreads widely.
MAX_RELATED_CASES = 50


def group_keys(matches: list[MatchEvidence]) -> list[str]:
    """The bank groups a case's matches hit: the registered original's group, or the item for a plain item."""
    return sorted({m.group_id or m.bank_item_id for m in matches if m.group_id or m.bank_item_id})


def describe(other: CaseRecord, *, relative_to: CaseRecord, now: datetime) -> RelatedCase:
    """``other`` as a related case of ``relative_to``."""
    return RelatedCase(
        case_id=other.case_id,
        page_url=other.sighting.page_url,
        linked_at=iso_utc(now),
        earlier=(other.created_at, other.case_id) < (relative_to.created_at, relative_to.case_id),
        notified=CaseStatus.SENT.value in other.milestones,
        removed=CaseStatus.REMOVED.value in other.milestones,
    )


def with_related(current: list[RelatedCase], added: list[RelatedCase]) -> list[RelatedCase]:
    """``current`` plus ``added``, one entry per case (a newer description replaces the older), bounded."""
    by_case = {r.case_id: r for r in current}
    for related in added:
        by_case[related.case_id] = related
    return list(by_case.values())[-MAX_RELATED_CASES:]


def reupload_flags(related: list[RelatedCase]) -> tuple[bool, bool]:
    """(removed before, reported before): what the notice of a case says about earlier cases of its content."""
    earlier = [r for r in related if r.earlier]
    removed = any(r.removed for r in earlier)
    return removed, not removed and any(r.notified for r in earlier)
