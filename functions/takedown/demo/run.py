"""``takedown demo``: the whole pipeline on the local stack against a generated website on 127.0.0.1.

1. A demo site is generated: community-board pages with harmless synthetic images; some pages carry altered copies
   (resized, recompressed, captioned) of images the centre registered, the rest carry unrelated images.
2. The centre registers its originals: only their hashes go into the bank.
3. The scheduled crawl runs once: pages are fetched, media stored, hashed and matched; each candidate starts a case.
4. Each case scores, resolves its recipient, builds the evidence report, drafts the notice and waits for review.
5. The reviewer opens the emailed link and approves (the demo plays the reviewer through the real review page,
   unless ``--wait-for-review`` asks for a human click), and SES sends the notice.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import requests

from takedown.aws.bank_index_store import publish_bank_index
from takedown.aws.bank_store import BankStore
from takedown.aws.case_store import CaseStore
from takedown.aws.crawl_state import CrawlState
from takedown.cases.record import FINAL_STATUSES
from takedown.commands.bank import items_for_bytes
from takedown.demo.site import build_demo_site, serve_site
from takedown.local.environment import LocalEnvironment
from takedown.local.mailbox import SentMail, sent_mail
from takedown.model import BankItem, CaseStatus, iso_utc, parse_iso_utc, utc_now

if TYPE_CHECKING:
    from takedown.cases.record import CaseRecord
    from takedown.config import Settings

DEMO_BANK = "centre"
DEMO_REVIEWER_SUBJECT = re.compile(
    r"https?://127\.0\.0\.1:\d+/reviews/[A-Za-z0-9_-]+\?e=\d+&s=[A-Za-z0-9_-]+"
)


@dataclass
class DemoSummary:
    pages_crawled: int = 0
    media_hashed: int = 0
    matches: int = 0
    unrelated_left_alone: int = 0
    unrelated_total: int = 0
    notices_drafted: int = 0
    approved: int = 0
    sent: int = 0
    rejected: int = 0
    sighting_to_draft_seconds: list[float] = field(default_factory=list)
    sent_files: list[str] = field(default_factory=list)
    sent_notices: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (file, recipient, locales)
    case_statuses: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        timings = sorted(self.sighting_to_draft_seconds)
        median = timings[len(timings) // 2] if timings else float("nan")
        worst = timings[-1] if timings else float("nan")
        return [
            "takedown demo: summary",
            f"  pages crawled ............ {self.pages_crawled}",
            f"  media hashed ............. {self.media_hashed}",
            f"  matches (cases opened) ... {self.matches}",
            f"  unrelated images left alone {self.unrelated_left_alone} of {self.unrelated_total}",
            f"  notices drafted .......... {self.notices_drafted}",
            f"  approved by the reviewer . {self.approved}",
            f"  notices sent ............. {self.sent}",
            f"  first sighting -> notice drafted: median {median:.2f} s, worst {worst:.2f} s",
            *(
                f"  sent: {path} to {recipient} in {' + '.join(locales)}"
                for path, recipient, locales in self.sent_notices
            ),
        ]


class _FormReader(HTMLParser):
    """Reads the review form's fields, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and values.get("id") == "review-form":
            self.action = values.get("action", "")
        elif tag == "input" and values.get("name") and values.get("type") not in {"submit", "button"}:
            # A browser submits a tick box only when it is ticked (the recipients the page proposes).
            if values.get("type") in {"checkbox", "radio"} and "checked" not in values:
                return
            self.fields[values["name"]] = values.get("value", "")
        elif tag == "textarea" and values.get("name"):
            self._textarea = values["name"]
            self.fields[self._textarea] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None


def register_bank(settings: Settings, originals: dict[str, bytes]) -> list[BankItem]:
    """Hash the centre's originals here and upload only the hashes (the StopNCII model), then publish the index."""
    store = BankStore(settings.bank_table)
    items: list[BankItem] = []
    added_at = iso_utc(utc_now())
    for index, (_name, data) in enumerate(sorted(originals.items())):
        # The centre's reference, never a name.
        for item in items_for_bytes(
            data, "image/png", bank=DEMO_BANK, case_ref=f"DEMO-{index:03d}", added_at=added_at
        ):
            store.put_item(item)
            items.append(item)
    publish_bank_index(settings.bank_table, settings.evidence_bucket)
    return items


