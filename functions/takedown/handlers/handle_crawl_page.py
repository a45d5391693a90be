"""SQS: fetch one page, store each media file found with its sighting record, enqueue the next pages.

Each message is processed on its own; a failed message is reported back (partial batch response) so SQS retries
only that one, and after its retries it lands in the dead-letter queue with the others untouched.

Crawl at scale (see ``docs/ARCHITECTURE.md``):

- every request books its host's next slot in the crawl table, shared by all workers
  (:class:`~takedown.crawl.pacing.SharedHostPacer`); a slot beyond what this invocation can wait for puts the
  page off: it is queued again with a delay (``deferrals`` + 1), and the deferral is recorded;
- a source's page budget holds across all messages of one cycle: a page is counted when it is admitted (a
  seed when first processed, a link when it is queued), and a page over budget is skipped and recorded;
- a source's ``secret_ref`` headers and cookies go on that source's hosts' requests only;
- each page with media gets its server's country (RDAP, kept per address).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import time
from typing import TYPE_CHECKING, Any, Final

from takedown.aws.clients import client
from takedown.aws.crawl_state import CrawlState, PageClaim
from takedown.aws.evidence_store import EvidenceStore
from takedown.aws.host_slots import DynamoHostSlots
from takedown.aws.source_secrets import SourceSecrets
from takedown.config import Settings
from takedown.crawl.crawl_step import PageOutcome, PageTask, crawl_page, cycle_id_at, fetcher_for_source
from takedown.crawl.pacing import SharedHostPacer
from takedown.crawl.server_country import ServerCountries
from takedown.crawl.source_credentials import SourceSecretError
from takedown.evidence.warc import CapturedExchange, WarcBuildError, build_warc
from takedown.handlers.deployed_sources import sources_by_id
from takedown.model import Sighting, iso_utc, utc_now
from takedown.observability import logger, metrics, tracer
from takedown.recipients.rdap import RdapClient, RdapConfig, make_rdap_fetcher

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.typing import LambdaContext

    from takedown.crawl.errors import FetchDeferred
    from takedown.crawl.fetch import FetchResult, SafeFetcher
    from takedown.crawl.sources import Source

# A media URL fetched from a page is not fetched from it again for this long, across cycles.
MEDIA_MEMORY_SECONDS: Final = 7 * 86_400
# Per-cycle claims and budget counters only need to outlive their cycle.
CYCLE_MEMORY_SECONDS: Final = 2 * 86_400
# A page put off this many times is given up for the cycle (recorded), so a message cannot circle forever.
MAX_DEFERRALS: Final = 10
# SQS's longest message delay.
MAX_DELAY_SECONDS: Final = 900
# Kept back from the invocation's deadline after the last request may start: storing what was fetched
# (S3, DynamoDB) and, for a new server address, its RDAP lookup (10 s at most).
STORE_RESERVE_SECONDS: Final = 20.0
# When the caller gives no deadline (tools, benchmarks), a batch may take as long as the function's timeout.
DEFAULT_BATCH_SECONDS: Final = 120.0

_SOURCE_SECRETS = SourceSecrets()


@functools.lru_cache(maxsize=4)
def _host_slots(table: str) -> DynamoHostSlots:
    return DynamoHostSlots(table)


@functools.lru_cache(maxsize=4)
def _server_countries(ip_urls: tuple[str, ...]) -> ServerCountries:
    rdap = RdapClient(RdapConfig(list(ip_urls)), make_rdap_fetcher()) if ip_urls else None
    return ServerCountries(rdap)


def forget_warm_state() -> None:
    """Forget what a warm container keeps (slots seen, secrets, server countries): a cold start."""
    _host_slots.cache_clear()
    _server_countries.cache_clear()
    _SOURCE_SECRETS.clear()


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


def _page_claim_ttl(source: Source, task: PageTask) -> int:
    return CYCLE_MEMORY_SECONDS if task.cycle else recrawl_ttl_seconds(source)


def _record(state: CrawlState, source: Source, url: str, reason: str, message: str) -> None:
    state.record_refusal(source_id=source.id, url=url, reason=reason, message=message, at=iso_utc(utc_now()))
    logger.info("crawl refusal", extra={"url": url, "reason": reason, "source": source.id})


def _budget_message(source: Source) -> str:
    return f"the source's page budget of {source.page_budget} pages for this cycle is spent"


def _without_headers(result: FetchResult, withheld: frozenset[str]) -> FetchResult:
    if not withheld & set(result.headers):
        return result
    return dataclasses.replace(result, headers={k: v for k, v in result.headers.items() if k not in withheld})


def store_capture(
    settings: Settings,
    fetcher: SafeFetcher,
    outcome: PageOutcome,
    *,
    withheld_headers: frozenset[str] = frozenset(),
) -> str:
    """Write the WARC (ISO 28500) of the page and its media as fetched; return its key, "" when nothing to keep.

    Every page with media is captured at once, because a later candidate needs the page as it was then; a
    capture that no case locks expires with the bucket's lifecycle rule. ``withheld_headers`` (lower-case
    names) are left out of the response records: a credentialed source's ``set-cookie`` is a session
    credential, not evidence.
    """
    if outcome.page is None or not outcome.media:
        return ""
    exchanges = [
        CapturedExchange.from_fetch(fetcher, _without_headers(outcome.page, withheld_headers), "page")
    ]
    exchanges += [
        CapturedExchange.from_fetch(fetcher, _without_headers(m.result, withheld_headers), "media")
        for m in outcome.media
    ]
    try:
        warc = build_warc(exchanges, warcinfo={"operator": settings.centre_name})
    except WarcBuildError as error:
        logger.warning("capture not written", extra={"url": outcome.page.final_url, "reason": error.reason})
        return ""
    key = capture_object_key(outcome.page.final_url, outcome.page.fetched_at)
    EvidenceStore(settings.evidence_bucket).put_bytes(key, warc, "application/warc")
    return key


def _keep_new_content(state: CrawlState, outcome: PageOutcome) -> int:
    """Drop media whose bytes were already stored for this page (claimed on the crawl table); return how many."""
    if outcome.page is None:
        return 0
    page_url = outcome.page.final_url
    new = [
        m for m in outcome.media if state.claim_content(m.sha256, page_url, ttl_seconds=MEDIA_MEMORY_SECONDS)
    ]
    known = len(outcome.media) - len(new)
    outcome.media = new
    return known


def withheld_headers(source: Source) -> frozenset[str]:
    """Response headers not kept from this source: a credentialed source's server may refresh its session
    cookie, which is a credential, not a clue."""
    return frozenset({"set-cookie"}) if source.secret_ref else frozenset()


def _page_headers(source: Source, outcome: PageOutcome) -> dict[str, str]:
    headers = outcome.page.headers if outcome.page else {}
    withheld = withheld_headers(source)
    return {k: v[:500] for k, v in list(headers.items())[:60] if k not in withheld}


def _store_media(
    settings: Settings,
    source: Source,
    outcome: PageOutcome,
    capture_key: str,
    server_country: str,
    *,
    stored_shas: set[str],
) -> int:
    """Store each media file after its sighting record; add the SHA-256 of each one stored to ``stored_shas``."""
    store = EvidenceStore(settings.evidence_bucket)
    extract = outcome.extract
    page_headers = _page_headers(source, outcome)
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
            server_country=server_country,
            page_title=extract.title[:500] if extract else "",
            page_lang=extract.lang[:35] if extract else "",
            page_contacts=list(extract.mailto[:20]) if extract else [],
            capture_key=capture_key,
            response_headers=page_headers,
        )
        # The sighting first: the hashing function reads it when the media object's event arrives.
        store.put_json(sighting_object_key(media.sha256, page_url), sighting.to_dict())
        store.put_bytes(sighting.media_key, media.result.body, media.media_type)
        stored_shas.add(media.sha256)
        stored += 1
    return stored


def _release_unstored(state: CrawlState, outcome: PageOutcome, stored_shas: set[str]) -> None:
    """Storing failed part-way: forget the content claims of every media file not stored, so that the retried
    message stores it instead of skipping its bytes as already stored for the page."""
    if outcome.page is None:
        return
    for media in outcome.media:
        if media.sha256 not in stored_shas:
            state.release_content(media.sha256, outcome.page.final_url)


def _queue_next_pages(
    settings: Settings, source: Source, outcome: PageOutcome, *, claimer: str
) -> tuple[int, int]:
    """Admit and queue the linked pages: (queued, skipped over the page budget)."""
    state = CrawlState(settings.crawl_table)
    sqs = client("sqs")
    queued = over_budget = 0
    budget_spent = False
    for task in outcome.next_pages:
        if not task.cycle:
            # A task from before cycles: remembered by time, no budget to count against.
            if state.claim_url(task.url, ttl_seconds=recrawl_ttl_seconds(source)):
                sqs.send_message(QueueUrl=settings.crawl_queue_url, MessageBody=json.dumps(task.to_dict()))
                queued += 1
            continue
        claim = state.claim_page(
            task.url, cycle=task.cycle, claimer=claimer, ttl_seconds=_page_claim_ttl(source, task)
        )
        if claim is PageClaim.TAKEN:
            continue
        if claim is PageClaim.NEW:
            budget_spent = budget_spent or not state.claim_page_budget(
                source.id, task.cycle, budget=source.page_budget, ttl_seconds=CYCLE_MEMORY_SECONDS
            )
            if budget_spent:
                _record(state, source, task.url, "budget:pages", _budget_message(source))
                over_budget += 1
                continue
        sqs.send_message(QueueUrl=settings.crawl_queue_url, MessageBody=json.dumps(task.to_dict()))
        queued += 1
    return queued, over_budget


def store_outcome(
    settings: Settings,
    source: Source,
    outcome: PageOutcome,
    fetcher: SafeFetcher,
    *,
    claimer: str = "",
    countries: ServerCountries | None = None,
) -> dict[str, int]:
    """Write the capture, each new media file and its sighting, queue the next pages, record the refusals.

    Parameters
    ----------
    settings, source, outcome, fetcher
        The deployment, the page's source, what :func:`~takedown.crawl.crawl_step.crawl_page` produced and
        the fetcher it used.
    claimer
        The id of the message being processed (see :meth:`CrawlState.claim_page`).
    countries
        Where server countries come from; by default the deployment's RDAP configuration.

    Returns
    -------
    dict[str, int]
        ``media_stored``, ``media_known`` (bytes already stored for the page), ``pages_queued``,
        ``pages_over_budget`` and ``refusals``.
    """
    state = CrawlState(settings.crawl_table)
    media_known = _keep_new_content(state, outcome)
    stored_shas: set[str] = set()
    try:
        capture_key = store_capture(settings, fetcher, outcome, withheld_headers=withheld_headers(source))
        server_country = ""
        if outcome.media and outcome.page is not None:
            # Only pages with something to report need it; the answer is kept per address.
            lookup = countries if countries is not None else _server_countries(settings.rdap_ip_urls)
            server_country = lookup.country_of(outcome.page.server_ip)
        stored = _store_media(settings, source, outcome, capture_key, server_country, stored_shas=stored_shas)
    except Exception:
        _release_unstored(state, outcome, stored_shas)
        raise
    queued, over_budget = _queue_next_pages(settings, source, outcome, claimer=claimer)
    for refusal in outcome.refusals:
        _record(state, source, refusal.url, refusal.reason, refusal.message)
    return {
        "media_stored": stored,
        "media_known": media_known,
        "pages_queued": queued,
        "pages_over_budget": over_budget,
        "refusals": len(outcome.refusals),
    }


def _defer(settings: Settings, source: Source, task: PageTask, deferred: FetchDeferred) -> int:
    """Queue the page again after the host's slot (or give it up after MAX_DEFERRALS); 1 when queued."""
    state = CrawlState(settings.crawl_table)
    if task.deferrals >= MAX_DEFERRALS:
        _record(
            state,
            source,
            task.url,
            "deferred:gave-up",
            f"put off {task.deferrals} times ({deferred.reason}); not fetched in this cycle",
        )
        return 0
    delay = min(MAX_DELAY_SECONDS, math.ceil(deferred.retry_after))
    again = dataclasses.replace(task, deferrals=task.deferrals + 1)
    client("sqs").send_message(
        QueueUrl=settings.crawl_queue_url, MessageBody=json.dumps(again.to_dict()), DelaySeconds=delay
    )
    _record(
        state,
        source,
        deferred.url,
        deferred.reason,
        f"{deferred.message}; the page is queued again in {delay} s",
    )
    return 1


