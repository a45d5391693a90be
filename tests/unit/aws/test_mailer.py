from __future__ import annotations

import pytest

from takedown.aws.mailer import HeaderInjectionError, build_message


def test_message_has_text_and_html_and_no_attachment() -> None:
    message = build_message(
        sender="notices@centre.example",
        to=["abuse@host.example"],
        subject="Removal request",
        text="plain body",
        html="<p>html body</p>",
        reply_to="desk@centre.example",
        sender_name="Centre",
    )
    assert message["Reply-To"] == "desk@centre.example"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert not list(message.iter_attachments())


@pytest.mark.parametrize("field", ["subject", "reply_to", "sender_name"])
def test_line_breaks_in_headers_are_refused(field: str) -> None:
    arguments = {
        "sender": "notices@centre.example",
        "to": ["abuse@host.example"],
        "subject": "s",
        "text": "t",
        "html": "h",
        "reply_to": "desk@centre.example",
        "sender_name": "Centre",
    }
    arguments[field] = "x\r\nBcc: victim@example.org"
    with pytest.raises(HeaderInjectionError):
        build_message(**arguments)  # type: ignore[arg-type]
