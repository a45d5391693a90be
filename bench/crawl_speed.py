"""Crawl throughput of one worker: the crawl worker function on the local stack against a generated site.

The site (:mod:`bench.crawl_site`, 5,201 pages by default) runs on 127.0.0.1 in its own process. The
worker process stands up the local stack, deploys a sources file naming the site (politeness and page
budget set far above what the site needs, so neither throttles the run), and fires the dispatcher
(``handle_dispatch_crawl``) for one cycle. Then one worker drains the crawl queue: it receives up to the
event source mapping's batch size, invokes ``handle_crawl_page`` through moto's Lambda API with the SQS
event AWS would build, and deletes the messages the function did not report as failed. Everything the
function does is in the time: fetching and parsing, the DynamoDB page, media and host-slot claims, the S3
puts of media, sightings and WARC captures, and the SQS sends of the next pages.

Two things differ from the deployed wiring, on purpose:

- the event source mapping is disabled and the loop above does its job, because moto runs a mapping by
  invoking the function synchronously inside ``SendMessage``: each page would crawl its links recursively
  inside its own invocation, and no figure could be called "per worker";
- the bucket's notifications are removed, so storing media does not run the hashing function inside the
  crawl worker's invocation (in AWS it is another function; the pipeline benchmark measures it).

Memory: the worker process's resident high-water mark (``VmHWM``, :mod:`bench.process_memory`), which
includes moto's in-memory S3, SQS and DynamoDB and everything the crawl stored; and, for a sample of
batches, the peak of Python allocations during the batch (``tracemalloc``), which is what one invocation
needs beyond what it holds between invocations.
"""

from __future__ import annotations

import json
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import boto3

from bench.aws_calls import AwsCallCounter
from bench.crawl_site import CrawlSite, CrawlSitePlan, CrawlSiteProcess, CrawlSiteServer, ServedCounts
from bench.local_worker import bench_local_stack
from bench.process_memory import current_rss_mib, peak_rss_mib, run_in_fresh_process

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from takedown.local.environment import LocalEnvironment

SOURCE_ID: Final = "bench-site"
# Far above anything the site needs: the shared per-host slots and the cycle's page budget stay in the path
# (every request books a slot, every page is counted) without ever making the worker wait.
BENCH_REQUESTS_PER_SECOND: Final = 100_000.0
BENCH_PAGE_BUDGET: Final = 1_000_000
STORED_PREFIXES: Final = ("media/", "video/", "sightings/", "captures/")
# The calls the event source mapping makes (here: the drain loop), not the function.
MAPPING_CALLS: Final = frozenset(
    {"sqs.ReceiveMessage", "sqs.DeleteMessageBatch", "sqs.GetQueueAttributes", "lambda.Invoke"}
)
_BYTES_PER_MIB: Final = 2**20
DEFAULT_CRAWL_MINUTES: Final = 20.0


