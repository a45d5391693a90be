"""Re-uploads: the groups a case is filed under, how a related case is described, and what the notice says."""

from __future__ import annotations

from dataclasses import replace

from takedown.cases.record import CaseRecord
from takedown.cases.reuploads import MAX_RELATED_CASES, describe, group_keys, reupload_flags, with_related
from takedown.model import CaseStatus, MatchEvidence, RelatedCase

from .follow_up_samples import at, sighting


def _match(item: str, group: str) -> MatchEvidence:
    return MatchEvidence("pdq", 4, 31, "centre", item, "REF-1", "0" * 64, "1" * 64, group_id=group)


def test_a_case_is_filed_under_each_registered_original_it_matched() -> None:
    matches = [_match("item-1", "group-a"), _match("item-2", "group-a"), _match("item-9", "")]
    assert group_keys(matches) == ["group-a", "item-9"]


def test_the_related_case_says_which_came_first_and_what_it_had_reached() -> None:
    # GIVEN a case notified and confirmed removed, and a later case of the same content
    earlier, _ = CaseRecord.open(sighting("https://board.example/p/1"), now=at(0))
    earlier = replace(earlier, milestones={**earlier.milestones, "SENT": "x", "REMOVED": "y"})
    later, _ = CaseRecord.open(sighting("https://mirror.example/p/9"), now=at(100))
    # THEN each describes the other
    seen_from_later = describe(earlier, relative_to=later, now=at(101))
    assert (seen_from_later.earlier, seen_from_later.notified, seen_from_later.removed) == (True, True, True)
    assert seen_from_later.page_url == "https://board.example/p/1"
    seen_from_earlier = describe(later, relative_to=earlier, now=at(101))
    assert (seen_from_earlier.earlier, seen_from_earlier.notified) == (False, False)


def test_related_cases_are_listed_once_each_and_bounded() -> None:
    first = RelatedCase("c1", "https://a.example/", "t1", earlier=True)
    updated = replace(first, notified=True, linked_at="t2")
    assert with_related([first], [updated]) == [updated]
    many = [
        RelatedCase(f"c{i}", "https://a.example/", "t", earlier=True) for i in range(MAX_RELATED_CASES + 7)
    ]
    kept = with_related([], many)
    assert len(kept) == MAX_RELATED_CASES and kept[-1].case_id == f"c{MAX_RELATED_CASES + 6}"


def test_the_notice_says_removed_before_or_reported_before_only_for_earlier_cases() -> None:
    reported = RelatedCase("c1", "https://a.example/", "t", earlier=True, notified=True)
    removed = replace(reported, case_id="c2", removed=True)
    later_removed = replace(removed, case_id="c3", earlier=False)
    assert reupload_flags([]) == (False, False)
    assert reupload_flags([reported]) == (False, True)
    assert reupload_flags([reported, removed]) == (True, False)
    assert reupload_flags([later_removed]) == (False, False)
    assert reupload_flags([replace(reported, notified=False)]) == (False, False)
    assert CaseStatus.REMOVED.value == "REMOVED"
