"""When a pending review gets its one reminder, and when a pending entry is stale.

A reminder goes out once, when the approval deadline is within the configured window (e.g. 12 hours). A pending
entry whose case is no longer waiting for review (the approval timed out and the case closed as EXPIRED, or it
closed some other way) or whose deadline has passed is stale: it leaves the pending index instead of reminding.
"""

from __future__ import annotations

import enum

__all__ = ["PendingState", "classify_pending"]


class PendingState(enum.StrEnum):
    """What to do with one pending review at a given time."""

    REMIND = "remind"  # within the window, not reminded yet
    REMINDED = "reminded"  # within the window, reminded already
    NOT_YET = "not-yet"  # its deadline is further away than the window
    STALE = "stale"  # its case no longer waits, or its deadline has passed


def classify_pending(
    *, due_at: int, reminded_at: str, now: int, window_hours: int, case_waiting: bool
) -> PendingState:
    """Classify a pending review (times in Unix seconds).

    >>> classify_pending(due_at=10_000, reminded_at="", now=9_000, window_hours=1, case_waiting=True)
    <PendingState.REMIND: 'remind'>
    >>> classify_pending(due_at=10_000, reminded_at="", now=1_000, window_hours=1, case_waiting=True)
    <PendingState.NOT_YET: 'not-yet'>
    """
    if window_hours < 1:
        raise ValueError(f"the reminder window must be at least one hour, got {window_hours}")
    if not case_waiting or due_at <= now:
        return PendingState.STALE
    if due_at > now + window_hours * 3600:
        return PendingState.NOT_YET
    return PendingState.REMINDED if reminded_at else PendingState.REMIND
