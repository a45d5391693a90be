"""Recall per transform and false positives against distractors: pHash alone, PDQ alone, and the fusion rule.

The bank holds the originals (:func:`bench.corpus.original_entries`). Queries are every original under
every transform (:data:`bench.transforms.TRANSFORMS`), encoded as a crawler would download them, plus the
distractors (:func:`bench.corpus.distractor_entries`), which match nothing by construction. Each query is
fingerprinted once with the production fingerprinter and then matched three ways:

* ``pHash alone``: the query's pHash against each original's, a match at 10 bits or fewer;
* ``PDQ alone``: the query's PDQ against each original's, a match at 31 bits or fewer;
* ``fusion``: the production matcher, ``BankIndex.match_fingerprint``, over a bank built with the
  registration variants of every original (crops, rotations) and the query's own dihedral variants.

A *false positive* is a pair (query, original) that matched although the query was not made from that
original; several hashes of one original matching one query count once. Comparisons are counted the same
way, queries x originals (minus each transformed query's own source), and for the fusion also as
queries x bank hashes, since every registration variant is one more chance of a false match.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import TYPE_CHECKING, Final

import numpy as np
from scipy.stats import chi2

from bench.corpus import CorpusEntry, distractor_entries, original_entries, render
from bench.transforms import TRANSFORMS, encode_jpeg, encode_png, transform_named
from takedown.hashing.bank_index import BankIndex
from takedown.hashing.bank_variants import RegistrationRefused, bank_items_for_image
from takedown.hashing.fingerprint import ImageFingerprint, fingerprint_image_bytes
from takedown.hashing.hamming import hamming_distances, pack_hex_hashes
from takedown.hashing.refusals import MediaRejected
from takedown.model import BankItem

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from numpy.typing import NDArray
    from PIL import Image

    from takedown.model import MatchEvidence

PHASH_ALONE: Final = "pHash alone"
PDQ_ALONE: Final = "PDQ alone"
FUSION: Final = "fusion"
METHODS: Final = (PHASH_ALONE, PDQ_ALONE, FUSION)
PHASH_THRESHOLD: Final = 10
PDQ_THRESHOLD: Final = 31
DISTRACTOR_JPEG_QUALITY: Final = 90  # distractors arrive the way most web images do
FALSE_POSITIVE_GOAL_PER_MILLION: Final = 1.0
_CONFIDENCE: Final = 0.95
_BANK_NAME: Final = "bench"
_EXAMPLES_KEPT: Final = 12
_TASK_CHUNK: Final = 8
_DISTRACTOR_CHUNK: Final = 24
# Registration may refuse a candidate (too flat for PDQ); past this many candidates per wanted original
# the corpus is unusable and the bank stays short, which the report shows.
_MAX_CANDIDATES_PER_ORIGINAL: Final = 2


@dataclass(frozen=True)
class AccuracyPlan:
    """How big a run is. ``full()`` is the ``make bench`` plan; tests pass a tiny one.

    Examples
    --------
    >>> AccuracyPlan(originals=4, distractors=6, include_natural=False, workers=1).transforms[0]
    'copy'
    """

    originals: int = 200
    distractors: int = 10_000
    include_natural: bool = True
    workers: int = 2
    transforms: tuple[str, ...] = tuple(transform.name for transform in TRANSFORMS)
    # Seconds the whole accuracy run may take. Distractors are queried last, in chunks that mix every
    # family; once the budget is spent no further chunk starts, and the report says how many were queried.
    time_budget_s: float | None = None


@dataclass(frozen=True)
class Hit:
    """One original a query matched, with the smallest distance and (fusion only) rule and variant."""

    bank_key: str
    distance: int
    rule: str = ""
    variant: str = ""


@dataclass(frozen=True)
class QueryOutcome:
    """What the three methods said about one query. ``source_key`` is "" for a distractor."""

    query_key: str
    transform: str  # "" for a distractor
    source_key: str
    hits: dict[str, tuple[Hit, ...]]
    source_distances: dict[str, int] = field(default_factory=dict)  # pHash and PDQ distance to the source
    rejected: str = ""  # MediaRejected reason when the query could not be fingerprinted
    query_quality: int = -1  # the query's PDQ quality (0-100)


@dataclass(frozen=True)
class Registration:
    """The bank as built: every original's plain hashes and its fusion bank items, and what was refused."""

    plain_pdq: dict[str, str]
    plain_phash: dict[str, str]
    fusion_items: tuple[BankItem, ...]
    refused: dict[str, str]  # original key -> reason the registration refused it


