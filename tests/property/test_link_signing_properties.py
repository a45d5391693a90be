"""Properties of review-link signing (``takedown.approval.links``): what is signed verifies until its expiry for
its own review and reviewer, and any single-character change to any part of a link, or to its CSRF token, is
refused with a named reason."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from takedown.approval.links import (
    LinkRefused,
    csrf_token_for,
    parse_expiry,
    sign_review_link,
    verify_csrf,
    verify_review_link,
)

PROPERTIES = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
KEYS = st.binary(min_size=32, max_size=64)
REVIEW_IDS = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=40)
REVIEWERS = st.emails().map(str)
EXPIRIES = st.integers(1_700_000_000, 4_000_000_000)
# What a tampered signature character may become: other URL-safe base64 characters, and anything else at all.
REPLACEMENTS = st.one_of(
    st.sampled_from(string.ascii_letters + string.digits + "-_"),
    st.characters(codec="utf-8", exclude_categories=["Cs"]),
)


def refused_reason(call: object) -> str:
    with pytest.raises(LinkRefused) as refused:
        call()  # type: ignore[operator]
    return refused.value.reason


@PROPERTIES
@given(KEYS, REVIEW_IDS, REVIEWERS, EXPIRIES, st.integers(0, 10**6))
def test_a_signed_link_verifies_for_its_review_and_reviewer_until_it_expires(
    key: bytes, review_id: str, reviewer: str, expires_at: int, early: int
) -> None:
    # GIVEN a link signed for a review and reviewer
    link = sign_review_link(key, review_id=review_id, reviewer=reviewer, expires_at=expires_at)
    verify: dict[str, Any] = {
        "review_id": review_id,
        "reviewer": reviewer,
        "expires_at": expires_at,
        "signature": link.signature,
    }
    # THEN it verifies before its expiry (the reviewer's address in any letter case) and round-trips its expiry
    verify_review_link(key, **{**verify, "reviewer": reviewer.upper()}, now=expires_at - 1 - early)
    assert parse_expiry(str(link.expires_at)) == expires_at
    # AND from its expiry on it is refused as expired
    assert refused_reason(lambda: verify_review_link(key, **verify, now=expires_at + early)) == "link:expired"


@PROPERTIES
@given(KEYS, REVIEW_IDS, REVIEWERS, EXPIRIES, st.data())
def test_any_single_character_change_to_a_signature_is_refused(
    key: bytes, review_id: str, reviewer: str, expires_at: int, data: st.DataObject
) -> None:
    # GIVEN a signed link and one character of its signature replaced by another
    signature = sign_review_link(key, review_id=review_id, reviewer=reviewer, expires_at=expires_at).signature
    position = data.draw(st.integers(0, len(signature) - 1))
    replacement = data.draw(REPLACEMENTS.filter(lambda c: c != signature[position]))
    forged = signature[:position] + replacement + signature[position + 1 :]
    # THEN it is refused, before its expiry is even considered
    assert (
        refused_reason(
            lambda: verify_review_link(
                key, review_id=review_id, reviewer=reviewer, expires_at=expires_at, signature=forged, now=0
            )
        )
        == "link:signature"
    )


@PROPERTIES
@given(
    KEYS,
    REVIEW_IDS,
    REVIEWERS,
    EXPIRIES,
    st.sampled_from(["review_id", "reviewer", "expires_at", "key"]),
    st.data(),
)
def test_a_signature_is_bound_to_every_part_it_signs(
    key: bytes, review_id: str, reviewer: str, expires_at: int, part: str, data: st.DataObject
) -> None:
    # GIVEN a signed link, and one of the parts it was signed over changed by one character (or the key by a bit)
    signature = sign_review_link(key, review_id=review_id, reviewer=reviewer, expires_at=expires_at).signature
    parts: dict[str, object] = {"review_id": review_id, "reviewer": reviewer, "expires_at": expires_at}
    if part == "key":
        key = bytes([key[0] ^ 1]) + key[1:]
    elif part == "expires_at":
        parts["expires_at"] = expires_at + data.draw(st.sampled_from([-1, 1, 3600]))
    else:
        text = str(parts[part])
        position = data.draw(st.integers(0, len(text) - 1))
        replacement = data.draw(REPLACEMENTS.filter(lambda c: c.lower() != text[position].lower()))
        parts[part] = text[:position] + replacement + text[position + 1 :]
    # THEN the link no longer verifies
    assert (
        refused_reason(lambda: verify_review_link(key, **parts, signature=signature, now=0))  # type: ignore[arg-type]
        == "link:signature"
    )


@PROPERTIES
@given(KEYS, REVIEW_IDS, st.text(min_size=1, max_size=50), st.data())
def test_a_csrf_token_verifies_in_form_and_cookie_and_no_altered_copy_does(
    key: bytes, review_id: str, signature: str, data: st.DataObject
) -> None:
    # GIVEN the CSRF token of a review page
    token = csrf_token_for(key, review_id=review_id, signature=signature)
    # THEN it verifies when form and cookie both carry it
    verify_csrf(key, review_id=review_id, signature=signature, form_token=token, cookie_token=token)
    # AND a one-character change in either, or a missing one, is refused
    position = data.draw(st.integers(0, len(token) - 1))
    altered = (
        token[:position]
        + data.draw(REPLACEMENTS.filter(lambda c: c != token[position]))
        + token[position + 1 :]
    )
    for form_token, cookie_token in ((altered, token), (token, altered), ("", token), (token, "")):
        assert (
            refused_reason(
                lambda f=form_token, c=cookie_token: verify_csrf(
                    key, review_id=review_id, signature=signature, form_token=f, cookie_token=c
                )
            )
            == "csrf:mismatch"
        )


@PROPERTIES
@given(st.one_of(st.text(max_size=20), st.none()))
def test_an_expiry_is_a_plain_positive_integer_or_refused_as_malformed(raw: str | None) -> None:
    # GIVEN any text in the link's e= parameter
    plain = raw is not None and raw.isascii() and raw.isdigit() and 0 < len(raw) <= 12
    # THEN plain ASCII digits parse to their value; anything else (signs, spaces, other digits) is refused
    if plain:
        assert parse_expiry(raw) == int(raw)  # type: ignore[arg-type]
    else:
        assert refused_reason(lambda: parse_expiry(raw)) == "link:malformed"
