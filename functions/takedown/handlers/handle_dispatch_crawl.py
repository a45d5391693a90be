"""Scheduled: enqueue the seed pages of every configured source (or of the sources named in the event)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from takedown.aws.clients import client
from takedown.config import Settings
from takedown.crawl.crawl_step import PageTask
from takedown.crawl.sources import load_sources
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

_SQS_BATCH = 10


def dispatch_crawl(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    """Send one page task per seed URL to the crawl queue."""
    wanted = set(event.get("source_ids") or [])
    sources = [s for s in load_sources(settings.sources_file) if not wanted or s.id in wanted]
    tasks = [PageTask(source_id=s.id, url=seed, depth=0) for s in sources for seed in s.seeds]
    sqs = client("sqs")
    for start in range(0, len(tasks), _SQS_BATCH):
        batch = tasks[start : start + _SQS_BATCH]
        response = sqs.send_message_batch(
            QueueUrl=settings.crawl_queue_url,
            Entries=[{"Id": str(i), "MessageBody": json.dumps(t.to_dict())} for i, t in enumerate(batch)],
        )
        if response.get("Failed"):
            raise RuntimeError(f"{len(response['Failed'])} crawl tasks were not enqueued")
    logger.info("crawl dispatched", extra={"sources": len(sources), "pages": len(tasks)})
    metrics.add_metric(name="PagesDispatched", unit="Count", value=len(tasks))
    return {"sources": len(sources), "pages_enqueued": len(tasks)}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dispatch_crawl(Settings.from_env(), event)
