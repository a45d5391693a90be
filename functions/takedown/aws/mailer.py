"""SES sending. Messages are built here as MIME (text + HTML alternatives, no attachments).

A notice is sent with SES message tags (``takedown.notices.mail_feedback.notice_tags``): SES publishes them with
every bounce, complaint and delivery event, which is how ``handle_mail_feedback`` finds the case.
"""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING

from takedown.aws.clients import client

if TYPE_CHECKING:
    from collections.abc import Mapping

# SES message tag names and values: ASCII letters, digits, "_" and "-", at most 256 characters.
_TAG_TEXT = re.compile(r"[A-Za-z0-9_-]{1,256}")
_MAX_TAGS = 10


class HeaderInjectionError(ValueError):
    """A header value carried a line break: refused rather than sent."""


class NoRecipientAddress(ValueError):
    """A message without a recipient address (a recipient reachable only by web form is never mailed)."""


class InvalidMessageTag(ValueError):
    """A message tag SES would refuse (or that could smuggle anything but a plain token)."""


def message_tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """SES ``EmailTags`` for ``tags``; refuses names or values SES does not accept.

    >>> message_tags({"takedown-case": "c0ffee"})
    [{'Name': 'takedown-case', 'Value': 'c0ffee'}]
    """
    if len(tags) > _MAX_TAGS:
        raise InvalidMessageTag(f"at most {_MAX_TAGS} message tags, got {len(tags)}")
    for name, value in tags.items():
        if (
            not _TAG_TEXT.fullmatch(name)
            or not _TAG_TEXT.fullmatch(value)
            or name.startswith(("ses:", "aws:"))
        ):
            raise InvalidMessageTag(f"message tag {name[:40]!r}={value[:40]!r} is not a plain SES tag")
    return [{"Name": name, "Value": value} for name, value in tags.items()]


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
    """A MIME message with a text and an HTML part. Header values with CR/LF are refused, and so is a message
    without a recipient address."""
    if not to or any(not address.strip() for address in to):
        raise NoRecipientAddress("a message needs at least one recipient address, and no empty one")
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


def send_message(
    message: EmailMessage, *, configuration_set: str = "", tags: Mapping[str, str] | None = None
) -> str:
    """Send through SES v2 and return the SES message id; ``tags`` become SES message tags."""
    email_tags = message_tags(tags or {})
    request: dict[str, object] = {
        "FromEmailAddress": str(message["From"]),
        "Destination": {"ToAddresses": [a.strip() for a in str(message["To"]).split(",") if a.strip()]},
        "Content": {"Raw": {"Data": message.as_bytes()}},
    }
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
    if email_tags:
        request["EmailTags"] = email_tags
    response = client("sesv2").send_email(**request)
    return str(response["MessageId"])
