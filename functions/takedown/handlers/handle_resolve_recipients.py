"""State ``ResolveRecipients``: who the notice goes to, each address with where it was found and how sure we are.

Candidates come from the platform registry, the page itself and its contact pages (read from the page capture, so
the page is judged as it was when seen), the configured source contact, the hosting network's and the
registrar's abuse contacts (RDAP), and the CDN in front of the site. Web forms (a platform's, a CDN's) are
recipients without an address (``contact_form_url``), listed after the e-mail recipients. No address is a note for
the reviewer, never a failure: the case goes to review anyway; a case with web forms only is e-mailed to nobody and
the reviewer submits the notice through the form.

The country the notice is written for (its languages and legal basis) is decided here, once, and stored as the
case's ``recipient_country``: the recipient's (platform registry, hosting network), else the server address's
when no CDN fronts the site, else the crawl source's hint (``takedown.recipients.recipient_country``).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from takedown.aws.case_store import CaseStore
from takedown.aws.evidence_store import EvidenceStore
from takedown.aws.transient import raise_transient_as_retryable
from takedown.config import Settings
from takedown.crawl.crawl_step import fetcher_for_source
from takedown.crawl.fetch import SafeFetcher
from takedown.evidence.capture_read import CaptureReadError, read_captured_page
from takedown.handlers.deployed_sources import sources_by_id
from takedown.model import CaseStatus
from takedown.observability import logger, metrics, tracer
from takedown.recipients.discover import (
    FORM_ONLY_NOTE,
    NO_ADDRESS_NOTE,
    discover_recipients,
    merge_candidates,
    reachability_notes,
)
from takedown.recipients.platforms import PlatformRegistry, load_platform_registry
from takedown.recipients.rdap import RdapClient, RdapConfig, make_rdap_fetcher
from takedown.recipients.recipient_country import choose_recipient_country
from takedown.recipients.resolve import resolve_recipients

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from takedown.cases.record import CaseRecord
    from takedown.model import CaseEvent, Sighting


@functools.lru_cache(maxsize=4)
def platform_registry(path: str) -> PlatformRegistry | None:
    return load_platform_registry(Path(path)) if path and Path(path).is_file() else None


@functools.lru_cache(maxsize=4)
def _rdap_client(ip_urls: tuple[str, ...], domain_urls: tuple[tuple[str, str], ...]) -> RdapClient:
    domains = {tld: url for tld, url in domain_urls if tld != "*"}
    default = next((url for tld, url in domain_urls if tld == "*"), "")
    config = RdapConfig(list(ip_urls), domains, default_domain_base_url=default)
    return RdapClient(config, make_rdap_fetcher())


def rdap_client(settings: Settings) -> RdapClient | None:
    """The RDAP client, cached per warm container (its answers are cached too), or None when not configured."""
    if not settings.rdap_ip_urls and not settings.rdap_domain_urls:
        return None
    return _rdap_client(settings.rdap_ip_urls, tuple(sorted(settings.rdap_domain_urls.items())))


def _captured_page(settings: Settings, sighting: Sighting) -> tuple[bytes, dict[str, str], str]:
    """The page body and headers as captured; the sighting's headers alone when there is no capture."""
    if not sighting.capture_key:
        return b"", dict(sighting.response_headers), "the page was not captured: only its headers were used"
    try:
        page = read_captured_page(
            EvidenceStore(settings.evidence_bucket).get_bytes(sighting.capture_key), sighting.page_url
        )
    except CaptureReadError as error:
        return b"", dict(sighting.response_headers), f"the page capture could not be read: {error}"
    return page.body, page.headers, ""


def resolve_case_recipients(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    case_id = event["case_id"]
    cases = CaseStore(settings.cases_table)
    sighting = cases.require(case_id).sighting
    source = sources_by_id(settings.sources_file).get(sighting.source_id)
    html, headers, capture_note = _captured_page(settings, sighting)
    fetcher = fetcher_for_source(source, max_bytes=2 * 1024 * 1024) if source else SafeFetcher()
    discovery = discover_recipients(
        page_url=sighting.page_url,
        page_html=html,
        server_ip=sighting.server_ip,
        response_headers=headers,
        source_contact=source.contact if source else "",
        fetcher=fetcher,
        rdap=rdap_client(settings),
        registry=platform_registry(settings.platforms_file),
        content_type=headers.get("content-type", ""),
    )
    # The crawl also noted the page's mailto links; they count even when the page capture is missing.
    page_contacts, contact_notes = resolve_recipients(sighting)
    recipients = merge_candidates([*discovery.recipients, *page_contacts])
    # Whether anyone can be e-mailed is decided on the merged list (the page's own mailto links count too).
    reachability = {NO_ADDRESS_NOTE, FORM_ONLY_NOTE}
    notes = [n for n in (capture_note, *discovery.notes) if n and n not in reachability]
    notes += [n for n in contact_notes if "refused" in n]
    notes += reachability_notes(recipients)
    country = choose_recipient_country(
        discovered=discovery.country,
        server_country=sighting.server_country,
        behind_cdn=bool(discovery.cdn),
        source_country=source.country if source else "",
    )

    def resolve(record: CaseRecord) -> tuple[CaseRecord, CaseEvent]:
        return record.advance(
            CaseStatus.RECIPIENTS_RESOLVED,
            "resolve-recipients",
            detail={
                "recipients": [
                    {"address": r.address, "role": r.role, "found_at": r.found_at}
                    | ({"contact_form_url": r.contact_form_url} if r.contact_form_url else {})
                    for r in recipients
                ],
                "by_form_only": bool(recipients) and not any(r.address for r in recipients),
                "country": country.country,
                "country_basis": country.basis.value,
                "cdn": discovery.cdn,
                "notes": notes,
            },
            recipients=recipients,
            recipient_country=country.country,
            notes=[*record.notes, *notes],
        )

    record = cases.update(case_id, resolve)
    metrics.add_metric(name="RecipientsFound", unit="Count", value=len(record.recipients))
    return {"case_id": case_id, "recipients": len(record.recipients), "country": record.recipient_country}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@raise_transient_as_retryable
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve_case_recipients(Settings.from_env(), event)
