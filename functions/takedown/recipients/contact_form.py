"""A web form where abuse is reported, for channels that take reports by form rather than by e-mail."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContactForm:
    """A reporting form a reviewer fills in by hand (nothing submits forms automatically).

    ``role`` uses the recipient roles ("platform", "cdn", ...); ``found_at`` says where the form came from.
    """

    url: str
    role: str
    found_at: str
