"""SQS: fetch one page, store each media file found with its sighting record, enqueue the next pages.

Each message is processed on its own; a failed message is reported back (partial batch response) so SQS retries
only that one, and after its retries it lands in the dead-letter queue with the others untouched.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from takedown.aws.clients import client
from takedown.aws.crawl_state import CrawlState
from takedown.aws.evidence_store import EvidenceStore
from takedown.config import Settings
from takedown.crawl.crawl_step import PageOutcome, PageTask, crawl_page
from takedown.crawl.fetch import SafeFetcher
from takedown.evidence.warc import CapturedExchange, WarcBuildError, build_warc
from takedown.handlers.deployed_sources import sources_by_id
from takedown.model import Sighting, iso_utc, utc_now
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from takedown.crawl.sources import Source


def recrawl_ttl_seconds(source: Source) -> int:
    """How long a fetched URL counts as seen: just under the source's interval, so the next cycle fetches it."""
    return max(60, int(source.interval_minutes * 60 * 0.9))


def page_key(page_url: str) -> str:
    """The short stable key of a page inside object keys."""
    return hashlib.sha256(page_url.encode("utf-8")).hexdigest()[:24]


def media_object_key(sha256: str, page_url: str, media_type: str = "") -> str:
    """Where crawled media is stored: ``video/`` notifies the video hashing function, ``media/`` the image one."""
    prefix = "video" if media_type.startswith("video/") else "media"
    return f"{prefix}/{sha256}/{page_key(page_url)}"


def sighting_object_key(sha256: str, page_url: str) -> str:
    return f"sightings/{sha256}/{page_key(page_url)}.json"


def capture_object_key(page_url: str, fetched_at: str) -> str:
    stamp = fetched_at.replace(":", "").replace("-", "")
    return f"captures/{page_key(page_url)}/{stamp}.warc.gz"


def store_capture(settings: Settings, fetcher: SafeFetcher, outcome: PageOutcome) -> str:
    """Write the WARC (ISO 28500) of the page and its media as fetched; return its key, "" when nothing to keep.

    Every page with media is captured at once, because a later candidate needs the page as it was then; a
    capture that no case locks expires with the bucket's lifecycle rule.
    """
    if outcome.page is None or not outcome.media:
        return ""
    exchanges = [CapturedExchange.from_fetch(fetcher, outcome.page, "page")]
    exchanges += [CapturedExchange.from_fetch(fetcher, m.result, "media") for m in outcome.media]
    try:
        warc = build_warc(exchanges, warcinfo={"operator": settings.centre_name})
    except WarcBuildError as error:
        logger.warning("capture not written", extra={"url": outcome.page.final_url, "reason": error.reason})
        return ""
    key = capture_object_key(outcome.page.final_url, outcome.page.fetched_at)
    EvidenceStore(settings.evidence_bucket).put_bytes(key, warc, "application/warc")
    return key


def store_outcome(
    settings: Settings, source: Source, outcome: PageOutcome, fetcher: SafeFetcher
) -> dict[str, int]:
    """Write the capture, each media file and its sighting, enqueue next pages; return counts."""
    store = EvidenceStore(settings.evidence_bucket)
    state = CrawlState(settings.crawl_table)
    extract = outcome.extract
    capture_key = store_capture(settings, fetcher, outcome)
    page_headers = {k: v[:500] for k, v in list((outcome.page.headers if outcome.page else {}).items())[:60]}
    stored = 0
    for media in outcome.media:
        page_url = outcome.page.final_url if outcome.page else media.url
        sighting = Sighting(
            media_key=media_object_key(media.sha256, page_url, media.media_type),
            sha256=media.sha256,
            md5=media.md5,
            page_url=page_url,
            media_url=media.url,
            fetched_at=media.result.fetched_at,
            content_type=media.media_type,
            source_id=source.id,
            size_bytes=len(media.result.body),
            server_ip=outcome.page.server_ip if outcome.page else "",
            page_title=extract.title[:500] if extract else "",
            page_lang=extract.lang[:35] if extract else "",
            page_contacts=list(extract.mailto[:20]) if extract else [],
            capture_key=capture_key,
            response_headers=page_headers,
        )
        # The sighting first: the hashing function reads it when the media object's event arrives.
        store.put_json(sighting_object_key(media.sha256, page_url), sighting.to_dict())
        store.put_bytes(sighting.media_key, media.result.body, media.media_type)
        stored += 1
    queued = 0
    sqs = client("sqs")
    for task in outcome.next_pages:
        if state.claim_url(task.url, ttl_seconds=recrawl_ttl_seconds(source)):
            sqs.send_message(QueueUrl=settings.crawl_queue_url, MessageBody=json.dumps(task.to_dict()))
            queued += 1
    at = iso_utc(utc_now())
    for refusal in outcome.refusals:
        state.record_refusal(
            source_id=source.id, url=refusal.url, reason=refusal.reason, message=refusal.message, at=at
        )
        logger.info(
            "crawl refusal", extra={"url": refusal.url, "reason": refusal.reason, "source": source.id}
        )
    return {"media_stored": stored, "pages_queued": queued, "refusals": len(outcome.refusals)}


def crawl_one_message(settings: Settings, sources: dict[str, Source], body: str) -> dict[str, int]:
    task = PageTask.from_dict(json.loads(body))
    source = sources.get(task.source_id)
    if source is None:
        raise ValueError(f"unknown source {task.source_id!r}: not in the deployed sources file")
    fetcher = SafeFetcher(
        allow_private=source.allow_private_addresses, proxy=source.proxy, max_bytes=settings.max_media_bytes
    )
    state = CrawlState(settings.crawl_table)
    ttl = recrawl_ttl_seconds(source)
    # Linked pages are claimed when they are enqueued; a seed is claimed here, so a link back to it from
    # another page of the same cycle does not fetch it again.
    if task.depth == 0 and not state.claim_url(task.url, ttl_seconds=ttl):
        return {"media_stored": 0, "pages_queued": 0, "refusals": 0}
    outcome = crawl_page(
        task, source, fetcher, seen=lambda url: not state.claim_url(f"{task.url} -> {url}", ttl_seconds=ttl)
    )
    return store_outcome(settings, source, outcome, fetcher)


def crawl_batch(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    sources = sources_by_id(settings.sources_file)
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        try:
            counts = crawl_one_message(settings, sources, record["body"])
            metrics.add_metric(name="MediaStored", unit="Count", value=counts["media_stored"])
        except Exception:  # one bad message must not fail its batch; SQS retries it, then the DLQ keeps it
            logger.exception("crawl message failed", extra={"message_id": record.get("messageId")})
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return crawl_batch(Settings.from_env(), event)
