"""Hostile page text, carried by a real match through the whole pipeline on the local stack: crawl (or a sighting
written as the crawler writes it) -> hashing -> workflow -> review email -> review page -> approval -> notice.

The page's title, language, URL and contact addresses carry line breaks, HTML, Jinja syntax and right-to-left
overrides. Every output (drafts in each language, the evidence report, the review email and page, the sent
notice's headers and body) must show them as inert text: nothing evaluated, nothing injected, no header split.
Renderer-level tests of the same rules: ``tests/unit/notices/test_notice_rendering.py``,
``test_notice_drafting.py``, ``test_review_pages.py``, ``tests/unit/evidence/test_evidence_report.py``,
``tests/unit/aws/test_mailer.py``.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from typing import TYPE_CHECKING, Any

import requests
from PIL import Image

from takedown.aws.case_store import CaseStore
from takedown.aws.crawl_state import CrawlState
from takedown.aws.evidence_store import EvidenceStore
from takedown.demo.reviewer import ReviewFormReader
from takedown.handlers.handle_crawl_page import media_object_key, sighting_object_key
from takedown.local.mailbox import sent_mail
from takedown.model import CaseStatus, Sighting
from tests.functional.conftest import register, synthetic_png
from tests.hostile.sites import HostileSite, static

if TYPE_CHECKING:
    from pathlib import Path

    from takedown.cases.record import CaseRecord
    from takedown.local.environment import LocalEnvironment
    from takedown.local.mailbox import SentMail

# 7 * 191: a number that appears nowhere unless a template evaluated the page's text.
EVALUATED = "1337"
TEMPLATE_SYNTAX = "{{ 7*191 }} {% raw %}{{ config }}{% endraw %} ${7*191} #{7*191}"
RLO = "\u202e"
SCRIPT = "<script>alert(1)</script>"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/reviews/[A-Za-z0-9_-]+\?e=\d+&s=[A-Za-z0-9_-]+")


def altered(data: bytes) -> bytes:
    """A resized, recompressed copy of a registered picture: what a re-upload looks like."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = image.resize((image.width * 3 // 4, image.height * 3 // 4))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def hostile_page(picture_path: str) -> bytes:
    title = f"Board &#13;&#10;Bcc: everyone@evil.example {TEMPLATE_SYNTAX} &lt;script&gt;alert(1)&lt;/script&gt; &#x202E;gpj.exe"
    return (
        f'<!doctype html><html lang="ko&#13;&#10;Bcc: evil@evil.example"><head><title>{title}</title></head>'
        "<body>"
        f'<img src="{picture_path}" alt="{{{{ 7*191 }}}}">'
        '<a href="mailto:admin@board.example">admin</a>'
        '<a href="mailto:evil@evil.example%0D%0ABcc:all@evil.example">bad</a>'
        '<a href="mailto:%E2%80%AEadmin@board.example">rlo</a>'
        "</body></html>"
    ).encode()


def assert_inert(where: str, text: str, *, html: bool) -> None:
    """The hostile strings may be shown (escaped, marked), never evaluated or left raw; in HTML, never as markup
    (plain text may show ``<script>`` as the characters it is)."""
    assert EVALUATED not in text, f"{where}: a template was evaluated"
    if html:
        assert "<script" not in text.lower(), f"{where}: raw markup"
    assert RLO not in text, f"{where}: a raw right-to-left override"


def assert_clean_headers(mail: SentMail) -> None:
    message = mail.message
    for name, value in message.items():
        assert "\r" not in str(value) and "\n" not in str(value).strip(), f"{name} spans lines"
        assert RLO not in str(value), f"{name} carries a raw override"
    assert message.get_all("Bcc") is None and message.get_all("Cc") is None
    assert len(message.get_all("To") or []) == 1
    assert not {a for a in mail.destinations if "evil.example" in a}


def assert_plain_recipients(record: CaseRecord) -> None:
    from takedown.recipients.resolve import validate_address

    for recipient in record.recipients:
        if recipient.address:
            assert validate_address(recipient.address) == recipient.address
            assert "evil.example\r" not in recipient.address and RLO not in recipient.address


def store_sighting(local: LocalEnvironment, data: bytes, page_url: str, **fields: Any) -> Sighting:
    """Store media as the crawl worker does (sighting record first, then the media object), with ``fields``."""
    sha256, md5 = hashlib.sha256(data).hexdigest(), hashlib.md5(data, usedforsecurity=False).hexdigest()
    sighting = Sighting(
        media_key=media_object_key(sha256, page_url, "image/jpeg"),
        sha256=sha256,
        md5=md5,
        page_url=page_url,
        media_url="http://board.example/media/pic.jpg",
        fetched_at="2026-11-28T07:00:00.000000Z",
        content_type="image/jpeg",
        source_id="example-community",
        size_bytes=len(data),
        **fields,
    )
    store = EvidenceStore(local.settings().evidence_bucket)
    store.put_json(sighting_object_key(sha256, page_url), sighting.to_dict())
    store.put_bytes(sighting.media_key, data, "image/jpeg")
    return sighting


def wait_for_review(local: LocalEnvironment) -> CaseRecord:
    cases = CaseStore(local.settings().cases_table)
    candidates = [
        o["reason"]
        for o in CrawlState(local.settings().crawl_table).media_outcomes()
        if o["outcome"] == "CANDIDATE"
    ]
    assert len(candidates) == 1, "the altered copy should have become a candidate"
    case_id = candidates[0]
    assert local.wait_for(lambda: cases.require(case_id).status is CaseStatus.AWAITING_REVIEW, timeout=90), (
        cases.require(case_id).status
    )
    return cases.require(case_id)