def _admit_seed(settings: Settings, source: Source, task: PageTask, claimer: str) -> bool:
    """Claim a seed page for its cycle and count it against the budget; False when it is not to be fetched."""
    state = CrawlState(settings.crawl_table)
    claim = state.claim_page(
        task.url, cycle=task.cycle, claimer=claimer, ttl_seconds=_page_claim_ttl(source, task)
    )
    if claim is PageClaim.TAKEN:
        return False
    if claim is PageClaim.NEW and not state.claim_page_budget(
        source.id, task.cycle, budget=source.page_budget, ttl_seconds=CYCLE_MEMORY_SECONDS
    ):
        _record(state, source, task.url, "budget:pages", _budget_message(source))
        return False
    return True


def crawl_one_message(
    settings: Settings,
    sources: dict[str, Source],
    body: str,
    *,
    message_id: str = "",
    deadline: float | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, int]:
    """Crawl the page of one queue message.

    Parameters
    ----------
    settings, sources
        The deployment and its sources by id.
    body
        The message body: a :class:`~takedown.crawl.crawl_step.PageTask` as JSON.
    message_id
        The SQS message id: a redelivered message recognises the page claims it made.
    deadline
        When (on ``clock``, epoch seconds) the invocation must be done; requests are not started later than
        one fetch and the storing before it.
    clock, sleep
        The wall clock the host slots are booked on, and how to wait for a slot.

    Raises
    ------
    takedown.crawl.crawl_step.TaskError
        For a malformed task; ``ValueError`` for a source not in the deployed sources file.
    """
    task = PageTask.from_dict(json.loads(body))
    source = sources.get(task.source_id)
    if source is None:
        raise ValueError(f"unknown source {task.source_id!r}: not in the deployed sources file")
    empty = {"media_stored": 0, "media_known": 0, "pages_queued": 0, "pages_over_budget": 0, "refusals": 0}
    if task.depth == 0 and not task.cycle:
        task = dataclasses.replace(task, cycle=cycle_id_at(clock()))  # a seed queued without a cycle
    state = CrawlState(settings.crawl_table)
    credentials: dict[str, str] = {}
    if source.secret_ref:
        try:
            credentials = _SOURCE_SECRETS.credentials(source.secret_ref).request_headers()
        except SourceSecretError as error:
            # Crawling without the credentials would fetch the wrong pages; the operator must fix the secret.
            _record(state, source, task.url, error.reason, error.message)
            return {**empty, "refusals": 1}
    # A re-queued (deferred) page was admitted when it was first processed or linked.
    if task.depth == 0 and task.deferrals == 0 and not _admit_seed(settings, source, task, message_id):
        return empty
    fetcher = fetcher_for_source(source, max_bytes=settings.max_media_bytes, credential_headers=credentials)
    ends_at = deadline if deadline is not None else clock() + DEFAULT_BATCH_SECONDS
    pacer = SharedHostPacer(
        _host_slots(settings.crawl_table),
        source.requests_per_second,
        latest_start=ends_at - fetcher.deadline_seconds - STORE_RESERVE_SECONDS,
        clock=clock,
        sleep=sleep,
    )
    media_ttl = max(MEDIA_MEMORY_SECONDS, recrawl_ttl_seconds(source))
    outcome = crawl_page(
        task,
        source,
        fetcher,
        seen=lambda url: not state.claim_media_url(task.url, url, ttl_seconds=media_ttl),
        pacer=pacer,
    )
    if outcome.deferred_media:
        # Claimed by `seen` just before its request was put off: the re-queued page must fetch it.
        state.release_media_url(task.url, outcome.deferred_media[0].url)
    try:
        counts = store_outcome(settings, source, outcome, fetcher, claimer=message_id)
    except Exception:
        # The message fails and SQS delivers it again: the retry must fetch these media, not skip them as seen
        # (any that were stored keep their content claim, so they are not stored twice).
        for media in outcome.media:
            state.release_media_url(task.url, media.url)
        raise
    if outcome.deferred is not None:
        counts["pages_deferred"] = _defer(settings, source, task, outcome.deferred)
    return counts


def crawl_batch(
    settings: Settings,
    event: dict[str, Any],
    *,
    deadline: float | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Crawl each message of an SQS batch; report the failed ones (partial batch response).

    ``deadline`` is when the invocation must end (epoch seconds on ``clock``); by default
    ``DEFAULT_BATCH_SECONDS`` from now.
    """
    sources = sources_by_id(settings.sources_file)
    ends_at = deadline if deadline is not None else clock() + DEFAULT_BATCH_SECONDS
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        try:
            counts = crawl_one_message(
                settings,
                sources,
                record["body"],
                message_id=str(record.get("messageId", "")),
                deadline=ends_at,
                clock=clock,
                sleep=sleep,
            )
            metrics.add_metric(name="MediaStored", unit="Count", value=counts["media_stored"])
            if counts.get("pages_deferred"):
                metrics.add_metric(name="PagesDeferred", unit="Count", value=counts["pages_deferred"])
        except Exception:  # one bad message must not fail its batch; SQS retries it, then the DLQ keeps it
            logger.exception("crawl message failed", extra={"message_id": record.get("messageId")})
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline = time.time() + context.get_remaining_time_in_millis() / 1000
    return crawl_batch(Settings.from_env(), event, deadline=deadline)
