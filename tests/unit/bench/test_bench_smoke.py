"""The benchmark harness on a tiny corpus: every code path runs in seconds, so ``make bench`` cannot rot.

These tests check the harness (counting, wiring, the document's markers), never a speed: a benchmark
measures, a test asserts behaviour.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from bench import corpus, report, run, system_report
from bench.accuracy import (
    FUSION,
    METHODS,
    PDQ_ALONE,
    PHASH_ALONE,
    AccuracyPlan,
    FalsePositiveTally,
    run_accuracy_benchmark,
)
from bench.crawl_site import CrawlSite
from bench.crawl_speed import CrawlPlan, run_crawl_benchmark
from bench.hamming_search import MultiIndexHashTable, PrefixFilteredScan, SearchInputError
from bench.load import CORRUPT, MATCHING, UNRELATED, LoadPlan, media_kind, run_load_benchmark
from bench.pipeline import PipelinePlan, run_pipeline_benchmark
from bench.speed import SpeedPlan, run_speed_benchmarks
from bench.transforms import TRANSFORMS, TransformError, transform_named
from bench.video_accuracy import VIDEO_TRANSFORMS, VideoPlan, run_video_benchmark
from PIL import Image

from takedown.hashing.hamming import nearest_within

REPO_ROOT = Path(__file__).resolve().parents[3]
DOC_MARKERS = (
    "machine",
    "image-accuracy",
    "false-positives",
    "video-accuracy",
    "speed",
    "crawl",
    "pipeline",
    "load",
)


# ---------------------------------------------------------------------------------------------------------
# Corpus and transforms


def test_same_entry_renders_same_pixels_and_originals_never_reuse_distractor_seeds() -> None:
    # GIVEN the bank and the distractors of a small run
    originals = corpus.original_entries(30)
    distractors = corpus.distractor_entries(30)

    # WHEN an entry is rendered twice
    first, second = corpus.render(originals[20]), corpus.render(originals[20])

    # THEN the pixels are identical, and no image is both an original and a distractor
    assert np.array_equal(np.asarray(first), np.asarray(second))
    assert not {entry.key for entry in originals} & {entry.key for entry in distractors}
    assert {entry.family for entry in distractors} == set(corpus.GENERATED_FAMILIES)


def test_natural_samples_leave_out_every_picture_of_people() -> None:
    # GIVEN the scikit-image samples that show people or patients' medical images
    excluded = {"astronaut", "camera", "lfw_subset", "retina", "microaneurysms", "immunohistochemistry"}

    # WHEN the natural part of the bank is listed
    naturals = {
        entry.sample for entry in corpus.original_entries(100) if entry.family == corpus.NATURAL_FAMILY
    }

    # THEN none of them is in it
    assert naturals == set(corpus.NATURAL_SAMPLES)
    assert not naturals & excluded


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda: corpus.render(corpus.CorpusEntry("portraits", 1)), "family:unknown"),
        (lambda: corpus.render(corpus.CorpusEntry(corpus.NATURAL_FAMILY, 0, "astronaut")), "photo:unknown"),
        (lambda: corpus.render_at(corpus.CorpusEntry("shapes", 1), 8, 8), "size:small"),
        (lambda: corpus.original_entries(-1), "count:negative"),
        (lambda: corpus.render_video_mp4(1.0, 63, 48), "video:size"),
    ],
)
def test_corpus_refuses_what_it_cannot_build(build: object, reason: str) -> None:
    # GIVEN a request the corpus cannot honour
    # WHEN it is built
    with pytest.raises(corpus.CorpusError) as raised:
        build()  # type: ignore[operator]

    # THEN the error names the reason
    assert raised.value.reason == reason


@pytest.mark.parametrize("transform", TRANSFORMS, ids=lambda transform: transform.name)
def test_every_transform_gives_a_decodable_file(transform: object) -> None:
    # GIVEN a generated original
    original = corpus.render(corpus.CorpusEntry("scene", 5))

    # WHEN the transform is applied
    data = transform.encode(original, np.random.default_rng(0))  # type: ignore[attr-defined]

    # THEN the bytes decode to a picture
    decoded = Image.open(io.BytesIO(data))
    decoded.load()
    assert min(decoded.size) > 0


def test_unknown_transform_is_refused_by_name() -> None:
    # GIVEN a name no transform has
    # WHEN it is looked up
    with pytest.raises(TransformError) as raised:
        transform_named("sepia")

    # THEN the reason says so
    assert raised.value.reason == "transform:unknown"


# ---------------------------------------------------------------------------------------------------------
# Exact search prototypes


@pytest.mark.parametrize("search_class", [PrefixFilteredScan, MultiIndexHashTable])
@pytest.mark.parametrize("max_distance", [0, 7, 31])
def test_fast_searches_return_exactly_what_the_plain_scan_returns(
    search_class: type, max_distance: int
) -> None:
    # GIVEN a bank of random hashes and queries that are near copies of some rows (and one unrelated)
    rng = np.random.default_rng(max_distance)
    bank = rng.integers(0, 2**64, size=(3_000, 4), dtype=np.uint64)
    queries = [rng.integers(0, 2**64, size=4, dtype=np.uint64)]
    for row in rng.integers(0, len(bank), 6):
        bits = np.unpackbits(bank[row].view(np.uint8))
        bits[rng.choice(256, int(rng.integers(0, max_distance + 1)), replace=False)] ^= 1
        queries.append(np.packbits(bits).view(np.uint64).copy())
    bank[100] = bank[200]  # a duplicate row: both must be reported

    # WHEN each query is searched
    search = search_class(bank)
    results = [search.within(query, max_distance) for query in queries]

    # THEN the rows and distances equal the plain vectorised scan's, nearest first
    expected = [nearest_within(bank, query, max_distance) for query in queries]
    assert results == expected
    assert sum(len(found) for found in results) >= 6


@pytest.mark.parametrize("search_class", [PrefixFilteredScan, MultiIndexHashTable])
def test_fast_searches_refuse_malformed_banks_and_queries(search_class: type) -> None:
    # GIVEN a valid bank
    bank = np.zeros((4, 4), dtype=np.uint64)
    search = search_class(bank)

    # WHEN a bank or a query of the wrong shape or type is given
    # THEN a named error says which
    with pytest.raises(SearchInputError) as bad_bank:
        search_class(np.zeros((4, 3), dtype=np.uint64))
    with pytest.raises(SearchInputError) as bad_query:
        search.within(np.zeros(4, dtype=np.int64), 3)
    with pytest.raises(SearchInputError) as bad_radius:
        search.within(np.zeros(4, dtype=np.uint64), -1)
    assert (bad_bank.value.reason, bad_query.value.reason, bad_radius.value.reason) == (
        "bank:shape",
        "query:shape",
        "radius:range",
    )


# ---------------------------------------------------------------------------------------------------------
# The benchmarks themselves, tiny


def test_accuracy_benchmark_matches_unchanged_copies_and_counts_every_comparison() -> None:
    # GIVEN a bank of 4 generated originals, 2 transforms and 3 distractors
    plan = AccuracyPlan(
        originals=4, distractors=3, include_natural=False, workers=1, transforms=("copy", "mirror")
    )

    # WHEN the accuracy benchmark runs
    result = run_accuracy_benchmark(plan)

    # THEN an unchanged copy matches its original by every method (the harness wires keys correctly)
    for method in METHODS:
        assert (result.recall[method]["copy"].found, result.recall[method]["copy"].total) == (4, 4)
    # AND comparisons are queries x originals, without a transformed copy's own source
    expected_comparisons = 2 * 4 * 3 + 3 * 4
    assert {result.false_positives[method].comparisons for method in METHODS} == {expected_comparisons}
    # AND the fusion bank holds at least one hash per original, the plain methods exactly one
    assert result.bank_hashes >= 4
    assert result.false_positives[PHASH_ALONE].hash_comparisons == expected_comparisons
    # (a copy is compared with every hash but its own original's; over all 4 originals those add up to the bank)
    assert (
        result.false_positives[FUSION].hash_comparisons == 2 * 3 * result.bank_hashes + 3 * result.bank_hashes
    )
    # AND a mirrored copy is beyond plain PDQ's reach (the distance to the source is recorded)
    assert result.recall[PDQ_ALONE]["mirror"].found == 0
    assert result.median_distance["PDQ"]["mirror"] > 31


def test_accuracy_benchmark_stops_querying_distractors_when_its_budget_is_spent() -> None:
    # GIVEN a plan whose time budget is already spent when the distractors' turn comes
    plan = AccuracyPlan(
        originals=2,
        distractors=100,
        include_natural=False,
        workers=1,
        transforms=("copy",),
        time_budget_s=0.0,
    )

    # WHEN it runs
    result = run_accuracy_benchmark(plan)

    # THEN only the chunks started before the check were queried, and the table says the budget ran out
    assert 0 < result.distractors_queried < plan.distractors
    assert result.false_positives[PDQ_ALONE].comparisons == 2 * 1 + result.distractors_queried * 2
    assert "time budget ran out" in report.false_positive_section(result)


def test_rule_of_three_bounds_a_rate_with_no_false_positive() -> None:
    # GIVEN three million comparisons without a false positive, and the same with three
    clean = FalsePositiveTally(pairs=0, comparisons=3_000_000)
    dirty = FalsePositiveTally(pairs=3, comparisons=3_000_000)

    # WHEN the one-sided 95% upper bounds are read
    # THEN no false positive bounds the rate at 3/N, and observed ones give a bound above the observed rate
    assert clean.upper_bound_per_million == pytest.approx(1.0, abs=0.01)
    assert dirty.per_million == pytest.approx(1.0)
    assert dirty.upper_bound_per_million == pytest.approx(7.75 / 3, abs=0.01)  # Poisson: 7.75 for 3 seen


def test_video_benchmark_compares_every_query_with_every_bank_video() -> None:
    # GIVEN two short bank videos and one distractor
    plan = VideoPlan(
        bank_videos=2, distractor_videos=1, seconds=2.0, width=160, height=96, scene_seconds=1.0, workers=1
    )

    # WHEN the video benchmark runs
    result = run_video_benchmark(plan)

    # THEN each transform was tried on each bank video, and every other pair counted as a comparison
    assert {name: cell.total for name, cell in result.recall.items()} == {t.name: 2 for t in VIDEO_TRANSFORMS}
    assert result.comparisons == len(VIDEO_TRANSFORMS) * 2 * 1 + 1 * 2
    assert result.recall["re-encode"].found == 2


def test_speed_benchmark_runs_every_case_and_checks_the_fast_searches() -> None:
    # GIVEN the smoke plan (tiny images and banks)
    plan = SpeedPlan.smoke()

    # WHEN the speed benchmark runs (each case in its own single-core worker)
    rows = run_speed_benchmarks(plan)

    # THEN every group is measured, each timed case ran at least the minimum number of times
    assert [row.group for row in rows].count("match") == 5
    assert {row.group for row in rows} == {"baseline", "decode", "fingerprint", "video", "match"}
    assert all(row.timing.runs >= 1 for row in rows if row.timing is not None)
    assert all(row.peak_rss_mib > 0 for row in rows)


# ---------------------------------------------------------------------------------------------------------
# The local-stack parts: crawl, pipeline, load (each on the in-process local stack, in seconds)


def _fill_a_copy_of_the_document(tmp_path: Path, name: str, body: str) -> str:
    document = tmp_path / "BENCHMARKS.md"
    shutil.copy(REPO_ROOT / "docs" / "BENCHMARKS.md", document)
    report.write_sections(document, {name: body})
    return document.read_text(encoding="utf-8")


def test_crawl_benchmark_fetches_every_page_and_media_url_once_and_stores_what_it_found(
    tmp_path: Path,
) -> None:
    # GIVEN the smallest generated site
    plan = CrawlPlan.smoke()
    placed = CrawlSite(plan.site).media_urls_placed()

    # WHEN one worker crawls it through the crawl function on the local stack
    crawled = run_crawl_benchmark(plan)

    # THEN every page and every media URL was fetched once (the placeholder once per lazy block's page),
    # nothing failed or was refused, and every stored media object has its sighting
    assert crawled.pages_fetched == crawled.messages == plan.site.pages
    assert crawled.media_fetched == sum(placed.values())
    assert (crawled.failed_messages, crawled.refusals, crawled.stopped_early) == (0, {}, False)
    assert 0 < crawled.media_stored == crawled.stored_objects["sightings/"] <= crawled.media_fetched
    # AND the function's S3 writes are exactly the objects found in the bucket
    assert crawled.function_calls["s3.PutObject"] == sum(crawled.stored_objects.values())
    assert "sqs.ReceiveMessage" not in crawled.function_calls
    assert crawled.traced_batches >= 1 and crawled.peak_rss_mib > 0
    # AND the block renders into the document
    after = _fill_a_copy_of_the_document(tmp_path, "crawl", system_report.crawl_section(crawled))
    assert f"| fetched | {plan.site.pages:,} pages" in after


def test_pipeline_benchmark_takes_every_matching_media_to_the_reviewer_and_times_each_state(
    tmp_path: Path,
) -> None:
    # GIVEN a burst of 3 matching media after one dropped alone
    plan = PipelinePlan.smoke()

    # WHEN they are dropped into the local stack's bucket
    pipeline = run_pipeline_benchmark(plan)

    # THEN each opened a case that reached review with one reviewer email, and each was timed
    (run_,) = pipeline.runs
    assert run_.outcomes == {"CANDIDATE": 4}
    assert run_.statuses == {"AWAITING_REVIEW": 4} and run_.reviewer_emails == 4
    assert (len(run_.single_latencies_s), len(run_.burst_latencies_s), run_.timed_out) == (1, 3, False)
    assert {"HashMedia", "Score", "RenderLocales", "RequestApproval"} <= set(run_.burst_segments_s)
    assert run_.aws_calls["sesv2.SendEmail"] == 3
    # AND the block renders, with the anchors
    after = _fill_a_copy_of_the_document(tmp_path, "pipeline", system_report.pipeline_section(pipeline))
    assert "| 3 |" in after and "Seoul" in after and "HMA" in after


def test_load_benchmark_records_an_outcome_for_every_media_file(tmp_path: Path) -> None:
    # GIVEN a small mix of matching, corrupt and unrelated media
    plan = LoadPlan.smoke()
    expected = [media_kind(index, plan) for index in range(plan.media)]

    # WHEN they go through the local pipeline
    load = run_load_benchmark(plan)

    # THEN each kind ended where it should, with nothing unaccounted for
    assert load.kinds == {kind: expected.count(kind) for kind in set(expected)}
    assert load.outcomes_by_kind == {
        MATCHING: {"CANDIDATE": expected.count(MATCHING)},
        CORRUPT: {"REJECTED:decode:failed": expected.count(CORRUPT)},
        UNRELATED: {"NO_MATCH": expected.count(UNRELATED)},
    }
    assert load.without_outcome == 0 and load.settled
    assert load.statuses == {"AWAITING_REVIEW": expected.count(MATCHING)}
    assert [point.media for point in load.checkpoints] == list(plan.checkpoints)
    assert all(point.traced_peak_mib > 0 for point in load.checkpoints)
    # AND the block renders
    after = _fill_a_copy_of_the_document(tmp_path, "load", system_report.load_section(load))
    assert f"**{plan.media} of {plan.media}**" in after


# ---------------------------------------------------------------------------------------------------------
# The document


def test_report_replaces_only_the_marked_blocks() -> None:
    # GIVEN a document with hand-written text around a marked block
    document = "intro\n<!-- bench:speed -->\nold table\n<!-- /bench:speed -->\noutro\n"

    # WHEN the block is replaced
    updated = report.replace_sections(document, {"speed": "| new |"})

    # THEN only the block changed
    assert updated == "intro\n<!-- bench:speed -->\n| new |\n<!-- /bench:speed -->\noutro\n"
    with pytest.raises(report.ReportError) as raised:
        report.replace_sections(document, {"video-accuracy": "x"})
    assert raised.value.reason == "marker:missing"


def test_smoke_run_fills_every_marked_block_of_a_copy_of_the_real_document(tmp_path: Path) -> None:
    # GIVEN a copy of docs/BENCHMARKS.md
    document = tmp_path / "BENCHMARKS.md"
    shutil.copy(REPO_ROOT / "docs" / "BENCHMARKS.md", document)
    before = document.read_text(encoding="utf-8")

    # WHEN `python -m bench.run --smoke` writes into it (accuracy only, to keep the test short)
    status = run.main(["--smoke", "--only", "accuracy", "--doc", str(document)])

    # THEN the accuracy and machine blocks are filled, the others and the prose are kept
    after = document.read_text(encoding="utf-8")
    assert status == 0
    assert "| copy |" in after and "| pHash alone |" in after
    assert "Produced by `.venv/bin/python -m bench.run --smoke --only accuracy" in after
    for marker in DOC_MARKERS:
        assert f"<!-- bench:{marker} -->" in after and f"<!-- /bench:{marker} -->" in after
    assert after.split("## Anchors")[1] == before.split("## Anchors")[1]


def test_a_part_that_fails_keeps_the_blocks_of_the_parts_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a copy of docs/BENCHMARKS.md and a load part that dies (as a worker killed for its memory would)
    document = tmp_path / "BENCHMARKS.md"
    shutil.copy(REPO_ROOT / "docs" / "BENCHMARKS.md", document)
    before = document.read_text(encoding="utf-8")

    def dies(plan: object) -> None:
        raise RuntimeError("worker process terminated")

    monkeypatch.setattr(run, "run_load_benchmark", dies)

    # WHEN the run does accuracy, then load
    with pytest.raises(RuntimeError, match="terminated"):
        run.main(["--smoke", "--only", "accuracy", "--only", "load", "--doc", str(document)])

    # THEN the accuracy blocks were written when accuracy finished; the load block is as it was
    after = document.read_text(encoding="utf-8")
    assert "Produced by `.venv/bin/python -m bench.run --smoke --only accuracy --only load" in after
    assert "| pHash alone |" in after
    block = "<!-- bench:load -->"
    assert (
        after.split(block)[1].split("<!-- /bench:load -->")[0]
        == before.split(block)[1].split("<!-- /bench:load -->")[0]
    )
