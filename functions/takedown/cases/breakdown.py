"""Which recipient and which country a case is counted under, in the metrics and in ``takedown report``.

A recipient is counted by the domain of its address (the unit an operator answers for), never by the address.
CloudWatch bills every distinct dimension value as a metric of its own, so the metrics need a bounded set:
providers (hosting networks, registrars, CDNs, platforms) are a finite population and keep their domain; site
operators are one per site, an unbounded population, and are counted together as ``site-operator``. The report
runs on the centre's machine, where cardinality costs nothing, and shows every domain.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from takedown.recipients.domains import HostNameError, normalise_host, registered_domain

if TYPE_CHECKING:
    from takedown.cases.record import CaseRecord
    from takedown.model import Recipient

UNKNOWN = "unknown"
SITE_OPERATOR = "site-operator"
# Roles whose organisations are a finite population (see the module docstring).
PROVIDER_ROLES = frozenset({"host", "registrar", "cdn", "platform"})
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def notice_recipient(record: CaseRecord) -> Recipient | None:
    """The recipient the case's notice goes to: the first one that can be reached (an address or a form).

    The send step sends to the first recipient of the record; the reviewer's choice, when made, is applied to
    that list before sending.
    """
    return next((r for r in record.recipients if r.address or r.contact_form_url), None)


def _domain_of_host(host: str) -> str:
    try:
        name = normalise_host(host)
    except HostNameError:
        return UNKNOWN
    # Reserved names (.example, .test) and IP addresses have no registered domain: keep the host itself.
    return registered_domain(name) or name


def recipient_domain(recipient: Recipient | None) -> str:
    """The registered domain of the recipient's address (or of its contact form's host); ``unknown`` if none.

    >>> from takedown.model import Recipient
    >>> recipient_domain(Recipient("abuse@mail.Host.example.co.uk", "host", "rdap", 0.9))
    'example.co.uk'
    >>> recipient_domain(Recipient("abuse@noc.hoster.com", "host", "rdap", 0.9))
    'hoster.com'
    """
    if recipient is None:
        return UNKNOWN
    if recipient.address and "@" in recipient.address:
        return _domain_of_host(recipient.address.rsplit("@", 1)[1])
    if recipient.contact_form_url:
        host = urlsplit(recipient.contact_form_url).hostname
        return _domain_of_host(host) if host else UNKNOWN
    return UNKNOWN


def metric_recipient_domain(recipient: Recipient | None) -> str:
    """The recipient's domain for a CloudWatch dimension: providers by domain, site operators together.

    >>> from takedown.model import Recipient
    >>> metric_recipient_domain(Recipient("abuse@noc.hoster.com", "host", "rdap", 0.9))
    'hoster.com'
    >>> metric_recipient_domain(Recipient("admin@board.example", "site", "mailto", 0.7))
    'site-operator'
    """
    if recipient is None:
        return UNKNOWN
    if recipient.role not in PROVIDER_ROLES:
        return SITE_OPERATOR
    return recipient_domain(recipient)


def case_country(record: CaseRecord) -> str:
    """Where the content is hosted (ISO 3166 alpha-2): the server's country, else the recipient's; ``unknown``.

    Anything that is not two letters is ``unknown``: the value becomes a metric dimension, so it must come from
    the bounded set of country codes.
    """
    for candidate in (record.sighting.server_country, record.recipient_country):
        code = candidate.strip().upper()
        if _COUNTRY.fullmatch(code):
            return code
    return UNKNOWN
