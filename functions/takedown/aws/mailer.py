"""SES sending. Messages are built here as MIME (text + HTML alternatives, no attachments)."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from takedown.aws.clients import client


class HeaderInjectionError(ValueError):
    """A header value carried a line break: refused rather than sent."""


def _header_value(value: str) -> str:
    if any(ch in value for ch in "\r\n\x00"):
        raise HeaderInjectionError("header value contains a line break")
    return value


def build_message(
    *,
    sender: str,
    to: list[str],
    subject: str,
    text: str,
    html: str,
    reply_to: str = "",
    sender_name: str = "",
) -> EmailMessage:
    """A MIME message with a text and an HTML part. Header values with CR/LF are refused."""
    message = EmailMessage()
    message["Subject"] = _header_value(subject)
    message["From"] = Address(display_name=_header_value(sender_name), addr_spec=_header_value(sender))
    message["To"] = ", ".join(_header_value(address) for address in to)
    if reply_to:
        message["Reply-To"] = _header_value(reply_to)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message


def send_message(message: EmailMessage, *, configuration_set: str = "") -> str:
    """Send through SES v2 and return the SES message id."""
    request: dict[str, object] = {
        "FromEmailAddress": str(message["From"]),
        "Destination": {"ToAddresses": [a.strip() for a in str(message["To"]).split(",") if a.strip()]},
        "Content": {"Raw": {"Data": message.as_bytes()}},
    }
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
    response = client("sesv2").send_email(**request)
    return str(response["MessageId"])