@dataclass
class RecallCell:
    found: int = 0
    total: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.total if self.total else float("nan")


@dataclass
class FalsePositiveTally:
    pairs: int = 0
    comparisons: int = 0  # queries x originals
    hash_comparisons: int = 0  # queries x bank hashes
    examples: list[str] = field(default_factory=list)
    rules: Counter[str] = field(default_factory=Counter)
    families: Counter[str] = field(default_factory=Counter)  # "query family -> original family"

    @property
    def per_million(self) -> float:
        return self.pairs / self.comparisons * 1e6 if self.comparisons else float("nan")

    @property
    def upper_bound_per_million(self) -> float:
        """One-sided 95% upper bound on the rate: the exact Poisson bound ``chi2(0.95, 2k + 2) / 2`` on
        the count, which is the rule of three (3/N, more precisely 2.996/N) when there is none."""
        if not self.comparisons:
            return float("nan")
        bound = float(chi2.ppf(_CONFIDENCE, 2 * self.pairs + 2)) / 2
        return bound / self.comparisons * 1e6


@dataclass
class AccuracyReport:
    """Everything the BENCHMARKS tables need."""

    plan: AccuracyPlan
    originals: list[str]
    bank_hashes: int
    bank_items_rejected: int  # registration variants the index left out (too flat for PDQ)
    refused: dict[str, str]
    recall: dict[str, dict[str, RecallCell]]  # method -> transform -> cell
    false_positives: dict[str, FalsePositiveTally]  # method -> tally over all queries
    distractor_false_positives: dict[str, int]
    median_distance: dict[str, dict[str, float]]  # "pHash"/"PDQ" -> transform -> median distance to source
    fusion_rules: Counter[str]  # rule of each true fusion match
    missed: dict[str, list[str]]  # transform -> fusion misses, "original (best PDQ distance)"
    rejected_queries: list[str]
    elapsed_s: float
    distractors_queried: int = 0  # fewer than plan.distractors when the time budget ran out


# ----------------------------------------------------------------------------------------------------------
# Running


def run_accuracy_benchmark(plan: AccuracyPlan) -> AccuracyReport:
    """Register the originals, run every query in ``plan.workers`` processes, and tally the results."""
    started = time.perf_counter()
    for name in plan.transforms:
        transform_named(name)  # an unknown name fails here, not in a worker
    # A centre cannot register a picture whose PDQ is unusable (too flat): such candidates are recorded
    # and replaced by the next ones, so the bank holds plan.originals pictures that can match at all.
    candidates = original_entries(
        plan.originals * _MAX_CANDIDATES_PER_ORIGINAL, include_natural=plan.include_natural
    )
    context = get_context("spawn")
    with ProcessPoolExecutor(max_workers=plan.workers, mp_context=context) as pool:
        registrations = _register_until_enough(pool, candidates, plan.originals)
    registration = _merge_registrations(registrations, plan.originals)
    originals = [entry for entry in candidates if entry.key in registration.plain_pdq]
    indexed = FusionMatcher(registration.fusion_items)
    transform_tasks = [(entry, plan.transforms) for entry in originals]
    distractors = distractor_entries(plan.distractors)
    outcomes: list[QueryOutcome] = []
    with ProcessPoolExecutor(
        max_workers=plan.workers, mp_context=context, initializer=_load_bank, initargs=(registration,)
    ) as pool:
        for batch in pool.map(_query_transformed, transform_tasks, chunksize=1):
            outcomes.extend(batch)
        outcomes += _query_distractors_within(pool, plan, distractors, started)
    return _tally(
        plan,
        original_keys=[entry.key for entry in originals],
        registration=registration,
        indexed=indexed,
        outcomes=outcomes,
        elapsed_s=time.perf_counter() - started,
    )


