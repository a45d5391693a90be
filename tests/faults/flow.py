"""Driving one real case on the local stack for the fault tests: to the review step, through approval."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

import boto3
import requests
from PIL import Image

from takedown.aws.case_store import CaseStore
from takedown.aws.crawl_state import CrawlState
from takedown.demo.reviewer import ReviewFormReader
from takedown.local.mailbox import sent_mail
from tests.functional.conftest import drop_sighting, register, synthetic_png

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment
    from takedown.local.mailbox import SentMail
    from takedown.model import CaseStatus, Sighting

LINK = re.compile(r"http://127\.0\.0\.1:\d+/reviews/[A-Za-z0-9_-]+\?e=\d+&s=[A-Za-z0-9_-]+")


def altered(data: bytes) -> bytes:
    """A resized, recompressed copy of a registered picture."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = image.resize((image.width * 3 // 4, image.height * 3 // 4))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def sight_a_match(local: LocalEnvironment, seed: int) -> Sighting:
    """Register an original and store an altered copy of it as the crawler would (S3 notifies hashing)."""
    original = synthetic_png(seed)
    register(local, original, item_id=f"item-{seed}")
    return drop_sighting(local, altered(original), f"http://board.example/p/{seed}")


def case_of(local: LocalEnvironment, sighting: Sighting) -> str:
    for outcome in CrawlState(local.settings().crawl_table).media_outcomes():
        if outcome["sha256"] == sighting.sha256 and outcome["outcome"] == "CANDIDATE":
            return outcome["reason"]
    raise AssertionError("the sighting opened no case")


def wait_for_status(
    local: LocalEnvironment, case_id: str, *statuses: CaseStatus, timeout: float = 90
) -> CaseStatus:
    cases = CaseStore(local.settings().cases_table)
    assert local.wait_for(lambda: cases.require(case_id).status in statuses, timeout=timeout), (
        f"case is {cases.require(case_id).status}, expected one of {statuses}"
    )
    return cases.require(case_id).status


def review_link(local: LocalEnvironment) -> str:
    """The review link mailed last."""
    links = [link for mail in review_mails(local) for link in LINK.findall(mail.body("plain"))]
    assert links, "no review link was mailed"
    return str(links[-1])


def decide(link: str, decision: str = "APPROVED", session: requests.Session | None = None) -> int:
    """Open the review page in a browser session and submit the form; the HTTP status of the POST."""
    browser = session or requests.Session()
    reader = ReviewFormReader()
    page = browser.get(link, timeout=30)
    reader.feed(page.text)
    if not reader.action:
        return page.status_code
    # What a browser submits: every control of the form in order (a name may repeat), with the decision chosen.
    fields = [(name, value) for name, value in reader.pairs if name != "decision"]
    answer = browser.post(
        requests.compat.urljoin(link, reader.action), data=[*fields, ("decision", decision)], timeout=30
    )
    return answer.status_code


def notices(local: LocalEnvironment) -> list[SentMail]:
    """Mail sent to anyone but the reviewers: notices."""
    reviewers = set(local.settings("handle_request_approval").reviewers)
    return [m for m in sent_mail() if not reviewers & set(m.destinations)]


def review_mails(local: LocalEnvironment) -> list[SentMail]:
    reviewers = set(local.settings("handle_request_approval").reviewers)
    return [m for m in sent_mail() if reviewers & set(m.destinations)]


def saves_a_case(request: str) -> bool:
    """A case save (conditional on the version it read), not the creation of a case."""
    return "#v = :previous" in request


def ledger_items(local: LocalEnvironment, case_id: str) -> list[dict[str, Any]]:
    """The send ledger's claims for a case (``SEND#...`` items)."""
    answer = boto3.client("dynamodb", region_name="us-east-1").query(
        TableName=local.settings().cases_table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :send)",
        ExpressionAttributeValues={":pk": {"S": f"CASE#{case_id}"}, ":send": {"S": "SEND#"}},
        ConsistentRead=True,
    )
    return list(answer.get("Items", []))


def task_failures(local: LocalEnvironment) -> list[str]:
    """The error name of every failed task attempt in every execution, in order (the retried ones included)."""
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    errors: list[str] = []
    for execution in local.executions():
        events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
        for event in events:
            # AWS writes TaskFailed for a lambda:invoke task; moto writes LambdaFunctionFailed.
            details = event.get("taskFailedEventDetails") or event.get("lambdaFunctionFailedEventDetails")
            if details:
                errors.append(str(details.get("error", "")))
    return errors


def s3_event_for(local: LocalEnvironment, key: str) -> dict[str, Any]:
    bucket = local.settings().evidence_bucket
    return {
        "Records": [
            {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}
        ]
    }
