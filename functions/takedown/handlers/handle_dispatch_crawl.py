"""Scheduled: enqueue the seed pages of every configured source (or of the sources named in the event).

Each dispatch is one crawl cycle, and every task carries its id: the sources' page budgets and the memory of
pages already fetched are per cycle. A scheduled event's cycle is its scheduled time, so EventBridge's retry of
the same event continues the same cycle; a manual dispatch gets the current time and a random suffix.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from takedown.aws.clients import client
from takedown.config import Settings
from takedown.crawl.crawl_step import PageTask, cycle_id_at
from takedown.crawl.sources import load_sources
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

_SQS_BATCH = 10


def cycle_for_event(event: dict[str, Any], *, now: float | None = None) -> str:
    """The cycle id of a dispatch: from a scheduled event's ``time``, else ``now`` with a random suffix.

    >>> cycle_for_event({"time": "2026-11-28T07:00:00Z"})
    '20261128T070000Z'
    """
    scheduled = event.get("time")
    if isinstance(scheduled, str):
        try:
            return cycle_id_at(datetime.fromisoformat(scheduled.replace("Z", "+00:00")).timestamp())
        except ValueError:
            logger.warning("dispatch event time is not ISO 8601; a new cycle id is used instead")
    moment = now if now is not None else time.time()
    return cycle_id_at(moment, secrets.token_hex(3))


def dispatch_crawl(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    """Send one page task per seed URL to the crawl queue, all in one new cycle."""
    wanted = set(event.get("source_ids") or [])
    sources = [s for s in load_sources(settings.sources_file) if not wanted or s.id in wanted]
    cycle = cycle_for_event(event)
    tasks = [PageTask(source_id=s.id, url=seed, depth=0, cycle=cycle) for s in sources for seed in s.seeds]
    sqs = client("sqs")
    for start in range(0, len(tasks), _SQS_BATCH):
        batch = tasks[start : start + _SQS_BATCH]
        response = sqs.send_message_batch(
            QueueUrl=settings.crawl_queue_url,
            Entries=[{"Id": str(i), "MessageBody": json.dumps(t.to_dict())} for i, t in enumerate(batch)],
        )
        if response.get("Failed"):
            raise RuntimeError(f"{len(response['Failed'])} crawl tasks were not enqueued")
    logger.info("crawl dispatched", extra={"sources": len(sources), "pages": len(tasks), "cycle": cycle})
    metrics.add_metric(name="PagesDispatched", unit="Count", value=len(tasks))
    return {"sources": len(sources), "pages_enqueued": len(tasks), "cycle": cycle}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dispatch_crawl(Settings.from_env(), event)
