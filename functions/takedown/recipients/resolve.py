"""Who a notice goes to. This first resolver knows two sources: ``mailto:`` links on the page itself and the
contact configured for the source; later resolvers (RDAP, platform registry) add candidates with their own
provenance and confidence."""

from __future__ import annotations

import re

from takedown.model import Recipient, Sighting

# Deliberately strict: an address we send legal demands to must be plain ASCII local@domain.tld, no display
# names, no comments, no line breaks. Internationalised addresses are refused until SMTPUTF8 is handled end to end;
# an internationalised *domain* in its ASCII (A-label) form, such as xn--3e0b707e (.한국), is plain ASCII and fine.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?=.{4,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$"
)


class InvalidAddress(ValueError):
    """An address that must not be used as a recipient."""


def validate_address(address: str) -> str:
    """Return the address lowercased, or raise :class:`InvalidAddress`.

    >>> validate_address("Abuse@Example.ORG")
    'abuse@example.org'
    """
    candidate = address.strip()
    if not _ADDRESS.fullmatch(candidate) or ".." in candidate:
        raise InvalidAddress(f"not a deliverable plain address: {candidate[:80]!r}")
    return candidate.lower()


def resolve_recipients(sighting: Sighting, *, source_contact: str = "") -> tuple[list[Recipient], list[str]]:
    """Candidate recipients, most likely first, and notes about addresses that were refused."""
    recipients: dict[str, Recipient] = {}
    notes: list[str] = []
    for raw in sighting.page_contacts:
        try:
            address = validate_address(raw)
        except InvalidAddress as error:
            notes.append(f"page contact refused: {error}")
            continue
        recipients.setdefault(
            address,
            Recipient(
                address=address, role="site", found_at=f"mailto link on {sighting.page_url}", confidence=0.7
            ),
        )
    if source_contact:
        try:
            address = validate_address(source_contact)
        except InvalidAddress as error:
            notes.append(f"source contact refused: {error}")
        else:
            recipients.setdefault(
                address,
                Recipient(
                    address=address,
                    role="source-contact",
                    found_at=f"source configuration ({sighting.source_id})",
                    confidence=0.9,
                ),
            )
    ordered = sorted(recipients.values(), key=lambda r: -r.confidence)
    if not ordered:
        notes.append("no recipient address found: the reviewer must add one before sending")
    return ordered, notes
