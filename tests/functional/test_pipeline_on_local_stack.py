"""Hashing -> case -> state machine -> review -> SES, on the local stack built from the synthesized template."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import boto3
import requests
from PIL import Image

from takedown.aws.case_store import CaseStore
from takedown.aws.crawl_state import CrawlState
from takedown.demo.run import _FormReader
from takedown.local.mailbox import sent_mail
from takedown.model import CaseStatus

from .conftest import drop_sighting, register, synthetic_png

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment

LINK = re.compile(r"http://127\.0\.0\.1:\d+/reviews/[A-Za-z0-9_-]+\?e=\d+&s=[A-Za-z0-9_-]+")


def _altered(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = image.resize((image.width * 3 // 4, image.height * 3 // 4))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def _awaiting_review(local: LocalEnvironment, seed: int = 3) -> tuple[str, str]:
    """Drive one matching sighting to the review step; return (case id, review link)."""
    original = synthetic_png(seed)
    register(local, original)
    sighting = drop_sighting(local, _altered(original), "http://board.example/p/1")
    cases = CaseStore(local.settings().cases_table)
    case_ids = [o["reason"] for o in CrawlState(local.settings().crawl_table).media_outcomes()]
    assert len(case_ids) == 1, "the altered copy should have become a candidate"
    case_id = case_ids[0]
    assert local.wait_for(lambda: cases.require(case_id).status is CaseStatus.AWAITING_REVIEW, timeout=60)
    links = list(dict.fromkeys(link for mail in sent_mail() for link in LINK.findall(mail.body("plain"))))
    assert len(links) == 1
    assert sighting.page_url == cases.require(case_id).sighting.page_url
    return case_id, links[0]


def test_local_stack_is_built_from_the_template(local: LocalEnvironment) -> None:
    # THEN every function of the template exists with its environment, and the review routes are served
    assert {"handle_hash_media", "handle_review_http", "handle_send_notice", "handle_crawl_page"} <= set(
        local.resources.functions
    )
    assert {(r.method, r.resource) for r in local.resources.routes} >= {
        ("GET", "/reviews/{review_id}"),
        ("POST", "/reviews/{review_id}"),
    }
    machines = boto3.client("stepfunctions", region_name="us-east-1").list_state_machines()["stateMachines"]
    assert len(machines) == 1
    settings = local.settings("handle_request_approval")
    assert settings.templates_dir.is_dir() and settings.review_base_url.startswith("http://127.0.0.1:")


def test_unrelated_media_opens_no_case_and_its_bytes_are_dropped(local: LocalEnvironment) -> None:
    # GIVEN a bank with one item and an unrelated image on a page
    register(local, synthetic_png(1))
    sighting = drop_sighting(local, synthetic_png(2), "http://board.example/p/2")
    # THEN the outcome is recorded as no match, and the media object is gone from the bucket
    outcomes = CrawlState(local.settings().crawl_table).media_outcomes()
    assert [o["outcome"] for o in outcomes] == ["NO_MATCH"]
    listed = boto3.client("s3").list_objects_v2(Bucket=local.settings().evidence_bucket, Prefix="media/")
    assert sighting.media_key not in [o["Key"] for o in listed.get("Contents", [])]
    assert local.executions() == []


def test_corrupt_media_is_refused_with_a_recorded_reason(local: LocalEnvironment) -> None:
    register(local, synthetic_png(1))
    drop_sighting(local, b"\x89PNG\r\n\x1a\n truncated", "http://board.example/p/3")
    outcomes = CrawlState(local.settings().crawl_table).media_outcomes()
    assert [(o["outcome"], o["reason"]) for o in outcomes] == [("REJECTED", "decode:failed")]


def test_a_duplicate_s3_event_starts_no_second_execution(local: LocalEnvironment) -> None:
    # GIVEN a matching sighting that started a case
    case_id, _ = _awaiting_review(local)
    record = CaseStore(local.settings().cases_table).require(case_id)
    # WHEN the same S3 event is delivered again
    event = {
        "Records": [
            {
                "s3": {
                    "bucket": {"name": local.settings().evidence_bucket},
                    "object": {"key": record.sighting.media_key},
                }
            }
        ]
    }
    result = local.invoke("handle_hash_media", event)
    # THEN it finds the case and starts nothing new
    assert result["results"][0]["new_case"] is False
    assert len(local.executions()) == 1


def test_get_changes_nothing_and_forged_or_csrf_less_posts_are_refused(local: LocalEnvironment) -> None:
    case_id, link = _awaiting_review(local)
    cases = CaseStore(local.settings().cases_table)
    before = (cases.require(case_id), len(cases.events(case_id)))
    with requests.Session() as browser:
        # WHEN the link is fetched twice (a mail scanner, then the reviewer)
        first = browser.get(link, timeout=10)
        second = browser.get(link, timeout=10)
        # THEN nothing changed
        assert first.status_code == second.status_code == 200
        assert (cases.require(case_id), len(cases.events(case_id))) == before
        assert "no-referrer" in first.headers["Referrer-Policy"]
        form = _FormReader()
        form.feed(first.text)
        post_url = requests.compat.urljoin(link, form.action)
        # a forged signature is refused
        forged = browser.get(re.sub(r"s=[^&]+", "s=AAAAforged", link), timeout=10)
        assert forged.status_code == 403
        # a POST without the CSRF field is refused, and so is one from a browser without the cookie
        no_csrf = browser.post(post_url, data={"decision": "APPROVED"}, timeout=10)
        assert no_csrf.status_code == 403
        cookieless = requests.post(post_url, data={**form.fields, "decision": "APPROVED"}, timeout=10)
        assert cookieless.status_code == 403
        assert cases.require(case_id).status is CaseStatus.AWAITING_REVIEW
        # WHEN the reviewer approves THEN the notice goes out once; a second POST is refused
        approved = browser.post(post_url, data={**form.fields, "decision": "APPROVED"}, timeout=10)
        assert approved.status_code == 200
        again = browser.post(post_url, data={**form.fields, "decision": "APPROVED"}, timeout=10)
        assert again.status_code == 409
    assert local.wait_for(lambda: cases.require(case_id).status is CaseStatus.SENT, timeout=60)
    recipient = cases.require(case_id).recipients[0].address
    notices = [m for m in sent_mail() if recipient in m.destinations]
    assert len(notices) == 1


def test_rejection_ends_the_case_without_sending(local: LocalEnvironment) -> None:
    case_id, link = _awaiting_review(local)
    with requests.Session() as browser:
        form = _FormReader()
        form.feed(browser.get(link, timeout=10).text)
        answer = browser.post(
            requests.compat.urljoin(link, form.action),
            data={**form.fields, "decision": "REJECTED", "reason": "not the same picture"},
            timeout=10,
        )
        assert answer.status_code == 200
    cases = CaseStore(local.settings().cases_table)
    assert local.wait_for(lambda: any(e.stage == "close" for e in cases.events(case_id)), timeout=60)
    assert cases.require(case_id).status is CaseStatus.REJECTED
    reviewers = set(local.settings("handle_request_approval").reviewers)
    assert [m for m in sent_mail() if not reviewers & set(m.destinations)] == []


def test_evidence_of_a_case_is_locked_and_unmatched_media_is_not(local: LocalEnvironment) -> None:
    # GIVEN a case that reached review (its report is built) and an unrelated sighting
    case_id, _ = _awaiting_review(local)
    record = CaseStore(local.settings().cases_table).require(case_id)
    s3 = boto3.client("s3")
    bucket = local.settings().evidence_bucket
    # THEN the media, its sighting record and the report are under Object Lock retention
    sighting_key = record.sighting.media_key.replace("media/", "sightings/", 1) + ".json"
    for key in (record.sighting.media_key, sighting_key, record.report_key):
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ObjectLockMode"] == "GOVERNANCE"
        assert head["ObjectLockRetainUntilDate"] > datetime.now(UTC) + timedelta(days=300)
    # AND the bucket has no default retention that would keep unrelated media
    configuration = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert configuration["ObjectLockEnabled"] == "Enabled" and "Rule" not in configuration