def _query_distractors_within(
    pool: ProcessPoolExecutor, plan: AccuracyPlan, distractors: Sequence[CorpusEntry], started: float
) -> list[QueryOutcome]:
    """Query the distractors chunk by chunk, submitting no new chunk once the plan's budget has passed."""
    budget_s = plan.time_budget_s
    chunks = _chunks(distractors, _DISTRACTOR_CHUNK)
    outcomes: list[QueryOutcome] = []
    # Keep each worker one chunk ahead, no more, so stopping wastes at most one chunk per worker.
    pending = [pool.submit(_query_distractors, chunk) for chunk in chunks[: 2 * plan.workers]]
    submitted = len(pending)
    while pending:
        outcomes += pending.pop(0).result()
        within_budget = budget_s is None or time.perf_counter() - started < budget_s
        if within_budget and submitted < len(chunks):
            pending.append(pool.submit(_query_distractors, chunks[submitted]))
            submitted += 1
    return outcomes


def _chunks(entries: Sequence[CorpusEntry], size: int) -> list[list[CorpusEntry]]:
    return [list(entries[start : start + size]) for start in range(0, len(entries), size)]


# ----------------------------------------------------------------------------------------------------------
# Registration (in workers)


@dataclass(frozen=True)
class _OriginalRegistration:
    key: str
    pdq: str
    phash: str
    items: tuple[BankItem, ...]
    refused: str


def _register_original(entry: CorpusEntry) -> _OriginalRegistration:
    image = render(entry)
    original_file = encode_png(image)
    plain = fingerprint_image_bytes(original_file)
    try:
        items = tuple(fusion_bank_items(entry.key, image, original_file))
        refused = ""
    except FUSION_REFUSALS as error:
        items, refused = (), _reason(error)
    return _OriginalRegistration(entry.key, plain.pdq, plain.phash, items, refused)


def _register_until_enough(
    pool: ProcessPoolExecutor, candidates: Sequence[CorpusEntry], wanted: int
) -> list[_OriginalRegistration]:
    """Register candidates in order, a batch at a time, until ``wanted`` were accepted (or none are left)."""
    registrations: list[_OriginalRegistration] = []
    missing = wanted
    while missing > 0 and len(registrations) < len(candidates):
        next_candidates = candidates[len(registrations) : len(registrations) + missing]
        registrations += pool.map(_register_original, next_candidates, chunksize=_TASK_CHUNK)
        missing = wanted - sum(not registration.refused for registration in registrations)
    return registrations


def _merge_registrations(registrations: Sequence[_OriginalRegistration], wanted: int) -> Registration:
    """The first ``wanted`` candidates registration accepted, and the refused ones drawn before them."""
    accepted: list[_OriginalRegistration] = []
    refused: dict[str, str] = {}
    for candidate in registrations:
        if len(accepted) == wanted:
            break
        if candidate.refused:
            refused[candidate.key] = candidate.refused
        else:
            accepted.append(candidate)
    return Registration(
        plain_pdq={r.key: r.pdq for r in accepted},
        plain_phash={r.key: r.phash for r in accepted},
        fusion_items=tuple(item for r in accepted for item in r.items),
        refused=refused,
    )


def _reason(error: Exception) -> str:
    return str(getattr(error, "reason", type(error).__name__))


# ----------------------------------------------------------------------------------------------------------
# Querying (in workers)


@dataclass
class _LoadedBank:
    keys: list[str]
    pdq: NDArray[np.uint64]
    phash: NDArray[np.uint64]
    fusion: FusionMatcher


_BANK: dict[str, _LoadedBank] = {}


def _load_bank(registration: Registration) -> None:
    keys = list(registration.plain_pdq)
    _BANK["bank"] = _LoadedBank(
        keys=keys,
        pdq=pack_hex_hashes([registration.plain_pdq[key] for key in keys], bits=256),
        phash=pack_hex_hashes([registration.plain_phash[key] for key in keys], bits=64),
        fusion=FusionMatcher(registration.fusion_items),
    )


def _query_transformed(task: tuple[CorpusEntry, tuple[str, ...]]) -> list[QueryOutcome]:
    entry, transform_names = task
    image = render(entry)
    outcomes = []
    for index, name in enumerate(transform_names):
        # One generator per (image, transform): a run can be repeated case by case.
        rng = np.random.default_rng([zlib.crc32(entry.key.encode()), index])
        data = transform_named(name).encode(image, rng)
        outcomes.append(_match_query(f"{entry.key}~{name}", name, entry.key, data))
    return outcomes


