"""Re-checks of a members-only page, on the local stack: the source's secret (moto Secrets Manager) goes with the
re-check's requests to the source's own hosts, so a removal behind the login is seen as one.

The site is a real loopback server that answers 403 to any request without the members' key header and session
cookie (the crawl's credentials test's site). Time is injected through the re-check's event.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import boto3
from PIL import Image

from takedown.config import ENV_FOLLOW_UP_INTERVAL_HOURS
from takedown.model import CaseStatus
from tests.functional.conftest import register, synthetic_png
from tests.functional.credentials.members_site import (
    KEY_VALUE,
    SECRET_NAME,
    SESSION_VALUE,
    MembersOnlySite,
    logged_text,
    store_members_secret,
)
from tests.functional.follow_up_site import (
    approve_latest_review,
    case_of,
    cases,
    deploy_loopback_source,
    deploy_settings,
    first_sent_at,
    hours,
    recheck,
    store_sighting,
    wait_for_status,
)

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from takedown.cases.follow_up import CheckRecord
    from takedown.cases.record import CaseRecord
    from takedown.local.environment import LocalEnvironment
    from tests.unit.crawl.conftest import LoopbackSite, RecordedRequest

PAGE = "/board/1"
MEDIA = "/files/1.jpg"
MISSING_SECRET = "takedown/crawl/never-created"


def _as_jpeg(data: bytes) -> bytes:
    """A recompressed copy of the original, as the board holds it."""
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _notified_members_case(
    local: LocalEnvironment, site: MembersOnlySite, tmp_path: Path, *, secret_ref: str = SECRET_NAME
) -> tuple[CaseRecord, bytes]:
    """A case of a picture on the members-only board whose first notice went out; its copy's bytes.

    The follow-up interval is 48 hours, so a check a day after the notice that finds the picture up waits (no
    reminder is drafted, no execution runs while the test looks at the checks).
    """
    deploy_settings(local, ["handle_recheck_cases"], {ENV_FOLLOW_UP_INTERVAL_HOURS: "48"})
    deploy_loopback_source(local, tmp_path, secret_ref=secret_ref)
    original = synthetic_png(21)
    register(local, original)
    copy = _as_jpeg(original)
    site.serve(
        PAGE, f'<html><body><img src="{MEDIA}" alt=""></body></html>'.encode(), content_type="text/html"
    )
    site.serve(MEDIA, copy, content_type="image/jpeg")
    sighting = store_sighting(local, copy, site.url(PAGE), site.url(MEDIA))
    case_id = case_of(local, sighting)
    wait_for_status(local, case_id, CaseStatus.AWAITING_REVIEW)
    approve_latest_review(local)
    return wait_for_status(local, case_id, CaseStatus.SENT), copy


def _last_check(local: LocalEnvironment, case_id: str) -> CheckRecord:
    follow_up = cases(local).require(case_id).follow_up
    assert follow_up is not None and follow_up.last_check is not None
    return follow_up.last_check


def _with_credentials(request: RecordedRequest) -> bool:
    return request.headers.get("X-Members-Key") == KEY_VALUE and f"session={SESSION_VALUE}" in (
        request.headers.get("Cookie") or ""
    )


def _case_text(local: LocalEnvironment, case_id: str) -> str:
    """The case and its whole timeline as text, to look for leaked credentials."""
    record = cases(local).require(case_id)
    events = [event.detail for event in cases(local).events(case_id)]
    return json.dumps({"follow_up": record.follow_up.to_dict() if record.follow_up else {}, "events": events})


def test_a_members_only_case_is_rechecked_with_its_credentials_and_closes_when_removed(
    local: LocalEnvironment,
    tmp_path: Path,
    members_site: MembersOnlySite,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN a notified case of a picture on a members-only board, whose key header and session cookie are in
    # Secrets Manager
    store_members_secret()
    record, _ = _notified_members_case(local, members_site, tmp_path)
    sent = first_sent_at(record)
    before = len(members_site.requests)
    # WHEN the re-check runs a day after the notice
    result = recheck(local, sent + hours(25))
    # THEN the page and the picture were fetched with the credentials, and the picture is seen still up
    checked = members_site.requests[before:]
    assert [r.path for r in checked] == [PAGE, MEDIA]
    assert all(_with_credentials(r) for r in checked)
    assert result["results"][0]["outcome"] == "present"
    up = _last_check(local, record.case_id)
    assert (up.verdict.value, up.page_status, up.media_status) == ("present", 200, 200)
    assert "page:shows-media" in up.reason
    # WHEN the operator removes the post and its file (404 to members; still 403 to anyone else)
    members_site.serve(PAGE, b"gone", status=404)
    members_site.serve(MEDIA, b"gone", status=404)
    recheck(local, sent + hours(50))
    # THEN one removed check is recorded and the case stays open
    first_removed = _last_check(local, record.case_id)
    assert (first_removed.verdict.value, first_removed.media_status) == ("removed", 404)
    assert cases(local).require(record.case_id).status is CaseStatus.SENT
    # WHEN the next check finds it gone too
    recheck(local, sent + hours(75))
    # THEN the case is REMOVED since the first of the two checks, as for a public page
    closed = cases(local).require(record.case_id)
    assert closed.status is CaseStatus.REMOVED
    assert closed.milestones["REMOVED"] == first_removed.at
    assert closed.recheck_due_at == ""
    assert all(_with_credentials(r) for r in members_site.requests[before:])
    # AND the credentials are in no log line and nowhere on the case
    logged = logged_text(caplog)
    for value in (KEY_VALUE, SESSION_VALUE):
        assert value not in logged
        assert value not in _case_text(local, record.case_id)


def test_an_unusable_secret_makes_an_unknown_check_and_nothing_is_fetched(
    local: LocalEnvironment,
    tmp_path: Path,
    members_site: MembersOnlySite,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN a notified case on a members-only board whose source names a secret that does not exist
    record, _ = _notified_members_case(local, members_site, tmp_path, secret_ref=MISSING_SECRET)
    sent = first_sent_at(record)
    before = len(members_site.requests)
    members_site.serve(MEDIA, b"gone", status=404)
    # WHEN the re-check runs
    result = recheck(local, sent + hours(25))
    # THEN nothing was fetched (not even without the credentials), and the check is unknown with the reason
    assert members_site.requests[before:] == []
    assert result["results"][0]["outcome"] == "unknown"
    missing = _last_check(local, record.case_id)
    assert (missing.verdict.value, missing.page_status, missing.media_status) == ("unknown", 0, 0)
    assert missing.reason.startswith("secret:not-found")
    # AND the case stays open and comes due again a re-check interval later; nothing counts as removed
    after = cases(local).require(record.case_id)
    assert after.status is CaseStatus.SENT
    assert after.follow_up is not None and after.follow_up.consecutive_removed == 0
    assert after.recheck_due_at == (sent + hours(49)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # WHEN the secret is then created malformed (a key it may not have), holding a credential
    boto3.client("secretsmanager").create_secret(
        Name=MISSING_SECRET,
        SecretString=json.dumps({"headers": {"X-Members-Key": KEY_VALUE}, "token": SESSION_VALUE}),
    )
    recheck(local, sent + hours(50))
    # THEN that check is unknown too, with its own reason, and still nothing was fetched
    malformed = _last_check(local, record.case_id)
    assert (malformed.verdict.value, malformed.reason.split(" ")[0]) == ("unknown", "secret:invalid")
    assert members_site.requests[before:] == []
    assert [e.detail["verdict"] for e in cases(local).events(record.case_id) if e.stage == "recheck"] == [
        "unknown",
        "unknown",
    ]
    # AND the reason was logged, but none of the secret's values
    logged = logged_text(caplog)
    assert "secret:not-found" in logged and "unknown key 'token'" in logged
    for value in (KEY_VALUE, SESSION_VALUE):
        assert value not in logged
        assert value not in _case_text(local, record.case_id)


def test_the_credentials_do_not_follow_a_redirect_to_another_host(
    local: LocalEnvironment, tmp_path: Path, members_site: MembersOnlySite, other_site: LoopbackSite
) -> None:
    # GIVEN a notified members-only case whose picture has since moved to a file host (localhost: a name not in
    # the source's allowed hosts) that serves it to anyone; the board redirects members there
    store_members_secret()
    record, copy = _notified_members_case(local, members_site, tmp_path)
    other_site.serve(MEDIA, copy, content_type="image/jpeg")
    members_site.redirect(MEDIA, f"http://localhost:{other_site.port}{MEDIA}")
    before = len(members_site.requests)
    # WHEN the re-check runs
    recheck(local, first_sent_at(record) + hours(25))
    # THEN the board got the credentials with both requests, the file host with none
    assert [r.path for r in members_site.requests[before:]] == [PAGE, MEDIA]
    assert all(_with_credentials(r) for r in members_site.requests[before:])
    assert [r.path for r in other_site.requests] == [MEDIA]
    assert "X-Members-Key" not in other_site.requests[0].headers
    assert "Cookie" not in other_site.requests[0].headers
    # AND the picture is still recognised where it moved
    assert _last_check(local, record.case_id).verdict.value == "present"
