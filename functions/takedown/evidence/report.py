"""The evidence report of a case: what was seen, where, why it matched, who is told, and what was kept.

Two renderings of one :class:`EvidenceReport`:

* :func:`report_json` - a plain dict with a stable schema, stored beside the evidence it cites::

    {
      "schema": "takedown.evidence-report/1",
      "case_id": str,
      "generated_at": str,                       # ISO 8601 UTC
      "sighting": Sighting.to_dict(),            # page and media URL, server IP, digests, fetch time ...
      "matches": [MatchEvidence.to_dict(), ...], # algorithm, distance, threshold, quality, bank item, hashes
      "recipients": [Recipient.to_dict(), ...],  # address, role, where found, confidence
      "timeline": [CaseEvent.to_dict(), ...],    # the audit trail, in recorded order
      "evidence_objects": [{"key": str, "sha256": str, "kind": str}, ...]  # sha256 "" when not recorded
    }

  A new field means a new schema version; :func:`report_from_json` reads version 1 back.

* :func:`render_report_html` - a printable, self-contained HTML document (inline CSS, no script, no image, no
  external asset). The report body sits between two marker comments so the review page can embed it.

The report never contains media bytes: media are cited by storage key and SHA-256 only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from takedown.config import templates_dir as default_templates_dir
from takedown.model import CaseEvent, MatchEvidence, Recipient, Sighting, parse_iso_utc
from takedown.notices.rendering import make_environment

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "REPORT_BODY_END",
    "REPORT_BODY_START",
    "REPORT_SCHEMA",
    "EvidenceReport",
    "EvidenceReportError",
    "render_report_html",
    "report_from_json",
    "report_json",
    "report_json_bytes",
]

REPORT_SCHEMA = "takedown.evidence-report/1"
# The report body between these comments is a fragment the review page embeds; report.html.j2 writes them.
REPORT_BODY_START = "<!-- evidence-report:start -->"
REPORT_BODY_END = "<!-- evidence-report:end -->"
_EVIDENCE_OBJECT_KEYS = frozenset({"key", "sha256", "kind"})
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_TOP_LEVEL_KEYS = frozenset(
    {"schema", "case_id", "generated_at", "sighting", "matches", "recipients", "timeline", "evidence_objects"}
)


class EvidenceReportError(ValueError):
    """A report cannot be built or read back; the message says which part is wrong."""


@dataclass(frozen=True)
class EvidenceReport:
    """Everything a reviewer, an operator's abuse desk or a court may need to check a case.

    ``evidence_objects`` lists the stored objects the report cites: ``{"key", "sha256", "kind"}`` each, with
    ``sha256`` a lowercase hex digest or ``""`` when the store recorded none.
    """

    case_id: str
    generated_at: str
    sighting: Sighting
    matches: list[MatchEvidence]
    recipients: list[Recipient]
    timeline: list[CaseEvent]
    evidence_objects: list[dict[str, str]]

    def __post_init__(self) -> None:
        if not self.case_id.strip():
            raise EvidenceReportError("case_id is empty")
        try:
            parse_iso_utc(self.generated_at)
        except ValueError as error:
            raise EvidenceReportError(
                f"generated_at {self.generated_at!r} is not an ISO 8601 UTC time"
            ) from error
        for index, item in enumerate(self.evidence_objects):
            _check_evidence_object(index, item)


def _check_evidence_object(index: int, item: dict[str, str]) -> None:
    if not isinstance(item, dict) or set(item) != _EVIDENCE_OBJECT_KEYS:
        raise EvidenceReportError(f"evidence_objects[{index}] must have exactly the keys key, sha256, kind")
    if not all(isinstance(value, str) for value in item.values()):
        raise EvidenceReportError(f"evidence_objects[{index}]: key, sha256 and kind must be strings")
    if not item["key"].strip() or not item["kind"].strip():
        raise EvidenceReportError(f"evidence_objects[{index}]: key and kind must not be empty")
    if item["sha256"] and not _SHA256_HEX.fullmatch(item["sha256"]):
        raise EvidenceReportError(f"evidence_objects[{index}]: sha256 is not a lowercase hex SHA-256 digest")


def report_json(r: EvidenceReport) -> dict[str, Any]:
    """The report as plain JSON data (see the module docstring for the schema)."""
    return {
        "schema": REPORT_SCHEMA,
        "case_id": r.case_id,
        "generated_at": r.generated_at,
        "sighting": r.sighting.to_dict(),
        "matches": [match.to_dict() for match in r.matches],
        "recipients": [recipient.to_dict() for recipient in r.recipients],
        "timeline": [event.to_dict() for event in r.timeline],
        "evidence_objects": [dict(item) for item in r.evidence_objects],
    }


def report_json_bytes(r: EvidenceReport) -> bytes:
    """Canonical UTF-8 JSON of the report (sorted keys, no insignificant whitespace): same report, same digest."""
    return json.dumps(report_json(r), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )


def _records(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = data[name]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise EvidenceReportError(f"{name} must be a list of objects")
    return value


def report_from_json(data: dict[str, Any]) -> EvidenceReport:
    """Read back what :func:`report_json` wrote; refuse other schemas and malformed parts."""
    if not isinstance(data, dict):
        raise EvidenceReportError("an evidence report must be a JSON object")
    if data.get("schema") != REPORT_SCHEMA:
        raise EvidenceReportError(
            f"unsupported schema {data.get('schema')!r}; this reader knows {REPORT_SCHEMA!r}"
        )
    missing, unknown = _TOP_LEVEL_KEYS - set(data), set(data) - _TOP_LEVEL_KEYS
    if missing or unknown:
        raise EvidenceReportError(f"report fields: missing {sorted(missing)}, unknown {sorted(unknown)}")
    if not isinstance(data["sighting"], dict):
        raise EvidenceReportError("sighting must be an object")
    try:
        return EvidenceReport(
            case_id=str(data["case_id"]),
            generated_at=str(data["generated_at"]),
            sighting=Sighting.from_dict(data["sighting"]),
            matches=[MatchEvidence.from_dict(item) for item in _records(data, "matches")],
            recipients=[Recipient.from_dict(item) for item in _records(data, "recipients")],
            timeline=[CaseEvent.from_dict(item) for item in _records(data, "timeline")],
            evidence_objects=[dict(item) for item in _records(data, "evidence_objects")],
        )
    except TypeError as error:  # a record missing a required field
        raise EvidenceReportError(f"malformed record in the report: {error}") from error


def _current_status(r: EvidenceReport) -> str:
    return r.timeline[-1].status if r.timeline else ""


def render_report_html(r: EvidenceReport, templates_dir: Path | None = None) -> str:
    """The printable HTML evidence report (``templates/report/report.html.j2``).

    Page-derived text (titles, URLs, addresses) is escaped and its control characters are shown as markers;
    the media are cited by key and digest, never embedded.
    """
    environment = make_environment(templates_dir or default_templates_dir())
    return environment.get_template("report/report.html.j2").render(
        report=r, current_status=_current_status(r)
    )
