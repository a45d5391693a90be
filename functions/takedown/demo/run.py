"""``takedown demo``: the whole life of a case on the local stack, against generated websites on 127.0.0.1.

1. A demo site is generated: community-board pages with harmless synthetic images; some pages carry altered copies
   (resized, recompressed, captioned) of images the centre registered, the rest carry unrelated images.
2. The centre registers its originals: only their hashes go into the bank.
3. The scheduled crawl runs once: pages are fetched, media stored, hashed and matched; each candidate starts a case.
4. Each case scores, resolves its recipient, builds the evidence report, drafts the notice and waits for review.
5. The reviewer opens the emailed link and approves (the demo plays the reviewer through the real review page,
   unless ``--wait-for-review`` asks for a human click), and SES sends the notice.
6. The operators respond (one deletes the picture, one puts a placeholder in its place, one leaves it up) and the
   re-check function runs at +24 h and +48 h (injected time): removed twice -> REMOVED; still up -> a follow-up
   notice quoting the first, reviewed like any notice (:mod:`takedown.demo.after_notice`).
7. The summary counts it all and adds ``takedown report``'s tables and chart (:mod:`takedown.demo.summary`).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from takedown.aws.bank_index_store import publish_bank_index
from takedown.aws.bank_store import BankStore
from takedown.aws.case_store import CaseStore
from takedown.aws.crawl_state import CrawlState
from takedown.cases.record import FINAL_STATUSES
from takedown.commands.bank import items_for_bytes
from takedown.demo.after_notice import Board, run_after_notice
from takedown.demo.reviewer import ReviewDesk, ReviewFormReader, approve_through_page, review_links
from takedown.demo.site import build_demo_site, serve_site
from takedown.demo.summary import DemoSummary, summarise
from takedown.local.environment import LocalEnvironment
from takedown.model import BankItem, CaseStatus, iso_utc, utc_now

if TYPE_CHECKING:
    from takedown.config import Settings

__all__ = [
    "DemoSummary",
    "approve_through_page",
    "demo_sources",
    "main",
    "register_bank",
    "review_links",
    "run_demo",
]

DEMO_BANK = "centre"
# The review form reader under the name the functional tests import it by.
_FormReader = ReviewFormReader


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


def run_demo(
    *, wait_for_review: bool = False, out_dir: Path = Path("demo-out"), quiet: bool = False
) -> DemoSummary:
    """Run the whole life of the demo's cases once; returns the summary (also printed unless ``quiet``).

    Raises
    ------
    takedown.demo.after_notice.AfterNoticeError
        If a case does not settle after a re-check or a follow-up review.
    """

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
        desk = ReviewDesk(
            local,
            local.settings("handle_request_approval").reviewers[0],
            wait_for_human=wait_for_review,
            say=say,
        )
        desk.decide_round(lambda: all_cases(set(FINAL_STATUSES)), what="first notice")
        local.wait_for(lambda: all_cases(set(FINAL_STATUSES)), timeout=120)
        # What the crawl fetched, counted before the re-checks fetch pages and media again.
        hits = {
            f"{base}{path}": n
            for base, srv in ((server.base_url, server), (overseas_server.base_url, overseas_server))
            for path, n in srv.hits.items()
        }
        started = time.monotonic()
        say("after the notice: the operators respond, and the re-check runs a day and two days later")
        boards = [
            Board("the Korean board", site, server),
            Board("the board abroad", overseas, overseas_server),
        ]
        after = run_after_notice(local, boards, desk, say)
        say(f"re-checks and follow-ups done in {time.monotonic() - started:.1f} s")
        unrelated = {server.base_url + p for p in site.unrelated_media_paths()}
        unrelated |= {overseas_server.base_url + p for p in overseas.unrelated_media_paths()}
        summary = summarise(local, hits, unrelated, out_dir, after)
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