class CrawlBenchmarkError(RuntimeError):
    """The crawl benchmark could not run as planned. ``reason``: ``queue:stuck`` (messages that neither
    finish nor fail), ``setup:failed``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class CrawlPlan:
    """What to crawl and how.

    ``own_process``: run the worker in a fresh process and the site in another (the full run); False runs
    both in this process (the smoke test). ``trace_every``: every n-th batch runs under ``tracemalloc``
    (0: none). ``time_limit_s``: the drain stops there, and the report says how much of the site it
    crawled. One worker needs about 9-15 minutes on this machine for the whole site, depending on how busy it
    is; the default (20 minutes) lets it finish, and a shorter limit gives the rates in less time.
    """

    site: CrawlSitePlan = field(default_factory=CrawlSitePlan)
    own_process: bool = True
    trace_every: int = 25
    time_limit_s: float = DEFAULT_CRAWL_MINUTES * 60

    @classmethod
    def full(cls, minutes: float = DEFAULT_CRAWL_MINUTES) -> CrawlPlan:
        return cls(time_limit_s=minutes * 60)

    @classmethod
    def smoke(cls) -> CrawlPlan:
        return cls(site=CrawlSitePlan.smoke(), own_process=False, trace_every=2, time_limit_s=120.0)


@dataclass(frozen=True)
class CrawlReport:
    """What one worker crawled, how fast, and with how much memory."""

    plan: CrawlPlan
    site_pages: int
    media_placed: dict[str, int]
    served: ServedCounts
    batch_size: int
    batches: int
    messages: int
    failed_messages: int
    drain_s: float
    drain_cpu_s: float
    function_s: float
    aws_calls: dict[str, int]
    stored_objects: dict[str, int]
    stored_bytes: dict[str, int]
    refusals: dict[str, int]
    peak_rss_mib: float
    rss_before_crawl_mib: float
    traced_batches: int
    traced_peak_mib: float
    setup_s: float
    stopped_early: bool

    @property
    def pages_fetched(self) -> int:
        return self.served.requests.get("page", 0)

    @property
    def media_fetched(self) -> int:
        return self.served.requests.get("media", 0)

    @property
    def media_stored(self) -> int:
        return self.stored_objects.get("media/", 0) + self.stored_objects.get("video/", 0)

    @property
    def pages_per_s(self) -> float:
        return self.pages_fetched / self.drain_s if self.drain_s else 0.0

    @property
    def media_per_s(self) -> float:
        return self.media_fetched / self.drain_s if self.drain_s else 0.0

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.drain_cpu_s / self.pages_fetched if self.pages_fetched else 0.0

    @property
    def function_calls(self) -> dict[str, int]:
        """The AWS calls the crawl function made (the mapping's own calls left out)."""
        return {key: count for key, count in self.aws_calls.items() if key not in MAPPING_CALLS}


def run_crawl_benchmark(plan: CrawlPlan) -> CrawlReport:
    """Crawl the generated site once with one worker and report (see the module docstring)."""
    if plan.own_process:
        return run_in_fresh_process(_crawl, plan)
    return _crawl(plan)


def sources_document(base_url: str, plan: CrawlSitePlan) -> dict[str, Any]:
    """The sources file deployed for the benchmark: the site alone, loopback allowed, nothing throttled."""
    return {
        "version": 1,
        "sources": [
            {
                "id": SOURCE_ID,
                "kind": "community",
                "seeds": [f"{base_url}/"],
                "allowed_hosts": ["127.0.0.1"],
                "depth": plan.depth,
                "page_budget": BENCH_PAGE_BUDGET,
                "requests_per_second": BENCH_REQUESTS_PER_SECOND,
                "country": "KR",
                "language": "en",
                "contact": "abuse@bench.example",
                "allow_private_addresses": True,
            }
        ],
    }


def _crawl(plan: CrawlPlan) -> CrawlReport:
    started = time.perf_counter()
    site_context: CrawlSiteProcess | CrawlSiteServer = (
        CrawlSiteProcess(plan.site) if plan.own_process else CrawlSiteServer(CrawlSite(plan.site))
    )
    placed = CrawlSite(plan.site).media_urls_placed()
    with site_context as site, bench_local_stack(own_process=plan.own_process) as local:
        with tempfile.TemporaryDirectory(prefix="bench-crawl-") as folder:
            sources = Path(folder) / "sources.json"
            sources.write_text(json.dumps(sources_document(site.base_url, plan.site)), encoding="utf-8")
            if local.stack is None:
                raise CrawlBenchmarkError("setup:failed", "the local stack did not come up")
            local.stack.deploy_sources(sources)
            batch_size = _detach_triggers(local)
            local.invoke("handle_dispatch_crawl", {"source_ids": [SOURCE_ID]})
            setup_s = time.perf_counter() - started
            rss_before = current_rss_mib()
            from takedown.local.seam import cold_start

            with AwsCallCounter() as calls:
                # A cold start, so the functions' boto3 clients are made again, with the counter.
                cold_start()
                drain = _drain(local, plan, batch_size)
                aws_calls = calls.snapshot()
        served = site.stop() if isinstance(site, CrawlSiteProcess) else site.counts()
        objects, sizes = _stored(local)
        refusals = _refusals_by_reason(local)
    return CrawlReport(
        plan=plan,
        site_pages=plan.site.pages,
        media_placed=placed,
        served=served,
        batch_size=batch_size,
        batches=drain.batches,
        messages=drain.messages,
        failed_messages=drain.failed,
        drain_s=drain.wall_s,
        drain_cpu_s=drain.cpu_s,
        function_s=drain.function_s,
        aws_calls=aws_calls,
        stored_objects=objects,
        stored_bytes=sizes,
        refusals=refusals,
        peak_rss_mib=peak_rss_mib(),
        rss_before_crawl_mib=rss_before,
        traced_batches=drain.traced,
        traced_peak_mib=drain.traced_peak_bytes / _BYTES_PER_MIB,
        setup_s=setup_s,
        stopped_early=drain.stopped_early,
    )


def _detach_triggers(local: LocalEnvironment) -> int:
    """Disable the crawl queue's event source mapping and the bucket's notifications; return the batch size."""
    lambda_client = boto3.client("lambda")
    function = local.function_name("handle_crawl_page")
    mappings = lambda_client.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
    if not mappings:
        raise CrawlBenchmarkError("setup:failed", "the crawl function has no event source mapping")
    for mapping in mappings:
        lambda_client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    boto3.client("s3").put_bucket_notification_configuration(
        Bucket=local.settings("handle_crawl_page").evidence_bucket, NotificationConfiguration={}
    )
    return int(mappings[0].get("BatchSize", 10))


@dataclass
class _Drain:
    batches: int = 0
    messages: int = 0
    failed: int = 0
    traced: int = 0
    traced_peak_bytes: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    function_s: float = 0.0
    stopped_early: bool = False


def _sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event the SQS event source mapping would hand the function."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for message in messages
        ]
    }


