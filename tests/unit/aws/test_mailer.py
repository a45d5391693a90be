from __future__ import annotations

import pytest
from botocore.stub import ANY, Stubber

from takedown.aws.clients import client
from takedown.aws.mailer import (
    HeaderInjectionError,
    InvalidMessageTag,
    NoRecipientAddress,
    build_message,
    message_tags,
    send_message,
)


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


@pytest.mark.parametrize("to", [[], [""], ["abuse@host.example", "  "]])
def test_a_message_without_a_recipient_address_is_refused(to: list[str]) -> None:
    # a recipient reachable only by web form has no address: nothing may be mailed to it
    with pytest.raises(NoRecipientAddress):
        build_message(sender="notices@centre.example", to=to, subject="s", text="t", html="h")


def test_message_tags_are_plain_tokens() -> None:
    assert message_tags({"takedown-case": "c0ffee", "takedown-notice-version": "2"}) == [
        {"Name": "takedown-case", "Value": "c0ffee"},
        {"Name": "takedown-notice-version", "Value": "2"},
    ]
    for bad in [{"case": "a b"}, {"case": "x\r\ny"}, {"ses:configuration-set": "x"}, {"": "x"}, {"c": ""}]:
        with pytest.raises(InvalidMessageTag):
            message_tags(bad)
    with pytest.raises(InvalidMessageTag, match="at most 10"):
        message_tags({f"t{i}": "v" for i in range(11)})


def test_a_notice_is_sent_with_its_tags_and_configuration_set() -> None:
    # GIVEN the process's SES client, answering through botocore's Stubber (nothing leaves the process)
    message = build_message(
        sender="notices@centre.example", to=["abuse@host.example"], subject="s", text="t", html="<p>h</p>"
    )
    with Stubber(client("sesv2")) as ses:
        ses.add_response(
            "send_email",
            {"MessageId": "0100-message"},
            {
                "FromEmailAddress": ANY,
                "Destination": {"ToAddresses": ["abuse@host.example"]},
                "Content": ANY,
                "ConfigurationSetName": "takedown-set",
                "EmailTags": [{"Name": "takedown-case", "Value": "c0ffee"}],
            },
        )
        # WHEN the message is sent with a tag
        message_id = send_message(message, configuration_set="takedown-set", tags={"takedown-case": "c0ffee"})
        # THEN SES got the tag and the configuration set, and its message id comes back
        ses.assert_no_pending_responses()
    assert message_id == "0100-message"
