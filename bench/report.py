"""Markdown tables for docs/BENCHMARKS.md, and the marked sections of that file they replace.

The document is written by hand; only the blocks between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``
are generated, so the prose around the numbers survives a new run.
"""

from __future__ import annotations

import math
import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from typing import TYPE_CHECKING, Final

from bench.accuracy import FALSE_POSITIVE_GOAL_PER_MILLION, FUSION, METHODS, PDQ_THRESHOLD, PHASH_THRESHOLD
from bench.transforms import TRANSFORMS

if TYPE_CHECKING:
    from pathlib import Path

    from bench.accuracy import AccuracyReport, RecallCell
    from bench.speed import SpeedRow
    from bench.video_accuracy import VideoReport

_LIBRARIES: Final = ("numpy", "pillow", "imagehash", "scipy", "av", "scikit-image", "moto")


class ReportError(ValueError):
    """The document cannot take the tables. ``reason``: ``marker:missing``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def replace_sections(document: str, sections: dict[str, str]) -> str:
    """Put each generated block between its markers, keeping the markers and everything outside them.

    Examples
    --------
    >>> replace_sections("a\\n<!-- bench:x -->\\nold\\n<!-- /bench:x -->\\nb", {"x": "new"})
    'a\\n<!-- bench:x -->\\nnew\\n<!-- /bench:x -->\\nb'
    """
    for name, body in sections.items():
        pattern = re.compile(
            rf"(<!-- bench:{re.escape(name)} -->\n).*?(\n<!-- /bench:{re.escape(name)} -->)", re.DOTALL
        )
        if not pattern.search(document):
            raise ReportError("marker:missing", f"no <!-- bench:{name} --> ... <!-- /bench:{name} --> block")
        replacement = body.rstrip("\n")
        # A function, not a template: a table may hold backslashes that re.sub would read as escapes.
        document = pattern.sub(lambda match: match.group(1) + replacement + match.group(2), document)  # noqa: B023
    return document


def write_sections(path: Path, sections: dict[str, str]) -> None:
    """Replace the marked sections of the document at ``path`` in place."""
    path.write_text(replace_sections(path.read_text(encoding="utf-8"), sections), encoding="utf-8")


# ----------------------------------------------------------------------------------------------------------
# Machine


def provenance(command: str) -> str:
    """The line above a generated table: the command that produced it, when, and how busy the machine was.

    Examples
    --------
    >>> provenance("make bench").startswith("_Produced by `make bench`, finished ")
    True
    """
    load = _load(os.getloadavg())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"_Produced by `{command}`, finished {stamp} (load average 1/5/15 min then: {load})._\n\n"


def machine_section(
    command: str,
    load_before: tuple[float, float, float],
    wall_s: float,
    *,
    part_times: dict[str, float] | None = None,
) -> str:
    """Where and when the numbers were taken, how long each part ran, and how busy the machine was."""
    versions = ", ".join(f"{name} {_version(name)}" for name in _LIBRARIES)
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    load_after = os.getloadavg()
    lines = [
        f"- Last run: `{command}`, {wall_s / 60:.1f} min wall clock (each table names the run that produced it)"
        + (
            "; by part: "
            + ", ".join(f"{part} {seconds / 60:.1f} min" for part, seconds in part_times.items())
            if part_times
            else ""
        ),
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; commit {_commit()}",
        f"- Machine: {os.cpu_count()} cores (`nproc` {len(os.sched_getaffinity(0))}), CPU `{_cpu_model()}`, "
        f"{_memory_gib():.0f} GiB RAM, {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {versions}",
        f"- OPENBLAS_CORETYPE: {f'`{coretype}`' if coretype else 'not set'} in this run (this machine may set "
        "it; it only changes which BLAS kernels numpy picks for matrix products)",
        f"- Load average (1/5/15 min) before: {_load(load_before)}; after: {_load(load_after)}. Other work on "
        "the machine slows the speed figures; the accuracy figures do not depend on it.",
    ]
    return "\n".join(lines)


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:  # noqa: PTH123 - a pseudo-file, read once
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def _load(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in values)


# ----------------------------------------------------------------------------------------------------------
# Image accuracy


def _percent(cell: RecallCell) -> str:
    if not cell.total:
        return "—"
    return f"{cell.recall:.1%} ({cell.found}/{cell.total})"


def image_accuracy_section(report: AccuracyReport) -> str:
    """Recall per transform, three methods side by side, with the goal and where the fusion stands."""
    plan = report.plan
    descriptions = {transform.name: transform for transform in TRANSFORMS}
    lines = [
        f"Bank: {len(report.originals)} originals ({_natural_count(report)} natural photos, the rest generated); "
        f"the fusion index holds {report.bank_hashes:,} hashes (registration variants and file digests"
        + (
            f"; {report.bank_items_rejected} variant hashes left out as too flat"
            if report.bank_items_rejected
            else ""
        )
        + "). "
        + (
            f"Registration refused {len(report.refused)} candidate(s) drawn on the way, which were replaced by the "
            f"next ones (a refused picture can only ever match by its exact digest): {_refusals(report)}. "
            if report.refused
            else ""
        )
        + f"Queries: each original under each transform, fingerprinted from the encoded file. Run took "
        f"{report.elapsed_s:.0f} s on {plan.workers} processes.",
        "",
        f"| transform | goal | pHash alone (<= {PHASH_THRESHOLD}) | PDQ alone (<= {PDQ_THRESHOLD}) | fusion (BankIndex) "
        "| fusion vs goal | median distance to source, pHash / PDQ |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in plan.transforms:
        goal = descriptions[name].goal
        fusion = report.recall[FUSION][name]
        status = (
            "—" if goal is None or not fusion.total else ("met" if fusion.recall >= goal else "**not met**")
        )
        phash_median = report.median_distance.get("pHash", {}).get(name, math.nan)
        pdq_median = report.median_distance.get("PDQ", {}).get(name, math.nan)
        lines.append(
            f"| {name} | {f'>= {goal:.0%}' if goal else '—'} | {_percent(report.recall[METHODS[0]][name])} | "
            f"{_percent(report.recall[METHODS[1]][name])} | {_percent(fusion)} | {status} | "
            f"{phash_median:g} / {pdq_median:g} |"
        )
    lines += ["", "Transforms:", ""]
    lines += [f"- **{name}**: {descriptions[name].description}" for name in plan.transforms]
    if report.fusion_rules:
        rules = ", ".join(f"{rule or '(none)'} {count}" for rule, count in report.fusion_rules.most_common())
        lines += ["", f"Fusion matches of the right original, by the rule that made them: {rules}."]
    misses = [(name, keys) for name, keys in report.missed.items() if keys]
    if misses:
        lines += [
            "",
            "<details><summary>Fusion misses (first few per transform, with the plain PDQ distance)</summary>",
            "",
        ]
        lines += [f"- {name}: {', '.join(keys)}" for name, keys in misses]
        lines += ["", "</details>"]
    if report.rejected_queries:
        lines += ["", f"Queries the fingerprinter rejected: {', '.join(report.rejected_queries)}."]
    return "\n".join(lines)


def _natural_count(report: AccuracyReport) -> int:
    return sum(key.startswith("photo/") for key in report.originals)


def _refusals(report: AccuracyReport) -> str:
    return ", ".join(f"{key} ({reason})" for key, reason in sorted(report.refused.items()))


def false_positive_section(report: AccuracyReport) -> str:
    """False positives over all queries (transformed copies against the other originals, and distractors)."""
    plan = report.plan
    distractors = report.distractors_queried
    copies = sum(cell.total for cell in report.recall[FUSION].values())
    cut_short = (
        f" (of {plan.distractors:,} planned: the run's time budget ran out first)"
        if distractors < plan.distractors
        else ""
    )
    lines = [
        f"Queries: {copies + distractors:,} ({copies:,} transformed copies, each compared with the "
        f"{len(report.originals) - 1} originals it was not made from, and {distractors:,} distractors{cut_short} "
        f"from the same generator families with other seeds, each compared with all {len(report.originals)}). "
        f"Goal: <= {FALSE_POSITIVE_GOAL_PER_MILLION:g} per million comparisons; with 0 false positives the "
        "95% upper bound is 3/N (rule of three); otherwise the bound is the exact Poisson one.",
        "",
        "| method | comparisons N (queries x originals) | false positives | of which distractors | per million "
        "| 95% upper bound per million | goal |",
        "|---|---|---|---|---|---|---|",
    ]
    for method in METHODS:
        tally = report.false_positives[method]
        bound = tally.upper_bound_per_million
        status = (
            "met"
            if bound <= FALSE_POSITIVE_GOAL_PER_MILLION
            else (
                "**not met**"
                if tally.per_million > FALSE_POSITIVE_GOAL_PER_MILLION
                else "not shown (N too small)"
            )
        )
        lines.append(
            f"| {method} | {tally.comparisons:,} | {tally.pairs} | {report.distractor_false_positives[method]} | "
            f"{tally.per_million:.2f} | {bound:.2f} | {status} |"
        )
    fusion = report.false_positives[FUSION]
    lines += [
        "",
        f"Counted per bank hash instead (the fusion bank holds {report.bank_hashes:,} hashes, each registration "
        f"variant one more chance of a false match): {fusion.hash_comparisons:,} hash comparisons, "
        f"{fusion.pairs} false positives.",
    ]
    lines += ["", "False positives by family (query -> original) and, for the fusion, by deciding rule:", ""]
    for method in METHODS:
        tally = report.false_positives[method]
        families = ", ".join(f"{pair} {count}" for pair, count in tally.families.most_common()) or "none"
        rules = ", ".join(f"{rule} {count}" for rule, count in tally.rules.most_common() if rule)
        lines.append(f"- {method}: {families}" + (f"; rules: {rules}" if rules else ""))
    examples = [(method, report.false_positives[method].examples) for method in METHODS]
    if any(found for _, found in examples):
        lines += ["", "<details><summary>False positives (first few per method)</summary>", ""]
        lines += [f"- {method}: {'; '.join(found)}" for method, found in examples if found]
        lines += ["", "</details>"]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------
# Video accuracy and speed


def video_accuracy_section(report: VideoReport) -> str:
    """Recall per video transform and false matches, through the production video path."""
    plan = report.plan
    lines = [
        f"Bank: {plan.bank_videos} generated videos of {plan.seconds:g} s at {plan.width}x{plan.height}, 30 fps, "
        f"a new scene every {plan.scene_seconds:g} s ({report.frames_per_bank_video:.1f} unique frame hashes a "
        f"video on average). Match: `is_video_match` defaults. Run took {report.elapsed_s:.0f} s.",
        "",
        "| transform | recall | median query share |",
        "|---|---|---|",
    ]
    for name, cell in report.recall.items():
        share = (
            f"{float(sorted(cell.query_shares)[len(cell.query_shares) // 2]):.0%}"
            if cell.query_shares
            else "—"
        )
        lines.append(f"| {name} | {cell.found}/{cell.total} | {share} |")
    lines += [
        "",
        f"False matches: {report.false_matches} in {report.comparisons:,} video comparisons (each transcode "
        f"against the other bank videos, and {plan.distractor_videos} distractor videos against every bank video)"
        + (f": {'; '.join(report.false_match_examples)}" if report.false_match_examples else "")
        + ".",
    ]
    return "\n".join(lines)


def speed_section(rows: list[SpeedRow]) -> str:
    """One table for every speed case, goals beside the numbers they apply to."""
    lines = [
        "| case | median | p95 | rate | peak RSS | goal | status | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        timing = row.timing
        median = _duration(timing.median_s) if timing else "—"
        p95 = _duration(timing.p95_s) if timing else "—"
        rate = f"{timing.per_second:,.1f}/s" if timing and row.group != "video" else "—"
        status = "—" if row.goal_met is None else ("met" if row.goal_met else "**not met**")
        runs = f"{timing.runs} runs; " if timing else ""
        lines.append(
            f"| {row.case} | {median} | {p95} | {rate} | {row.peak_rss_mib:,.0f} MiB | {row.goal or '—'} | "
            f"{status} | {runs}{row.detail} |"
        )
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"
