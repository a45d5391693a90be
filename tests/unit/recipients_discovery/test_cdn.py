from __future__ import annotations

import pytest

from takedown.recipients.cdn import CLOUDFLARE_ABUSE_FORM, detect_cdn
from takedown.recipients.rdap_json import IpNetwork


def _network(name: str, organisations: tuple[str, ...] = ()) -> IpNetwork:
    return IpNetwork(
        address="198.51.100.7",
        handle=f"NET-{name}",
        name=name,
        country="US",
        start_address="198.51.100.0",
        end_address="198.51.100.255",
        abuse_contacts=(),
        organisations=organisations,
        source_url="https://rdap.example/ip/198.51.100.7",
    )


@pytest.mark.parametrize(
    ("headers", "name"),
    [
        ({"Server": "cloudflare"}, "Cloudflare"),
        ({"CF-RAY": "8a1b2c3d4e5f6a7b-ICN"}, "Cloudflare"),
        ({"server": "AkamaiGHost"}, "Akamai"),
        ({"X-Akamai-Transformed": "9 - 0 pmb=mRUM,1"}, "Akamai"),
        ({"X-Served-By": "cache-icn1234-ICN", "X-Timer": "S1700000000.1,VS0,VE1"}, "Fastly"),
        ({"x-fastly-request-id": "abc"}, "Fastly"),
        ({"Via": "1.1 abcdef.cloudfront.net (CloudFront)", "X-Amz-Cf-Pop": "ICN57-C1"}, "Amazon CloudFront"),
    ],
)
def test_cdns_are_recognised_by_their_headers(headers: dict[str, str], name: str) -> None:
    match = detect_cdn(headers)
    assert match is not None and match.name == name
    assert match.evidence


def test_cloudflare_is_recognised_by_its_rdap_network_alone_and_routes_to_its_form() -> None:
    # GIVEN no telling headers but an RDAP network named CLOUDFLARENET
    match = detect_cdn({"Server": "nginx"}, _network("CLOUDFLARENET", ("CLOUDFLARENET", "Cloudflare, Inc.")))
    # THEN Cloudflare is recognised, and its abuse form is offered as a cdn form
    assert match is not None
    assert match.evidence == ("RDAP network 'NET-CLOUDFLARENET'",)
    assert [(form.url, form.role) for form in match.forms()] == [(CLOUDFLARE_ABUSE_FORM, "cdn")]


def test_the_cdn_with_most_evidence_wins_and_plain_hosts_are_no_cdn() -> None:
    match = detect_cdn({"server": "cloudflare", "cf-ray": "x", "x-cache": "Hit from cloudfront"})
    assert match is not None and match.name == "Cloudflare"
    assert detect_cdn({"Server": "nginx", "Via": "1.1 varnish"}, _network("EXAMPLE-HOSTING-NET")) is None
    assert detect_cdn({"X-Served-By": "cache-icn1234-ICN"}) is None  # without x-timer: not specific enough


def test_an_amazon_network_alone_is_not_taken_for_cloudfront() -> None:
    assert detect_cdn({}, _network("AMAZON-02", ("Amazon Technologies Inc.",))) is None
