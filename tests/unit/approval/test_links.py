from __future__ import annotations

import pytest

from takedown.approval.links import (
    LinkRefused,
    csrf_token_for,
    parse_expiry,
    sign_review_link,
    verify_csrf,
    verify_review_link,
)

KEY = b"k" * 40
OTHER_KEY = b"x" * 40


def _link(reviewer: str = "officer@centre.example", expires_at: int = 2_000) -> tuple[str, int]:
    link = sign_review_link(KEY, review_id="rev1", reviewer=reviewer, expires_at=expires_at)
    return link.signature, link.expires_at


def test_a_signed_link_verifies_for_its_reviewer_before_expiry() -> None:
    signature, expires_at = _link()
    verify_review_link(
        KEY,
        review_id="rev1",
        reviewer="officer@centre.example",
        expires_at=expires_at,
        signature=signature,
        now=1_999,
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"review_id": "rev2"}, "link:signature"),
        ({"reviewer": "someone@else.example"}, "link:signature"),
        ({"expires_at": 9_999}, "link:signature"),
        ({"signature": "AAAA"}, "link:signature"),
        ({"signature": ""}, "link:signature"),
        ({"now": 2_000}, "link:expired"),
    ],
)
def test_altered_forged_or_expired_links_are_refused(change: dict[str, object], reason: str) -> None:
    # GIVEN a valid link
    signature, expires_at = _link()
    arguments: dict[str, object] = {
        "review_id": "rev1",
        "reviewer": "officer@centre.example",
        "expires_at": expires_at,
        "signature": signature,
        "now": 1_000,
    }
    arguments.update(change)
    # WHEN any part is changed THEN it is refused with a reason
    with pytest.raises(LinkRefused) as refused:
        verify_review_link(KEY, **arguments)  # type: ignore[arg-type]
    assert refused.value.reason == reason


def test_a_link_signed_with_another_key_is_refused() -> None:
    forged = sign_review_link(
        OTHER_KEY, review_id="rev1", reviewer="officer@centre.example", expires_at=2_000
    )
    with pytest.raises(LinkRefused):
        verify_review_link(
            KEY,
            review_id="rev1",
            reviewer="officer@centre.example",
            expires_at=2_000,
            signature=forged.signature,
            now=1,
        )


@pytest.mark.parametrize("raw", [None, "", "-1", "1e9", "12345678901234", "１２３"])
def test_malformed_expiry_is_refused(raw: str | None) -> None:
    with pytest.raises(LinkRefused) as refused:
        parse_expiry(raw)
    assert refused.value.reason == "link:malformed"


def test_csrf_needs_the_same_token_in_form_and_cookie() -> None:
    signature, _ = _link()
    token = csrf_token_for(KEY, review_id="rev1", signature=signature)
    verify_csrf(KEY, review_id="rev1", signature=signature, form_token=token, cookie_token=token)
    for form, cookie in [(token, ""), ("", token), (token, token + "x"), ("forged", "forged")]:
        with pytest.raises(LinkRefused) as refused:
            verify_csrf(KEY, review_id="rev1", signature=signature, form_token=form, cookie_token=cookie)
        assert refused.value.reason == "csrf:mismatch"


def test_short_keys_are_rejected() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        sign_review_link(b"short", review_id="r", reviewer="a@b.example", expires_at=1)
