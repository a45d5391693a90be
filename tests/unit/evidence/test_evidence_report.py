from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from takedown.config import templates_dir
from takedown.evidence.report import (
    REPORT_BODY_END,
    REPORT_BODY_START,
    REPORT_SCHEMA,
    EvidenceReport,
    EvidenceReportError,
    render_report_html,
    report_from_json,
    report_json,
    report_json_bytes,
)
from takedown.model import CaseEvent, MatchEvidence, Recipient, Sighting
from tests.unit.notices.html_probe import HtmlProbe

if TYPE_CHECKING:
    from pathlib import Path

MEDIA_SHA256 = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0"
WARC_SHA256 = "1e0d2c3b4a5f69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
HOSTILE = "<script>alert(1)</script>{{ 7*7 }}{% raw %}\r\nBcc: attacker@evil.test\u202egnp.exe"


@pytest.fixture
def templates() -> Path:
    return templates_dir()


def _report(**overrides: Any) -> EvidenceReport:
    sighting = Sighting(
        media_key=f"media/{MEDIA_SHA256}", sha256=MEDIA_SHA256, md5="0cc175b9c0f1b6a831c399e269772661",
        page_url="https://board.site.example/gallery/view?id=8812",
        media_url="https://cdn.site.example/u/2026/11/a81f.jpg", fetched_at="2026-11-28T07:25:13.482000Z",
        content_type="image/jpeg", source_id="demo-board", size_bytes=48213, server_ip="203.0.113.7",
        page_title="Gallery 8812", page_lang="ko", page_contacts=["admin@site.example"],
    )  # fmt: skip
    values: dict[str, Any] = {
        "case_id": "5d41402abc4b2a76b9719d911017c592",
        "generated_at": "2026-11-28T07:26:40.000000Z",
        "sighting": sighting,
        "matches": [
            MatchEvidence(
                algorithm="pdq",
                distance=14,
                threshold=31,
                bank="centre",
                bank_item_id="item-0007",
                case_ref="SEOUL-0007",
                query_hash="c3" * 32,
                bank_hash="c1" * 32,
                quality=92,
            ),
            MatchEvidence(
                algorithm="phash",
                distance=6,
                threshold=10,
                bank="centre",
                bank_item_id="item-0007",
                case_ref="SEOUL-0007",
                query_hash="a1b2c3d4e5f60718",
                bank_hash="a1b2c3d4e5f60719",
            ),
        ],
        "recipients": [
            Recipient(
                "admin@site.example",
                "site",
                "mailto link on https://board.site.example/contact",
                0.9,
                "KR",
                "ko",
            ),
            Recipient("abuse@host.example", "host", "RDAP abuse contact of 203.0.113.7", 0.75, "US", "en"),
        ],
        "timeline": [
            CaseEvent("2026-11-28T07:25:14.100000Z", "crawl", "SIGHTED", {"source": "demo-board"}),
            CaseEvent("2026-11-28T07:25:20.000000Z", "score", "MATCHED", {"matches": 2}),
            CaseEvent("2026-11-28T07:26:02.000000Z", "resolve-recipients", "RECIPIENTS_RESOLVED"),
        ],
        "evidence_objects": [
            {"key": f"media/{MEDIA_SHA256}", "sha256": MEDIA_SHA256, "kind": "media"},
            {
                "key": "evidence/5d41402abc4b2a76b9719d911017c592/page.warc.gz",
                "sha256": WARC_SHA256,
                "kind": "warc",
            },
            {"key": "sightings/9f8e7d6c/page.json", "sha256": "", "kind": "sighting"},
        ],
    }
    values.update(overrides)
    return EvidenceReport(**values)


# --- JSON ------------------------------------------------------------------------------------------------------


def test_report_json_names_its_schema_and_round_trips_through_json_text() -> None:
    # GIVEN a report
    report = _report()
    # WHEN it goes to JSON text and back
    data = report_json(report)
    restored = report_from_json(json.loads(json.dumps(data)))
    # THEN it is the same report, under the documented schema
    assert data["schema"] == REPORT_SCHEMA == "takedown.evidence-report/1"
    assert set(data) == {
        "schema", "case_id", "generated_at", "sighting", "matches", "recipients", "timeline", "evidence_objects",
    }  # fmt: skip
    assert restored == report


