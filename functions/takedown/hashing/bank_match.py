"""Match a query hash against the bank by Hamming distance, with the evidence a reviewer needs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from takedown.model import BankItem, MatchEvidence

if TYPE_CHECKING:
    from collections.abc import Iterable


def hamming_hex(a: str, b: str) -> int:
    """Bits that differ between two hex hashes of equal length.

    >>> hamming_hex("ff00", "0f00")
    4
    """
    if len(a) != len(b):
        raise ValueError(f"hashes of different lengths: {len(a)} and {len(b)} hex digits")
    return (int(a, 16) ^ int(b, 16)).bit_count()


def match_against_bank(
    query_hex: str, algorithm: str, items: Iterable[BankItem], *, max_distance: int
) -> list[MatchEvidence]:
    """Every enabled bank item of ``algorithm`` within ``max_distance`` of the query, nearest first."""
    matches: list[MatchEvidence] = []
    for item in items:
        if not item.enabled or item.algorithm != algorithm or len(item.hash_hex) != len(query_hex):
            continue
        distance = hamming_hex(query_hex, item.hash_hex)
        if distance <= max_distance:
            matches.append(
                MatchEvidence(
                    algorithm=algorithm,
                    distance=distance,
                    threshold=max_distance,
                    bank=item.bank,
                    bank_item_id=item.item_id,
                    case_ref=item.case_ref,
                    query_hash=query_hex,
                    bank_hash=item.hash_hex,
                    quality=item.quality,
                )
            )
    return sorted(matches, key=lambda m: (m.distance, m.bank_item_id))
