"""The fusion rule: which near hashes become candidates."""

from __future__ import annotations

import pytest

from takedown.hashing.fusion import (
    RULES,
    BankThresholds,
    FusionInputError,
    fuse,
    group_key,
    query_orientation,
)
from takedown.model import MatchEvidence

DEFAULTS = BankThresholds()


def hit(
    algorithm: str,
    distance: int,
    *,
    group: str = "G-1",
    item: str = "",
    bank: str = "centre",
    orientation: str = "original",
    quality: int | None = 90,
) -> MatchEvidence:
    length = {"pdq": 64, "phash": 16, "sha256": 64, "md5": 32}[algorithm]
    return MatchEvidence(
        algorithm=algorithm,
        distance=distance,
        threshold=0,
        bank=bank,
        bank_item_id=item or f"{group}:original:{algorithm}",
        case_ref="R-1",
        query_hash="a" * length,
        bank_hash="b" * length,
        quality=quality if algorithm == "pdq" else None,
        variant=f"query:{orientation} bank:original",
        group_id=group,
    )


def test_exact_digest_is_a_candidate() -> None:
    # WHEN only an exact hit is given
    fused = fuse([], [], [hit("sha256", 0)], {})

    # THEN it is a candidate under the exact rule
    assert [(e.rule, e.algorithm, e.threshold) for e in fused] == [("exact", "sha256", 0)]


def test_close_pdq_alone_is_a_strict_candidate() -> None:
    fused = fuse([hit("pdq", DEFAULTS.pdq_strict)], [], [], {})
    assert [(e.rule, e.threshold) for e in fused] == [("pdq-strict", DEFAULTS.pdq_strict)]


def test_pdq_beyond_strict_needs_phash_agreement() -> None:
    # GIVEN a PDQ hit between the strict and the fused threshold
    pdq = hit("pdq", DEFAULTS.pdq_max)

    # WHEN it comes alone, and with an agreeing pHash
    alone = fuse([pdq], [], [], {})
    with_phash = fuse([pdq], [hit("phash", DEFAULTS.phash_max)], [], {})

    # THEN only the second is a candidate, and both pieces of evidence are shown with their thresholds
    assert alone == []
    assert [(e.rule, e.algorithm, e.distance, e.threshold) for e in with_phash] == [
        ("pdq+phash", "pdq", DEFAULTS.pdq_max, DEFAULTS.pdq_max),
        ("pdq+phash", "phash", DEFAULTS.phash_max, DEFAULTS.phash_max),
    ]


@pytest.mark.parametrize("distance", [0, 3, 10])
def test_phash_alone_is_never_a_candidate(distance: int) -> None:
    assert fuse([], [hit("phash", distance)], [], {}) == []


def test_pdq_over_the_fused_threshold_is_not_a_candidate_even_with_phash() -> None:
    assert fuse([hit("pdq", DEFAULTS.pdq_max + 1)], [hit("phash", 0)], [], {}) == []


def test_phash_over_its_threshold_does_not_agree() -> None:
    assert fuse([hit("pdq", DEFAULTS.pdq_max)], [hit("phash", DEFAULTS.phash_max + 1)], [], {}) == []


@pytest.mark.parametrize("quality", [None, 0, DEFAULTS.pdq_min_quality - 1])
def test_low_or_unknown_quality_cannot_be_strict_but_can_match_with_phash(quality: int | None) -> None:
    # GIVEN an identical PDQ from a featureless (or unrated) query
    pdq = hit("pdq", 0, quality=quality)

    # THEN PDQ alone is not enough, PDQ with pHash is
    assert fuse([pdq], [], [], {}) == []
    assert {e.rule for e in fuse([pdq], [hit("phash", 2)], [], {})} == {"pdq+phash"}


def test_quality_at_the_minimum_is_enough_for_strict() -> None:
    assert fuse([hit("pdq", 0, quality=DEFAULTS.pdq_min_quality)], [], [], {})[0].rule == "pdq-strict"


def test_phash_must_agree_in_the_same_group_and_orientation() -> None:
    # GIVEN a PDQ hit in group A for the mirrored query
    pdq = hit("pdq", 25, group="A", orientation="flipy")

    # WHEN pHash agrees for another group, or for the same group but the unmirrored query
    other_group = fuse([pdq], [hit("phash", 0, group="B", orientation="flipy")], [], {})
    other_orientation = fuse([pdq], [hit("phash", 0, group="A", orientation="original")], [], {})
    same = fuse([pdq], [hit("phash", 0, group="A", orientation="flipy", item="A:crop5:phash")], [], {})

    # THEN only agreement about the same picture counts (any variant of the group)
    assert other_group == []
    assert other_orientation == []
    assert [e.bank_item_id for e in same] == ["A:original:pdq", "A:crop5:phash"]