def test_report_json_keeps_the_order_of_matches_timeline_and_evidence() -> None:
    data = report_json(_report())
    assert [m["algorithm"] for m in data["matches"]] == ["pdq", "phash"]
    assert [e["stage"] for e in data["timeline"]] == ["crawl", "score", "resolve-recipients"]
    assert [o["kind"] for o in data["evidence_objects"]] == ["media", "warc", "sighting"]


def test_canonical_bytes_are_stable_and_sorted() -> None:
    first, second = report_json_bytes(_report()), report_json_bytes(_report())
    assert first == second
    assert json.loads(first) == report_json(_report())
    assert first.startswith(b'{"case_id":')  # sorted keys, no spaces
    assert b": " not in first


@pytest.mark.parametrize(
    ("mutate", "complaint"),
    [
        (lambda d: d.update(schema="takedown.evidence-report/2"), "unsupported schema"),
        (lambda d: d.pop("timeline"), "missing \\['timeline'\\]"),
        (lambda d: d.update(extra=1), "unknown \\['extra'\\]"),
        (lambda d: d.update(matches={"not": "a list"}), "matches must be a list"),
        (lambda d: d["matches"][0].pop("distance"), "malformed record"),
        (lambda d: d.update(sighting="https://board.site.example"), "sighting must be an object"),
    ],
)
def test_report_from_json_refuses_what_it_cannot_trust(mutate: Any, complaint: str) -> None:
    data = json.loads(json.dumps(report_json(_report())))
    mutate(data)
    with pytest.raises(EvidenceReportError, match=complaint):
        report_from_json(data)


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"case_id": " "}, "case_id"),
        ({"generated_at": "28/11/2026"}, "generated_at"),
        ({"evidence_objects": [{"key": "media/x", "sha256": MEDIA_SHA256}]}, "exactly the keys"),
        ({"evidence_objects": [{"key": "media/x", "sha256": "xyz", "kind": "media"}]}, "sha256"),
        ({"evidence_objects": [{"key": "", "sha256": MEDIA_SHA256, "kind": "media"}]}, "must not be empty"),
    ],
)
def test_a_report_that_cannot_be_right_is_refused(overrides: dict[str, Any], complaint: str) -> None:
    with pytest.raises(EvidenceReportError, match=complaint):
        _report(**overrides)


# --- HTML ------------------------------------------------------------------------------------------------------


def test_the_html_report_states_every_fact_a_reviewer_checks(templates: Path) -> None:
    # GIVEN a report
    report = _report()
    # WHEN it is rendered
    page = HtmlProbe(render_report_html(report, templates))
    shown = page.visible_text
    # THEN the case, location, server, digests and fetch time are there (times in UTC, to the second)
    s = report.sighting
    for fact in [report.case_id, s.page_url, s.media_url, s.server_ip, s.sha256, s.md5, s.page_title,
                 "2026-11-28 07:25:13 UTC", "2026-11-28 07:26:40 UTC", "48213 bytes", "admin@site.example"]:  # fmt: skip
        assert fact in shown, fact
    # AND why each match matched: algorithm, distance against threshold, quality, bank item and both hashes
    matches = page.by_id("er-matches").text
    for match in report.matches:
        for fact in (match.algorithm, f"{match.distance} / {match.threshold}", match.bank_item_id, match.case_ref,
                     match.query_hash, match.bank_hash):  # fmt: skip
            assert fact in matches, fact
    assert "92" in matches
    # AND who is told, where the address was found and how sure we are
    recipients = page.by_id("er-recipients").text
    assert "RDAP abuse contact of 203.0.113.7" in recipients and "75%" in recipients and "90%" in recipients
    # AND the timeline in order, and every evidence object with its digest (or that none was recorded)
    timeline = page.by_id("er-timeline").text
    positions = [timeline.index(t) for t in ("07:25:14 UTC", "07:25:20 UTC", "07:26:02 UTC")]
    assert positions == sorted(positions)
    assert "RECIPIENTS_RESOLVED" in timeline and "demo-board" in timeline
    evidence = page.by_id("er-evidence").text
    for item in report.evidence_objects:
        assert item["key"] in evidence
    assert WARC_SHA256 in evidence and "not recorded" in evidence


