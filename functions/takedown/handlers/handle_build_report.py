"""State ``BuildReport``: the evidence report (HTML and JSON) stored beside the evidence it cites."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from takedown.aws.case_store import CaseStore
from takedown.aws.evidence_store import EvidenceStore
from takedown.aws.transient import raise_transient_as_retryable
from takedown.config import Settings
from takedown.evidence.manifest import build_manifest
from takedown.evidence.report import EvidenceReport, render_report_html, report_json
from takedown.handlers.handle_crawl_page import sighting_object_key
from takedown.model import CaseStatus, iso_utc, utc_now
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from takedown.cases.record import CaseRecord
    from takedown.model import CaseEvent


def capture_evidence(settings: Settings, case_id: str, capture_key: str) -> list[dict[str, str]]:
    """The page capture (WARC) and its manifest (every record's digests, read back from the stored WARC)."""
    if not capture_key:
        return []
    store = EvidenceStore(settings.evidence_bucket)
    warc = store.get_bytes(capture_key)
    manifest = build_manifest(warc, case_id=case_id, warc_key=capture_key, created_at=iso_utc(utc_now()))
    manifest_key = f"evidence/{case_id}/capture-manifest.json"
    manifest_sha = store.put_bytes(
        manifest_key,
        manifest.to_json_bytes(),
        "application/json",
        retain_days=settings.evidence_retention_days,
    )
    return [
        {"key": capture_key, "sha256": manifest.warc_sha256, "kind": "capture (WARC)"},
        {"key": manifest_key, "sha256": manifest_sha, "kind": "capture manifest"},
    ]


def report_keys(case_id: str) -> tuple[str, str]:
    return f"evidence/{case_id}/report.html", f"evidence/{case_id}/report.json"


def build_case_report(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    case_id = event["case_id"]
    cases = CaseStore(settings.cases_table)
    store = EvidenceStore(settings.evidence_bucket)
    record = cases.require(case_id)
    sighting = record.sighting
    report = EvidenceReport(
        case_id=case_id,
        generated_at=iso_utc(utc_now()),
        sighting=sighting,
        matches=record.matches,
        recipients=record.recipients,
        timeline=cases.events(case_id),
        evidence_objects=[
            {"key": sighting.media_key, "sha256": sighting.sha256, "kind": "media"},
            {
                "key": sighting_object_key(sighting.sha256, sighting.page_url),
                "sha256": "",
                "kind": "sighting",
            },
            *capture_evidence(settings, case_id, sighting.capture_key),
        ],
    )
    html_key, json_key = report_keys(case_id)
    html = render_report_html(report, settings.templates_dir)
    retain = settings.evidence_retention_days
    html_sha = store.put_bytes(html_key, html.encode("utf-8"), "text/html; charset=utf-8", retain_days=retain)
    json_sha = store.put_json(json_key, report_json(report), retain_days=retain)

    def built(current: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        return current.advance(
            CaseStatus.REPORT_BUILT,
            "build-report",
            detail={
                "report_key": html_key,
                "report_sha256": html_sha,
                "json_key": json_key,
                "json_sha256": json_sha,
            },
            report_key=html_key,
            report_sha256=html_sha,
        )

    cases.update(case_id, built)
    return {"case_id": case_id, "report_key": html_key}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@raise_transient_as_retryable
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return build_case_report(Settings.from_env(), event)