def review_links(mail: list[SentMail], reviewer: str) -> list[str]:
    links = []
    for message in mail:
        if reviewer in message.destinations or any(reviewer in d for d in message.destinations):
            links.extend(DEMO_REVIEWER_SUBJECT.findall(message.body("plain")))
    return list(dict.fromkeys(links))


def approve_through_page(link: str) -> int:
    """Open the review link like a browser, then submit the form with ``decision=APPROVED``."""
    with requests.Session() as browser:
        page = browser.get(link, timeout=10)
        page.raise_for_status()
        form = _FormReader()
        form.feed(page.text)
        if not form.action:
            raise RuntimeError("the review page has no review form")
        fields = {**form.fields, "decision": "APPROVED"}
        answer = browser.post(urljoin(link, form.action), data=fields, timeout=10)
        return answer.status_code


def _seconds_between(start: str, end: str) -> float:
    return (parse_iso_utc(end) - parse_iso_utc(start)).total_seconds()


def summarise(
    local: LocalEnvironment, site_hits: dict[str, int], unrelated_urls: set[str], out_dir: Path
) -> DemoSummary:
    settings = local.settings()
    cases = CaseStore(settings.cases_table)
    outcomes = CrawlState(settings.crawl_table).media_outcomes()
    summary = DemoSummary()
    summary.pages_crawled = sum(n for url, n in site_hits.items() if "/media/" not in url)
    summary.media_hashed = sum(1 for o in outcomes if o["outcome"] in {"NO_MATCH", "CANDIDATE"})
    summary.matches = sum(1 for o in outcomes if o["outcome"] == "CANDIDATE")
    summary.unrelated_total = len(unrelated_urls)
    records: list[CaseRecord] = [cases.require(o["reason"]) for o in outcomes if o["outcome"] == "CANDIDATE"]
    matched_media = {r.sighting.media_url for r in records}
    summary.unrelated_left_alone = len(unrelated_urls - matched_media)
    for record in records:
        summary.case_statuses[record.case_id] = record.status.value
        events = cases.events(record.case_id)
        drafted = [e.at for e in events if e.stage == "render-notice"]
        if drafted:
            summary.notices_drafted += 1
            summary.sighting_to_draft_seconds.append(
                _seconds_between(record.sighting.fetched_at, max(drafted))
            )
        summary.approved += int(record.decision is not None and record.decision.decision == "APPROVED")
        summary.rejected += int(record.status is CaseStatus.REJECTED)
        summary.sent += int(record.status is CaseStatus.SENT)
    out_dir.mkdir(parents=True, exist_ok=True)
    reviewers = set(local.settings("handle_request_approval").reviewers)
    for message in sent_mail():
        if reviewers & set(message.destinations):
            continue
        path = out_dir / f"notice-{message.message_id}.eml"
        path.write_text(message.raw, encoding="utf-8")
        summary.sent_files.append(str(path))
        locales = next((r.locales for r in records if message.message_id in r.sent_message_ids), [])
        summary.sent_notices.append((str(path), ", ".join(message.destinations[:1]), list(locales)))
    return summary


