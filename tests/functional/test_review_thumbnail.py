"""The thumbnail: made beside the media by hashing, shown only on request behind the link and CSRF, recorded."""

from __future__ import annotations

import base64
import io
import re
from typing import TYPE_CHECKING

import boto3
import requests
from PIL import Image

from takedown.approval.thumbnail import THUMBNAIL_SIZE, thumbnail_key
from takedown.model import CaseStatus

from .review_cases import case_awaiting_review, links_in, mail_to, open_review, reviewers_of

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment

DATA_URI = re.compile(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"')


def test_the_thumbnail_is_shown_only_when_asked_for_and_each_showing_is_recorded(
    local: LocalEnvironment,
) -> None:
    # GIVEN a case waiting for review
    case_id, cases = case_awaiting_review(local)
    record = cases.require(case_id)
    # THEN hashing stored a small greyscale thumbnail beside the media
    stored = boto3.client("s3").get_object(
        Bucket=local.settings().evidence_bucket, Key=thumbnail_key(record.sighting.sha256)
    )
    assert stored["ContentType"] == "image/jpeg"
    with Image.open(io.BytesIO(stored["Body"].read())) as thumbnail:
        assert thumbnail.mode == "L" and max(thumbnail.size) == THUMBNAIL_SIZE
    [link] = links_in(mail_to(reviewers_of(local)[0]))
    with requests.Session() as browser:
        # WHEN the reviewer opens the link THEN no picture is on the page
        page, post_url, fields = open_review(browser, link)
        assert "<img" not in page.text and 'id="thumbnail-button"' in page.text
        assert "img-src data:" in page.headers["Content-Security-Policy"]
        events_before = len(cases.events(case_id))
        # WHEN the thumbnail is asked for without the CSRF cookie THEN it is refused and nothing is recorded
        forged = requests.post(post_url, data={**fields, "action": "thumbnail"}, timeout=10)
        assert forged.status_code == 403 and "<img" not in forged.text
        assert len(cases.events(case_id)) == events_before
        # WHEN the reviewer asks for it, with an edit in progress
        shown = browser.post(
            post_url, data={**fields, "action": "thumbnail", "reason": "looks alike"}, timeout=10
        )
    # THEN the page comes back with the thumbnail inline (the stored JPEG) and the edit kept
    assert shown.status_code == 200
    [encoded] = DATA_URI.findall(shown.text)
    with Image.open(io.BytesIO(base64.b64decode(encoded))) as inline:
        assert inline.format == "JPEG" and inline.mode == "L"
    assert ">looks alike</textarea>" in shown.text
    # AND the showing is on the timeline with who asked, and nothing else about the case changed
    [event] = [e for e in cases.events(case_id) if e.stage == "thumbnail-shown"]
    assert event.detail["reviewer"] == reviewers_of(local)[0]
    assert cases.require(case_id).status is CaseStatus.AWAITING_REVIEW
    assert cases.require(case_id).version == record.version
