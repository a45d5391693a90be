"""The demo's summary: what was crawled, matched, drafted, approved and sent; what became of each case after the
notice; and ``takedown report``'s tables and time-to-notice chart, made by the command's own code.

Every sent message to an operator is written to the output folder as an ``.eml`` file: ``notice-<id>.eml`` for a
first notice, ``follow-up-v<n>-<id>.eml`` for a later version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from takedown.aws.case_store import CaseStore
from takedown.aws.crawl_state import CrawlState
from takedown.cases.follow_up import Approval
from takedown.cases.intervals import APPROVED, DRAFTED, SENT
from takedown.cases.reporting import format_report
from takedown.commands.report import report_for_table
from takedown.commands.report_chart import draw_time_to_notice_chart
from takedown.local.mailbox import sent_mail
from takedown.model import CaseStatus, parse_iso_utc

if TYPE_CHECKING:
    from pathlib import Path

    from takedown.cases.record import CaseRecord
    from takedown.demo.after_notice import AfterNotice, CaseOutcome
    from takedown.local.environment import LocalEnvironment

CHART_NAME: Final = "time-to-notice.png"


@dataclass
class DemoSummary:
    pages_crawled: int = 0
    media_hashed: int = 0
    matches: int = 0
    unrelated_left_alone: int = 0
    unrelated_total: int = 0
    notices_drafted: int = 0
    approved: int = 0
    sent: int = 0  # first notices sent (a case may since have been closed as removed)
    rejected: int = 0
    sighting_to_draft_seconds: list[float] = field(default_factory=list)
    sent_files: list[str] = field(default_factory=list)
    sent_notices: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (file, recipient, locales)
    case_statuses: dict[str, str] = field(default_factory=dict)
    # After the notice
    check_offsets_hours: list[int] = field(default_factory=list)
    rechecks: int = 0
    removed: int = 0
    follow_ups_sent: int = 0
    follow_ups_reviewed: int = 0
    escalations: int = 0
    case_outcomes: list[CaseOutcome] = field(default_factory=list)
    follow_up_files: list[tuple[str, str, int]] = field(default_factory=list)  # (file, recipient, version)
    # takedown report
    report_text: str = ""
    chart_path: str = ""

    def lines(self) -> list[str]:
        timings = sorted(self.sighting_to_draft_seconds)
        median = timings[len(timings) // 2] if timings else float("nan")
        worst = timings[-1] if timings else float("nan")
        at = " and ".join(f"+{hours} h" for hours in self.check_offsets_hours)
        after = (
            f"after the notice (re-checked at {at}; the time is injected, not waited for):"
            if at
            else "after the notice: no notice went out, so nothing was re-checked"
        )
        return [
            "takedown demo: summary",
            f"  pages crawled ............ {self.pages_crawled}",
            f"  media hashed ............. {self.media_hashed}",
            f"  matches (cases opened) ... {self.matches}",
            f"  unrelated images left alone {self.unrelated_left_alone} of {self.unrelated_total}",
            f"  notices drafted .......... {self.notices_drafted}",
            f"  approved by the reviewer . {self.approved}",
            f"  notices sent ............. {self.sent}",
            f"  first sighting -> notice drafted: median {median:.2f} s, worst {worst:.2f} s",
            *(
                f"  sent: {path} to {recipient} in {' + '.join(locales)}"
                for path, recipient, locales in self.sent_notices
            ),
            after,
            f"  re-checks done ........... {self.rechecks}",
            f"  removed .................. {self.removed} (two removed checks in a row close a case)",
            f"  follow-ups sent .......... {self.follow_ups_sent} ({self.follow_ups_reviewed} approved by the reviewer)",
            f"  escalations .............. {self.escalations}",
            *(f"  {outcome.line()}" for outcome in self.case_outcomes),
            *(
                f"  follow-up: {path} to {recipient} (notice v{version}, quoting the first)"
                for path, recipient, version in self.follow_up_files
            ),
            "takedown report (the same tables as `takedown report`):",
            *(f"  {line}" if line else "" for line in self.report_text.splitlines()),
            f"  time-to-notice chart: {self.chart_path}",
        ]


def summarise(
    local: LocalEnvironment,
    site_hits: dict[str, int],
    unrelated_urls: set[str],
    out_dir: Path,
    after: AfterNotice,
) -> DemoSummary:
    """Count what the run did from the stores (not from what the demo believes it did), write the sent messages and
    the chart to ``out_dir``.

    ``site_hits`` are the requests the boards received during the crawl, before the re-checks fetched anything.
    """
    settings = local.settings()
    cases = CaseStore(settings.cases_table)
    outcomes = CrawlState(settings.crawl_table).media_outcomes()
    summary = DemoSummary()
    summary.pages_crawled = sum(n for url, n in site_hits.items() if "/media/" not in url)
    summary.media_hashed = sum(1 for o in outcomes if o["outcome"] in {"NO_MATCH", "CANDIDATE"})
    summary.matches = sum(1 for o in outcomes if o["outcome"] == "CANDIDATE")
    summary.unrelated_total = len(unrelated_urls)
    records: list[CaseRecord] = [cases.require(o["reason"]) for o in outcomes if o["outcome"] == "CANDIDATE"]
    matched_media = {r.sighting.media_url for r in records}
    summary.unrelated_left_alone = len(unrelated_urls - matched_media)
    for record in records:
        summary.case_statuses[record.case_id] = record.status.value
        drafted = record.milestones.get(DRAFTED)
        if drafted:
            summary.notices_drafted += 1
            summary.sighting_to_draft_seconds.append(
                (parse_iso_utc(drafted) - parse_iso_utc(record.sighting.fetched_at)).total_seconds()
            )
        summary.approved += int(APPROVED in record.milestones)
        summary.rejected += int(record.status is CaseStatus.REJECTED)
        summary.sent += int(SENT in record.milestones)
        if record.follow_up:
            summary.follow_ups_reviewed += sum(
                1
                for n in record.follow_up.sent_notices()[1:]
                if n.rung == 0 and n.approval is Approval.REVIEWER
            )
    summary.check_offsets_hours = list(after.check_offsets_hours)
    summary.rechecks = after.rechecks
    summary.removed = after.removed
    summary.follow_ups_sent = after.follow_ups_sent
    summary.escalations = after.escalations
    summary.case_outcomes = list(after.outcomes)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Only this run's messages: the files an earlier run wrote (and only those) are removed first.
    for stale in [*out_dir.glob("notice-*.eml"), *out_dir.glob("follow-up-v*.eml"), out_dir / CHART_NAME]:
        stale.unlink(missing_ok=True)
    _write_messages(records, out_dir, summary)
    report = report_for_table(settings.cases_table)
    summary.report_text = format_report(report)
    summary.chart_path = str(draw_time_to_notice_chart(report.time_to_notice, out_dir / CHART_NAME))
    return summary


def _write_messages(records: list[CaseRecord], out_dir: Path, summary: DemoSummary) -> None:
    """Write each notice the cases sent as an ``.eml`` file (mail to reviewers and officers is not a notice)."""
    versions = {
        message_id: (record, notice.version)
        for record in records
        if record.follow_up
        for notice in record.follow_up.notices
        for message_id in notice.message_ids
    }
    for message in sent_mail():
        found = versions.get(message.message_id)
        if found is None:
            continue
        record, version = found
        recipient = ", ".join(message.destinations[:1])
        if version == 1:
            path = out_dir / f"notice-{message.message_id}.eml"
            summary.sent_notices.append((str(path), recipient, list(record.locales)))
            summary.sent_files.append(str(path))
        else:
            path = out_dir / f"follow-up-v{version}-{message.message_id}.eml"
            summary.follow_up_files.append((str(path), recipient, version))
        path.write_text(message.raw, encoding="utf-8")
