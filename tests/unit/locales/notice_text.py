"""Reading rendered notices in tests: numbered sections, paragraphs, and the text with the case's data removed."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from takedown.notices.drafting import NoticeFacts


def section(body_text: str, number: int) -> str:
    """The plain-text body of section ``number`` (from its ``N. heading`` line to the next numbered heading)."""
    match = re.search(rf"^{number}\. [^\n]*\n(.*?)(?=^{number + 1}\. |\Z)", body_text, re.S | re.M)
    assert match, f"section {number} not found"
    return match.group(1).strip()


def paragraphs(body_text: str) -> list[str]:
    """Blank-line separated blocks of the plain-text body: header, greeting, opening, why-you, ..."""
    return [block.strip() for block in re.split(r"\n\s*\n", body_text) if block.strip()]


def without_case_data(text: str, facts: NoticeFacts) -> str:
    """The text with every value that comes from the case (URLs, names, addresses, digests) blanked out."""
    data = [
        facts.page_url,
        *facts.media_urls,
        facts.evidence_key,
        facts.evidence_sha256,
        facts.media_sha256,
        facts.centre_email,
        facts.centre_name,
        facts.case_id,
        facts.recipient.address,
        facts.recipient.found_at,
        facts.page_host,
        *(item.text for item in facts.free_text().values()),
    ]
    for value in sorted(filter(None, data), key=len, reverse=True):
        text = text.replace(value, " ")
    return text
