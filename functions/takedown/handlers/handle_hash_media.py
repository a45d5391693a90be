"""S3 ObjectCreated on ``media/`` (images) and ``video/`` (videos): hash the file, match it against the bank
index, and start one case per candidate.

The same code serves both functions (``handle_hash_video`` imports it); they differ in their layers: imagehash
for stills here, PyAV for videos there. A duplicate S3 event finds the case already open and the execution
already started (its name is derived from the case id), so it starts nothing new.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from takedown.approval.thumbnail import ThumbnailError, make_thumbnail, thumbnail_key
from takedown.aws.bank_index_store import BankIndexCache
from takedown.aws.case_store import CaseStore
from takedown.aws.crawl_state import CrawlState
from takedown.aws.evidence_store import EvidenceStore
from takedown.aws.workflow import start_case_execution
from takedown.cases.record import CaseRecord, execution_name_for
from takedown.config import Settings
from takedown.hashing.detect import Detection, detect_media
from takedown.hashing.refusals import MediaRejected
from takedown.model import Sighting
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

MEDIA_PREFIXES = ("media/", "video/")
# One bank index per warm container, re-checked against the published pointer at most once a minute.
BANK_INDEX = BankIndexCache()


def sighting_key_for(media_key: str) -> str:
    """``media/<sha>/<page>`` or ``video/<sha>/<page>`` -> ``sightings/<sha>/<page>.json``."""
    parts = media_key.split("/")
    if len(parts) != 3 or f"{parts[0]}/" not in MEDIA_PREFIXES:
        raise ValueError(f"not a media object key: {media_key!r}")
    return f"sightings/{parts[1]}/{parts[2]}.json"


def _record(outcomes: CrawlState, sighting: Sighting, outcome: str, reason: str) -> None:
    outcomes.record_media_outcome(
        sighting.sha256,
        sighting.page_url,
        outcome=outcome,
        reason=reason,
        media_url=sighting.media_url,
        media_type=sighting.content_type,
    )


def execution_input(case_id: str, detection: Detection) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "kind": detection.kind,
        "pdq": detection.pdq,
        "phash": detection.phash,
        "frames": len(detection.frames),
        "matches": [m.to_dict() for m in detection.matches],
    }


def hash_media_object(settings: Settings, key: str) -> dict[str, Any]:
    """Hash one stored media object and start a case when it matches."""
    store = EvidenceStore(settings.evidence_bucket)
    sighting = Sighting.from_dict(store.get_json(sighting_key_for(key)))
    outcomes = CrawlState(settings.crawl_table)
    if not store.exists(key):
        # Only hashing deletes media (what matched nothing): this is a repeated event for a file already handled.
        logger.info("media already handled", extra={"key": key})
        return {"key": key, "outcome": "gone", "reason": "media:already-handled"}
    try:
        data = store.get_bytes(key, max_bytes=settings.max_media_bytes)
        index = BANK_INDEX.get(settings.evidence_bucket, settings.bank_table)
        detection = detect_media(data, sighting.content_type, index)
    except (MediaRejected, ValueError) as error:
        reason = error.reason if isinstance(error, MediaRejected) else "size:exceeded"
        _record(outcomes, sighting, "REJECTED", reason)
        logger.warning("media refused", extra={"key": key, "reason": reason})
        metrics.add_metric(name="MediaRejected", unit="Count", value=1)
        return {"key": key, "outcome": "rejected", "reason": reason}
    metrics.add_metric(name="MediaHashed", unit="Count", value=1)
    if detection.truncated:
        logger.info("frames truncated", extra={"key": key, "reason": detection.reason})
    if not detection.matches:
        _record(outcomes, sighting, "NO_MATCH", "")
        # Unrelated media is not evidence: keep its hash outcome, drop the bytes.
        store.delete(key)
        return {"key": key, "outcome": "no-match"}
    record, event = CaseRecord.open(sighting)
    created = CaseStore(settings.cases_table).create(record, event)
    # What matched is now evidence: lock the media, where it was seen, and the page as captured.
    for evidence_key in (key, sighting_key_for(key), sighting.capture_key):
        if evidence_key:
            store.retain(evidence_key, settings.evidence_retention_days)
    # The reviewer's thumbnail (small, greyscale), made here where Pillow is; shown only when a reviewer asks.
    try:
        thumbnail = make_thumbnail(data, sighting.content_type)
        store.put_bytes(thumbnail_key(sighting.sha256), thumbnail, "image/jpeg")
    except ThumbnailError as error:
        logger.warning("no review thumbnail", extra={"key": key, "reason": error.reason})
    # Always (re)start: if the first delivery opened the case but died before starting its execution, this one
    # starts it; if the execution exists, Step Functions returns it (same name and input) or refuses the name.
    start_case_execution(
        settings.state_machine_arn,
        execution_name_for(record.case_id),
        execution_input(record.case_id, detection),
    )
    _record(outcomes, sighting, "CANDIDATE", record.case_id)
    metrics.add_metric(name="Candidates", unit="Count", value=1)
    logger.info("candidate", extra={"case_id": record.case_id, "new_case": created, "kind": detection.kind})
    return {"key": key, "outcome": "candidate", "case_id": record.case_id, "new_case": created}


class MediaEventFailed(RuntimeError):
    """Some records of an S3 event could not be handled. Lambda retries the event and then keeps it, with this
    message, in the hashing dead-letter queue; the records that were handled are idempotent on a retry."""


def hash_s3_event(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    results = []
    failed: list[str] = []
    for record in event.get("Records", []):
        # S3 event keys are URL-encoded (spaces as '+').
        key = unquote_plus(record["s3"]["object"]["key"])
        if not key.startswith(MEDIA_PREFIXES):
            continue
        try:
            results.append(hash_media_object(settings, key))
        except Exception as error:  # one record must not keep the others of its event from being handled
            logger.exception("media not handled", extra={"key": key})
            failed.append(f"{key} ({type(error).__name__})")
    if failed:
        raise MediaEventFailed(f"{len(failed)} of the event's media not handled: {', '.join(failed[:20])}")
    return {"results": results}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return hash_s3_event(Settings.from_env(), event)
