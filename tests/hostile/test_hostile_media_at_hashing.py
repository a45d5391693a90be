"""Hostile files through the hashing stage on the local stack: every one ends in a recorded outcome with its
reason, none fails the S3 event it arrives in, none opens a case or reaches anyone by mail.

Decoder-level tests of the same limits live in ``tests/unit/detection/test_fingerprint.py`` and
``tests/unit/video/test_media_frames.py``; here the files go in through S3, as the crawler stores them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from takedown.aws.crawl_state import CrawlState
from takedown.local.mailbox import sent_mail
from tests.functional.conftest import drop_sighting, register, synthetic_png
from tests.hostile.corpus import hostile_media

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment
    from takedown.model import Sighting

CORPUS = hostile_media()


def page_for(index: int) -> str:
    return f"http://board.example/hostile/{index}"


def outcome_of(local: LocalEnvironment, sighting: Sighting) -> tuple[str, str] | None:
    for found in CrawlState(local.settings().crawl_table).media_outcomes():
        if found["sha256"] == sighting.sha256 and found["page_url"] == sighting.page_url:
            return found["outcome"], found["reason"]
    return None


def s3_event(bucket: str, keys: list[str]) -> dict[str, Any]:
    return {
        "Records": [
            {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}
            for key in keys
        ]
    }


def test_every_hostile_file_ends_in_its_recorded_outcome_and_none_reaches_anyone(
    local: LocalEnvironment,
) -> None:
    # GIVEN a bank with one registered original
    register(local, synthetic_png(1))
    # WHEN each hostile file is stored as the crawler stores media (S3 notifies the hashing function)
    sightings = [
        drop_sighting(local, item.build(), page_for(index), media_type=item.media_type)
        for index, item in enumerate(CORPUS)
    ]
    # THEN each has the outcome and reason the corpus expects, recorded with its sighting
    recorded = {
        item.name: outcome_of(local, sighting) for item, sighting in zip(CORPUS, sightings, strict=True)
    }
    assert recorded == {item.name: (item.outcome, item.reason) for item in CORPUS}
    # AND no case was opened, no execution started, no mail sent
    assert local.executions() == []
    assert sent_mail() == []


def test_one_s3_event_carrying_every_hostile_file_is_handled_record_by_record(
    local: LocalEnvironment,
) -> None:
    # GIVEN the corpus stored (each file already hashed once on its own notification)
    register(local, synthetic_png(1))
    sightings = [
        drop_sighting(local, item.build(), page_for(index), media_type=item.media_type)
        for index, item in enumerate(CORPUS)
    ]
    settings = local.settings()
    # WHEN one S3 event carries every file again (a redelivery), images and videos alike
    images = [s.media_key for s in sightings if s.media_key.startswith("media/")]
    videos = [s.media_key for s in sightings if s.media_key.startswith("video/")]
    image_results = local.invoke("handle_hash_media", s3_event(settings.evidence_bucket, images))["results"]
    video_results = local.invoke("handle_hash_video", s3_event(settings.evidence_bucket, videos))["results"]
    # THEN every record has a result: refused files again with their reason, files that matched nothing
    # (already deleted) as handled before; the batch did not stop at any of them
    by_key = {r["key"]: r for r in [*image_results, *video_results]}
    assert set(by_key) == {s.media_key for s in sightings}
    for item, sighting in zip(CORPUS, sightings, strict=True):
        result = by_key[sighting.media_key]
        if item.outcome == "REJECTED":
            assert (result["outcome"], result["reason"]) == ("rejected", item.reason), item.name
        else:
            assert result["outcome"] == "gone", item.name
    assert local.executions() == [] and sent_mail() == []


def test_a_record_that_cannot_be_handled_fails_the_event_by_name_after_the_others_are_done(
    local: LocalEnvironment,
) -> None:
    # GIVEN a media key whose sighting record was never written (a broken write), and a refused file after it
    settings = local.settings()
    orphan_key = f"media/{'0' * 64}/{'1' * 24}"
    refused = drop_sighting(local, b"", page_for(99), media_type="image/png")
    # WHEN one event carries both
    with pytest.raises(RuntimeError) as failed:
        local.invoke("handle_hash_media", s3_event(settings.evidence_bucket, [orphan_key, refused.media_key]))
    # THEN the event fails (so Lambda retries it and then keeps it in the dead-letter queue) naming the record
    # and its error, and the record after it was still handled
    assert "MediaEventFailed" in str(failed.value) and orphan_key in str(failed.value)
    assert outcome_of(local, refused) == ("REJECTED", "decode:failed")
