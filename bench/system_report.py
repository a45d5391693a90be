"""Markdown for the crawl, pipeline and load blocks of docs/BENCHMARKS.md (see :mod:`bench.report`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

from bench.case_timing import HASHING_SEGMENT, TRANSITIONS_SEGMENT, shares

if TYPE_CHECKING:
    from bench.crawl_speed import CrawlReport
    from bench.load import LoadReport
    from bench.pipeline import PipelineReport, PipelineRun

_MIB: Final = 2**20
# The anchors of issue 7, in seconds per case.
ANCHORS: Final = (
    ("Seoul's 2025 system", 360.0, "about 6 min per case"),
    ("Korea's national system (reported)", 60.0, "under 1 min per case"),
    ("HMA submit-to-action", 92.0, "74-92 s average"),
)
_STATE_ORDER: Final = (
    HASHING_SEGMENT,
    "IsFollowUp",
    "Score",
    "IsCandidate",
    "ResolveRecipients",
    "BuildReport",
    "DraftNotice",
    "RenderLocales",
    "ReviewNeeded",
    "RequestApproval",
    TRANSITIONS_SEGMENT,
)
_STATE_NOTES: Final = {
    HASHING_SEGMENT: "S3 event, download, decode, fingerprint, match, case opened, execution started",
    "IsFollowUp": "Choice: a follow-up notice starts at the drafting",
    "IsCandidate": "Choice: no match closes the case",
    "ReviewNeeded": "Choice: a follow-up under the deployment's policy skips review",
    "Score": "re-check against the current bank index",
    "ResolveRecipients": "platform registry, page contacts, source contact (no RDAP configured locally)",
    "BuildReport": "evidence report (HTML + JSON) stored and locked",
    "DraftNotice": "notice facts and locales chosen",
    "RenderLocales": "Map: one rendering per locale",
    "RequestApproval": "review record, signed link, reviewer email (SES)",
    TRANSITIONS_SEGMENT: "between states, in the interpreter",
}


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _s(value: float) -> str:
    if math.isnan(value):
        return "—"
    return f"{value:.2f} s" if value < 10 else f"{value:.0f} s"


def _calls(calls: dict[str, int], per: int) -> str:
    if not per:
        return "—"
    ordered = sorted(calls.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{name} {count / per:.1f}" for name, count in ordered)


# ----------------------------------------------------------------------------------------------------------
# Crawl


def crawl_section(report: CrawlReport) -> str:
    """The crawl block: the site, what one worker fetched and stored, how fast, AWS calls, memory."""
    placed = report.media_placed
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in placed.items())
    stored = report.stored_objects
    sizes = report.stored_bytes
    pages = report.pages_fetched
    refusals = ", ".join(f"{reason} {count}" for reason, count in sorted(report.refusals.items())) or "none"
    function_share = report.function_s / report.drain_s if report.drain_s else 0.0
    lines = [
        "| figure | value |",
        "|---|---|",
        f"| site | {report.site_pages:,} pages on 127.0.0.1 with {sum(placed.values()):,} media URLs (distinct per "
        f"page, summed; by block: {kinds}) |",
        f"| crawled | **{min(pages, report.site_pages) / report.site_pages if report.site_pages else 0:.0%} of the site**"
        + (
            f": the worker stopped at its time limit of {report.plan.time_limit_s / 60:g} min"
            if report.stopped_early
            else ": all of it"
        )
        + " |",
        f"| fetched | {pages:,} pages ({report.served.bytes_sent.get('page', 0) / _MIB:.1f} MiB), "
        f"{report.media_fetched:,} media ({report.served.bytes_sent.get('media', 0) / _MIB:.1f} MiB); "
        f"{report.served.requests.get('missing', 0)} requests for missing paths |",
        f"| stored | {report.media_stored:,} media objects ({stored.get('video/', 0):,} of them video; "
        f"the same bytes twice on one page are stored once), {stored.get('sightings/', 0):,} sightings, "
        f"{stored.get('captures/', 0):,} WARC captures ({sizes.get('captures/', 0) / _MIB:.1f} MiB) |",
        f"| messages | {report.messages:,} in {report.batches:,} batches of up to {report.batch_size}; "
        f"{report.failed_messages} failed; refusals: {refusals}"
        + ("; **stopped at the time limit**" if report.stopped_early else "")
        + " |",
        f"| one worker, wall clock | {report.drain_s:.0f} s: **{report.pages_per_s:.1f} pages/s, "
        f"{report.media_per_s:.1f} media/s**; {function_share:.0%} of it inside the function, the rest "
        "the queue handling the event source mapping does |",
        f"| one worker, CPU | {report.drain_cpu_s:.0f} s of CPU for the whole process (moto included): "
        f"{report.cpu_ms_per_page:.0f} ms a page, {1000 / report.cpu_ms_per_page if report.cpu_ms_per_page else 0:.1f} "
        "pages per CPU-second |",
        f"| AWS calls per page (the function's) | {_calls(report.function_calls, pages)} |",
        f"| peak memory | worker process `VmHWM` {report.peak_rss_mib:.0f} MiB (the local stack alone, before "
        f"the crawl: {report.rss_before_crawl_mib:.0f} MiB resident; moto holds everything stored, "
        f"{sum(sizes.values()) / _MIB:.0f} MiB of objects); largest Python allocation peak of one batch "
        f"(`tracemalloc`, {report.traced_batches} batches sampled): {report.traced_peak_mib:.1f} MiB |",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------
# Pipeline


def _statuses(statuses: dict[str, int]) -> str:
    return ", ".join(f"{status} {count:,}" for status, count in sorted(statuses.items())) or "none"


def pipeline_section(report: PipelineReport) -> str:
    """The headline table, the state shares and the anchors."""
    runs = report.runs
    lines = [
        "| N (burst) | one at a time: p50 / p95 | burst: p50 | burst: p95 | burst: max | cleared | "
        "CPU per case | peak RSS | cases (statuses) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        per_case = run.burst_cpu_s / run.emailed_in_burst if run.emailed_in_burst else math.nan
        lines.append(
            f"| {run.size:,} | {_s(run.single_percentile(0.5))} / {_s(run.single_percentile(0.95))} "
            f"({len(run.single_latencies_s)} cases) | **{_s(run.burst_percentile(0.5))}** | "
            f"**{_s(run.burst_percentile(0.95))}** | {_s(max(run.burst_latencies_s, default=math.nan))} | "
            f"{run.cases_per_minute:.0f} cases/min ({run.emailed_in_burst:,} in {_s(run.burst_wall_s)}) | "
            f"{_s(per_case)} | {run.peak_rss_mib:.0f} MiB | {_statuses(run.statuses)}; "
            f"{run.reviewer_emails:,} reviewer emails" + ("; **timed out**" if run.timed_out else "") + " |"
        )
    lines += ["", _shares_table(runs), "", _anchors(runs), "", _pipeline_notes(runs)]
    return "\n".join(lines)


def _shares_table(runs: list[PipelineRun]) -> str:
    singles: dict[str, float] = {}
    single_count = 0
    for run in runs:
        for name, seconds in run.single_segments_s.items():
            singles[name] = singles.get(name, 0.0) + seconds
        single_count += len(run.single_latencies_s)
    columns = [(f"one at a time ({single_count} cases)", singles, single_count)] + [
        (f"burst of {run.size:,}", run.burst_segments_s, run.emailed_in_burst) for run in runs
    ]
    names = [n for n in _STATE_ORDER if any(n in c[1] for c in columns)]
    names += sorted({n for _, totals, _ in columns for n in totals} - set(names))
    header = "| segment | what it does | " + " | ".join(title for title, _, _ in columns) + " |"
    lines = [header, "|---|---|" + "---|" * len(columns)]
    share_maps = [shares(totals) for _, totals, _ in columns]
    for name in names:
        cells = []
        for (_, totals, count), share_map in zip(columns, share_maps, strict=True):
            if name not in totals or not count:
                cells.append("—")
                continue
            cells.append(f"{share_map.get(name, 0.0):.0%} ({totals[name] / count:.2f} s)")
        lines.append(f"| {name} | {_STATE_NOTES.get(name, '')} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Share of the summed time, and in brackets the mean seconds per case.")
    return "\n".join(lines)


def _anchors(runs: list[PipelineRun]) -> str:
    lines = ["Against the anchors (object created to reviewer email, this machine):", ""]
    for name, seconds, said in ANCHORS:
        figures = []
        for run in runs:
            if run.burst_latencies_s:
                p95 = run.burst_percentile(0.95)
                figures.append(f"burst of {run.size:,}: p95 {_s(p95)} ({p95 / seconds:.1%} of it)")
        lines.append(f"- {name}, {said}: " + "; ".join(figures))
    return "\n".join(lines)


def _pipeline_notes(runs: list[PipelineRun]) -> str:
    biggest = max(runs, key=lambda run: run.size)
    calls = _calls(biggest.aws_calls, biggest.emailed_in_burst)
    return (
        f"AWS calls per case in the burst of {biggest.size:,} (`lambda.Invoke` is Step Functions invoking the "
        f"workflow's functions; the benchmark's own polling is not counted): {calls}."
    )


# ----------------------------------------------------------------------------------------------------------
# Load


def load_section(report: LoadReport) -> str:
    """Checkpoints (memory against media count), outcomes per kind, statuses and times."""
    lines = [
        "| media | elapsed | RSS now | peak RSS (`VmHWM`) | bytes put into S3 (moto keeps them) | "
        "RSS less those bytes | largest traced peak of one drop | cases at review |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for point in report.checkpoints:
        held = point.s3_bytes_put / _MIB
        lines.append(
            f"| {point.media:,} | {_s(point.elapsed_s)} | {point.rss_mib:.0f} MiB | {point.peak_rss_mib:.0f} MiB | "
            f"{held:.0f} MiB | {point.rss_mib - held:.0f} MiB | {point.traced_peak_mib:.1f} MiB | "
            f"{point.cases_awaiting_review:,} |"
        )
    lines += [
        "",
        "| media kind | dropped | recorded outcomes |",
        "|---|---|---|",
    ]
    for kind, dropped in sorted(report.kinds.items()):
        outcomes = report.outcomes_by_kind.get(kind, {})
        text = ", ".join(f"{label} {count:,}" for label, count in sorted(outcomes.items())) or "none"
        lines.append(f"| {kind} | {dropped:,} | {text} |")
    extra = {k: v for k, v in report.outcomes_by_kind.items() if k not in report.kinds}
    for kind, outcomes in sorted(extra.items()):
        lines.append(f"| {kind} (not dropped by this run) | — | {outcomes} |")
    media = report.media
    lines += [
        "",
        f"- Every media file has a recorded outcome: **{media - report.without_outcome:,} of {media:,}** "
        f"({report.without_outcome} without). Cases: {_statuses(report.statuses)}; reviewer emails: "
        f"{report.reviewer_emails:,}."
        + ("" if report.settled else " **Some workflows had not reached review when the wait ended.**"),
        f"- Time: {_s(report.total_s)} for the {media:,} media ({media / report.total_s if report.total_s else 0:.0f} "
        f"media/s overall), of which dropping {_s(report.drop_s)} (making the media, summed over the "
        f"{report.plan.droppers} dropper threads: {_s(report.making_s)}) and waiting at checkpoints for "
        f"workflows to reach review {_s(report.settle_s)}; {_s(report.cpu_s)} of CPU; setup (bank, local "
        f"stack, picture pool) {_s(report.setup_s)}.",
        f"- AWS calls per media file (the benchmark's own polling not counted): {_calls(report.aws_calls, media)}.",
    ]
    return "\n".join(lines)