def run_demo(
    *, wait_for_review: bool = False, out_dir: Path = Path("demo-out"), quiet: bool = False
) -> DemoSummary:
    """Run the whole pipeline once; returns the summary (also printed unless ``quiet``)."""

    def say(text: str) -> None:
        if not quiet:
            print(text, flush=True)

    # A Korean community board, and a Korean-language board hosted abroad (its source says Vietnam: the notice
    # goes out in Korean, Vietnamese and English). The bank holds the originals of both boards' altered copies.
    site = build_demo_site(bank_seeds=[11, 23])
    overseas = build_demo_site(bank_seeds=[37], n_pages=6, contact="abuse@board.example.vn", seed=21)
    with (
        serve_site(site) as server,
        serve_site(overseas) as overseas_server,
        LocalEnvironment() as local,
        tempfile.TemporaryDirectory() as scratch,
    ):
        settings = local.settings()
        items = register_bank(settings, {**site.bank_images(), **overseas.bank_images()})
        originals = len({item.group_id for item in items})
        say(
            f"bank: {originals} originals registered as {len(items)} hashes (the originals stay with the centre)"
        )
        sources = Path(scratch) / "sources.json"
        document = demo_sources(server.base_url)
        document["sources"] += demo_sources(overseas_server.base_url, overseas=True)["sources"]
        sources.write_text(json.dumps(document), encoding="utf-8")
        local.stack.deploy_sources(sources)  # type: ignore[union-attr]
        say(
            f"sites: {server.base_url}/ ({len(site.pages)} pages, KR), "
            f"{overseas_server.base_url}/ ({len(overseas.pages)} pages, hosted abroad: VN)"
        )
        started = time.monotonic()
        local.invoke("handle_dispatch_crawl", {})
        cases = CaseStore(settings.cases_table)

        def all_cases(statuses: set[CaseStatus]) -> bool:
            outcomes = CrawlState(settings.crawl_table).media_outcomes()
            ids = [o["reason"] for o in outcomes if o["outcome"] == "CANDIDATE"]
            return bool(ids) and all(cases.require(i).status in statuses for i in ids)

        waiting = {CaseStatus.AWAITING_REVIEW, *FINAL_STATUSES}
        local.wait_for(lambda: all_cases(waiting), timeout=120)
        say(f"crawl, hashing and drafting done in {time.monotonic() - started:.1f} s; reviews requested")
        reviewer = local.settings("handle_request_approval").reviewers[0]
        links = review_links(sent_mail(), reviewer)
        if wait_for_review:
            # The count first: whoever reads this output (a person, a test) knows how many links follow.
            say(
                f"{len(links)} review link(s): open each in a browser and decide; add &lang=en for English "
                "(Ctrl-C to stop waiting):"
            )
            for link in links:
                say(f"  {link}")
            local.wait_for(lambda: all_cases(set(FINAL_STATUSES)), timeout=24 * 3600, interval=1.0)
            say("every case is decided")
        else:
            for link in links:
                status = approve_through_page(link)
                say(f"reviewer approved a case (HTTP {status})")
        local.wait_for(lambda: all_cases(set(FINAL_STATUSES)), timeout=120)
        hits = {
            f"{base}{path}": n
            for base, srv in ((server.base_url, server), (overseas_server.base_url, overseas_server))
            for path, n in srv.hits.items()
        }
        unrelated = {server.base_url + p for p in site.unrelated_media_paths()}
        unrelated |= {overseas_server.base_url + p for p in overseas.unrelated_media_paths()}
        summary = summarise(local, hits, unrelated, out_dir)
    for line in summary.lines():
        say(line)
    return summary


def demo_sources(base_url: str, *, overseas: bool = False) -> dict[str, Any]:
    """A sources file with one community board on loopback (so private addresses are allowed here only);
    ``overseas`` makes it a board hosted in Vietnam."""
    return {
        "version": 1,
        "sources": [
            {
                "id": "overseas-board" if overseas else "demo-board",
                "kind": "community",
                "seeds": [f"{base_url}/"],
                "allowed_hosts": ["127.0.0.1"],
                "depth": 3,
                "page_budget": 100,
                "requests_per_second": 50.0,  # our own loopback site: no need for politeness delays
                "country": "VN" if overseas else "KR",
                "language": "vi" if overseas else "ko",
                "contact": "",
                "allow_private_addresses": True,
            }
        ],
    }


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    summary = run_demo(wait_for_review="--wait-for-review" in args)
    ok = summary.sent >= 1 and summary.unrelated_left_alone == summary.unrelated_total
    return 0 if ok else 1