def test_the_html_report_embeds_no_media_and_nothing_external(templates: Path) -> None:
    html = render_report_html(_report(), templates)
    page = HtmlProbe(html)
    assert "<img" not in html.lower()
    assert page.tags("script") == [] and page.tags("link") == [] and page.tags("iframe") == []
    assert "src=" not in html and "url(" not in html and "@import" not in html
    assert page.tags("a") == []  # URLs are text: nobody opens the content by a click


def test_the_html_report_is_printable_and_marks_its_body(templates: Path) -> None:
    html = render_report_html(_report(), templates)
    assert html.startswith("<!DOCTYPE html>")
    assert "@media print" in html
    assert html.count(REPORT_BODY_START) == 1 and html.count(REPORT_BODY_END) == 1
    body = html.split(REPORT_BODY_START, 1)[1].split(REPORT_BODY_END, 1)[0].strip()
    assert body.startswith('<article class="er"') and body.endswith("</article>")


def test_a_match_beyond_its_threshold_is_flagged(templates: Path) -> None:
    beyond = replace(_report().matches[0], distance=40)
    page = HtmlProbe(render_report_html(_report(matches=[beyond]), templates))
    flagged = [e for e in page.elements if "er-beyond" in e.attrs.get("class", "")]
    assert [e.text for e in flagged] == ["40 / 31"]


def test_hostile_page_data_is_escaped_and_never_evaluated(templates: Path) -> None:
    # GIVEN a sighting whose title, URL and contacts, and a timeline detail, are hostile
    sighting = replace(
        _report().sighting,
        page_title=HOSTILE,
        page_url=f"https://board.site.example/?q={HOSTILE}",
        page_contacts=[HOSTILE],
    )
    report = _report(
        sighting=sighting,
        timeline=[CaseEvent("2026-11-28T07:25:14Z", "crawl", "SIGHTED", {"title": HOSTILE})],
    )
    # WHEN the report is rendered
    html = render_report_html(report, templates)
    # THEN markup is escaped, template syntax is literal, and line breaks and the override are visible markers
    assert "<script" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}{% raw %}[U+000D][U+000A]Bcc") == 3
    assert "%3Cscript%3Ealert(1)%3C/script%3E{{%207*7%20}}{%%20raw%20%}%0D%0ABcc" in html
    assert "\u202e" not in html and "\r" not in html
    assert not re.search(r"(?<![0-9a-f])49(?![0-9a-f])", html.split("<style>")[0] + html.split("</style>")[1])


def test_an_empty_case_renders_with_explicit_nones(templates: Path) -> None:
    page = HtmlProbe(
        render_report_html(_report(matches=[], recipients=[], timeline=[], evidence_objects=[]), templates)
    )
    for section in ("er-matches", "er-recipients", "er-timeline", "er-evidence"):
        assert "none" in page.by_id(section).text, section


def test_a_form_only_recipient_shows_its_web_form(templates: Path) -> None:
    # GIVEN a recipient reachable only through a web form (no address), and one with both
    form_url = "https://abuse.cdn.example/report?kind=csam"
    report = _report(
        recipients=[
            Recipient("", "cdn", "CDN abuse form", 0.5, contact_form_url=form_url),
            Recipient(
                "desk@platform.example", "platform", "registry", 0.9, contact_form_url=form_url + "&x=1"
            ),
        ]
    )
    # WHEN the report is rendered
    recipients = HtmlProbe(render_report_html(report, templates)).by_id("er-recipients").text
    # THEN the form's address stands where the e-mail address would, marked as a web form, for both
    assert recipients.count("Web form") == 2
    assert form_url in recipients and f"{form_url}&x=1" in recipients
    assert "desk@platform.example" in recipients
    # AND the JSON report keeps it too
    assert report_json(report)["recipients"][0]["contact_form_url"] == form_url
