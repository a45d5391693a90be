"""The reminder: once, inside the window before the approval times out, with a fresh link; time is injected."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import requests

from takedown.handlers.handle_remind_reviewers import remind_reviewers
from takedown.observability import metrics

from .review_cases import case_awaiting_review, links_in, mail_to, reviewers_of

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment

HOUR = 3600


def _published(name: str) -> list[float]:
    """The values of one metric in the Powertools metric set not yet flushed (the handler's decorator flushes)."""
    return [float(v) for v in metrics.metric_set.get(name, {}).get("Value", [])]


def test_a_reviewer_is_reminded_once_before_the_timeout(local: LocalEnvironment) -> None:
    # GIVEN a case waiting for review, due in the configured approval timeout
    case_id, cases = case_awaiting_review(local)
    reviewer = reviewers_of(local)[0]
    review = cases.get_review(cases.require(case_id).review_id)
    assert review is not None and review.due_at > 0
    settings = local.settings("handle_remind_reviewers")
    window = settings.review_reminder_hours
    assert len(mail_to(reviewer)) == 1
    metrics.clear_metrics()

    # WHEN the reminder runs while the deadline is still beyond the window
    early = remind_reviewers(settings, now=datetime.fromtimestamp(review.due_at - (window + 1) * HOUR, UTC))
    # THEN nobody is reminded and nothing is near its timeout
    assert (early["reminded"], early["near_timeout"]) == (0, 0)
    assert len(mail_to(reviewer)) == 1 and _published("ReviewsNearTimeout") == [0.0]

    # WHEN it runs inside the window, twice
    inside = datetime.fromtimestamp(review.due_at - (window - 1) * HOUR, UTC)
    first = remind_reviewers(settings, now=inside)
    second = remind_reviewers(settings, now=inside)
    # THEN the reviewer got exactly one reminder, and the metric counted the review near its timeout each time
    assert (first["reminded"], first["near_timeout"]) == (1, 1)
    assert (second["reminded"], second["near_timeout"]) == (0, 1)
    assert _published("ReviewsNearTimeout") == [0.0, 1.0, 1.0]
    assert _published("ReviewRemindersSent") == [0.0, 1.0, 0.0]
    metrics.clear_metrics()
    mails = mail_to(reviewer)
    assert len(mails) == 2
    reminder = mails[-1]
    assert "Review due soon" in reminder.subject and review.task_token not in reminder.raw
    due_shown = datetime.fromtimestamp(review.due_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    assert due_shown in reminder.body("plain")
    # AND its link is a fresh one that ends at the deadline and opens the review page
    [link] = links_in([reminder])
    assert int(re.search(r"e=(\d+)", link).group(1)) == review.due_at  # type: ignore[union-attr]
    assert requests.get(link, timeout=10).status_code == 200
    # AND the reminder is on the timeline with the review and the reviewer
    [event] = [e for e in cases.events(case_id) if e.stage == "review-reminder"]
    assert (event.detail["reviewer"], event.detail["review_id"]) == (reviewer, review.review_id)
    assert event.at.startswith(inside.strftime("%Y-%m-%dT%H:%M"))


def test_the_scheduled_function_runs_on_the_local_stack(local: LocalEnvironment) -> None:
    # GIVEN a case freshly waiting for review (its deadline days away)
    case_awaiting_review(local)
    # WHEN the schedule invokes the reminder function THEN it reads the index and reminds nobody yet
    assert local.function_name("handle_remind_reviewers") in local.resources.schedule_targets
    assert local.invoke("handle_remind_reviewers", {}) == {
        "near_timeout": 0,
        "reminded": 0,
        "stale": 0,
        "failed": 0,
    }
