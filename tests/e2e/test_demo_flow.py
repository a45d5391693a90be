"""The same local flow as ``make demo``: crawl a loopback site, match, draft, review, send; assert on the mail."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from takedown.demo.run import run_demo

pytestmark = pytest.mark.e2e


def test_demo_sends_notices_for_altered_copies_and_leaves_unrelated_images_alone(tmp_path: Path) -> None:
    # WHEN the demo runs end to end, playing the reviewer through the real review page
    summary = run_demo(out_dir=tmp_path, quiet=True)
    # THEN every altered copy became a case that was approved and sent, and nothing unrelated was touched
    assert summary.matches >= 1
    assert summary.sent == summary.matches == summary.approved
    assert summary.unrelated_total > 0 and summary.unrelated_left_alone == summary.unrelated_total
    assert summary.notices_drafted == summary.matches
    assert set(summary.case_statuses.values()) == {"SENT"}
    # AND the board hosted abroad got its notice in Vietnamese and English (after Korean: its pages are in
    # Korean, so its operator reads Korean), the Korean board in Korean and English
    languages = {recipient: locales for _, recipient, locales in summary.sent_notices}
    assert languages["abuse@board.example.vn"] == ["ko", "vi", "en"]
    assert languages["abuse@site.example"] == ["ko", "en"]
    # AND each sent message goes to the site's contact, names the page, carries no attachment and no bank reference
    assert len(summary.sent_files) == summary.sent
    for path in summary.sent_files:
        raw = Path(path).read_text(encoding="utf-8")
        message = email.message_from_string(raw, policy=email.policy.default)
        assert message["To"] in {"abuse@site.example", "abuse@board.example.vn"}
        assert message["Reply-To"]
        assert message["Subject"]
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        assert "http://127.0.0.1:" in text and "/board/" in text
        assert not list(message.iter_attachments())
        assert "DEMO-" not in raw  # the centre's bank reference never reaches an operator
        assert "image/" not in message.get_content_type()
