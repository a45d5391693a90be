"""The facts a notice states, gathered from a case, and whom it is addressed to. Nothing about the victim is among
them."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from takedown.cases.follow_up import follow_up_facts
from takedown.cases.reuploads import reupload_flags
from takedown.model import Recipient
from takedown.notices.drafting import NoticeFacts, choose_legal_basis, choose_locales

if TYPE_CHECKING:
    from pathlib import Path

    from takedown.cases.record import CaseRecord

_JURISDICTION_BY_BASIS = {"kr_tba_22_5": "KR", "us_take_it_down": "US", "eu_dsa_16": "EU"}
# Korean operators must act "without delay" (art. 22-5); the TAKE IT DOWN Act gives covered platforms 48 hours.
_DEADLINE_HOURS = {"KR": 24, "US": 48, "EU": 48}
_NO_RECIPIENT = Recipient(address="", role="unknown", found_at="not found", confidence=0.0)
# Recipients who run the site itself: the page's language says what they read. A host, registrar or CDN
# abroad does not read the page's language because the page is in it.
_SITE_ROLES = frozenset({"site", "platform", "source-contact"})


def jurisdiction_for(country: str) -> str:
    return _JURISDICTION_BY_BASIS.get(choose_legal_basis(country), "OTHER")


def notice_country(record: CaseRecord, fallback: str) -> str:
    """The country whose law and deadline the notice being drafted cites.

    A follow-up in flight is addressed to its own recipients: the first of them with a known country decides (an
    escalation to a registrar or CDN abroad cites the law where it is). Otherwise, and for the first notice (its
    recipients are chosen at review, after drafting), the case's recipient country, else ``fallback`` (the crawl
    source's hint).
    """
    case_country = record.recipient_country or fallback
    pending = record.follow_up.pending if record.follow_up else None
    if pending is not None:
        for recipient in pending.recipients:
            if recipient.country:
                return recipient.country.upper()
    return case_country


def notice_locales(record: CaseRecord, fallback: str, templates_dir: Path | None = None) -> list[str]:
    """The languages of the notice being drafted, in order, English last.

    The first notice: the case's (:func:`~takedown.notices.drafting.choose_locales` for the case's country and
    the page's language). A follow-up: each of its recipients' languages in turn, so a registrar abroad reads
    the notice in its own language; a recipient whose country is unknown or the case's gets the case's
    languages, and the page's language counts only for those who run the site.
    """
    case_country = record.recipient_country or fallback
    page_lang = record.sighting.page_lang
    pending = record.follow_up.pending if record.follow_up else None
    if pending is None or not pending.recipients:
        return choose_locales(case_country, page_lang, templates_dir)
    wanted: list[str] = []
    for recipient in pending.recipients:
        if not recipient.country or recipient.country.upper() == case_country.upper():
            wanted += choose_locales(case_country, page_lang, templates_dir)
        else:
            reads_page = recipient.role in _SITE_ROLES
            wanted += choose_locales(recipient.country, page_lang if reads_page else "", templates_dir)
    ordered = list(dict.fromkeys(wanted))
    return [locale for locale in ordered if locale != "en"] + (["en"] if "en" in ordered else [])


def notice_facts_for(
    record: CaseRecord,
    *,
    country: str,
    centre_name: str,
    centre_email: str,
    recipient: Recipient | None = None,
) -> NoticeFacts:
    """The facts of the notice for ``recipient``: by default the recipient of the follow-up notice in flight, or
    else the case's first recipient. A follow-up quotes the notices before it; a re-upload says so."""
    jurisdiction = jurisdiction_for(country)
    sighting = record.sighting
    pending = record.follow_up.pending if record.follow_up else None
    if recipient is None and pending is not None and pending.recipients:
        recipient = pending.recipients[0]
    removed_before, reported_before = reupload_flags(record.related_cases)
    return NoticeFacts(
        case_id=record.case_id,
        centre_name=centre_name,
        centre_email=centre_email,
        sender_capacity_key="designated_institution",
        page_url=sighting.page_url,
        media_urls=[sighting.media_url],
        observed_at=sighting.fetched_at,
        evidence_key=record.report_key,
        evidence_sha256=record.report_sha256,
        media_sha256=sighting.sha256,
        recipient=recipient or (record.recipients[0] if record.recipients else _NO_RECIPIENT),
        jurisdiction=jurisdiction,
        deadline_hours=_DEADLINE_HOURS.get(jurisdiction, 72),
        reupload=removed_before,
        reported_before=reported_before,
        follow_up=follow_up_facts(record.follow_up, pending) if record.follow_up and pending else None,
    )


def addressees(record: CaseRecord) -> list[Recipient]:
    """Whom the notice being drafted may go to, each getting an addressing block: the recipients of the follow-up
    in flight, or else every recipient discovered for the case (the reviewer chooses among them)."""
    pending = record.follow_up.pending if record.follow_up else None
    return list(pending.recipients) if pending is not None else list(record.recipients)


def facts_for_addressee(record: CaseRecord, facts: NoticeFacts, recipient: Recipient) -> NoticeFacts:
    """``facts`` as they concern ``recipient``: addressed to it, and for a follow-up, quoting what *it* was sent.

    Each recipient received its own message, so a reminder quotes the date and message id of the notice that
    recipient received (:func:`takedown.cases.follow_up.follow_up_facts` for that recipient alone); a recipient
    new to the case is told of the case's first notice.
    """
    pending = record.follow_up.pending if record.follow_up else None
    if record.follow_up is None or pending is None:
        return replace(facts, recipient=recipient)
    own = follow_up_facts(record.follow_up, replace(pending, recipients=[recipient]))
    return replace(facts, recipient=recipient, follow_up=own)
