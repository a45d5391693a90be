"""Who a notice can go to: every channel we can find for a page, each with its provenance and confidence.

Sources, most reliable first:

==================  ==========================  ====================================================
source              role                        confidence
==================  ==========================  ====================================================
platform registry   platform                    0.95 (the platform's published abuse channel)
source config       source-contact              0.9
site, youth officer youth-protection            0.8
site, abuse mailbox site                        0.75
site, page mailto   site                        0.7
site, page text     site                        0.65
site, contact page  site                        0.6
RDAP IP network     host (cdn behind a CDN)     0.6 (0.5)
RDAP domain         registrar                   0.4
==================  ==========================  ====================================================

An address found several times is listed once, with the highest confidence and every provenance. Web
forms (platforms, CDNs) are listed separately: a reviewer fills them in by hand. Finding nothing is a note,
never an exception; so is every lookup that failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final

from takedown.crawl.urls import host_of
from takedown.model import Recipient
from takedown.recipients.cdn import detect_cdn
from takedown.recipients.rdap_json import RdapError
from takedown.recipients.resolve import InvalidAddress, validate_address
from takedown.recipients.site_contacts import discover_site_contacts

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from takedown.recipients.cdn import CdnMatch
    from takedown.recipients.contact_form import ContactForm
    from takedown.recipients.fetching import PageFetcher
    from takedown.recipients.platforms import PlatformRegistry
    from takedown.recipients.rdap import RdapClient
    from takedown.recipients.rdap_json import IpNetwork

SOURCE_CONTACT_CONFIDENCE: Final = 0.9
HOST_ABUSE_CONFIDENCE: Final = 0.6
CDN_ABUSE_CONFIDENCE: Final = 0.5
REGISTRAR_ABUSE_CONFIDENCE: Final = 0.4
NO_ADDRESS_NOTE: Final = "no recipient address found: the reviewer must add one before sending"


@dataclass(frozen=True)
class Discovery:
    """Candidate recipients (most confident first), contact forms, notes for the reviewer, and the
    country the content is hosted in as far as we can tell ("" when unknown or hidden by a CDN)."""

    recipients: list[Recipient] = field(default_factory=list)
    forms: list[ContactForm] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    country: str = ""


class _Collected:
    def __init__(self) -> None:
        self.candidates: list[Recipient] = []
        self.forms: list[ContactForm] = []
        self.notes: list[str] = []

    def add(self, recipients: Iterable[Recipient]) -> None:
        for recipient in recipients:
            try:
                address = validate_address(recipient.address)
            except InvalidAddress as error:
                self.notes.append(f"{recipient.role} address refused ({recipient.found_at}): {error}")
                continue
            self.candidates.append(replace(recipient, address=address))

    def add_forms(self, forms: Iterable[ContactForm]) -> None:
        known = {form.url for form in self.forms}
        self.forms.extend(form for form in forms if form.url not in known)


def merge_candidates(candidates: Iterable[Recipient]) -> list[Recipient]:
    """One recipient per address, most confident first (ties keep the order found).

    The merged recipient takes role, confidence, country and language from its most confident sighting
    (country and language from the next ones when that has none) and lists every ``found_at``.

    >>> merged = merge_candidates([
    ...     Recipient("a@x.example", "site", "mailto link on P", 0.7),
    ...     Recipient("b@x.example", "host", "RDAP", 0.6, country="KR"),
    ...     Recipient("a@x.example", "youth-protection", "text on Q", 0.8, language="ko")])
    >>> [(r.address, r.role, r.found_at, r.language) for r in merged]
    [('a@x.example', 'youth-protection', 'text on Q; mailto link on P', 'ko'), ('b@x.example', 'host', 'RDAP', '')]
    """
    groups: dict[str, list[Recipient]] = {}
    for candidate in candidates:
        groups.setdefault(candidate.address, []).append(candidate)
    merged: list[Recipient] = []
    for group in groups.values():
        ranked = sorted(group, key=lambda recipient: -recipient.confidence)
        best = ranked[0]
        merged.append(
            replace(
                best,
                found_at="; ".join(dict.fromkeys(recipient.found_at for recipient in ranked)),
                country=next((r.country for r in ranked if r.country), ""),
                language=next((r.language for r in ranked if r.language), ""),
            )
        )
    return sorted(merged, key=lambda recipient: -recipient.confidence)


def _network_recipients(network: IpNetwork, cdn: CdnMatch | None) -> list[Recipient]:
    label = " ".join(part for part in (network.handle, repr(network.name) if network.name else "") if part)
    role, confidence = ("cdn", CDN_ABUSE_CONFIDENCE) if cdn else ("host", HOST_ABUSE_CONFIDENCE)
    return [
        Recipient(
            address=contact.email,
            role=role,
            found_at=(
                f"RDAP abuse contact {contact.entity_handle or contact.entity_name!r} of network {label or '?'}"
                f" for {network.address} at {network.source_url}"
            ),
            confidence=confidence,
            country="" if cdn else network.country,
        )
        for contact in network.abuse_contacts
    ]


def _lookup_network(rdap: RdapClient | None, server_ip: str, collected: _Collected) -> IpNetwork | None:
    if not server_ip:
        collected.notes.append("the server address is unknown: no RDAP lookup of the hosting network")
        return None
    if rdap is None:
        collected.notes.append(
            "RDAP is not configured: the hosting network's abuse contact was not looked up"
        )
        return None
    try:
        network = rdap.lookup_ip(server_ip)
    except RdapError as error:
        collected.notes.append(str(error))
        return None
    collected.notes.extend(
        f"RDAP network {network.handle or server_ip}: {problem}" for problem in network.problems
    )
    if not network.abuse_contacts:
        collected.notes.append(f"RDAP network {network.handle or server_ip} names no abuse e-mail address")
    return network


def _registrar_recipients(rdap: RdapClient | None, host: str, collected: _Collected) -> None:
    if rdap is None:
        return
    try:
        registration = rdap.lookup_domain(host)
    except RdapError as error:
        collected.notes.append(str(error))
        return
    collected.notes.extend(
        f"RDAP domain {registration.domain}: {problem}" for problem in registration.problems
    )
    registrar = registration.registrar_name or "the registrar"
    if registration.registrar_iana_id:
        registrar += f" (IANA id {registration.registrar_iana_id})"
    collected.add(
        Recipient(
            address=contact.email,
            role="registrar",
            found_at=f"RDAP abuse contact of {registrar} for {registration.domain} at {registration.source_url}",
            confidence=REGISTRAR_ABUSE_CONFIDENCE,
        )
        for contact in registration.abuse_contacts
    )
    if not registration.abuse_contacts:
        collected.notes.append(f"RDAP domain {registration.domain} names no registrar abuse e-mail address")


def discover_recipients(
    *,
    page_url: str,
    page_html: str | bytes,
    server_ip: str,
    response_headers: Mapping[str, str],
    source_contact: str,
    fetcher: PageFetcher,
    rdap: RdapClient | None,
    registry: PlatformRegistry | None,
    content_type: str = "",
    max_contact_pages: int = 4,
) -> Discovery:
    """Every candidate recipient and contact form for a page, with notes on what was not found.

    Parameters
    ----------
    page_url, page_html, content_type
        The crawled page (after redirects) and its Content-Type header.
    server_ip, response_headers
        The address the page was fetched from and the response headers (CDN recognition).
    source_contact
        The contact configured for the crawl source, or "".
    fetcher
        Fetches the site's contact pages: the crawler's SSRF-safe ``SafeFetcher``.
    rdap
        The RDAP client, or None to skip network and registrar lookups.
    registry
        The platform registry, or None.
    max_contact_pages
        The most contact pages fetched.

    Raises
    ------
    takedown.crawl.urls.UrlError
        When ``page_url`` is not a usable http(s) URL (nothing else raises: failures become notes).
    """
    host = host_of(page_url)
    collected = _Collected()
    country = ""
    match = registry.match(host) if registry is not None else None
    if match is not None:
        recipients, forms = match.channels()
        collected.add(recipients)
        collected.add_forms(forms)
        country = match.entry.country
        if match.entry.notes:
            collected.notes.append(f"platform {match.entry.name}: {match.entry.notes}")
    if source_contact:
        collected.add(
            [Recipient(source_contact, "source-contact", "source configuration", SOURCE_CONTACT_CONFIDENCE)]
        )
    site = discover_site_contacts(
        page_url=page_url,
        page_html=page_html,
        fetcher=fetcher,
        max_contact_pages=max_contact_pages,
        content_type=content_type,
    )
    collected.add(site.recipients)
    collected.notes.extend(site.notes)
    network = _lookup_network(rdap, server_ip, collected)
    cdn = detect_cdn(response_headers, network)
    if cdn is not None:
        collected.add_forms(cdn.forms())
        collected.notes.append(
            f"{cdn.name} fronts the site ({'; '.join(cdn.evidence)}): the server address is the CDN's, "
            f"not the origin host's; the CDN's abuse process forwards the report to the host"
        )
    if network is not None:
        collected.add(_network_recipients(network, cdn))
        if cdn is None:
            country = country or network.country
    _registrar_recipients(rdap, host, collected)
    recipients = merge_candidates(collected.candidates)
    if not recipients:
        forms_hint = f" ({len(collected.forms)} web form(s) listed)" if collected.forms else ""
        collected.notes.append(NO_ADDRESS_NOTE + forms_hint)
    return Discovery(recipients=recipients, forms=collected.forms, notes=collected.notes, country=country)
