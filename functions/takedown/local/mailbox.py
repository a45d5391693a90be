"""What SES "sent" on the local stack. The only module that reads moto's SES backend (its format is internal)."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage

from takedown.local.stack import ACCOUNT, REGION


@dataclass(frozen=True)
class SentMail:
    message_id: str
    source: str
    destinations: tuple[str, ...]
    raw: str

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_string(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def body(self, subtype: str = "plain") -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        return "" if part is None else str(part.get_content())  # type: ignore[attr-defined]


def sent_mail() -> list[SentMail]:
    """Every message sent through SES (v1 or v2) on the in-process local stack, oldest first."""
    from moto.ses.models import ses_backends

    backend = ses_backends[ACCOUNT][REGION]
    found = []
    for message in backend.sent_messages:
        raw = getattr(message, "raw_data", None)
        if raw is None:
            continue
        found.append(SentMail(message.id, message.source, tuple(message.destinations), raw))
    return found
