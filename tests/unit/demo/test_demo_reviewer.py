"""The demo's reviewer: which review links it reads from the mail, and the form fields it submits as a browser would."""

from __future__ import annotations

from email.message import EmailMessage

from takedown.demo.reviewer import ReviewFormReader, review_links
from takedown.local.mailbox import SentMail

REVIEWER = "reviewer@centre.example"
LINK_A = "http://127.0.0.1:4010/reviews/AbC_1-x?e=1800000000&s=sig_A-1"
LINK_B = "http://127.0.0.1:4010/reviews/DeF_2-y?e=1800000000&s=sig_B-2"


def _mail(to: str, text: str, message_id: str) -> SentMail:
    message = EmailMessage()
    message["From"] = "notices@centre.example"
    message["To"] = to
    message["Subject"] = "review"
    message.set_content(text)
    return SentMail(
        message_id=message_id, source="notices@centre.example", destinations=(to,), raw=str(message)
    )


def test_review_links_are_read_from_the_reviewers_mail_only_each_once_in_order() -> None:
    # GIVEN a review email, a reminder repeating its link, a second review, and a notice to an operator with a
    # link-shaped text
    mail = [
        _mail(REVIEWER, f"Please review: {LINK_A}", "m1"),
        _mail("abuse@site.example", f"Copied: {LINK_B}", "m2"),
        _mail(REVIEWER, f"Reminder: {LINK_A}", "m3"),
        _mail(REVIEWER, f"Please review: {LINK_B}\nOr open {LINK_B}", "m4"),
    ]
    # WHEN the links are read
    links = review_links(mail, REVIEWER)
    # THEN each of the reviewer's links comes once, oldest first
    assert links == [LINK_A, LINK_B]
    assert review_links(mail, "other@centre.example") == []


def test_the_form_reader_submits_what_a_browser_would() -> None:
    # GIVEN a review page: another form, recipient tick boxes outside the review form that join it (two ticked, one
    # not), hidden and text fields, a text area and buttons inside it, and a control after it
    page = """
    <form id="other" action="/elsewhere"><input name="ignored" value="x"></form>
    <input type="checkbox" name="recipient" value="abuse@site.example" form="review-form" checked>
    <input type="checkbox" name="recipient" value="abuse@host.example" form="review-form">
    <input type="checkbox" name="recipient" value="desk@site.example" form="review-form" checked>
    <input type="checkbox" id="thumbnail-reveal">
    <form id="review-form" method="post" action="/reviews/AbC/decision">
      <input type="hidden" name="csrf_token" value="token-1">
      <input type="text" name="subject" value="Removal request">
      <textarea name="body_text">Line one
Line two</textarea>
      <button type="submit" name="decision" value="APPROVED">Approve</button>
      <input type="submit" name="decision" value="REJECTED">
      <input type="text" name="elsewhere" value="y" form="other">
    </form>
    <input type="text" name="after" value="z">
    """
    # WHEN it is read
    form = ReviewFormReader()
    form.feed(page)
    # THEN the action is the review form's; what the browser would submit is there in document order (both ticked
    # recipients), and nothing else: no other form's field, no unticked box, no submit button, no stray control
    assert form.action == "/reviews/AbC/decision"
    assert form.pairs == [
        ("recipient", "abuse@site.example"),
        ("recipient", "desk@site.example"),
        ("csrf_token", "token-1"),
        ("subject", "Removal request"),
        ("body_text", "Line one\nLine two"),
    ]
    assert form.fields["recipient"] == "desk@site.example"
