"""``make bench``: run the benchmarks and write their tables into docs/BENCHMARKS.md.

Usage::

    .venv/bin/python -m bench.run                    # everything, about 25 minutes on 2 cores
    .venv/bin/python -m bench.run --only speed       # one part (accuracy, video, speed, crawl, pipeline,
                                                     # load); repeatable
    .venv/bin/python -m bench.run --only pipeline --pipeline-sizes 100
    .venv/bin/python -m bench.run --smoke --no-doc   # every code path on a tiny corpus, tables to stdout

Accuracy runs on both cores (two worker processes); every speed case runs alone in a worker pinned to one
core. The crawl, pipeline and load parts run the local stack (moto) in a fresh worker process each; they
come after the others, so the time budget of ``--budget-minutes`` (speed, video, accuracy) is theirs alone.
Only the marked blocks of the document are rewritten (see :mod:`bench.report`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from bench import report, system_report
from bench.accuracy import AccuracyPlan, run_accuracy_benchmark
from bench.crawl_speed import DEFAULT_CRAWL_MINUTES, CrawlPlan, run_crawl_benchmark
from bench.load import LoadPlan, run_load_benchmark
from bench.pipeline import DEFAULT_SIZES, PipelinePlan, run_pipeline_benchmark
from bench.speed import SpeedPlan, run_speed_benchmarks
from bench.video_accuracy import VideoPlan, run_video_benchmark

if TYPE_CHECKING:
    from collections.abc import Callable

PARTS: Final = ("accuracy", "video", "speed", "crawl", "pipeline", "load")
DEFAULT_DOC: Final = Path("docs/BENCHMARKS.md")
# 12,000 distractors x 200 originals plus the transformed copies give over 3 million comparisons, the
# fewest at which zero false positives can show a rate under 1 per million (3 / N, the rule of three).
FULL_DISTRACTORS: Final = 12_000
# The brief's bound is about 10 minutes on the 2-core machine; the rest is margin for a busy machine.
DEFAULT_BUDGET_MIN: Final = 9.5
_REPORT_RESERVE_S: Final = 20.0  # the last distractor chunks, tallying and writing the document


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", action="append", choices=PARTS, help="run only this part (repeatable)")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny corpus and banks: checks the code, not the numbers"
    )
    parser.add_argument("--originals", type=int, help="bank size for the image accuracy run (default 200)")
    parser.add_argument("--distractors", type=int, help=f"distractor images (default {FULL_DISTRACTORS:,})")
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=DEFAULT_BUDGET_MIN,
        help=f"wall-clock bound for the whole run (default {DEFAULT_BUDGET_MIN:g}); accuracy runs last and "
        "queries fewer distractors if the budget runs out, saying so in its table",
    )
    parser.add_argument(
        "--crawl-minutes",
        type=float,
        default=DEFAULT_CRAWL_MINUTES,
        help=f"how long the crawl worker may crawl (default {DEFAULT_CRAWL_MINUTES:g}; about 9-15 crawl the "
        "whole site on this machine)",
    )
    parser.add_argument(
        "--pipeline-sizes",
        type=_sizes,
        default=DEFAULT_SIZES,
        help="comma-separated burst sizes of the pipeline part (default "
        + ",".join(str(size) for size in DEFAULT_SIZES)
        + ")",
    )
    parser.add_argument(
        "--load-media",
        type=int,
        help="media in the load part (default 10,000; checkpoints at a tenth, a half and all of them)",
    )
    parser.add_argument(
        "--doc", type=Path, default=DEFAULT_DOC, help="document whose marked blocks are rewritten"
    )
    parser.add_argument(
        "--no-doc", action="store_true", help="print the tables instead of writing the document"
    )
    return parser.parse_args(argv)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 100,1000, got {text!r}") from None
    if not sizes or any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return sizes


def _load_plan(arguments: argparse.Namespace) -> LoadPlan:
    if arguments.smoke:
        return LoadPlan.smoke()
    media = arguments.load_media
    if media is None:
        return LoadPlan.full()
    return LoadPlan(
        media=media, checkpoints=tuple(sorted({max(media // 10, 21), max(media // 2, 21), media}))
    )


def _accuracy_plan(arguments: argparse.Namespace, time_budget_s: float | None) -> AccuracyPlan:
    if arguments.smoke:
        return AccuracyPlan(
            originals=arguments.originals or 6,
            distractors=arguments.distractors or 12,
            include_natural=False,
            transforms=("copy", "resize 50%", "mirror", "crop 10% off-centre"),
        )
    return AccuracyPlan(
        originals=arguments.originals or 200,
        distractors=arguments.distractors or FULL_DISTRACTORS,
        time_budget_s=time_budget_s,
    )


def _video_plan(arguments: argparse.Namespace) -> VideoPlan:
    if arguments.smoke:
        return VideoPlan(
            bank_videos=2, distractor_videos=1, seconds=2.0, width=160, height=96, scene_seconds=1.0
        )
    return VideoPlan.full()


def run_benchmarks(
    arguments: argparse.Namespace, command: str, on_part: Callable[[dict[str, str]], None] | None = None
) -> dict[str, str]:
    """Run the chosen parts and return the document sections they fill, by marker name.

    ``command`` is the command line as the machine section should quote it. ``on_part`` is given each part's
    sections as soon as the part finishes (so a later part that fails or is stopped loses nothing of an
    earlier one).
    """
    parts = arguments.only or list(PARTS)
    started, load_before = time.perf_counter(), os.getloadavg()
    sections: dict[str, str] = {}
    part_times: dict[str, float] = {}
    part_started = time.perf_counter()

    def finished(part: str) -> None:
        nonlocal part_started
        part_times[part] = time.perf_counter() - part_started
        part_started = time.perf_counter()
        if on_part is not None:
            on_part({name: body for name, body in sections.items() if name not in reported})
            reported.update(sections)

    reported: set[str] = set()

    # Speed first, while nothing of ours runs beside it; accuracy last, since it can stop early.
    if "speed" in parts:
        plan = SpeedPlan.smoke() if arguments.smoke else SpeedPlan.full()
        rows = run_speed_benchmarks(plan)
        sections["speed"] = report.provenance(command) + report.speed_section(rows)
        finished("speed")
    if "video" in parts:
        video = run_video_benchmark(_video_plan(arguments))
        sections["video-accuracy"] = report.provenance(command) + report.video_accuracy_section(video)
        finished("video")
    if "accuracy" in parts:
        remaining_s = arguments.budget_minutes * 60 - (time.perf_counter() - started) - _REPORT_RESERVE_S
        accuracy = run_accuracy_benchmark(_accuracy_plan(arguments, max(remaining_s, 0.0)))
        sections["image-accuracy"] = report.provenance(command) + report.image_accuracy_section(accuracy)
        sections["false-positives"] = report.provenance(command) + report.false_positive_section(accuracy)
        finished("accuracy")
    # The local-stack parts come last: each runs in its own process, outside the budget above.
    if "crawl" in parts:
        crawl = run_crawl_benchmark(
            CrawlPlan.smoke() if arguments.smoke else CrawlPlan.full(arguments.crawl_minutes)
        )
        sections["crawl"] = report.provenance(command) + system_report.crawl_section(crawl)
        finished("crawl")
    if "pipeline" in parts:
        pipeline_plan = (
            PipelinePlan.smoke() if arguments.smoke else PipelinePlan.full(arguments.pipeline_sizes)
        )
        pipeline = run_pipeline_benchmark(pipeline_plan)
        sections["pipeline"] = report.provenance(command) + system_report.pipeline_section(pipeline)
        finished("pipeline")
    if "load" in parts:
        load = run_load_benchmark(_load_plan(arguments))
        sections["load"] = report.provenance(command) + system_report.load_section(load)
        finished("load")
    sections["machine"] = report.machine_section(
        command, load_before, time.perf_counter() - started, part_times=part_times
    )
    return sections


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bench.run``; returns the process exit status."""
    given = sys.argv[1:] if argv is None else argv
    arguments = _arguments(given)
    command = " ".join([".venv/bin/python -m bench.run", *given])
    if arguments.no_doc:
        for name, body in run_benchmarks(arguments, command).items():
            print(f"## {name}\n\n{body}\n")
        return 0

    def write(sections: dict[str, str]) -> None:
        report.write_sections(arguments.doc, sections)
        print(f"wrote {', '.join(sections)} into {arguments.doc}", flush=True)

    sections = run_benchmarks(arguments, command, on_part=write)
    write({"machine": sections["machine"]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
