"""The same local flow as ``make demo``: crawl a loopback site, match, draft, review, send; then the operators
respond, the re-checks run at injected times, a follow-up goes out, and ``takedown report`` sums it up. The
assertions read the messages the SES mailbox held (written out as .eml files) and the summary."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path

import pytest
from PIL import Image

from takedown.demo.after_notice import OperatorResponse
from takedown.demo.run import run_demo
from takedown.demo.summary import CHART_NAME

pytestmark = pytest.mark.e2e

SITE_CONTACT = "abuse@site.example"
ABROAD_CONTACT = "abuse@board.example.vn"


def _message(path: str) -> EmailMessage:
    raw = Path(path).read_text(encoding="utf-8")
    message = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _plain(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def _table_row(report: str, label: str) -> list[str]:
    """The cells after ``label`` in the report line that starts with it."""
    for line in report.splitlines():
        if line.startswith(label):
            return line[len(label) :].split("  ")
    raise AssertionError(f"no row {label!r} in the report:\n{report}")


def _cells(row: list[str]) -> list[str]:
    return [cell.strip() for cell in row if cell.strip()]


def test_demo_follows_each_case_from_sighting_to_removal(tmp_path: Path) -> None:
    # WHEN the demo runs end to end, playing the reviewer through the real review page
    summary = run_demo(out_dir=tmp_path, quiet=True)

    # THEN every altered copy became a case that was approved and sent, and nothing unrelated was touched
    assert summary.matches >= 1
    assert summary.sent == summary.matches == summary.approved
    assert summary.unrelated_total > 0 and summary.unrelated_left_alone == summary.unrelated_total
    assert summary.notices_drafted == summary.matches
    # AND the board hosted abroad got its notice in Vietnamese and English (after Korean: its pages are in
    # Korean, so its operator reads Korean), the Korean board in Korean and English
    languages = {recipient: locales for _, recipient, locales in summary.sent_notices}
    assert languages[ABROAD_CONTACT] == ["ko", "vi", "en"]
    assert languages[SITE_CONTACT] == ["ko", "en"]
    # AND each first notice goes to the site's contact, names the page, carries no attachment and no bank reference
    assert len(summary.sent_files) == summary.sent
    for path in summary.sent_files:
        message = _message(path)
        assert message["To"] in {SITE_CONTACT, ABROAD_CONTACT}
        assert message["Reply-To"]
        assert message["Subject"]
        text = _plain(message)
        assert "http://127.0.0.1:" in text and "/board/" in text
        assert not list(message.iter_attachments())
        assert "DEMO-" not in message.as_string()  # the centre's bank reference never reaches an operator
        assert "image/" not in message.get_content_type()

    # THEN after the operators responded, the deleted picture and the placeholder closed as REMOVED after two
    # removed checks, and the picture left up is still SENT, found present at both checks
    outcomes = {outcome.response: outcome for outcome in summary.case_outcomes}
    assert set(outcomes) == set(OperatorResponse)
    for response in (OperatorResponse.DELETES_PICTURE, OperatorResponse.PLACEHOLDER):
        assert outcomes[response].status == "REMOVED"
        assert outcomes[response].verdicts == ["removed", "removed"]
        assert outcomes[response].follow_ups_sent == 0
    left_up = outcomes[OperatorResponse.LEAVES_UP]
    assert left_up.status == "SENT"
    assert left_up.verdicts == ["present", "present"]
    assert sorted(summary.case_statuses.values()) == ["REMOVED", "REMOVED", "SENT"]
    assert summary.check_offsets_hours == [24, 48]
    assert summary.rechecks == 2 * summary.sent
    assert summary.removed == 2
    assert summary.escalations == 0
    # AND the picture left up got one follow-up per check, each reviewed, to the recipient of its first notice
    assert summary.follow_ups_sent == left_up.follow_ups_sent == 2
    assert summary.follow_ups_reviewed == 2
    first_to_left_up = [
        path for path, recipient, _ in summary.sent_notices if recipient in left_up.follow_up_recipients
    ]
    assert len(first_to_left_up) == 1
    first_message_id = re.fullmatch(r"notice-(.+)\.eml", Path(first_to_left_up[0]).name)
    assert first_message_id is not None
    assert [version for _, _, version in summary.follow_up_files] == [2, 3]
    for path, recipient, _ in summary.follow_up_files:
        follow_up = _message(path)
        # THEN the follow-up went out of the SES mailbox to the same recipient, marked as a follow-up, quoting the
        # first notice by its message id, still without attachment or bank reference
        assert follow_up["To"] == recipient == left_up.follow_up_recipients[0]
        assert follow_up["Subject"].startswith("[후속 요청]")
        assert first_message_id.group(1) in _plain(follow_up)
        assert not list(follow_up.iter_attachments())
        assert "DEMO-" not in follow_up.as_string()

    # THEN the summary carries takedown report's table: every case measured to its notice, the two removals a day
    # after their notices
    report = summary.report_text
    assert report.startswith(f"{summary.matches} cases (REMOVED 2, SENT 1)")
    assert _cells(_table_row(report, "first sighting -> notice drafted"))[0] == str(summary.matches)
    assert _cells(_table_row(report, "sent -> removed")) == ["2", "1d 00h", "1d 00h"]
    assert _cells(_table_row(report, "site.example")) == ["2", "2", "1d 00h", "1d 00h"]
    # AND the time-to-notice chart is a PNG in the output folder
    chart = Path(summary.chart_path)
    assert chart == tmp_path / CHART_NAME
    with Image.open(chart) as image:
        assert image.format == "PNG"
        assert image.width > 0 and image.height > 0
    assert any(line.startswith("takedown report") for line in summary.lines())
