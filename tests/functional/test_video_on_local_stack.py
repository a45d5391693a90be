"""A re-encoded copy of a registered video, stored by the crawl under video/, becomes a case via HashVideo."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import av

from takedown.aws.bank_index_store import publish_bank_index
from takedown.aws.bank_store import BankStore
from takedown.aws.case_store import CaseStore
from takedown.aws.crawl_state import CrawlState
from takedown.commands.bank import items_for_bytes
from takedown.demo.synthetic import make_image
from takedown.model import CaseStatus

from .conftest import drop_sighting

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment


def _clip(seeds: list[int], *, size: tuple[int, int], fps: int, seconds_each: float = 1.5) -> bytes:
    """A harmless slideshow video: each generated picture held for a moment."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for seed in seeds:
            picture = make_image(seed, (size[0] * 2, size[1] * 2)).resize(size)
            for _ in range(round(seconds_each * fps)):
                out.mux(stream.encode(av.VideoFrame.from_image(picture)))
        out.mux(stream.encode(None))
    return buffer.getvalue()


def test_reencoded_video_copy_opens_a_case_with_video_evidence(local: LocalEnvironment) -> None:
    # GIVEN the centre registered a video (its frames' hashes only)
    settings = local.settings()
    original = _clip([61, 62, 63, 64], size=(320, 180), fps=24)
    store = BankStore(settings.bank_table)
    for item in items_for_bytes(
        original, "video/mp4", bank="centre", case_ref="VID-1", added_at="2026-11-28T07:00:00Z"
    ):
        store.put_item(item)
    publish_bank_index(settings.bank_table, settings.evidence_bucket)
    # WHEN the crawl stores a re-encoded copy (other size and frame rate) under video/
    copy = _clip([61, 62, 63, 64], size=(480, 270), fps=30)
    drop_sighting(local, copy, "http://tube.example/watch/1", media_type="video/mp4")
    # THEN the video hashing function opened a case whose evidence says how many frames matched
    outcomes = CrawlState(settings.crawl_table).media_outcomes()
    assert [o["outcome"] for o in outcomes] == ["CANDIDATE"]
    cases = CaseStore(settings.cases_table)
    case_id = outcomes[0]["reason"]
    assert local.wait_for(lambda: cases.require(case_id).status is CaseStatus.AWAITING_REVIEW, timeout=60)
    match = cases.require(case_id).matches[0]
    assert match.rule == "video" and match.case_ref == "VID-1"
    assert "of the query's found in the bank video" in match.variant
    assert "HashVideoFunction" in " ".join(local.resources.functions.values())
