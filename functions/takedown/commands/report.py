"""``takedown report``: how long cases take, from the case store of the running local stack or a deployment.

Prints the count, p50 and p95 of each interval (first sighting -> drafted -> approved -> sent -> removed), each
recipient domain's response time (sent -> removed), and writes a PNG histogram of the time to notice. ``--json``
prints the same figures as one JSON document (the chart is still written; the document names its path).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from takedown.aws.case_store import CaseStore
from takedown.cases.record import CaseRecord
from takedown.cases.reporting import CaseReport, SkippedCase, build_report, format_report
from takedown.commands.report_chart import draw_time_to_notice_chart
from takedown.deployment_target import NoDeploymentError, resolve_target

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path


def load_records(documents: Iterable[dict[str, Any]], skipped: list[SkippedCase]) -> Iterator[CaseRecord]:
    """Records from stored documents; a document that does not load is added to ``skipped`` with the reason."""
    for document in documents:
        try:
            yield CaseRecord.from_dict(document)
        except (KeyError, TypeError, ValueError) as error:
            case_id = str(document.get("case_id", "?"))[:64]
            skipped.append(SkippedCase(case_id, f"unreadable record: {type(error).__name__}: {error}"[:300]))


def report_for_table(cases_table: str) -> CaseReport:
    """Read every case of ``cases_table`` and summarise it."""
    skipped: list[SkippedCase] = []
    records = list(load_records(CaseStore(cases_table).case_documents(), skipped))
    return build_report(records, skipped)


def run_report(*, stack: str | None, as_json: bool, chart: Path) -> int:
    """Print the report and write the chart; 0 on success, 1 when no deployment or its table can be read."""
    try:
        target = resolve_target(stack)
        report = report_for_table(target.cases_table)
    except NoDeploymentError as error:
        print(f"takedown report: {error}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"takedown report: cannot read the cases table: {error}", file=sys.stderr)
        return 1
    chart.parent.mkdir(parents=True, exist_ok=True)
    draw_time_to_notice_chart(report.time_to_notice, chart)
    if as_json:
        print(json.dumps({"deployment": target.name, **report.to_dict(), "chart": str(chart)}, indent=1))
    else:
        print(f"deployment: {target.name}")
        print(format_report(report))
        print(f"\ntime-to-notice chart: {chart}")
    return 0
