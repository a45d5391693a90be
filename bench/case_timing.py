"""Where a case's time goes, from its Step Functions execution history, and percentiles of many cases.

A case's path to the reviewer's email is cut into segments that add up to the whole:

- ``HashMedia``: from the media object's creation to the execution's start (the S3 event, the hashing
  function: download, decode, fingerprint, match, case opened, execution started);
- each top-level state of the workflow, from its ``...StateEntered`` to its ``...StateExited`` event
  (states inside a Map count as the Map's time); ``RequestApproval``, which waits for the reviewer, until
  its ``TaskSubmitted`` event, when the function that emailed the reviewer returned;
- ``(transitions)``: the rest of the execution's time, spent between states by the interpreter.

The history's times have millisecond resolution.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

HASHING_SEGMENT: Final = "HashMedia"
TRANSITIONS_SEGMENT: Final = "(transitions)"
WAITING_STATE: Final = "RequestApproval"


class TimingError(ValueError):
    """A history or a sample cannot be read. ``reason``: ``history:not-started``, ``sample:empty``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def _seconds(moment: Any) -> float:
    if isinstance(moment, datetime):
        return moment.timestamp()
    return float(moment)


def segments_from_history(events: Sequence[dict[str, Any]], created_at: float) -> dict[str, float]:
    """Seconds per segment (see the module docstring) of one execution, until the reviewer was emailed.

    ``events`` are ``GetExecutionHistory`` events in order; ``created_at`` is the media object's creation
    (epoch seconds).

    Examples
    --------
    >>> events = [
    ...     {"type": "ExecutionStarted", "timestamp": 10.5},
    ...     {"type": "TaskStateEntered", "timestamp": 10.6, "stateEnteredEventDetails": {"name": "Score"}},
    ...     {"type": "TaskStateExited", "timestamp": 10.9, "stateExitedEventDetails": {"name": "Score"}},
    ...     {"type": "TaskStateEntered", "timestamp": 11.0,
    ...      "stateEnteredEventDetails": {"name": "RequestApproval"}},
    ...     {"type": "TaskSubmitted", "timestamp": 11.5},
    ... ]
    >>> {name: round(s, 3) for name, s in segments_from_history(events, 10.0).items()}
    {'HashMedia': 0.5, 'Score': 0.3, 'RequestApproval': 0.5, '(transitions)': 0.2}
    """
    started = next((_seconds(e["timestamp"]) for e in events if e["type"] == "ExecutionStarted"), None)
    if started is None:
        raise TimingError("history:not-started", "the history has no ExecutionStarted event")
    segments: dict[str, float] = {HASHING_SEGMENT: started - created_at}
    entered: dict[str, float] = {}
    map_depth = 0
    end = started
    for event in events:
        kind, moment = event["type"], _seconds(event["timestamp"])
        end = max(end, moment)
        if kind.endswith("StateEntered"):
            if map_depth == 0:
                entered[event["stateEnteredEventDetails"]["name"]] = moment
            map_depth += kind == "MapStateEntered"
        elif kind.endswith("StateExited"):
            map_depth -= kind == "MapStateExited"
            name = event["stateExitedEventDetails"]["name"]
            if map_depth == 0 and name in entered:
                segments[name] = segments.get(name, 0.0) + moment - entered.pop(name)
        elif kind == "TaskSubmitted" and map_depth == 0 and WAITING_STATE in entered:
            segments[WAITING_STATE] = moment - entered.pop(WAITING_STATE)
            break  # from here the execution waits for the reviewer
    in_states = sum(seconds for name, seconds in segments.items() if name != HASHING_SEGMENT)
    segments[TRANSITIONS_SEGMENT] = max(0.0, (end - started) - in_states)
    return segments


def add_segments(totals: dict[str, float], segments: dict[str, float]) -> None:
    """Add one case's segments into running totals."""
    for name, seconds in segments.items():
        totals[name] = totals.get(name, 0.0) + seconds


def shares(totals: dict[str, float]) -> dict[str, float]:
    """Each segment's share of the total time (0..1), largest first.

    >>> shares({"a": 1.0, "b": 3.0})
    {'b': 0.75, 'a': 0.25}
    """
    whole = sum(totals.values())
    if whole <= 0:
        return {}
    return {name: seconds / whole for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1])}


def percentile(values: Iterable[float], fraction: float) -> float:
    """The ``fraction`` (0..1) percentile by linear interpolation between closest ranks.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([5.0], 0.95)
    (2.5, 5.0)
    """
    ordered = sorted(values)
    if not ordered:
        raise TimingError("sample:empty", "no values to take a percentile of")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be 0..1, got {fraction}")
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
