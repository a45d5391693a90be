"""What a reviewer changed before approving, and the exact record of it for the case's audit trail.

An edit of the primary draft becomes the draft that is sent (text and HTML carry the same words), and a unified
diff of it goes on the timeline; the reviewer's choice of recipients goes there too, beside the discovered set.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from takedown.model import NoticeDraft, Recipient

__all__ = ["edited_primary_draft", "recipient_choice_detail", "text_as_html"]


def text_as_html(text: str, locale: str = "") -> str:
    """Plain text as one self-contained ``<div>``: paragraphs at blank lines, ``<br>`` at single breaks, escaped.

    A ``<div>`` (not a document) like every rendered body, so that a recipient's addressing block and the other
    locales can stand beside it in one message.

    >>> text_as_html("a <b>\\n\\nc", "en")
    '<div lang="en" style="max-width:680px;margin:0 auto;padding:24px 20px;"><p>a &lt;b&gt;</p><p>c</p></div>'
    """
    paragraphs = "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n"))
    lang = f' lang="{escape(locale)}"' if locale else ""
    return f'<div{lang} style="max-width:680px;margin:0 auto;padding:24px 20px;">{paragraphs}</div>'


def edited_primary_draft(
    drafts: Sequence[NoticeDraft], subject: str | None, body_text: str | None
) -> tuple[NoticeDraft, str] | None:
    """The primary (first) draft with the reviewer's edit and the unified diff of it; None when nothing changed.

    An empty subject keeps the drafted one. ``None`` means the form did not carry the field.
    """
    if not drafts:
        return None
    primary = drafts[0]
    new_subject = subject or primary.subject
    new_body = primary.body_text if body_text is None else body_text
    if new_subject == primary.subject and new_body == primary.body_text:
        return None
    diff = "".join(
        difflib.unified_diff(
            [f"Subject: {primary.subject}\n", *primary.body_text.splitlines(keepends=True)],
            [f"Subject: {new_subject}\n", *new_body.splitlines(keepends=True)],
            fromfile=f"draft/{primary.locale}",
            tofile=f"approved/{primary.locale}",
        )
    )
    # The reviewer edited the text: the HTML alternative carries the same edited words, escaped, so that what is
    # sent is exactly what was approved.
    edited = replace(
        primary, subject=new_subject, body_text=new_body, body_html=text_as_html(new_body, primary.locale)
    )
    return edited, diff


def recipient_choice_detail(discovered: Sequence[Recipient], chosen: Sequence[Recipient]) -> dict[str, Any]:
    """The reviewer's recipient choice as the timeline keeps it: who was chosen, and who was left out and why
    they were candidates at all (role, where found)."""
    chosen_addresses = {r.address for r in chosen}
    return {
        "chosen": [r.address for r in chosen],
        "left_out": [
            {"address": r.address, "role": r.role, "found_at": r.found_at}
            for r in discovered
            if r.address and r.address not in chosen_addresses
        ],
        "contact_forms": [r.contact_form_url for r in discovered if r.contact_form_url and not r.address],
    }
