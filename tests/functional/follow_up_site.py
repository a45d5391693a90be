"""A loopback website whose pages the follow-up tests change between re-checks, and helpers that drive a case to
its first notice on the local stack.

Everything runs on 127.0.0.1 and in moto. Time is injected into the re-check function through its event's ``now``;
nothing sleeps to make time pass (the only waiting is for moto's Step Functions threads to finish a step).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import boto3

from takedown.aws.case_store import CaseStore
from takedown.aws.evidence_store import EvidenceStore
from takedown.demo.run import approve_through_page
from takedown.handlers.handle_crawl_page import media_object_key, sighting_object_key
from takedown.local.mailbox import sent_mail
from takedown.local.stack import REGION
from takedown.model import CaseStatus, Sighting, iso_utc, parse_iso_utc

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime
    from pathlib import Path

    from takedown.cases.record import CaseRecord
    from takedown.local.environment import LocalEnvironment

SOURCE_ID = "follow-up-board"
SITE_CONTACT = "admin@board.example"
REVIEW_LINK = re.compile(r"http://127\.0\.0\.1:\d+/reviews/[A-Za-z0-9_-]+\?e=\d+&s=[A-Za-z0-9_-]+")
HTML = "text/html; charset=utf-8"


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


class ChangingSite:
    """A real HTTP server on 127.0.0.1 whose answers the test changes between checks."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                answer = site.answers.get(self.path, Answer(404, "text/plain", b"not found"))
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def page(self, path: str, media_path: str | None) -> str:
        """Serve an HTML page at ``path`` that shows the media at ``media_path`` (or no media)."""
        image = f'<img src="{media_path}" alt="">' if media_path else "<p>This post was removed.</p>"
        body = f'<!doctype html><html lang="ko"><title>Board</title><body>{image}</body></html>'
        self.answers[path] = Answer(200, HTML, body.encode())
        return self.base_url + path

    def media(self, path: str, data: bytes, content_type: str = "image/jpeg") -> str:
        self.answers[path] = Answer(200, content_type, data)
        return self.base_url + path

    def answer(self, path: str, status: int, body: bytes = b"", content_type: str = "text/plain") -> None:
        self.answers[path] = Answer(status, content_type, body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def changing_site() -> Iterator[ChangingSite]:
    site = ChangingSite()
    try:
        yield site
    finally:
        site.close()


def deploy_loopback_source(local: LocalEnvironment, folder: Path, *, secret_ref: str = "") -> None:
    """Deploy a sources file whose source may reach 127.0.0.1 (the crawl's fetch policy follows the source);
    with ``secret_ref``, a members-only source whose pages need the credentials that secret holds."""
    source: dict[str, object] = {
        "id": SOURCE_ID,
        "kind": "community",
        "seeds": ["http://127.0.0.1/"],
        "allowed_hosts": ["127.0.0.1"],
        "country": "KR",
        "language": "ko",
        "allow_private_addresses": True,
    }
    if secret_ref:
        source["secret_ref"] = secret_ref
    document = {"version": 1, "sources": [source]}
    path = folder / "sources.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert local.stack is not None
    local.stack.deploy_sources(path)


def deploy_settings(local: LocalEnvironment, handler_modules: list[str], values: dict[str, str]) -> None:
    """Change deployment settings of some functions, as a redeploy with an edited deployment file would."""
    lambda_client = boto3.client("lambda", region_name=REGION)
    for module in handler_modules:
        name = local.function_name(module)
        environment = local.resources.environment[name]
        environment.update(values)
        lambda_client.update_function_configuration(FunctionName=name, Environment={"Variables": environment})


def store_sighting(local: LocalEnvironment, data: bytes, page_url: str, media_url: str) -> Sighting:
    """Store a sighting as the crawl worker does (record first, then the media object, which notifies hashing)."""
    sha256 = hashlib.sha256(data).hexdigest()
    sighting = Sighting(
        media_key=media_object_key(sha256, page_url, "image/jpeg"),
        sha256=sha256,
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        page_url=page_url,
        media_url=media_url,
        fetched_at="2026-11-28T07:00:00.000000Z",
        content_type="image/jpeg",
        source_id=SOURCE_ID,
        size_bytes=len(data),
        server_ip="127.0.0.1",
        page_title="Board",
        page_lang="ko",
        page_contacts=[SITE_CONTACT],
    )
    store = EvidenceStore(local.settings().evidence_bucket)
    store.put_json(sighting_object_key(sha256, page_url), sighting.to_dict())
    store.put_bytes(sighting.media_key, data, "image/jpeg")
    return sighting


def case_of(local: LocalEnvironment, sighting: Sighting) -> str:
    from takedown.cases.record import case_id_for

    return case_id_for(sighting.sha256, sighting.page_url)


def cases(local: LocalEnvironment) -> CaseStore:
    return CaseStore(local.settings().cases_table)


def wait_for_status(local: LocalEnvironment, case_id: str, status: CaseStatus) -> CaseRecord:
    store = cases(local)
    assert local.wait_for(lambda: store.require(case_id).status is status, timeout=90), (
        f"case {case_id} is {store.require(case_id).status.value}, expected {status.value}"
    )
    return store.require(case_id)


def reviewer(local: LocalEnvironment) -> str:
    return local.settings("handle_request_approval").reviewers[0]


def review_links(local: LocalEnvironment) -> list[str]:
    """Every review link emailed to the reviewer so far, oldest first."""
    who = reviewer(local)
    return [
        link
        for mail in sent_mail()
        if who in mail.destinations
        for link in dict.fromkeys(REVIEW_LINK.findall(mail.body("plain")))
    ]


def approve_latest_review(local: LocalEnvironment) -> None:
    links = review_links(local)
    assert links, "no review link was emailed"
    assert approve_through_page(links[-1]) == 200


def notices_to(address: str) -> list[Any]:
    return [mail for mail in sent_mail() if address in mail.destinations]


def first_sent_at(record: CaseRecord) -> datetime:
    assert record.follow_up is not None
    return parse_iso_utc(record.follow_up.first_notice.sent_at)


def recheck(local: LocalEnvironment, at: datetime) -> dict[str, Any]:
    """Run the scheduled re-check as EventBridge would, at the injected time ``at``."""
    return local.invoke("handle_recheck_cases", {"now": iso_utc(at)})


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
