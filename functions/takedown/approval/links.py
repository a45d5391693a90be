"""Signed review links and CSRF tokens.

A review link is ``/reviews/{review_id}?e={expiry}&s={signature}``. The signature is an HMAC-SHA256 over the review
id, the reviewer it was sent to and the expiry, under a key kept in Secrets Manager. The reviewer's address is not
in the URL: the server looks it up from the review record and recomputes the signature, so a link forwarded to
someone else's review, altered, or past its expiry fails. The task token never appears in a link.

The CSRF token is derived from the same key and the link's signature and is checked on POST against both the form
field and a ``SameSite=Strict`` cookie (double submit), so a cross-site form cannot decide a review.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlencode

_MIN_KEY_BYTES = 32


class LinkRefused(Exception):
    """A review link or CSRF token did not verify. ``reason`` is short and safe to log."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(key: bytes, *parts: str) -> bytes:
    if len(key) < _MIN_KEY_BYTES:
        raise ValueError("the link key must be at least 32 bytes")
    message = "\x1f".join(parts).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).digest()


@dataclass(frozen=True)
class SignedLink:
    """The parts of a signed review link."""

    review_id: str
    expires_at: int  # Unix seconds
    signature: str

    def query(self) -> str:
        return urlencode({"e": str(self.expires_at), "s": self.signature})

    def path(self) -> str:
        return f"/reviews/{self.review_id}?{self.query()}"


def sign_review_link(key: bytes, *, review_id: str, reviewer: str, expires_at: int) -> SignedLink:
    """Sign a link for ``reviewer`` to open ``review_id`` until ``expires_at``.

    >>> link = sign_review_link(b"k" * 32, review_id="r1", reviewer="a@b.example", expires_at=2_000_000_000)
    >>> link.path().startswith("/reviews/r1?e=2000000000&s=")
    True
    """
    signature = _b64(_mac(key, "review-link/1", review_id, reviewer.lower(), str(expires_at)))
    return SignedLink(review_id=review_id, expires_at=expires_at, signature=signature)


def parse_expiry(raw: str | None) -> int:
    """Parse the ``e`` query value; refuse anything that is not a plain positive integer."""
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise LinkRefused("link:malformed", "The link is incomplete or malformed.")
    return int(raw)


def verify_review_link(
    key: bytes, *, review_id: str, reviewer: str, expires_at: int, signature: str, now: int
) -> None:
    """Raise :class:`LinkRefused` unless the link was signed for this review and reviewer and is unexpired.

    The signature is checked before the expiry so that a forged link never learns whether its time was right.
    """
    expected = sign_review_link(key, review_id=review_id, reviewer=reviewer, expires_at=expires_at).signature
    if not signature or not hmac.compare_digest(
        expected.encode("ascii"), signature.encode("ascii", "replace")
    ):
        raise LinkRefused("link:signature", "This link is not valid.")
    if now >= expires_at:
        raise LinkRefused("link:expired", "This link has expired.")


def csrf_token_for(key: bytes, *, review_id: str, signature: str) -> str:
    """The CSRF token for the review page opened through one signed link."""
    return _b64(_mac(key, "review-csrf/1", review_id, signature))


def verify_csrf(key: bytes, *, review_id: str, signature: str, form_token: str, cookie_token: str) -> None:
    """Raise :class:`LinkRefused` unless both the form field and the cookie carry this link's CSRF token."""
    expected = csrf_token_for(key, review_id=review_id, signature=signature).encode("ascii")
    for supplied in (form_token, cookie_token):
        if not supplied or not hmac.compare_digest(expected, supplied.encode("ascii", "replace")):
            raise LinkRefused("csrf:mismatch", "The form could not be verified. Open the link again.")


def reissued_link_expiry(*, now: int, ttl_hours: int, due_at: int, first_expiry: int) -> int:
    """The expiry of a link sent again for a pending review (a reminder, the signed-in list).

    A full link lifetime from ``now``, but not past the approval deadline ``due_at`` (after it the review cannot
    be decided; 0 when unknown), and never earlier than the first link's expiry.

    >>> reissued_link_expiry(now=1_000, ttl_hours=1, due_at=2_000, first_expiry=1_500)
    2000
    >>> reissued_link_expiry(now=1_000, ttl_hours=1, due_at=0, first_expiry=1_500)
    4600
    """
    candidate = now + ttl_hours * 3600
    if due_at:
        candidate = min(candidate, due_at)
    return max(candidate, first_expiry)


def latest_issued_expiry(*, first_expiry: int, due_at: int) -> int:
    """The latest expiry any link for this review was signed with (see :func:`reissued_link_expiry`).

    A signed link claiming a later expiry was never issued by us: it is refused even though its signature is ours
    (a key used elsewhere must not extend a review).
    """
    return max(first_expiry, due_at)
