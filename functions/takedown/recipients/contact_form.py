"""A web form where abuse is reported, for channels that take reports by form rather than by e-mail.

A form is a first-class recipient: :meth:`ContactForm.as_recipient` makes it a
:class:`~takedown.model.Recipient` with ``address=""`` and ``contact_form_url`` set. Nothing submits forms
automatically: the reviewer is shown the form's address and the notice text to paste, and records the submission.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from takedown.model import Recipient

MAX_FORM_URL_CHARS: Final = 2048


class InvalidFormUrl(ValueError):
    """A contact-form address that must not be shown to a reviewer as a place to submit a notice."""


def validate_form_url(url: str) -> str:
    """Return ``url`` when it is a plain absolute ``https`` URL; raise :class:`InvalidFormUrl` otherwise.

    Refused: other schemes (``http`` would expose the notice in transit, ``javascript:`` would run), missing
    host, credentials in the URL, whitespace or control/format characters (which could hide where it leads),
    and over-long URLs.

    >>> validate_form_url("https://abuse.cdn.example/report")
    'https://abuse.cdn.example/report'
    """
    shown = url[:80]
    if len(url) > MAX_FORM_URL_CHARS:
        raise InvalidFormUrl(f"form URL longer than {MAX_FORM_URL_CHARS} characters: {shown!r}…")
    if any(c.isspace() or unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp", "Cs"} for c in url):
        raise InvalidFormUrl(f"form URL contains whitespace or control characters: {shown!r}")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as error:
        raise InvalidFormUrl(f"not a URL: {shown!r} ({error})") from error
    if parts.scheme != "https" or not host:
        raise InvalidFormUrl(f"form URL must be an absolute https URL: {shown!r}")
    if parts.username is not None or parts.password is not None:
        raise InvalidFormUrl(f"form URL must not carry credentials: {parts.scheme}://…@{host}")
    return url


@dataclass(frozen=True)
class ContactForm:
    """A reporting form a reviewer fills in by hand.

    ``role`` uses the recipient roles ("platform", "cdn", ...); ``found_at`` says where the form came from.
    """

    url: str
    role: str
    found_at: str

    def as_recipient(self, confidence: float, *, country: str = "", language: str = "") -> Recipient:
        """This form as a recipient without an e-mail address.

        >>> ContactForm("https://cdn.example/abuse", "cdn", "CDN abuse form").as_recipient(0.5).address
        ''
        """
        return Recipient(
            address="",
            role=self.role,
            found_at=self.found_at,
            confidence=confidence,
            country=country,
            language=language,
            contact_form_url=self.url,
        )