def _query_distractors(entries: Iterable[CorpusEntry]) -> list[QueryOutcome]:
    return [
        _match_query(entry.key, "", "", encode_jpeg(render(entry), DISTRACTOR_JPEG_QUALITY))
        for entry in entries
    ]


def _match_query(query_key: str, transform: str, source_key: str, data: bytes) -> QueryOutcome:
    bank = _BANK["bank"]
    try:
        fingerprint = fingerprint_image_bytes(data)
    except MediaRejected as error:
        return QueryOutcome(query_key, transform, source_key, {}, rejected=error.reason)
    pdq_distances = hamming_distances(bank.pdq, pack_hex_hashes([fingerprint.pdq], bits=256)[0])
    phash_distances = hamming_distances(bank.phash, pack_hex_hashes([fingerprint.phash], bits=64)[0])
    hits = {
        PHASH_ALONE: _plain_hits(bank.keys, phash_distances, PHASH_THRESHOLD),
        PDQ_ALONE: _plain_hits(bank.keys, pdq_distances, PDQ_THRESHOLD),
        FUSION: bank.fusion.match(fingerprint),
    }
    source_distances: dict[str, int] = {}
    if source_key:
        row = bank.keys.index(source_key)
        source_distances = {"pHash": int(phash_distances[row]), "PDQ": int(pdq_distances[row])}
    return QueryOutcome(
        query_key, transform, source_key, hits, source_distances, query_quality=fingerprint.pdq_quality
    )


def _plain_hits(keys: list[str], distances: NDArray[np.int64], threshold: int) -> tuple[Hit, ...]:
    return tuple(Hit(keys[int(row)], int(distances[row])) for row in np.flatnonzero(distances <= threshold))


# ----------------------------------------------------------------------------------------------------------
# Tallying


def _tally(
    plan: AccuracyPlan,
    *,
    original_keys: list[str],
    registration: Registration,
    indexed: FusionMatcher,
    outcomes: list[QueryOutcome],
    elapsed_s: float,
) -> AccuracyReport:
    recall = {method: {name: RecallCell() for name in plan.transforms} for method in METHODS}
    tallies = {method: FalsePositiveTally() for method in METHODS}
    distractor_fps = dict.fromkeys(METHODS, 0)
    distances: dict[str, dict[str, list[int]]] = {"pHash": {}, "PDQ": {}}
    fusion_rules: Counter[str] = Counter()
    missed: dict[str, list[str]] = {name: [] for name in plan.transforms}
    rejected: list[str] = []
    bank_size, hash_count = len(original_keys), len(indexed)
    hashes_per_original = indexed.items_per_group()
    for outcome in outcomes:
        if outcome.rejected:
            rejected.append(f"{outcome.query_key} ({outcome.rejected})")
        others = bank_size - 1 if outcome.source_key else bank_size
        for method in METHODS:
            tally = tallies[method]
            tally.comparisons += others
            own_hashes = hashes_per_original.get(outcome.source_key, 0) if method == FUSION else 1
            per_hash = hash_count if method == FUSION else bank_size
            tally.hash_comparisons += per_hash - (own_hashes if outcome.source_key else 0)
            wrong = [hit for hit in outcome.hits.get(method, ()) if hit.bank_key != outcome.source_key]
            tally.pairs += len(wrong)
            if not outcome.source_key:
                distractor_fps[method] += len(wrong)
            for hit in wrong:
                tally.rules[hit.rule] += 1
                tally.families[f"{_family(outcome.query_key)} -> {_family(hit.bank_key)}"] += 1
                if len(tally.examples) < _EXAMPLES_KEPT:
                    tally.examples.append(_describe_false_positive(outcome, hit))
            if outcome.source_key:
                found = [hit for hit in outcome.hits.get(method, ()) if hit.bank_key == outcome.source_key]
                cell = recall[method][outcome.transform]
                cell.total += 1
                cell.found += bool(found)
                if method == FUSION:
                    fusion_rules.update(hit.rule for hit in found[:1])
                    if not found and len(missed[outcome.transform]) < _EXAMPLES_KEPT:
                        pdq = outcome.source_distances.get("PDQ", -1)
                        missed[outcome.transform].append(f"{outcome.source_key} (PDQ {pdq})")
        for name, value in outcome.source_distances.items():
            distances[name].setdefault(outcome.transform, []).append(value)
    median_distance = {
        name: {transform: float(np.median(values)) for transform, values in by_transform.items()}
        for name, by_transform in distances.items()
    }
    return AccuracyReport(
        plan=plan,
        originals=original_keys,
        bank_hashes=hash_count,
        bank_items_rejected=indexed.rejected,
        refused=dict(registration.refused),
        recall=recall,
        false_positives=tallies,
        distractor_false_positives=distractor_fps,
        median_distance=median_distance,
        fusion_rules=fusion_rules,
        missed=missed,
        rejected_queries=rejected,
        elapsed_s=elapsed_s,
        distractors_queried=sum(not outcome.source_key for outcome in outcomes),
    )


