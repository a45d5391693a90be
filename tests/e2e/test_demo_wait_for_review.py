"""``takedown demo --wait-for-review``: the demo stops at the review step, prints the links and waits; a reviewer
(this test, over plain HTTP) opens each printed link and approves; the notices go out. After the re-checks, each
follow-up notice waits for the reviewer the same way; the demo then finishes with its summary."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from typing import TYPE_CHECKING

import pytest
import requests

from takedown.demo.reviewer import ReviewFormReader

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.e2e

WAITING = re.compile(r"^(\d+) review link\(s\): open each in a browser")
LINK = re.compile(r"^\s+(http://127\.0\.0\.1:\d+/reviews/[A-Za-z0-9_-]+\?e=\d+&s=[A-Za-z0-9_-]+)$")
SENT = re.compile(r"notices sent \.+ (\d+)")
FOLLOW_UPS_SENT = re.compile(r"follow-ups sent \.+ (\d+) \((\d+) approved by the reviewer\)")
WAITING_OR_DONE = re.compile(f"{WAITING.pattern}|{SENT.pattern}")
# The whole pipeline runs in the child: crawling, hashing and drafting take a while on a busy machine.
DEMO_DEADLINE_S = 600


class _Output:
    """The child's output, line by line, read on a thread so that a silent child cannot hang the test."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._new = threading.Condition()
        self._done = False
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with self._new:
                self.lines.append(line.rstrip("\n"))
                self._new.notify_all()
        with self._new:
            self._done = True
            self._new.notify_all()

    def wait_for(self, pattern: re.Pattern[str], start: int = 0) -> tuple[int, re.Match[str]]:
        """The index and match of the first line from ``start`` on that matches ``pattern``."""
        with self._new:
            while True:
                for index in range(start, len(self.lines)):
                    found = pattern.search(self.lines[index])
                    if found:
                        return index, found
                if self._done or not self._new.wait(timeout=DEMO_DEADLINE_S):
                    raise AssertionError(
                        f"the demo never printed {pattern.pattern!r}:\n" + "\n".join(self.lines)
                    )


def _approve(link: str) -> int:
    """Open the printed link as a browser would and press "approve"."""
    with requests.Session() as browser:
        page = browser.get(link, timeout=30)
        assert page.status_code == 200
        form = ReviewFormReader()
        form.feed(page.text)
        answer = browser.post(
            requests.compat.urljoin(link, form.action),
            data={**form.fields, "decision": "APPROVED"},
            timeout=30,
        )
        return answer.status_code


def _links_after(output: _Output, index: int, count: int) -> tuple[int, list[str]]:
    links = []
    for _ in range(count):
        index, found = output.wait_for(LINK, index + 1)
        links.append(found.group(1))
    return index, links


def test_the_demo_waits_for_a_click_on_each_printed_link_and_then_sends(tmp_path: Path) -> None:
    # GIVEN the demo started with --wait-for-review
    process = subprocess.Popen(
        [sys.executable, "-m", "takedown.cli", "demo", "--wait-for-review", "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    try:
        output = _Output(process)
        # WHEN it says how many links wait for a decision, and prints them
        index, waiting = output.wait_for(WAITING)
        count = int(waiting.group(1))
        assert count >= 1
        index, links = _links_after(output, index, count)
        # THEN it is waiting: nothing has been decided or sent yet
        assert process.poll() is None
        assert not any(SENT.search(line) for line in output.lines)
        # WHEN the reviewer opens each printed link and approves
        assert [_approve(link) for link in links] == [200] * count
        # THEN after the re-checks, the follow-up of the picture its operator left up waits for the reviewer too,
        # once per check; each is approved the same way until the demo prints its summary
        follow_up_rounds = []
        while True:
            index, found = output.wait_for(WAITING_OR_DONE, index + 1)
            if SENT.search(found.group(0)):
                break
            index, links = _links_after(output, index, int(found.group(1)))
            follow_up_rounds.append(len(links))
            assert [_approve(link) for link in links] == [200] * len(links)
        assert follow_up_rounds == [1, 1]
        # THEN the demo finishes on its own, every first notice and every follow-up sent
        assert process.wait(timeout=DEMO_DEADLINE_S) == 0
        _, sent = output.wait_for(SENT)
        assert int(sent.group(1)) == count
        _, follow_ups = output.wait_for(FOLLOW_UPS_SENT)
        assert follow_ups.groups() == ("2", "2")
        assert len(list((tmp_path / "out").glob("notice-*.eml"))) == count
        assert len(list((tmp_path / "out").glob("follow-up-v*.eml"))) == 2
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
