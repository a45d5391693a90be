"""One notice, several recipients: each recipient's addressing block, and the message each one receives.

A notice version has one body per locale, the same for every recipient: the reviewer reads it, may edit it and
approves it. What differs from one recipient to the next -- to whom the message is addressed, in what capacity
(site operator, host, registrar, CDN, platform...), why that recipient receives it and where its address was
found, and for a reminder the notice that recipient received before -- is its *addressing block*. The block is
rendered from the locale's fixed words (``templates/notices/<locale>/addressing.*.j2``), never from text a reviewer
edits, when the drafts are rendered; it is stored beside them, shown to the reviewer next to the recipient's tick
box, and put before the approved body in that recipient's message. Every message is therefore a deterministic
function of stored, reviewed data (:func:`compose_notice`): what is sent is what the review page showed.

Nothing here renders templates (see :func:`takedown.notices.drafting.render_addressing`) or touches AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from takedown.model import NoticeDraft, Recipient
from takedown.notices.rendering import header_safe

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "HTML_LOCALE_SEPARATOR",
    "TEXT_LOCALE_SEPARATOR",
    "AddressedNotice",
    "AddressingBlock",
    "AddressingMissingError",
    "addressed_draft",
    "compose_notice",
    "contact_form_text",
    "recipient_key",
]

# Between the locales of one message: the operator's language first, then English (and Korean).
TEXT_LOCALE_SEPARATOR = "\n\n" + "-" * 60 + "\n\n"
HTML_LOCALE_SEPARATOR = '<hr style="margin:32px 0">'


class AddressingMissingError(ValueError):
    """A recipient has no stored addressing block in one of the notice's locales, so its message cannot be the
    one the reviewer saw: nothing is sent to it."""


def recipient_key(recipient: Recipient) -> str:
    """How recipients are told apart: the address (case-insensitive), or the contact form of a form-only one.

    >>> recipient_key(Recipient("Abuse@Host.example", "host", "RDAP", 0.8))
    'abuse@host.example'
    >>> recipient_key(Recipient("", "platform", "contact page", 0.5, contact_form_url="https://p.example/report"))
    'form:https://p.example/report'
    """
    if recipient.address:
        return recipient.address.casefold()
    return f"form:{recipient.contact_form_url}"


@dataclass(frozen=True)
class AddressingBlock:
    """The part of a notice, in one locale, that speaks to one recipient.

    ``text`` and ``html`` are rendered and escaped already; both are empty for a recipient with neither an
    address nor a contact form (there is nobody to address).
    """

    locale: str
    recipient: Recipient
    text: str
    html: str

    @property
    def empty(self) -> bool:
        """Whether there is nothing to put before the body."""
        return not self.text.strip()

    def to_dict(self) -> dict[str, Any]:
        return {
            "locale": self.locale,
            "recipient": self.recipient.to_dict(),
            "text": self.text,
            "html": self.html,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(
            locale=str(data["locale"]),
            recipient=Recipient.from_dict(dict(data["recipient"])),
            text=str(data["text"]),
            html=str(data["html"]),
        )


def _addressed_text(block_text: str, body_text: str) -> str:
    if not block_text.strip():
        return body_text
    return f"{block_text.rstrip()}\n\n{body_text}"


def addressed_draft(block: AddressingBlock, body: NoticeDraft) -> NoticeDraft:
    """One locale of a notice as ``block``'s recipient reads it: the addressing block, then the body.

    Raises
    ------
    ValueError
        The block and the body are not in the same locale.
    """
    if block.locale != body.locale:
        raise ValueError(f"addressing block in {block.locale!r} cannot address a body in {body.locale!r}")
    if block.empty:
        return body
    return NoticeDraft(
        locale=body.locale,
        subject=body.subject,
        body_text=_addressed_text(block.text, body.body_text),
        body_html=f"{block.html.strip()}\n{body.body_html}",
    )


@dataclass(frozen=True)
class AddressedNotice:
    """Exactly what one recipient receives for one notice version: the subject, and the text and HTML bodies
    holding each locale in order, each locale being that recipient's addressing block followed by the approved
    body."""

    recipient: Recipient
    locales: tuple[str, ...]
    subject: str
    text: str
    html: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipient": self.recipient.to_dict(),
            "locales": list(self.locales),
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(
            recipient=Recipient.from_dict(dict(data["recipient"])),
            locales=tuple(str(locale) for locale in data["locales"]),
            subject=str(data["subject"]),
            text=str(data["text"]),
            html=str(data["html"]),
        )


def compose_notice(
    recipient: Recipient, drafts: Sequence[NoticeDraft], blocks: Iterable[AddressingBlock]
) -> AddressedNotice:
    """The message of ``recipient``: the first draft's subject; each draft (in order) under the recipient's block.

    ``drafts`` are the approved bodies in sending order; ``blocks`` the stored addressing blocks of the notice
    (any recipients, any locales): the recipient's own are picked by :func:`recipient_key`.

    Raises
    ------
    ValueError
        There is no draft.
    AddressingMissingError
        The recipient has no addressing block in one of the drafts' locales.

    Examples
    --------
    >>> body = NoticeDraft("en", "Removal request (case c1)", "Subject: ...\\n\\nDear Sir or Madam,\\n", "<div>b</div>")
    >>> host = Recipient("abuse@host.example", "host", "RDAP", 0.8)
    >>> block = AddressingBlock("en", host, "To: abuse@host.example (hosting provider)\\n", "<div>a</div>")
    >>> print(compose_notice(host, [body], [block]).text)
    To: abuse@host.example (hosting provider)
    <BLANKLINE>
    Subject: ...
    <BLANKLINE>
    Dear Sir or Madam,
    <BLANKLINE>
    """
    if not drafts:
        raise ValueError("no drafts to send")
    key = recipient_key(recipient)
    own = {block.locale: block for block in blocks if recipient_key(block.recipient) == key}
    missing = [draft.locale for draft in drafts if draft.locale not in own]
    if missing:
        raise AddressingMissingError(
            f"no addressing block for recipient {key[:120]!r} in locale(s) {missing}: the message would not be the "
            "one the reviewer saw"
        )
    addressed = [addressed_draft(own[draft.locale], draft) for draft in drafts]
    return AddressedNotice(
        recipient=recipient,
        locales=tuple(draft.locale for draft in drafts),
        subject=header_safe(drafts[0].subject),
        text=TEXT_LOCALE_SEPARATOR.join(d.body_text for d in addressed),
        html=HTML_LOCALE_SEPARATOR.join(d.body_html for d in addressed),
    )


def contact_form_text(subject: str, block: AddressingBlock | None, body_text: str) -> str:
    """The text a reviewer pastes into a recipient's web form: the subject, that recipient's block, the body.

    >>> form = Recipient("", "platform", "contact page", 0.5, contact_form_url="https://p.example/report")
    >>> contact_form_text("Removal request", AddressingBlock("en", form, "To: web form\\n", ""), "Body.")
    'Removal request\\n\\nTo: web form\\n\\nBody.'
    """
    return f"{subject}\n\n{_addressed_text(block.text if block else '', body_text)}"
