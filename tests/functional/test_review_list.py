"""GET /reviews: the signed-in reviewer's pending reviews. Locally the API server stands in for API Gateway's
Cognito authorizer: a registered token's claims reach the function, anything else is 401 without invoking it."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

import requests

from .review_cases import case_awaiting_review, open_review, reviewers_of

if TYPE_CHECKING:
    from takedown.local.environment import LocalEnvironment

TOKEN = "local-id-token-of-the-reviewer"
STRANGER_TOKEN = "local-id-token-of-someone-else"


def test_a_signed_in_reviewer_lists_their_pending_reviews(local: LocalEnvironment) -> None:
    # GIVEN a case waiting for review and its reviewer signed in (and someone who is not a reviewer)
    case_id, cases = case_awaiting_review(local)
    reviewer = reviewers_of(local)[0]
    assert local.api is not None
    local.api.sign_in(TOKEN, {"email": reviewer, "email_verified": "true"})
    local.api.sign_in(STRANGER_TOKEN, {"email": "someone@else.example", "email_verified": "true"})
    list_url = f"{local.api.base_url}/reviews"

    # WHEN the list is asked for without signing in, or with an unknown token
    # THEN API Gateway's answer comes back: 401, the function never ran
    for headers in ({}, {"Authorization": "forged"}):
        refused = requests.get(list_url, headers=headers, timeout=10)
        assert refused.status_code == 401 and refused.json() == {"message": "Unauthorized"}
    # AND a signed-in account that is not a configured reviewer is refused by the function
    stranger = requests.get(list_url, headers={"Authorization": STRANGER_TOKEN}, timeout=10)
    assert stranger.status_code == 403 and 'data-message="not_a_reviewer"' in stranger.text

    # WHEN the reviewer asks, in English
    listed = requests.get(f"{list_url}?lang=en", headers={"Authorization": TOKEN}, timeout=10)
    # THEN the page lists the case with a fresh signed link to its review, and changes nothing
    assert listed.status_code == 200 and case_id in listed.text and "Pending reviews" in listed.text
    assert listed.headers["Cache-Control"] == "no-store"
    review_id = cases.require(case_id).review_id
    [href] = re.findall(r'href="(reviews/[^"]+)"', listed.text)
    assert href.startswith(f"reviews/{review_id}?e=")
    link = requests.compat.urljoin(list_url, html.unescape(href))
    with requests.Session() as browser:
        page, post_url, fields = open_review(browser, link)
        assert page.status_code == 200 and case_id in page.text
        # WHEN the reviewer decides through it
        assert browser.post(post_url, data={**fields, "decision": "REJECTED"}, timeout=10).status_code == 200
    # THEN the list is empty
    after = requests.get(list_url, headers={"Authorization": TOKEN}, timeout=10)
    assert after.status_code == 200 and 'id="review-list-empty"' in after.text
