"""When a near hash becomes a candidate match: the fusion rule.

A candidate goes to a human reviewer and, once approved, becomes a legal demand, so a false candidate
costs far more than a missed one costs a second look. Three rules make a candidate, per bank group (the
registered original and every variant hashed from it share a group; an item without a group is its own):

``exact``
    The file's SHA-256 or MD5 equals a bank item's.
``pdq-strict``
    PDQ alone, within :attr:`BankThresholds.pdq_strict` bits, and only when the query's PDQ quality is at
    least :attr:`BankThresholds.pdq_min_quality` (a featureless image has an unreliable PDQ).
``pdq+phash``
    PDQ within :attr:`BankThresholds.pdq_max` bits AND pHash within :attr:`BankThresholds.phash_max` bits,
    both for the same group and the same orientation of the query (a pHash agreeing only for a mirrored
    query is not agreement about the picture the PDQ saw).

pHash alone never makes a candidate: 64 bits of mostly low frequencies collide between unrelated images
of similar layout, and a bank holds tens of thousands of items.

Evidence conventions (what :class:`~takedown.hashing.bank_index.BankIndex` produces and :func:`fuse`
reads): ``variant`` is ``"query:<orientation> bank:<variant>"`` (either part may be missing; a missing
query part means the query as given, ``original``); ``quality`` on a PDQ hit is the *query's* PDQ
quality (``None`` when unknown, which never qualifies for ``pdq-strict``; bank hashes under 50 never get
into an index).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from takedown.model import MatchEvidence

RULE_EXACT: Final = "exact"
RULE_PDQ_PHASH: Final = "pdq+phash"
RULE_PDQ_STRICT: Final = "pdq-strict"
RULES: Final = (RULE_EXACT, RULE_PDQ_PHASH, RULE_PDQ_STRICT)

EXACT_ALGORITHMS: Final = frozenset({"sha256", "md5"})
QUERY_PREFIX: Final = "query:"
BAND_QUERY_PREFIX: Final = "band:"  # query orientations of the image's middle band: "band:flipy"
BANK_PREFIX: Final = "bank:"
ORIGINAL_ORIENTATION: Final = "original"

_MAX_PDQ_DISTANCE: Final = 256
_MAX_PHASH_DISTANCE: Final = 64
_MAX_QUALITY: Final = 100


class FusionInputError(ValueError):
    """Evidence or thresholds that :func:`fuse` cannot use. ``reason``: ``thresholds:range``,
    ``evidence:algorithm``, ``evidence:distance``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def _require_int_in(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FusionInputError("thresholds:range", f"{name} must be an int in {low}..{high}, got {value!r}")


@dataclass(frozen=True)
class BankThresholds:
    """How near is near enough, per bank.

    Defaults, and why (measurements from the detection tests on generated and sample photos, each query
    hashed in its 8 orientations against every registration variant):

    ``pdq_max = 31``
        Meta's recommended PDQ match distance, used by HMA. With pHash agreeing, a copy at up to 31
        bits is a candidate. Re-encoded, resized, recoloured, captioned and mirrored copies measured
        0-30 bits (medians 0-10); the nearest of 3000 unrelated pictures, each hashed 12 ways against
        1560 bank hashes (56 million comparisons), was 68 bits away.
    ``pdq_strict = 20``
        PDQ alone is trusted only well inside 31: JPEG q30, greyscale and resized copies measured
        medians of 0-4 bits, and between 20 and 31 bits pHash corroboration cost no recall in the
        measurements while it guards against a structural PDQ coincidence.
    ``phash_max = 10``
        imagehash's customary pHash distance; re-encoded, resized and recoloured copies measured 0-6
        in the same orientation.
    ``pdq_min_quality = 50``
        Meta's floor: under it PDQ bits mostly encode noise; such a query can only match with pHash.
    ``video_frame_share = 0.8``
        Share of frames that must match for a video match (vPDQ); used by the video matcher.
    """

    pdq_max: int = 31
    pdq_strict: int = 20
    phash_max: int = 10
    pdq_min_quality: int = 50
    video_frame_share: float = 0.8

    def __post_init__(self) -> None:
        _require_int_in("pdq_max", self.pdq_max, 0, _MAX_PDQ_DISTANCE)
        _require_int_in("pdq_strict", self.pdq_strict, 0, _MAX_PDQ_DISTANCE)
        _require_int_in("phash_max", self.phash_max, 0, _MAX_PHASH_DISTANCE)
        _require_int_in("pdq_min_quality", self.pdq_min_quality, 0, _MAX_QUALITY)
        share = self.video_frame_share
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0.0 < share <= 1.0:
            raise FusionInputError("thresholds:range", f"video_frame_share must be in (0, 1], got {share!r}")


DEFAULT_THRESHOLDS: Final = BankThresholds()


def thresholds_for(bank: str, thresholds: Mapping[str, BankThresholds]) -> BankThresholds:
    """The thresholds of ``bank``, or the defaults when the mapping has none for it."""
    return thresholds.get(bank, DEFAULT_THRESHOLDS)


def group_key(evidence: MatchEvidence) -> tuple[str, str]:
    """The bank group a piece of evidence belongs to: ``(bank, group_id or bank_item_id)``."""
    return evidence.bank, evidence.group_id or evidence.bank_item_id


def query_orientation(evidence: MatchEvidence) -> str:
    """The query orientation named in ``evidence.variant`` (``original`` when none is named).

    >>> from takedown.model import MatchEvidence
    >>> hit = MatchEvidence("pdq", 3, 31, "b", "i", "", "q", "h", variant="query:flipy bank:crop10")
    >>> query_orientation(hit)
    'flipy'
    """
    for part in evidence.variant.split():
        if part.startswith(QUERY_PREFIX):
            return part[len(QUERY_PREFIX) :]
    return ORIGINAL_ORIENTATION


def fuse(
    pdq_hits: list[MatchEvidence],
    phash_hits: list[MatchEvidence],
    exact_hits: list[MatchEvidence],
    thresholds: Mapping[str, BankThresholds],
) -> list[MatchEvidence]:
    """Turn raw near-hash hits into candidates: only what one of :data:`RULES` allows.

    Each returned evidence has ``rule`` and the ``threshold`` that rule applied. Per matched group and
    rule, the nearest deciding evidence is returned: the exact hit; the PDQ hit for ``pdq-strict``; the
    PDQ hit and the pHash hit that agreed for ``pdq+phash`` (so a reviewer sees both distances). Groups
    come nearest first (exact matches, then by PDQ distance), rules within a group in :data:`RULES`
    order. Hits beyond a bank's thresholds are simply not candidates.

    Raises :class:`FusionInputError` when a list holds hits of another algorithm
    (``evidence:algorithm``) or an exact hit has a distance (``evidence:distance``): wiring mistakes,
    not near misses.

    Examples
    --------
    >>> from takedown.model import MatchEvidence
    >>> pdq = MatchEvidence("pdq", 25, 31, "centre", "g1:pdq", "R-1", "q" * 64, "b" * 64, quality=90,
    ...                     variant="query:original bank:original", group_id="g1")
    >>> phash = MatchEvidence("phash", 4, 10, "centre", "g1:phash", "R-1", "q" * 16, "b" * 16,
    ...                       variant="query:original bank:original", group_id="g1")
    >>> [hit.rule for hit in fuse([pdq], [phash], [], {})]
    ['pdq+phash', 'pdq+phash']
    >>> fuse([pdq], [], [], {})  # 25 bits is over pdq_strict, and pHash did not agree
    []
    >>> fuse([], [phash], [], {})  # pHash alone is never enough
    []
    """
    _require_algorithms(pdq_hits, {"pdq"}, "pdq_hits")
    _require_algorithms(phash_hits, {"phash"}, "phash_hits")
    _require_algorithms(exact_hits, EXACT_ALGORITHMS, "exact_hits")
    for hit in exact_hits:
        if hit.distance != 0:
            raise FusionInputError(
                "evidence:distance", f"an exact hit has distance {hit.distance} (item {hit.bank_item_id})"
            )

    by_group: dict[tuple[str, str], list[MatchEvidence]] = {}
    for hit in _nearest_first(exact_hits):
        if not _has_rule(by_group, hit, RULE_EXACT):
            by_group.setdefault(group_key(hit), []).append(_decided(hit, RULE_EXACT, 0))
    for hit in _nearest_first(pdq_hits):
        limits = thresholds_for(hit.bank, thresholds)
        if _strict_enough(hit, limits) and not _has_rule(by_group, hit, RULE_PDQ_STRICT):
            by_group.setdefault(group_key(hit), []).append(_decided(hit, RULE_PDQ_STRICT, limits.pdq_strict))
    agreeing = _agreeing_phash(phash_hits, thresholds)
    for hit in _nearest_first(pdq_hits):
        limits = thresholds_for(hit.bank, thresholds)
        if hit.distance > limits.pdq_max or _has_rule(by_group, hit, RULE_PDQ_PHASH):
            continue
        phash = agreeing.get((*group_key(hit), query_orientation(hit)))
        if phash is not None:
            by_group.setdefault(group_key(hit), []).extend(
                [
                    _decided(hit, RULE_PDQ_PHASH, limits.pdq_max),
                    _decided(phash, RULE_PDQ_PHASH, limits.phash_max),
                ]
            )
    ordered_groups = sorted(by_group.values(), key=_group_rank)
    return [hit for group in ordered_groups for hit in sorted(group, key=_rule_rank)]


def _strict_enough(hit: MatchEvidence, limits: BankThresholds) -> bool:
    quality_known = hit.quality is not None and hit.quality >= limits.pdq_min_quality
    return quality_known and hit.distance <= limits.pdq_strict


def _agreeing_phash(
    phash_hits: Iterable[MatchEvidence], thresholds: Mapping[str, BankThresholds]
) -> dict[tuple[str, str, str], MatchEvidence]:
    """The nearest pHash hit within its bank's threshold, per (bank, group, query orientation)."""
    nearest: dict[tuple[str, str, str], MatchEvidence] = {}
    for hit in _nearest_first(phash_hits):
        if hit.distance <= thresholds_for(hit.bank, thresholds).phash_max:
            nearest.setdefault((*group_key(hit), query_orientation(hit)), hit)
    return nearest


def _has_rule(by_group: Mapping[tuple[str, str], list[MatchEvidence]], hit: MatchEvidence, rule: str) -> bool:
    return any(decided.rule == rule for decided in by_group.get(group_key(hit), ()))


def _decided(hit: MatchEvidence, rule: str, threshold: int) -> MatchEvidence:
    return dataclasses.replace(hit, rule=rule, threshold=threshold)


def _nearest_first(hits: Iterable[MatchEvidence]) -> list[MatchEvidence]:
    # At equal distance the whole query beats its band (easier for a reviewer to see); then ids decide,
    # so the same hits always give the same evidence.
    return sorted(
        hits,
        key=lambda hit: (
            hit.distance,
            query_orientation(hit).startswith(BAND_QUERY_PREFIX),
            hit.bank,
            hit.bank_item_id,
            hit.variant,
        ),
    )


def _group_rank(group: list[MatchEvidence]) -> tuple[int, int, str, str]:
    exact = any(hit.rule == RULE_EXACT for hit in group)
    pdq_distances = [hit.distance for hit in group if hit.algorithm == "pdq"]
    first = group[0]
    return (0 if exact else 1, min(pdq_distances, default=0), *group_key(first))


def _rule_rank(hit: MatchEvidence) -> tuple[int, int]:
    return RULES.index(hit.rule), 0 if hit.algorithm == "pdq" else 1


def _require_algorithms(hits: Iterable[MatchEvidence], allowed: set[str] | frozenset[str], name: str) -> None:
    for hit in hits:
        if hit.algorithm not in allowed:
            raise FusionInputError(
                "evidence:algorithm", f"{name} holds a {hit.algorithm!r} hit (item {hit.bank_item_id})"
            )
