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

An address found several times is listed once, with the highest confidence and every provenance. Web forms
(platforms: 0.95, CDNs: 0.5) are recipients too, with ``address=""`` and ``contact_form_url`` set; they are
listed after every e-mail recipient, because an e-mail can be sent (and its bounces tracked) while a form needs
the reviewer to submit the notice by hand. Finding nothing is a note, never an exception; so is every lookup
that failed, and every address or form URL refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final

from takedown.crawl.urls import host_of
from takedown.model import Recipient
from takedown.recipients.cdn import detect_cdn
from takedown.recipients.contact_form import ContactForm, InvalidFormUrl, validate_form_url
from takedown.recipients.platforms import PLATFORM_CONFIDENCE
from takedown.recipients.rdap_json import RdapError
from takedown.recipients.resolve import InvalidAddress, validate_address
from takedown.recipients.site_contacts import discover_site_contacts

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from takedown.recipients.cdn import CdnMatch
    from takedown.recipients.fetching import PageFetcher
    from takedown.recipients.platforms import PlatformRegistry
    from takedown.recipients.rdap import RdapClient
    from takedown.recipients.rdap_json import IpNetwork

SOURCE_CONTACT_CONFIDENCE: Final = 0.9
HOST_ABUSE_CONFIDENCE: Final = 0.6
CDN_ABUSE_CONFIDENCE: Final = 0.5
REGISTRAR_ABUSE_CONFIDENCE: Final = 0.4
NO_ADDRESS_NOTE: Final = "no recipient address found: the reviewer must add one before sending"
FORM_ONLY_NOTE: Final = (
    "no recipient e-mail address found, only web forms: nothing is e-mailed; the reviewer submits the notice "
    "text through the form and records it"
)


@dataclass(frozen=True)
class Discovery:
    """Candidate recipients (e-mail recipients most confident first, then web forms), notes for the reviewer,
    the country the content is hosted in as far as we can tell ("" when unknown or hidden by a CDN), and the
    name of the CDN recognised in front of the site ("" when none: the server address is then the host's)."""

    recipients: list[Recipient] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    country: str = ""
    cdn: str = ""

    @property
    def forms(self) -> list[ContactForm]:
        """The web forms among the recipients."""
        return [
            ContactForm(r.contact_form_url, r.role, r.found_at) for r in self.recipients if r.contact_form_url
        ]


def validated_recipient(recipient: Recipient) -> Recipient:
    """``recipient`` with its address normalised; raises when it has neither a valid address nor a valid form.

    A recipient with an address must have a valid one (:func:`validate_address`); a form URL must be a plain
    https URL (:func:`validate_form_url`).

    Raises
    ------
    InvalidAddress, InvalidFormUrl
        Which one, and why.
    """
    if recipient.contact_form_url:
        validate_form_url(recipient.contact_form_url)
    if recipient.address or not recipient.contact_form_url:
        return replace(recipient, address=validate_address(recipient.address))
    return recipient


class _Collected:
    def __init__(self) -> None:
        self.candidates: list[Recipient] = []
        self.notes: list[str] = []

    def add(self, recipients: Iterable[Recipient]) -> None:
        for recipient in recipients:
            try:
                self.candidates.append(validated_recipient(recipient))
            except (InvalidAddress, InvalidFormUrl) as error:
                what = "form" if isinstance(error, InvalidFormUrl) else "address"
                self.notes.append(f"{recipient.role} {what} refused ({recipient.found_at}): {error}")

    def add_forms(self, forms: Iterable[ContactForm], confidence: float, **where: str) -> None:
        self.add(form.as_recipient(confidence, **where) for form in forms)


def _merge_key(recipient: Recipient) -> str:
    return recipient.address or f"form {recipient.contact_form_url}"


def merge_candidates(candidates: Iterable[Recipient]) -> list[Recipient]:
    """One recipient per address (and per form URL for form-only recipients): e-mail recipients first, each
    group most confident first (ties keep the order found).

    The merged recipient takes role, confidence, country and language from its most confident sighting
    (country, language and a form URL from the next ones when that has none) and lists every ``found_at``.

    >>> merged = merge_candidates([
    ...     Recipient("a@x.example", "site", "mailto link on P", 0.7),
    ...     Recipient("b@x.example", "host", "RDAP", 0.6, country="KR"),
    ...     Recipient("a@x.example", "youth-protection", "text on Q", 0.8, language="ko")])
    >>> [(r.address, r.role, r.found_at, r.language) for r in merged]
    [('a@x.example', 'youth-protection', 'text on Q; mailto link on P', 'ko'), ('b@x.example', 'host', 'RDAP', '')]
    """
    groups: dict[str, list[Recipient]] = {}
    for candidate in candidates:
        groups.setdefault(_merge_key(candidate), []).append(candidate)
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
                contact_form_url=next((r.contact_form_url for r in ranked if r.contact_form_url), ""),
            )
        )
    return sorted(merged, key=lambda recipient: (not recipient.address, -recipient.confidence))


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
        entry = match.entry
        collected.add_forms(forms, PLATFORM_CONFIDENCE, country=entry.country, language=entry.language)
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
        collected.add_forms(cdn.forms(), CDN_ABUSE_CONFIDENCE)
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
    collected.notes.extend(reachability_notes(recipients))
    return Discovery(
        recipients=recipients, notes=collected.notes, country=country, cdn=cdn.name if cdn else ""
    )


def reachability_notes(recipients: list[Recipient]) -> list[str]:
    """The note a reviewer needs when no recipient can be e-mailed: none found, or web forms only."""
    if not recipients:
        return [NO_ADDRESS_NOTE]
    if not any(recipient.address for recipient in recipients):
        return [FORM_ONLY_NOTE]
    return []