def check_every_output_and_approve(local: LocalEnvironment, record: CaseRecord) -> None:
    """Drafts, report, review email, review page and the sent notice: all inert; approve in between."""
    cases = CaseStore(local.settings().cases_table)
    drafts = cases.drafts(record.case_id)
    assert drafts
    for draft in drafts:
        assert "\n" not in draft.subject and "\r" not in draft.subject
        assert_inert(f"draft {draft.locale} subject", draft.subject, html=False)
        assert_inert(f"draft {draft.locale} text", draft.body_text, html=False)
        assert_inert(f"draft {draft.locale} html", draft.body_html, html=True)
    report = EvidenceStore(local.settings().evidence_bucket).get_bytes(record.report_key).decode("utf-8")
    assert_inert("report", report, html=True)
    reviewers = set(local.settings("handle_request_approval").reviewers)
    review_mails = [m for m in sent_mail() if reviewers & set(m.destinations)]
    assert len(review_mails) == 1
    assert_clean_headers(review_mails[0])
    assert_inert("review email text", review_mails[0].body("plain"), html=False)
    assert_inert("review email html", review_mails[0].body("html"), html=True)
    link = LINK.findall(review_mails[0].body("plain"))[0]
    with requests.Session() as browser:
        page = browser.get(link, timeout=30)
        assert page.status_code == 200
        assert_inert("review page", page.text, html=True)
        form = ReviewFormReader()
        form.feed(page.text)
        decided = browser.post(
            requests.compat.urljoin(link, form.action),
            data={**form.fields, "decision": "APPROVED"},
            timeout=30,
        )
        assert decided.status_code == 200
    assert local.wait_for(lambda: cases.require(record.case_id).status is CaseStatus.SENT, timeout=90)
    notices = [m for m in sent_mail() if not reviewers & set(m.destinations)]
    assert len(notices) == 1
    assert set(notices[0].destinations) <= {r.address for r in record.recipients}
    assert_clean_headers(notices[0])
    assert_inert("sent notice text", notices[0].body("plain"), html=False)
    assert_inert("sent notice html", notices[0].body("html"), html=True)


def test_hostile_page_text_from_a_crawled_page_stays_inert_from_crawl_to_sent_notice(
    local: LocalEnvironment, tmp_path: Path
) -> None:
    # GIVEN a registered original, and a loopback page carrying an altered copy under a hostile title, language,
    # URL and contact addresses
    original = synthetic_png(23)
    register(local, original)
    picture = "/p/%7B%7B7*191%7D%7D/%E2%80%AEgpj.jpg"
    page_path = "/board/%0D%0ABcc:x/%7B%7B7*191%7D%7D/%3Cscript%3E"
    with HostileSite(
        {
            page_path: static(hostile_page(picture), "text/html"),
            picture: static(altered(original), "image/jpeg"),
        }
    ) as site:
        sources = {
            "version": 1,
            "sources": [
                {
                    "id": "hostile-board",
                    "kind": "community",
                    "seeds": [site.url(page_path)],
                    "allowed_hosts": ["127.0.0.1"],
                    "depth": 0,
                    "requests_per_second": 50.0,
                    "country": "KR",
                    "allow_private_addresses": True,
                }
            ],
        }
        path = tmp_path / "sources.json"
        path.write_text(json.dumps(sources), encoding="utf-8")
        assert local.stack is not None
        local.stack.deploy_sources(path)
        # WHEN the crawl runs and the case reaches review
        local.invoke("handle_dispatch_crawl", {})
        record = wait_for_review(local)
    # THEN the mailto addresses carrying a line break or an override are refused with a note; the plain ones are
    # candidates (an address in the page's text counts as the site's, below its mailto link), the mailto first
    assert_plain_recipients(record)
    assert record.recipients[0].address == "admin@board.example"
    assert sum("refused" in note for note in record.notes) == 2
    # AND every output shows the hostile text inert, through to the notice that is sent
    check_every_output_and_approve(local, record)


def test_raw_line_breaks_and_overrides_in_a_stored_sighting_stay_inert(local: LocalEnvironment) -> None:
    # GIVEN a sighting record holding what a crawler would have cleaned (raw CR/LF, an override, markup, template
    # syntax), as a tampered or older record could: defence in depth downstream of the crawl
    original = synthetic_png(24)
    register(local, original)
    sighting = store_sighting(
        local,
        altered(original),
        "http://board.example/p/%0D%0A%7B%7B7*191%7D%7D",
        page_title=f"Board\r\nBcc: everyone@evil.example\r\n\r\n{TEMPLATE_SYNTAX} {SCRIPT} {RLO}gpj.exe",
        page_lang="ko\r\nBcc: x",
        page_contacts=[
            "admin@board.example",
            "evil@evil.example\r\nBcc: all@evil.example",
            f"{RLO}x@evil.example",
        ],
    )
    cases = CaseStore(local.settings().cases_table)
    # WHEN the case reaches review
    record = wait_for_review(local)
    # THEN nothing broke on the way: the two bad contacts are refused with a note, the plain one is a candidate
    assert cases.require(record.case_id).sighting.page_url == sighting.page_url
    assert_plain_recipients(record)
    addresses = [r.address for r in record.recipients]
    assert "admin@board.example" in addresses and not [a for a in addresses if "evil.example" in a]
    assert sum("refused" in note for note in record.notes) == 2
    # AND every output is inert through to the sent notice
    check_every_output_and_approve(local, record)
