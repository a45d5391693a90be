"""Every saved case transition publishes its counts and intervals as CloudWatch EMF, from CaseStore.save."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from takedown.aws.case_store import CaseStore
from takedown.cases.record import CaseRecord
from takedown.model import CaseStatus, ReviewDecision, iso_utc

from .conftest import HOST, SITE, at, sighting

if TYPE_CHECKING:
    from datetime import datetime

    from takedown.model import CaseEvent, Recipient

EXPECTED_DIMENSION_SETS = [["service"], ["service", "RecipientDomain"], ["service", "Country"]]


def _emf_documents(output: str) -> list[dict[str, Any]]:
    documents = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def _metrics_of(document: dict[str, Any]) -> dict[str, tuple[str, float]]:
    """Metric name -> (unit, value) of one EMF document (each of ours carries one value per metric)."""
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    return {m["Name"]: (m["Unit"], document[m["Name"]][0]) for m in directive["Metrics"]}


def _drive_to_sent(store: CaseStore, recipient: Recipient, *, server_country: str = "KR") -> str:
    """Open a case 1 minute after the first sighting and move it through the workflow at known times."""
    record, event = CaseRecord.open(sighting(server_country=server_country), now=at(1))
    assert store.create(record, event)
    case_id = record.case_id

    def step(status: CaseStatus, minutes: float, **changes: Any) -> None:
        def change(current: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
            return current.advance(status, status.value.lower(), now=at(minutes), **changes)

        store.update(case_id, change)

    step(CaseStatus.MATCHED, 2)
    step(CaseStatus.RECIPIENTS_RESOLVED, 3, recipients=[recipient])
    step(CaseStatus.REPORT_BUILT, 4)
    step(CaseStatus.DRAFTED, 5)
    step(CaseStatus.AWAITING_REVIEW, 6)
    decision = ReviewDecision("APPROVED", "reviewer@centre.example", iso_utc(at(125)))
    step(CaseStatus.APPROVED, 125, decision=decision)
    step(CaseStatus.SENT, 125.5)
    return case_id


@pytest.mark.usefixtures("metrics_enabled")
def test_a_driven_case_publishes_counts_and_intervals_with_their_dimensions(
    cases_table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a case sighted at 07:00, drafted at 07:05, approved at 09:05 and sent at 09:05:30, to a hosting
    # provider's abuse desk, on a server in Korea
    store = CaseStore(cases_table)
    case_id = _drive_to_sent(store, HOST)

    # WHEN the EMF documents written by the saves are read back
    documents = _emf_documents(capsys.readouterr().out)

    # THEN there is one per status that has metrics, in order, with hand-computed values and units
    assert [d["status"] for d in documents] == ["MATCHED", "DRAFTED", "APPROVED", "SENT"]
    assert [_metrics_of(d) for d in documents] == [
        {"CasesMatched": ("Count", 1.0)},
        {"CasesDrafted": ("Count", 1.0), "TimeSightingToDrafted": ("Seconds", 300.0)},
        {"CasesApproved": ("Count", 1.0), "TimeDraftedToApproved": ("Seconds", 7200.0)},
        {"CasesNotified": ("Count", 1.0), "TimeApprovedToSent": ("Seconds", 30.0)},
    ]
    # AND each is published in namespace Takedown under the total, per-recipient and per-country sets
    for document in documents:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Takedown"
        assert directive["Dimensions"] == EXPECTED_DIMENSION_SETS
        assert document["case_id"] == case_id
        assert (document["service"], document["Country"]) == ("takedown", "KR")
    # AND the recipient is the provider's registered domain once it is known (Score ran before resolution)
    assert [d["RecipientDomain"] for d in documents] == ["unknown", "hoster.com", "hoster.com", "hoster.com"]


@pytest.mark.usefixtures("metrics_enabled")
def test_site_operators_are_counted_together_and_an_unknown_country_is_unknown(
    cases_table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a notice to a site's own contact address, on a server whose country nobody knows
    _drive_to_sent(CaseStore(cases_table), SITE, server_country="")
    # WHEN its last document is read
    sent = _emf_documents(capsys.readouterr().out)[-1]
    # THEN the site is not a dimension value of its own (an unbounded population), and the country is unknown
    assert (sent["RecipientDomain"], sent["Country"]) == ("site-operator", "unknown")


@pytest.mark.usefixtures("metrics_enabled")
def test_a_repeated_save_in_the_same_status_publishes_nothing(
    cases_table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a sent case
    store = CaseStore(cases_table)
    case_id = _drive_to_sent(store, HOST)
    capsys.readouterr()
    # WHEN a retried step saves it again as SENT, later
    store.update(case_id, lambda r: r.advance(CaseStatus.SENT, "send-notice", now=at(200)))
    # THEN nothing more is counted, and the first time stays the milestone
    assert _emf_documents(capsys.readouterr().out) == []
    assert store.require(case_id).milestones["SENT"] == iso_utc(at(125.5))


@pytest.mark.usefixtures("metrics_enabled")
def test_removal_publishes_the_recipients_response_time(
    cases_table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a case sent at 09:05:30
    store = CaseStore(cases_table)
    case_id = _drive_to_sent(store, HOST)
    capsys.readouterr()
    # WHEN it is saved as REMOVED two days later (the re-check's own path to that status is not the point here)
    current = store.require(case_id)
    removed_at = iso_utc(at(125.5 + 2 * 24 * 60))
    removed = replace(
        current,
        status=CaseStatus.REMOVED,
        updated_at=removed_at,
        version=current.version + 1,
        milestones={**current.milestones, "REMOVED": removed_at},
    )
    store.save(removed, _event(removed_at))
    # THEN the removal and the response time (sent -> removed) are published per recipient
    (document,) = _emf_documents(capsys.readouterr().out)
    assert _metrics_of(document) == {
        "CasesRemoved": ("Count", 1.0),
        "TimeSentToRemoved": ("Seconds", 2 * 24 * 3600.0),
    }
    assert document["RecipientDomain"] == "hoster.com"


def _event(at_text: str) -> CaseEvent:
    from takedown.model import CaseEvent

    return CaseEvent(at=at_text, stage="recheck", status="REMOVED")


def test_nothing_is_written_while_metrics_are_disabled(
    cases_table: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN metrics disabled, as on the local stack
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    # WHEN a case runs to SENT
    _drive_to_sent(CaseStore(cases_table), HOST)
    # THEN no EMF document is written
    assert _emf_documents(capsys.readouterr().out) == []


@pytest.mark.usefixtures("metrics_enabled")
def test_a_case_with_an_impossible_time_is_saved_and_logged_not_measured(
    cases_table: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a case whose stored sighting time is later than its drafting (a corrupt record)
    store = CaseStore(cases_table)
    record, event = CaseRecord.open(replace(sighting(), fetched_at=iso_utc(at(60))), now=at(61))
    assert store.create(record, event)
    for status, minutes in (
        (CaseStatus.MATCHED, 2),
        (CaseStatus.RECIPIENTS_RESOLVED, 3),
        (CaseStatus.REPORT_BUILT, 4),
    ):
        store.update(record.case_id, _advance_to(status, at(minutes)))
    capsys.readouterr()

    # WHEN it is drafted
    saved = store.update(record.case_id, _advance_to(CaseStatus.DRAFTED, at(5)))

    # THEN the transition is stored, no metric is published, and the log names the case and the reason
    assert store.require(record.case_id).status is CaseStatus.DRAFTED and saved.version == 4
    assert _emf_documents(capsys.readouterr().out) == []
    (warning,) = [r for r in caplog.records if r.getMessage() == "case metrics not published"]
    extra = warning.__dict__
    assert (extra["case_id"], extra["error"]) == (record.case_id, "IntervalError")
    assert "DRAFTED" in extra["reason"] and "before FIRST_SIGHTING" in extra["reason"]


def _advance_to(status: CaseStatus, now: datetime) -> Any:
    def change(current: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        return current.advance(status, status.value.lower(), now=now)

    return change