def _queue_is_empty(sqs: Any, queue_url: str) -> bool:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return all(int(value) == 0 for value in attributes.values())


def _drain(local: LocalEnvironment, plan: CrawlPlan, batch_size: int) -> _Drain:
    """One worker: receive a batch, invoke the function, delete what succeeded; until the queue is empty."""
    settings = local.settings("handle_crawl_page")
    sqs = boto3.client("sqs")
    queue_url = settings.crawl_queue_url
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    drain = _Drain()
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    idle_since: float | None = None
    while True:
        elapsed = time.perf_counter() - wall_start
        if elapsed > plan.time_limit_s:
            drain.stopped_early = True
            break
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=batch_size).get("Messages", [])
        if not messages:
            if _queue_is_empty(sqs, queue_url):
                break
            # Messages in flight or delayed (a deferred page): wait for them, but not for ever.
            idle_since = idle_since if idle_since is not None else time.perf_counter()
            if time.perf_counter() - idle_since > 60:
                raise CrawlBenchmarkError("queue:stuck", "messages stayed invisible or delayed for 60 s")
            time.sleep(0.2)
            continue
        idle_since = None
        traced = plan.trace_every > 0 and drain.batches % plan.trace_every == plan.trace_every - 1
        if traced:
            tracemalloc.start()
        invoked = time.perf_counter()
        result = local.invoke("handle_crawl_page", _sqs_event(messages, queue_arn))
        drain.function_s += time.perf_counter() - invoked
        if traced:
            drain.traced_peak_bytes = max(drain.traced_peak_bytes, tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
            drain.traced += 1
        # The mapping deletes what succeeded; a failed message would come back after its visibility timeout
        # and finally go to the dead-letter queue. Here failures are counted (the report shows them) and
        # deleted too, so the run ends.
        drain.failed += len(result.get("batchItemFailures", []))
        for start in range(0, len(messages), 10):
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages[start : start + 10])
                ],
            )
        drain.batches += 1
        drain.messages += len(messages)
    drain.wall_s = time.perf_counter() - wall_start
    drain.cpu_s = time.process_time() - cpu_start
    return drain


def _stored(local: LocalEnvironment) -> tuple[dict[str, int], dict[str, int]]:
    s3 = boto3.client("s3")
    bucket = local.settings("handle_crawl_page").evidence_bucket
    objects, sizes = dict.fromkeys(STORED_PREFIXES, 0), dict.fromkeys(STORED_PREFIXES, 0)
    for prefix in STORED_PREFIXES:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                objects[prefix] += 1
                sizes[prefix] += int(item["Size"])
    return objects, sizes


def _refusals_by_reason(local: LocalEnvironment) -> dict[str, int]:
    from takedown.aws.crawl_state import CrawlState

    counts: dict[str, int] = {}
    for refusal in CrawlState(local.settings("handle_crawl_page").crawl_table).refusals(SOURCE_ID):
        counts[refusal["reason"]] = counts.get(refusal["reason"], 0) + 1
    return counts