def _family(key: str) -> str:
    return key.split("/", 1)[0]


def _describe_false_positive(outcome: QueryOutcome, hit: Hit) -> str:
    how = f", rule {hit.rule}" if hit.rule else ""
    via = f", variant {hit.variant}" if hit.variant else ""
    return (
        f"{outcome.query_key} (PDQ quality {outcome.query_quality}) matched {hit.bank_key} at distance "
        f"{hit.distance}{how}{via}"
    )


# ----------------------------------------------------------------------------------------------------------
# The production matcher, behind the small surface the benchmark needs


FUSION_REFUSALS: Final = (RegistrationRefused,)
_REGISTERED_AT: Final = "2026-01-01T00:00:00.000000Z"


def fusion_bank_items(key: str, image: Image.Image, original_file: bytes) -> list[BankItem]:
    """What the centre stores when it registers ``image``: a PDQ and a pHash item per registration
    variant (``bank_items_for_image``), plus the SHA-256 of the file it was given, all in group ``key``.

    Raises :class:`~takedown.hashing.bank_variants.RegistrationRefused` for an original whose PDQ is
    unusable (featureless or degenerate).
    """
    items = bank_items_for_image(image, bank=_BANK_NAME, group_id=key, case_ref=key, added_at=_REGISTERED_AT)
    digest = hashlib.sha256(original_file).hexdigest()
    exact = BankItem(
        item_id=f"{key}:file:sha256",
        bank=_BANK_NAME,
        algorithm="sha256",
        hash_hex=digest,
        case_ref=key,
        added_at=_REGISTERED_AT,
        group_id=key,
        variant="file",
    )
    return [*items, exact]


class FusionMatcher:
    """``BankIndex.match_fingerprint`` with its evidence folded to one :class:`Hit` per matched original.

    Examples
    --------
    >>> matcher = FusionMatcher([])
    >>> len(matcher), matcher.rejected
    (0, 0)
    """

    def __init__(self, items: Sequence[BankItem]) -> None:
        self._index = BankIndex.build(items)
        left_out = {item_id for item_id, _ in self._index.rejected}
        self._groups = [item.group_id for item in items if item.item_id not in left_out]

    def __len__(self) -> int:
        return len(self._index)

    @property
    def rejected(self) -> int:
        """Items the index left out (for example a registration variant too flat for PDQ)."""
        return len(self._index.rejected)

    def items_per_group(self) -> Counter[str]:
        """How many indexed items each original (group) has."""
        return Counter(self._groups)

    def match(self, fingerprint: ImageFingerprint) -> tuple[Hit, ...]:
        """One hit per matched original (group): the first (deciding) rule, the nearest PDQ distance."""
        by_group: dict[str, list[MatchEvidence]] = {}
        for evidence in self._index.match_fingerprint(fingerprint):
            by_group.setdefault(evidence.group_id or evidence.bank_item_id, []).append(evidence)
        hits = []
        for group, group_evidence in by_group.items():
            pdq = [hit.distance for hit in group_evidence if hit.algorithm == "pdq"]
            deciding = group_evidence[0]
            hits.append(Hit(group, min(pdq, default=0), deciding.rule, deciding.variant))
        return tuple(hits)