def test_items_without_a_group_are_their_own_group() -> None:
    # GIVEN hits on plain items (no group id)
    pdq = hit("pdq", 25, group="", item="plain-1")
    phash_same = hit("phash", 0, group="", item="plain-1")
    phash_other = hit("phash", 0, group="", item="plain-2")

    # THEN pHash agrees only when it is the same item
    assert group_key(pdq) == ("centre", "plain-1")
    assert fuse([pdq], [phash_other], [], {}) == []
    assert len(fuse([pdq], [phash_same], [], {})) == 2


def test_each_bank_uses_its_own_thresholds() -> None:
    # GIVEN a strict bank and a lenient one, with the same hits in each
    thresholds = {
        "strict-bank": BankThresholds(pdq_max=10, pdq_strict=5, phash_max=4),
        "lenient-bank": BankThresholds(pdq_max=40, pdq_strict=30, phash_max=12),
    }
    hits = [hit("pdq", 28, bank=bank) for bank in thresholds]
    phashes = [hit("phash", 11, bank=bank) for bank in thresholds]

    # WHEN fused
    fused = fuse(hits, phashes, [], thresholds)

    # THEN only the lenient bank matches, by both rules, with its own thresholds
    assert {(e.bank, e.rule, e.threshold) for e in fused} == {
        ("lenient-bank", "pdq-strict", 30),
        ("lenient-bank", "pdq+phash", 40),
        ("lenient-bank", "pdq+phash", 12),
    }


def test_candidates_come_nearest_group_first_one_evidence_per_rule() -> None:
    # GIVEN hits on three groups: one exact, one at 15 bits (twice: two variants), one at 5 bits
    pdq = [
        hit("pdq", 15, group="far", item="far:crop5:pdq"),
        hit("pdq", 18, group="far", item="far:crop10:pdq"),
        hit("pdq", 5, group="near"),
    ]
    exact = [hit("md5", 0, group="same-file")]

    # WHEN fused
    fused = fuse(pdq, [], exact, {})

    # THEN the exact group leads, then groups by PDQ distance, with the nearest evidence of each
    assert [(e.group_id, e.rule, e.distance) for e in fused] == [
        ("same-file", "exact", 0),
        ("near", "pdq-strict", 5),
        ("far", "pdq-strict", 15),
    ]


def test_whole_query_is_preferred_over_its_band_at_equal_distance() -> None:
    band = hit("pdq", 4, item="G-1:band:pdq", orientation="band:original")
    whole = hit("pdq", 4, item="G-1:original:pdq")
    assert fuse([band, whole], [], [], {})[0].bank_item_id == "G-1:original:pdq"
    assert query_orientation(band) == "band:original"


def test_fusion_is_deterministic_whatever_the_input_order() -> None:
    pdq = [hit("pdq", d, group=f"G-{d % 3}", item=f"G-{d % 3}:{d}:pdq") for d in range(0, 32, 3)]
    phash = [hit("phash", d, group=f"G-{d % 3}", item=f"G-{d % 3}:{d}:phash") for d in range(0, 12, 2)]
    assert fuse(pdq, phash, [], {}) == fuse(pdq[::-1], phash[::-1], [], {})


def test_rules_are_the_three_documented() -> None:
    assert RULES == ("exact", "pdq+phash", "pdq-strict")


@pytest.mark.parametrize(
    "lists",
    [
        ([hit("phash", 1)], [], []),
        ([], [hit("pdq", 1)], []),
        ([], [], [hit("pdq", 0)]),
    ],
)
def test_hits_in_the_wrong_list_are_refused(
    lists: tuple[list[MatchEvidence], list[MatchEvidence], list[MatchEvidence]],
) -> None:
    pdq, phash, exact = lists
    with pytest.raises(FusionInputError) as refused:
        fuse(pdq, phash, exact, {})
    assert refused.value.reason == "evidence:algorithm"


def test_exact_hit_with_a_distance_is_refused() -> None:
    with pytest.raises(FusionInputError) as refused:
        fuse([], [], [hit("sha256", 3)], {})
    assert refused.value.reason == "evidence:distance"


@pytest.mark.parametrize(
    "settings",
    [
        {"pdq_max": -1},
        {"pdq_max": 257},
        {"pdq_strict": True},
        {"phash_max": 65},
        {"pdq_min_quality": 101},
        {"video_frame_share": 0.0},
        {"video_frame_share": 1.5},
    ],
)
def test_impossible_thresholds_are_refused(settings: dict[str, object]) -> None:
    with pytest.raises(FusionInputError) as refused:
        BankThresholds(**settings)  # type: ignore[arg-type]
    assert refused.value.reason == "thresholds:range"


def test_defaults_keep_strict_inside_the_fused_threshold() -> None:
    assert DEFAULTS.pdq_strict <= DEFAULTS.pdq_max <= 31
    assert (DEFAULTS.phash_max, DEFAULTS.pdq_min_quality, DEFAULTS.video_frame_share) == (10, 50, 0.8)
