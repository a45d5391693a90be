"""The demo's reviewer: reads the review links emailed to the reviewer and decides them through the real review page.

A :class:`ReviewDesk` keeps the links it has already handled, so each round (the first notices, then each follow-up)
takes only the new ones. It either plays the reviewer (opens each link like a browser and submits the form with
"approve") or, for ``takedown demo --wait-for-review``, prints the links and waits for a person to decide them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Final
from urllib.parse import urljoin

import requests

from takedown.local.mailbox import SentMail, sent_mail

if TYPE_CHECKING:
    from collections.abc import Callable

    from takedown.local.environment import LocalEnvironment

REVIEW_LINK: Final = re.compile(r"https?://127\.0\.0\.1:\d+/reviews/[A-Za-z0-9_-]+\?e=\d+&s=[A-Za-z0-9_-]+")
REVIEW_FORM_ID: Final = "review-form"
# A person may take their time in the browser; the demo waits for them as long as a review link is valid.
HUMAN_DEADLINE_SECONDS: Final = 24 * 3600.0


class ReviewFormReader(HTMLParser):
    """Reads the review form's fields, as a browser would submit them.

    A browser submits the controls inside ``<form id="review-form">`` and those outside it that name it in their
    ``form`` attribute (the page's recipient tick boxes), ticked boxes only, in document order. ``pairs`` holds
    them all (a name may repeat: one ``recipient`` per ticked box); ``fields`` is the same as a dict, the last
    value of a repeated name winning.
    """

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.pairs: list[tuple[str, str]] = []
        self._in_review_form = False
        self._textarea: int | None = None  # the index in ``pairs`` of the text area being read

    @property
    def fields(self) -> dict[str, str]:
        return dict(self.pairs)

    def _submitted(self, values: dict[str, str]) -> bool:
        if "form" in values:
            return values["form"] == REVIEW_FORM_ID
        return self._in_review_form

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._in_review_form = values.get("id") == REVIEW_FORM_ID
            if self._in_review_form:
                self.action = values.get("action", "")
        elif not values.get("name") or not self._submitted(values):
            return
        elif tag == "input" and values.get("type") not in {"submit", "button"}:
            if values.get("type") in {"checkbox", "radio"} and "checked" not in values:
                return
            self.pairs.append((values["name"], values.get("value", "")))
        elif tag == "textarea":
            self._textarea = len(self.pairs)
            self.pairs.append((values["name"], ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            name, text = self.pairs[self._textarea]
            self.pairs[self._textarea] = (name, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_review_form = False


class ReviewPageError(RuntimeError):
    """A review link did not lead to a page with a review form."""


def review_links(mail: list[SentMail], reviewer: str) -> list[str]:
    """Every review link in the mail sent to ``reviewer``, oldest first, each once."""
    links = []
    for message in mail:
        if reviewer in message.destinations or any(reviewer in d for d in message.destinations):
            links.extend(REVIEW_LINK.findall(message.body("plain")))
    return list(dict.fromkeys(links))


def approve_through_page(link: str) -> int:
    """Open the review link like a browser, then submit the form with ``decision=APPROVED``; the HTTP status.

    Raises
    ------
    ReviewPageError
        If the page has no review form (a decided or expired review).
    """
    with requests.Session() as browser:
        page = browser.get(link, timeout=10)
        page.raise_for_status()
        form = ReviewFormReader()
        form.feed(page.text)
        if not form.action:
            raise ReviewPageError("the review page has no review form")
        fields = [*form.pairs, ("decision", "APPROVED")]
        answer = browser.post(urljoin(link, form.action), data=fields, timeout=10)
        return answer.status_code


@dataclass
class ReviewDesk:
    """The reviewer of the demo, round after round.

    Parameters
    ----------
    local
        The local stack (its approval API serves the review pages).
    reviewer
        The reviewer's address: review links are read from the mail sent to it.
    wait_for_human
        Print the links and wait for a person instead of approving.
    say
        Where progress lines go.
    """

    local: LocalEnvironment
    reviewer: str
    wait_for_human: bool
    say: Callable[[str], None]
    handled: set[str] = field(default_factory=set)

    def new_links(self) -> list[str]:
        """The review links emailed since the last round, oldest first."""
        links = [link for link in review_links(sent_mail(), self.reviewer) if link not in self.handled]
        self.handled.update(links)
        return links

    def decide_round(self, decided: Callable[[], bool], *, what: str) -> int:
        """Decide the new review links: approve each (a person decides them with ``wait_for_human``, and this
        returns once ``decided()`` holds). Returns how many links there were.

        ``what`` names the kind of notice under review in the progress lines, e.g. "follow-up notice".
        """
        links = self.new_links()
        if not links:
            return 0
        if self.wait_for_human:
            # The count first: whoever reads this output (a person, a test) knows how many links follow.
            self.say(
                f"{len(links)} review link(s): open each in a browser and decide (kind: {what}); add &lang=en for "
                "English (Ctrl-C to stop waiting):"
            )
            for link in links:
                self.say(f"  {link}")
            self.local.wait_for(decided, timeout=HUMAN_DEADLINE_SECONDS, interval=1.0)
            self.say("every case is decided")
            return len(links)
        for link in links:
            status = approve_through_page(link)
            self.say(f"reviewer approved a {what} (HTTP {status})")
        return len(links)
