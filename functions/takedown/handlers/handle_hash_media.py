"""S3 ObjectCreated on ``media/``: hash the file, match it against the bank, start one case per candidate.

A duplicate S3 event finds the case already open and the execution already started (its name is derived from
the case id), so it starts nothing new.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from takedown.aws.bank_store import BankStore
from takedown.aws.case_store import CaseStore
from takedown.aws.crawl_state import CrawlState
from takedown.aws.evidence_store import EvidenceStore
from takedown.aws.workflow import start_case_execution
from takedown.cases.record import CaseRecord, execution_name_for
from takedown.config import Settings
from takedown.hashing.bank_match import match_against_bank
from takedown.hashing.image_hashes import MediaRejected, hash_image_bytes
from takedown.model import BankItem, Sighting
from takedown.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# A warm container reuses the bank it loaded, for at most this long: a newly added item is matched within a minute.
BANK_MAX_AGE_SECONDS = 60.0
_bank_cache: dict[str, tuple[float, list[BankItem]]] = {}


def bank_items(table: str) -> list[BankItem]:
    loaded = _bank_cache.get(table)
    if loaded is None or time.monotonic() - loaded[0] > BANK_MAX_AGE_SECONDS:
        loaded = (time.monotonic(), BankStore(table).items())
        _bank_cache[table] = loaded
    return loaded[1]


def sighting_key_for(media_key: str) -> str:
    """``media/<sha>/<page>`` -> ``sightings/<sha>/<page>.json``."""
    parts = media_key.split("/")
    if len(parts) != 3 or parts[0] != "media":
        raise ValueError(f"not a media object key: {media_key!r}")
    return f"sightings/{parts[1]}/{parts[2]}.json"


def hash_media_object(settings: Settings, key: str) -> dict[str, Any]:
    """Hash one stored media object and start a case when it matches."""
    store = EvidenceStore(settings.evidence_bucket)
    sighting = Sighting.from_dict(store.get_json(sighting_key_for(key)))
    outcomes = CrawlState(settings.crawl_table)
    try:
        hashes = hash_image_bytes(store.get_bytes(key, max_bytes=settings.max_media_bytes))
    except (MediaRejected, ValueError) as error:
        reason = error.reason if isinstance(error, MediaRejected) else "size:exceeded"
        outcomes.record_media_outcome(
            sighting.sha256,
            sighting.page_url,
            media_url=sighting.media_url,
            media_type=sighting.content_type,
            outcome="REJECTED",
            reason=reason,
        )
        logger.warning("media refused", extra={"key": key, "reason": reason})
        metrics.add_metric(name="MediaRejected", unit="Count", value=1)
        return {"key": key, "outcome": "rejected", "reason": reason}
    matches = match_against_bank(
        hashes.phash, "phash", bank_items(settings.bank_table), max_distance=settings.phash_max_distance
    )
    metrics.add_metric(name="MediaHashed", unit="Count", value=1)
    if not matches:
        outcomes.record_media_outcome(
            sighting.sha256,
            sighting.page_url,
            media_url=sighting.media_url,
            media_type=sighting.content_type,
            outcome="NO_MATCH",
            reason="",
        )
        # Unrelated media is not evidence: keep its hash outcome, drop the bytes.
        store.delete(key)
        return {"key": key, "outcome": "no-match"}
    record, event = CaseRecord.open(sighting)
    created = CaseStore(settings.cases_table).create(record, event)
    # What matched is now evidence: lock the media and where it was seen.
    store.retain(key, settings.evidence_retention_days)
    store.retain(sighting_key_for(key), settings.evidence_retention_days)
    if sighting.capture_key:
        store.retain(sighting.capture_key, settings.evidence_retention_days)
    # Always (re)start: if the first delivery opened the case but died before starting its execution, this one
    # starts it; if the execution exists, Step Functions returns it (same name and input) or refuses the name.
    start_case_execution(
        settings.state_machine_arn,
        execution_name_for(record.case_id),
        {"case_id": record.case_id, "phash": hashes.phash, "matches": [m.to_dict() for m in matches]},
    )
    outcomes.record_media_outcome(
        sighting.sha256,
        sighting.page_url,
        media_url=sighting.media_url,
        media_type=sighting.content_type,
        outcome="CANDIDATE",
        reason=record.case_id,
    )
    metrics.add_metric(name="Candidates", unit="Count", value=1)
    logger.info("candidate", extra={"case_id": record.case_id, "new_case": created})
    return {"key": key, "outcome": "candidate", "case_id": record.case_id, "new_case": created}


def hash_s3_event(settings: Settings, event: dict[str, Any]) -> dict[str, Any]:
    results = []
    for record in event.get("Records", []):
        # S3 event keys are URL-encoded (spaces as '+').
        key = unquote_plus(record["s3"]["object"]["key"])
        if not key.startswith("media/"):
            continue
        results.append(hash_media_object(settings, key))
    return {"results": results}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return hash_s3_event(Settings.from_env(), event)
