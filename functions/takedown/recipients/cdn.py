"""Recognise a site served through a CDN, whose server address and abuse contact are the CDN's.

When a CDN fronts a site, the address the crawler connected to belongs to the CDN, so the IP network's
abuse contact is the CDN's abuse desk, not the origin host's. CDNs run their own abuse processes that
forward reports to (or reveal) the origin host; Cloudflare takes them by web form
(https://abuse.cloudflare.com). Evidence comes from response headers and, for Cloudflare and Akamai and
Fastly, from the RDAP network name. No origin IP is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from takedown.recipients.contact_form import ContactForm
from takedown.recipients.rdap_json import clean_text

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from takedown.recipients.rdap_json import IpNetwork

CLOUDFLARE_ABUSE_FORM: Final = "https://abuse.cloudflare.com/"

Headers = dict[str, str]


@dataclass(frozen=True)
class CdnMatch:
    """A CDN recognised in front of a site, the evidence for it, and its abuse form if it has one."""

    name: str
    evidence: tuple[str, ...]
    form_url: str = ""

    def forms(self) -> list[ContactForm]:
        """The CDN's abuse form as a ``cdn`` contact form (none when the CDN takes e-mail)."""
        if not self.form_url:
            return []
        return [ContactForm(self.form_url, "cdn", f"{self.name} abuse form ({'; '.join(self.evidence)})")]


@dataclass(frozen=True)
class _Signature:
    name: str
    header_checks: tuple[tuple[str, Callable[[Headers], bool]], ...]
    rdap_names: tuple[str, ...]  # substrings of an RDAP network or entity name/handle, uppercase
    form_url: str = ""


def _header_equals(name: str, value: str) -> Callable[[Headers], bool]:
    return lambda headers: headers.get(name, "").strip().lower() == value


def _header_contains(name: str, value: str) -> Callable[[Headers], bool]:
    return lambda headers: value in headers.get(name, "").lower()


def _header_present(name: str) -> Callable[[Headers], bool]:
    return lambda headers: name in headers


def _header_prefix_present(prefix: str) -> Callable[[Headers], bool]:
    return lambda headers: any(key.startswith(prefix) for key in headers)


def _fastly_served_by(headers: Headers) -> bool:
    # Fastly's cache nodes are named "cache-<pop><n>"; x-timer alone is not specific enough.
    return headers.get("x-served-by", "").strip().lower().startswith("cache-") and "x-timer" in headers


SIGNATURES: Final = (
    _Signature(
        "Cloudflare",
        (
            ("header server: cloudflare", _header_equals("server", "cloudflare")),
            ("header cf-ray", _header_present("cf-ray")),
            ("header cf-cache-status", _header_present("cf-cache-status")),
        ),
        ("CLOUDFLARENET", "CLOUDFLARE"),
        CLOUDFLARE_ABUSE_FORM,
    ),
    _Signature(
        "Akamai",
        (
            ("header server: AkamaiGHost", _header_contains("server", "akamaighost")),
            ("header server: AkamaiNetStorage", _header_contains("server", "akamainetstorage")),
            ("an x-akamai-* header", _header_prefix_present("x-akamai-")),
            ("header akamai-grn", _header_present("akamai-grn")),
        ),
        ("AKAMAI",),
    ),
    _Signature(
        "Fastly",
        (
            ("header x-fastly-request-id", _header_present("x-fastly-request-id")),
            ("a fastly-* header", _header_prefix_present("fastly-")),
            ("header x-served-by: cache-*", _fastly_served_by),
        ),
        ("FASTLY",),
    ),
    _Signature(
        "Amazon CloudFront",
        (
            ("header x-amz-cf-id", _header_present("x-amz-cf-id")),
            ("header x-amz-cf-pop", _header_present("x-amz-cf-pop")),
            ("header via: CloudFront", _header_contains("via", "cloudfront")),
            ("header x-cache: ... cloudfront", _header_contains("x-cache", "cloudfront")),
        ),
        (),  # Amazon's networks also hold plain EC2 hosts, so the network name proves nothing
    ),
)


def detect_cdn(headers: Mapping[str, str], network: IpNetwork | None = None) -> CdnMatch | None:
    """The CDN with the most evidence in the response headers and the RDAP network, or None.

    Examples
    --------
    >>> match = detect_cdn({"Server": "cloudflare", "CF-RAY": "8a1b2c3d4e5f-ICN"})
    >>> match.name, match.evidence, match.form_url
    ('Cloudflare', ('header server: cloudflare', 'header cf-ray'), 'https://abuse.cloudflare.com/')
    >>> detect_cdn({"Server": "nginx"}) is None
    True
    """
    lowered = {name.strip().lower(): value for name, value in headers.items()}
    names = (
        []
        if network is None
        else [name.upper() for name in (network.handle, network.name, *network.organisations)]
    )
    best: CdnMatch | None = None
    for signature in SIGNATURES:
        evidence = [label for label, check in signature.header_checks if check(lowered)]
        rdap_hit = next((name for name in names if any(part in name for part in signature.rdap_names)), "")
        if rdap_hit:
            evidence.append(f"RDAP network {clean_text(rdap_hit, 60)!r}")
        if evidence and (best is None or len(evidence) > len(best.evidence)):
            best = CdnMatch(signature.name, tuple(evidence), signature.form_url)
    return best
