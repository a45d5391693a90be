"""Which recipient domain and country a case counts under, bounded for CloudWatch dimensions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from takedown.cases.breakdown import (
    case_country,
    metric_recipient_domain,
    notice_recipient,
    recipient_domain,
)
from takedown.cases.record import CaseRecord
from takedown.model import Recipient

from .conftest import HOST, SITE, at, sighting


@pytest.mark.parametrize(
    ("recipient", "domain", "dimension"),
    [
        (HOST, "hoster.com", "hoster.com"),
        (replace(HOST, address="Abuse@Mail.Hoster.CO.UK", role="registrar"), "hoster.co.uk", "hoster.co.uk"),
        (replace(HOST, role="cdn", address="abuse@edge.cdn.example"), "edge.cdn.example", "edge.cdn.example"),
        (SITE, "board.example", "site-operator"),
        (replace(SITE, role="source-contact"), "board.example", "site-operator"),
        (
            Recipient("", "platform", "registry", 0.9, contact_form_url="https://report.platform.com/form"),
            "platform.com",
            "platform.com",
        ),
        (replace(HOST, address="abuse@bad host"), "unknown", "unknown"),
        (None, "unknown", "unknown"),
    ],
)
def test_recipient_domain_for_the_report_and_for_a_metric_dimension(
    recipient: Recipient | None, domain: str, dimension: str
) -> None:
    assert recipient_domain(recipient) == domain
    assert metric_recipient_domain(recipient) == dimension


def test_the_notice_recipient_is_the_first_reachable_one() -> None:
    record, _ = CaseRecord.open(sighting(), now=at(1))
    unreachable = Recipient("", "site", "page without a contact", 0.1)
    assert notice_recipient(replace(record, recipients=[unreachable, SITE, HOST])) == SITE
    assert notice_recipient(replace(record, recipients=[unreachable])) is None


@pytest.mark.parametrize(
    ("server_country", "recipient_country", "expected"),
    [
        ("kr", "VN", "KR"),
        ("", "vn", "VN"),
        ("", "", "unknown"),
        ("Korea", "", "unknown"),  # not an ISO code: never a dimension value
    ],
)
def test_country_is_the_servers_else_the_recipients(
    server_country: str, recipient_country: str, expected: str
) -> None:
    record, _ = CaseRecord.open(sighting(server_country=server_country), now=at(1))
    assert case_country(replace(record, recipient_country=recipient_country)) == expected
