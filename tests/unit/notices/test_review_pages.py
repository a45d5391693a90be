from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from takedown.approval.pages import (
    ListedReview,
    ReviewPageContext,
    ReviewPageError,
    embeddable_report,
    message_keys,
    render_message_page,
    render_review_email,
    render_review_list,
    render_review_page,
)
from takedown.evidence.report import EvidenceReport, render_report_html
from takedown.model import CaseEvent, MatchEvidence, Recipient, Sighting
from takedown.notices.drafting import render_addressing, render_notice_body

from .conftest import HOSTILE, MEDIA_SHA256
from .html_probe import HtmlProbe

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from takedown.notices.addressing import AddressingBlock
    from takedown.notices.drafting import NoticeFacts

REVIEW_URL = "https://review.centre.example/reviews/Zk3v9Q?e=1764575100&s=q1w2e3r4t5y6"


def _email(templates: Path, **overrides: Any) -> tuple[str, str, str]:
    values: dict[str, Any] = {
        "review_url": REVIEW_URL,
        "case_id": "5d41402abc4b2a76b9719d911017c592",
        "page_host": "board.site.example",
        "match_count": 2,
        "expires_at": "2026-12-01T07:25:00.000000Z",
        "centre_name": "Seoul Digital Sex Crime Victim Support Centre",
        "templates_dir": templates,
    }
    values.update(overrides)
    return render_review_email(**values)


# --- the reviewer email ----------------------------------------------------------------------------------------


def test_the_review_email_says_which_case_and_where_to_review_it(templates: Path) -> None:
    # WHEN the review request is rendered
    subject, text, html = _email(templates)
    page = HtmlProbe(html)
    # THEN subject, text and HTML name the case, site, match count and expiry, in Korean and in English
    assert "5d41402abc4b2a76b9719d911017c592" in subject and "board.site.example" in subject
    for body in (text, page.visible_text):
        for fact in (
            "5d41402abc4b2a76b9719d911017c592",
            "board.site.example",
            "2026-12-01 07:25 UTC",
            "검토",
            "review",
        ):
            assert fact in body, fact
    # AND the text carries the exact link; the HTML links to it
    assert REVIEW_URL in text
    assert [a.attrs["href"] for a in page.tags("a")] == [REVIEW_URL, REVIEW_URL]
    assert page.tags("html")[0].attrs["lang"] == "ko"


def test_the_review_email_carries_no_draft_and_no_media(templates: Path) -> None:
    _, text, html = _email(templates)
    page = HtmlProbe(html)
    assert page.tags("img") == [] and page.tags("script") == []
    assert "src=" not in html
    # only the review link leaves the email: no content URL, no digest of the media
    assert MEDIA_SHA256 not in text + html
    assert "https://" not in text.replace(REVIEW_URL, "")


def test_a_hostile_host_cannot_break_the_subject_or_the_html(templates: Path) -> None:
    subject, text, html = _email(templates, page_host=f"board.example{HOSTILE}")
    assert "\r" not in subject and "\n" not in subject
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "[U+000D][U+000A]Bcc" in text


@pytest.mark.parametrize("review_url", ["/reviews/abc?e=1&s=x", "javascript:alert(1)", ""])
def test_a_review_link_that_is_not_absolute_http_is_refused(templates: Path, review_url: str) -> None:
    with pytest.raises(ReviewPageError, match="review_url"):
        _email(templates, review_url=review_url)


# --- the review page -------------------------------------------------------------------------------------------


def _report(sighting: Sighting) -> EvidenceReport:
    return EvidenceReport(
        case_id="5d41402abc4b2a76b9719d911017c592",
        generated_at="2026-11-28T07:26:40Z",
        sighting=sighting,
        matches=[_match()],
        recipients=[],
        timeline=[],
        evidence_objects=[{"key": sighting.media_key, "sha256": sighting.sha256, "kind": "media"}],
    )


def _match() -> MatchEvidence:
    return MatchEvidence(
        algorithm="pdq", distance=14, threshold=31, bank="centre", bank_item_id="item-0007", case_ref="SEOUL-0007",
        query_hash="c3" * 32, bank_hash="c1" * 32, quality=92,
    )  # fmt: skip


def _sighting(page_title: str = "Gallery 8812") -> Sighting:
    return Sighting(
        media_key=f"media/{MEDIA_SHA256}", sha256=MEDIA_SHA256, md5="0cc175b9c0f1b6a831c399e269772661",
        page_url="https://board.site.example/gallery/view?id=8812", media_url="https://cdn.site.example/u/a81f.jpg",
        fetched_at="2026-11-28T07:25:13Z", content_type="image/jpeg", source_id="demo-board", size_bytes=48213,
        server_ip="203.0.113.7", page_title=page_title, page_lang="ko",
    )  # fmt: skip


def _blocks(
    facts: NoticeFacts, recipients: list[Recipient], templates: Path, locales: tuple[str, ...] = ("ko", "en")
) -> list[AddressingBlock]:
    """Each recipient's addressing blocks, as the render step stores them beside the drafts."""
    return [
        render_addressing(replace(facts, recipient=r), locale, templates)
        for r in recipients
        for locale in locales
    ]


@pytest.fixture
def make_context(make_facts: Callable[..., NoticeFacts], templates: Path) -> Callable[..., ReviewPageContext]:
    def build(**overrides: Any) -> ReviewPageContext:
        facts = make_facts()
        values: dict[str, Any] = {
            "review_id": "Zk3v9Q",
            "case_id": facts.case_id,
            "status": "AWAITING_REVIEW",
            "reviewer": "officer@centre.example",
            "expires_at": "2026-12-01T07:25:00Z",
            "form_action": "Zk3v9Q?e=1764575100&s=q1w2e3r4t5y6",
            "csrf_token": "csrf-7b2f0c1e",
            "report_html": render_report_html(_report(_sighting()), templates),
            "drafts": [
                render_notice_body(facts, "ko", templates),
                render_notice_body(facts, "en", templates),
            ],
            "recipients": [facts.recipient],
            "addressing": _blocks(facts, [facts.recipient], templates),
            "matches": [_match()],
            "timeline": [
                CaseEvent(at="2026-11-28T07:25:14Z", stage="crawl", status="SIGHTED"),
                CaseEvent(at="2026-11-28T07:26:41Z", stage="draft-notice", status="DRAFTED"),
            ],
            "decided": False,
        }
        values.update(overrides)
        return ReviewPageContext(**values)

    return build


def test_an_open_review_has_one_form_with_the_stable_ids(
    make_context: Callable[..., ReviewPageContext], templates: Path
) -> None:
    # GIVEN an open review with a Korean and an English draft
    ctx = make_context()
    # WHEN the page is rendered
    page = HtmlProbe(render_review_page(ctx, templates))
    # THEN there is one POST form to the signed action, carrying the CSRF token
    form = page.by_id("review-form")
    assert len(page.tags("form")) == 1
    assert form.attrs["method"] == "post" and form.attrs["action"] == ctx.form_action
    hidden = [e for e in page.tags("input") if e.attrs.get("type") == "hidden"]
    assert [(e.attrs["name"], e.attrs["value"]) for e in hidden] == [("csrf_token", "csrf-7b2f0c1e")]
    # AND the primary (first) draft is pre-filled, editable, exactly as drafted
    primary = ctx.drafts[0]
    assert page.by_id("subject").attrs["name"] == "subject"
    assert page.by_id("subject").attrs["value"] == primary.subject
    assert page.by_id("body_text").tag == "textarea" and page.by_id("body_text").attrs["name"] == "body_text"
    assert page.by_id("body_text").text == primary.body_text
    assert page.by_id("reason").attrs["name"] == "reason"
    # AND two submit buttons decide, labelled in the interface language (Korean by default)
    approve, reject = page.by_id("approve"), page.by_id("reject")
    assert (approve.attrs["name"], approve.attrs["value"], approve.attrs["type"]) == (
        "decision",
        "APPROVED",
        "submit",
    )
    assert (reject.attrs["name"], reject.attrs["value"], reject.attrs["type"]) == (
        "decision",
        "REJECTED",
        "submit",
    )
    assert "승인" in approve.text and "거부" in reject.text
    assert not page.has_id("review-closed")


def test_the_review_page_shows_every_draft_and_why_it_matched(
    make_context: Callable[..., ReviewPageContext], templates: Path
) -> None:
    ctx = make_context()
    page = HtmlProbe(render_review_page(ctx, templates))
    for draft in ctx.drafts:
        shown = page.by_id(f"draft-{draft.locale}")
        assert draft.subject in shown.text
        assert " ".join(draft.body_text.split()) in " ".join(shown.text.split())
    why = page.by_id("why-matched").text
    assert "pdq" in why and "14 / 31" in why and "92" in why and "item-0007" in why
    assert "abuse@site.example" in page.by_id("recipients").text
    assert "2026-11-28 07:26:41 UTC" in page.by_id("history").text


def test_the_review_page_is_one_self_contained_phone_friendly_document(
    make_context: Callable[..., ReviewPageContext], templates: Path
) -> None:
    # GIVEN the stored evidence report, a whole HTML document
    ctx = make_context()
    # WHEN it is embedded in the review page
    html = render_review_page(ctx, templates)
    page = HtmlProbe(html)
    # THEN the page is still one document, with the report's body inside its own section
    assert html.count("<!DOCTYPE html>") == 1 and len(page.tags("html")) == 1 and len(page.tags("body")) == 1
    assert "evidence-report" in {e.attrs.get("id") for e in page.elements}
    assert "Evidence report" in page.by_id("report").text
    # AND it needs nothing from outside and runs nothing
    assert page.tags("script") == [] and page.tags("img") == [] and page.tags("link") == []
    assert "src=" not in html
    viewport = [m for m in page.tags("meta") if m.attrs.get("name") == "viewport"]
    assert viewport and "width=device-width" in viewport[0].attrs["content"]
    assert any(
        m.attrs.get("name") == "referrer" and m.attrs["content"] == "no-referrer" for m in page.tags("meta")
    )


def test_a_decided_review_replaces_the_form_with_a_closed_notice(
    make_context: Callable[..., ReviewPageContext], templates: Path
) -> None:
    page = HtmlProbe(render_review_page(make_context(decided=True, status="APPROVED"), templates))
    assert page.tags("form") == [] and not page.has_id("approve") and not page.has_id("reject")
    assert "csrf-7b2f0c1e" not in " ".join(e.attrs.get("value", "") for e in page.elements)
    closed = page.by_id("review-closed")
    assert "종료" in closed.text and "APPROVED" in closed.text


def test_a_decided_review_needs_no_draft(
    make_context: Callable[..., ReviewPageContext], templates: Path
) -> None:
    page = HtmlProbe(render_review_page(make_context(decided=True, drafts=[], csrf_token=""), templates))
    assert page.has_id("review-closed")


@pytest.mark.parametrize(("lang", "title"), [("ko", "삭제 요청 검토"), ("en", "Removal notice review")])
def test_the_interface_language_sets_the_labels(
    make_context: Callable[..., ReviewPageContext], templates: Path, lang: str, title: str
) -> None:
    page = HtmlProbe(render_review_page(make_context(interface_lang=lang), templates))
    assert page.tags("html")[0].attrs["lang"] == lang
    assert page.tags("h1")[0].text == title


def test_the_ko_and_en_labels_have_the_same_keys(templates: Path) -> None:
    from takedown.notices.rendering import make_environment

    labels = make_environment(templates).get_template("review/_labels.j2").module
    by_lang = labels.by_lang  # type: ignore[attr-defined]
    assert set(by_lang) == {"ko", "en"}
    assert set(by_lang["ko"]) == set(by_lang["en"])


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"interface_lang": "fr"}, "interface_lang"),
        ({"drafts": []}, "no draft"),
        ({"csrf_token": ""}, "csrf_token"),
        ({"report_html": "<!DOCTYPE html><html><body>another page</body></html>"}, "markers"),
    ],
)
def test_a_review_page_that_cannot_be_right_is_refused(
    make_context: Callable[..., ReviewPageContext], templates: Path, overrides: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ReviewPageError, match=complaint):
        render_review_page(make_context(**overrides), templates)


def test_hostile_page_data_on_the_review_page_is_escaped(
    make_context: Callable[..., ReviewPageContext], make_facts: Callable[..., NoticeFacts], templates: Path
) -> None:
    # GIVEN a page whose title and URL are hostile, and a recipient found through it
    recipient = Recipient(address="abuse@site.example", role="site", found_at=HOSTILE, confidence=0.5)
    facts = make_facts(page_url=f"https://board.site.example/?q={HOSTILE}", recipient=recipient)
    ctx = make_context(
        drafts=[render_notice_body(facts, "ko", templates)],
        recipients=[recipient],
        addressing=_blocks(facts, [recipient], templates, ("ko",)),
        report_html=render_report_html(_report(_sighting(page_title=HOSTILE)), templates),
    )
    # WHEN the review page is rendered
    html = render_review_page(ctx, templates)
    page = HtmlProbe(html)
    # THEN no markup got through, nothing was evaluated, and the override is a visible marker
    assert page.tags("script") == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}{% raw %}[U+000D][U+000A]Bcc" in html
    assert "\u202e" not in html and "\r" not in html


def test_embeddable_report_cuts_a_report_document_to_its_body(templates: Path) -> None:
    whole = render_report_html(_report(_sighting()), templates)
    body = embeddable_report(whole)
    assert body.startswith("<article") and body.endswith("</article>")
    assert embeddable_report(body) == body
    assert embeddable_report("") == ""


# --- language switch, recipients, hand-over, thumbnail --------------------------------------------------------

LANG_LINKS = {
    "ko": "Zk3v9Q?e=1764575100&s=q1w2e3r4t5y6&lang=ko",
    "en": "Zk3v9Q?e=1764575100&s=q1w2e3r4t5y6&lang=en",
}
FORM_ONLY = Recipient(
    address="", role="platform", found_at="contact page https://board.site.example/contact", confidence=0.6,
    contact_form_url="https://board.site.example/report-abuse",
)  # fmt: skip
HOST = Recipient(address="abuse@host.example", role="host", found_at="RDAP of 203.0.113.7", confidence=0.7)


def test_every_review_page_has_the_language_switch(
    make_context: Callable[..., ReviewPageContext], templates: Path
) -> None:
    # GIVEN a review shown in English with both language links
    page = HtmlProbe(render_review_page(make_context(interface_lang="en", lang_links=LANG_LINKS), templates))
    # THEN the switch links to the same signed page in each language, the current one marked
    switch = page.by_id("language-switch")
    assert "한국어" in switch.text and "English" in switch.text
    assert page.by_id("lang-ko").attrs["href"] == LANG_LINKS["ko"]
    assert page.by_id("lang-en").attrs["aria-current"] == "true"
    assert "aria-current" not in page.by_id("lang-ko").attrs
    # AND the buttons speak English
    assert page.by_id("approve").text == "Approve and send" and page.by_id("reject").text == "Reject"


def test_recipients_are_tick_boxes_of_the_discovered_set_with_the_first_ticked(
    make_context: Callable[..., ReviewPageContext], make_facts: Callable[..., NoticeFacts], templates: Path
) -> None:
    # GIVEN a case with a site contact and a hosting provider
    recipients = [make_facts().recipient, HOST]
    page = HtmlProbe(render_review_page(make_context(recipients=recipients), templates))
    # THEN each is a tick box of the review form, valued with its address; the first is ticked
    boxes = [page.by_id(f"recipient-{n}") for n in range(2)]
    assert [(b.attrs["name"], b.attrs["value"], b.attrs["form"]) for b in boxes] == [
        ("recipient", "abuse@site.example", "review-form"),
        ("recipient", "abuse@host.example", "review-form"),
    ]
    assert "checked" in boxes[0].attrs and "checked" not in boxes[1].attrs
    # AND each says where it was found and how sure we are
    text = page.by_id("recipients").text
    assert "RDAP of 203.0.113.7" in text and "70%" in text and "host" in text


def test_the_reviewers_choice_of_recipients_is_kept_when_the_page_is_shown_again(
    make_context: Callable[..., ReviewPageContext], make_facts: Callable[..., NoticeFacts], templates: Path
) -> None:
    ctx = make_context(recipients=[make_facts().recipient, HOST], chosen_recipients=["abuse@host.example"])
    page = HtmlProbe(render_review_page(ctx, templates))
    assert "checked" not in page.by_id("recipient-0").attrs
    assert "checked" in page.by_id("recipient-1").attrs


def test_a_form_only_recipient_is_submitted_by_hand_with_the_text_to_paste(
    make_context: Callable[..., ReviewPageContext], make_facts: Callable[..., NoticeFacts], templates: Path
) -> None:
    # GIVEN a case whose second recipient has only a contact form, and an edit in progress
    recipients = [make_facts().recipient, FORM_ONLY]
    blocks = _blocks(make_facts(), recipients, templates)
    ctx = make_context(
        recipients=recipients, addressing=blocks, subject="Edited subject", body_text="Edited body."
    )
    page = HtmlProbe(render_review_page(ctx, templates))
    # THEN it has no tick box, but its form address, the text to paste and a button that records the submission
    assert not page.has_id("recipient-1")
    block = page.by_id("contact-form-1").text
    assert "https://board.site.example/report-abuse" in block
    assert "이메일 주소가 없습니다" in block
    # (the subject, the form's own Korean addressing block, then the body: what the form's operator should read)
    form_block = next(b for b in blocks if b.recipient == FORM_ONLY and b.locale == "ko")
    assert "https://board.site.example/report-abuse" in form_block.text
    assert page.by_id("form-text-1").text == f"Edited subject\n\n{form_block.text}\nEdited body."
    assert "readonly" in page.by_id("form-text-1").attrs and "name" not in page.by_id("form-text-1").attrs
    button = page.by_id("form-submitted-1")
    assert (button.attrs["name"], button.attrs["value"], button.attrs["form"]) == (
        "action",
        "form-submitted:1",
        "review-form",
    )
    assert not page.has_id("form-submitted-note-1")


def test_each_recipient_shows_the_addressing_block_it_will_be_sent(
    make_context: Callable[..., ReviewPageContext], make_facts: Callable[..., NoticeFacts], templates: Path
) -> None:
    # GIVEN a site operator and a hosting provider, each with its blocks in Korean and English
    recipients = [make_facts().recipient, HOST]
    blocks = _blocks(make_facts(), recipients, templates)
    page = HtmlProbe(render_review_page(make_context(recipients=recipients, addressing=blocks), templates))
    # THEN beside each tick box is that recipient's own block in each language, word for word
    for n, recipient in enumerate(recipients):
        for locale in ("ko", "en"):
            [block] = [b for b in blocks if b.recipient == recipient and b.locale == locale]
            shown = page.by_id(f"addressing-{n}-{locale}")
            assert shown.text == block.text and shown.attrs["lang"] == locale
        assert recipient.address in page.by_id(f"addressing-{n}").text
    assert "(hosting provider)" in page.by_id("addressing-1-en").text
    assert HOST.address not in page.by_id("addressing-0").text
    # AND the first language is open, the others a click away; the page says what each recipient receives
    folded = " ".join(d.text for d in page.tags("details"))
    assert page.by_id("addressing-0-en").text in folded and page.by_id("addressing-0-ko").text not in folded
    assert "주소 안내문" in page.by_id("recipients").text
    assert not page.has_id("addressing-missing-0") and not page.has_id("addressing-missing-1")


def test_a_recipient_without_its_addressing_block_is_flagged(
    make_context: Callable[..., ReviewPageContext], make_facts: Callable[..., NoticeFacts], templates: Path
) -> None:
    # GIVEN a recipient added after the drafts were rendered (no block), beside one that has its blocks
    recipients = [make_facts().recipient, HOST]
    blocks = _blocks(make_facts(), recipients[:1], templates)
    page = HtmlProbe(
        render_review_page(
            make_context(recipients=recipients, addressing=blocks, interface_lang="en"), templates
        )
    )
    # THEN the page says it cannot be sent to
    assert "cannot be sent to" in page.by_id("addressing-missing-1").text
    assert not page.has_id("addressing-1") and not page.has_id("addressing-missing-0")


def test_a_follow_up_lists_its_own_recipients_without_tick_boxes(
    make_context: Callable[..., ReviewPageContext], make_facts: Callable[..., NoticeFacts], templates: Path
) -> None:
    # GIVEN an escalation to the hosting provider under review (the site was notified before)
    blocks = _blocks(make_facts(), [HOST], templates)
    ctx = make_context(
        recipients=[make_facts().recipient, HOST], follow_up_recipients=[HOST], addressing=blocks,
        interface_lang="en",
    )  # fmt: skip
    page = HtmlProbe(render_review_page(ctx, templates))
    # THEN only the follow-up's recipient is listed, with its block, and nothing can be ticked
    section = page.by_id("recipients").text
    assert HOST.address in section and "abuse@site.example" not in section
    assert "escalation ladder" in section
    assert [e for e in page.tags("input") if e.attrs.get("type") == "checkbox"] == []
    assert page.by_id("addressing-0-ko").text == blocks[0].text


def test_a_recorded_form_submission_is_shown(
    make_context: Callable[..., ReviewPageContext], templates: Path
) -> None:
    ctx = make_context(
        recipients=[FORM_ONLY],
        submitted_forms={FORM_ONLY.contact_form_url: "officer@centre.example · 2026-11-28T08:00:00Z"},
    )
    page = HtmlProbe(render_review_page(ctx, templates))
    assert "officer@centre.example" in page.by_id("form-submitted-note-0").text


def test_hand_over_offers_only_the_other_configured_reviewers(
    make_context: Callable[..., ReviewPageContext], templates: Path
) -> None:
    # GIVEN two other reviewers
    page = HtmlProbe(
        render_review_page(
            make_context(handover_reviewers=["b@centre.example", "c@centre.example"]), templates
        )
    )
    # THEN the hand-over is a choice among them (no free text) with its own submit button in the form
    select = page.by_id("handover_to")
    assert select.tag == "select" and select.attrs["name"] == "handover_to"
    assert [o.attrs["value"] for o in page.tags("option")] == ["b@centre.example", "c@centre.example"]
    button = page.by_id("handover-button")
    assert (button.attrs["name"], button.attrs["value"]) == ("decision", "HANDED_OVER")
    assert not [e for e in page.tags("input") if e.attrs.get("name") == "handover_to"]
    # AND with nobody to hand to, there is no hand-over at all
    alone = HtmlProbe(render_review_page(make_context(), templates))
    assert not alone.has_id("handover_to") and not alone.has_id("handover-button")


def test_no_picture_is_shown_until_asked_for(
    make_context: Callable[..., ReviewPageContext], templates: Path
) -> None:
    page = HtmlProbe(render_review_page(make_context(), templates))
    assert page.tags("img") == []
    button = page.by_id("thumbnail-button")
    assert (button.attrs["name"], button.attrs["value"], button.attrs["form"]) == (
        "action",
        "thumbnail",
        "review-form",
    )


def test_an_asked_for_thumbnail_is_inline_and_blurred_until_clicked(
    make_context: Callable[..., ReviewPageContext], templates: Path
) -> None:
    # GIVEN the thumbnail the reviewer asked for
    uri = "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ=="
    html = render_review_page(make_context(thumbnail_data_uri=uri), templates)
    page = HtmlProbe(html)
    # THEN it is the only image, inline, inside a label for an unticked reveal box that the CSS blurs until ticked
    [image] = page.tags("img")
    assert image.attrs["src"] == uri and image.attrs["id"] == "thumbnail-image"
    reveal = page.by_id("thumbnail-reveal")
    assert reveal.attrs["type"] == "checkbox" and "checked" not in reveal.attrs and "name" not in reveal.attrs
    assert "filter: blur(" in html and ".rv-reveal:checked + label img" in html
    assert not page.has_id("thumbnail-button")


def test_a_missing_thumbnail_says_so_and_a_foreign_uri_is_refused(
    make_context: Callable[..., ReviewPageContext], templates: Path
) -> None:
    page = HtmlProbe(render_review_page(make_context(thumbnail_missing=True), templates))
    assert page.has_id("thumbnail-missing") and page.tags("img") == []
    with pytest.raises(ReviewPageError, match="thumbnail_data_uri"):
        render_review_page(make_context(thumbnail_data_uri="https://evil.example/x.jpg"), templates)


def test_a_decided_review_offers_no_choice_and_no_picture(
    make_context: Callable[..., ReviewPageContext], make_facts: Callable[..., NoticeFacts], templates: Path
) -> None:
    ctx = make_context(
        decided=True, status="APPROVED", recipients=[make_facts().recipient, FORM_ONLY],
        handover_reviewers=["b@centre.example"],
    )  # fmt: skip
    page = HtmlProbe(render_review_page(ctx, templates))
    assert [e for e in page.tags("input") if e.attrs.get("type") == "checkbox"] == []
    assert (
        not page.has_id("thumbnail")
        and not page.has_id("form-submitted-1")
        and not page.has_id("handover_to")
    )


def test_an_edit_in_progress_fills_the_form_again(
    make_context: Callable[..., ReviewPageContext], templates: Path
) -> None:
    ctx = make_context(subject="New subject", body_text="New body.", reason="checked twice")
    page = HtmlProbe(render_review_page(ctx, templates))
    assert page.by_id("subject").attrs["value"] == "New subject"
    assert page.by_id("body_text").text == "New body."
    assert page.by_id("reason").text == "checked twice"


def test_the_history_says_who_acted(make_context: Callable[..., ReviewPageContext], templates: Path) -> None:
    timeline = [
        CaseEvent(
            at="2026-11-28T08:00:00Z", stage="hand-over", status="AWAITING_REVIEW",
            detail={"reviewer": "a@centre.example", "handed_to": "b@centre.example"},
        ),
        CaseEvent(at="2026-11-28T08:05:00Z", stage="thumbnail-shown", status="AWAITING_REVIEW",
                  detail={"reviewer": "b@centre.example"}),
    ]  # fmt: skip
    history = HtmlProbe(render_review_page(make_context(timeline=timeline), templates)).by_id("history").text
    assert "a@centre.example → b@centre.example" in history
    assert "thumbnail-shown" in history and "2026-11-28 08:05:00 UTC" in history


# --- the signed-in list ----------------------------------------------------------------------------------------


def test_the_list_shows_each_pending_review_with_its_link_soonest_first(templates: Path) -> None:
    reviews = [
        ListedReview(case_id="c2", page_host="b.example", due_at="2026-12-02T00:00:00Z", link="reviews/r2?e=2&s=y"),
        ListedReview(case_id="c1", page_host="a.example", due_at="2026-12-01T00:00:00Z", link="reviews/r1?e=1&s=x",
                     reminded=True),
    ]  # fmt: skip
    html = render_review_list(
        reviewer="officer@centre.example", reviews=reviews, interface_lang="en",
        lang_links={"ko": "reviews?lang=ko", "en": "reviews?lang=en"}, templates_dir=templates,
    )  # fmt: skip
    page = HtmlProbe(html)
    first, second = page.by_id("review-0"), page.by_id("review-1")
    assert "c1" in first.text and "2026-12-01 00:00 UTC" in first.text and "reminder sent" in first.text
    assert "c2" in second.text
    assert [a.attrs["href"] for a in page.tags("a") if "reviews/" in a.attrs["href"]] == [
        "reviews/r1?e=1&s=x",
        "reviews/r2?e=2&s=y",
    ]
    assert page.has_id("language-switch") and page.tags("form") == []


def test_an_empty_list_says_so(templates: Path) -> None:
    page = HtmlProbe(render_review_list(reviewer="o@centre.example", reviews=[], templates_dir=templates))
    assert page.has_id("review-list-empty")


# --- message pages ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "role"),
    [(403, "rv-error", "alert"), (410, "rv-error", "alert"), (200, "rv-ok", "status")],
)
@pytest.mark.parametrize(("lang", "title"), [("ko", "만료된 링크"), ("en", "Link expired")])
def test_message_pages_show_title_message_and_status(
    templates: Path, status: int, kind: str, role: str, lang: str, title: str
) -> None:
    html = render_message_page(
        message_key="link_expired", status_code_hint=status, interface_lang=lang, lang_links=LANG_LINKS,
        templates_dir=templates,
    )  # fmt: skip
    page = HtmlProbe(html)
    message = page.by_id("message")
    assert kind in message.attrs["class"] and message.attrs["role"] == role
    assert message.attrs["data-message"] == "link_expired"
    assert page.tags("h1")[0].text == title
    assert f"HTTP {status}" in message.text
    assert page.tags("form") == [] and page.tags("script") == []
    assert page.by_id("lang-en").attrs["href"] == LANG_LINKS["en"]


def test_message_facts_are_labelled_and_escaped(templates: Path) -> None:
    html = render_message_page(
        message_key="handed_over", status_code_hint=410, interface_lang="en",
        facts={"handover_to": "b@centre.example", "reason": f"away{HOSTILE}"}, templates_dir=templates,
    )  # fmt: skip
    facts = HtmlProbe(html).by_id("message-facts").text
    assert "Hand over to" in facts and "b@centre.example" in facts
    assert "<script" not in html and "&lt;script&gt;" in html and "\r" not in html


def test_a_message_page_that_cannot_be_right_is_refused(templates: Path) -> None:
    with pytest.raises(ReviewPageError, match="status_code_hint"):
        render_message_page(message_key="approved", status_code_hint=42, templates_dir=templates)
    with pytest.raises(ReviewPageError, match="interface_lang"):
        render_message_page(message_key="approved", status_code_hint=200, interface_lang="de")
    with pytest.raises(ReviewPageError, match="no message"):
        render_message_page(message_key="made_up", status_code_hint=200, templates_dir=templates)


def test_every_message_has_a_title_and_a_text_in_both_languages(templates: Path) -> None:
    from takedown.notices.rendering import make_environment

    by_lang = make_environment(templates).get_template("review/_labels.j2").module.by_lang  # type: ignore[attr-defined]
    assert set(by_lang["ko"]["messages"]) == set(by_lang["en"]["messages"]) == message_keys(templates)
    for lang in ("ko", "en"):
        for key, value in by_lang[lang]["messages"].items():
            assert len(value) == 2 and all(part.strip() for part in value), (lang, key)


def test_every_message_the_review_handler_shows_exists(templates: Path) -> None:
    # GIVEN the message keys the review handler and the form checks answer with, read from their source
    import re
    from pathlib import Path as FilePath

    import takedown.approval.review_form as review_form
    import takedown.handlers.handle_review_http as handler

    sources = FilePath(handler.__file__).read_text() + FilePath(review_form.__file__).read_text()
    used = set(re.findall(r'ReviewRefused\(\s*HTTPStatus\.\w+,\s*"[^"]*",\s*"([a-z_]+)"', sources))
    used |= set(re.findall(r'FormRefused\(\s*"[^"]*",\s*"([a-z_]+)"', sources))
    used |= set(re.findall(r'_message\(HTTPStatus\.\w+,\s*"([a-z_]+)"', sources))
    used |= set(handler._LINK_MESSAGES.values()) | {"link_invalid", "approved", "rejected"}
    # THEN there are many, and each is a message of the labels
    assert len(used) >= 15
    assert used <= message_keys(templates)


# --- hand-over and reminder emails ----------------------------------------------------------------------------


def test_a_hand_over_email_names_who_handed_it_over(templates: Path) -> None:
    subject, text, html = _email(templates, purpose="handover", handed_over_by="o'brien&co@centre.example")
    assert "인계" in subject and "handed over" in subject.lower()
    assert "o'brien&co@centre.example handed the review of this case over to you" in text
    assert "o&#39;brien&amp;co@centre.example" in html
    assert REVIEW_URL in text


def test_a_reminder_email_says_when_the_decision_is_due(templates: Path) -> None:
    subject, text, _ = _email(templates, purpose="reminder", due_at="2026-12-01T19:25:00Z")
    assert "due soon" in subject.lower()
    assert "2026-12-01 19:25 UTC" in text and "expired" in text


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"purpose": "gossip"}, "purpose"),
        ({"purpose": "handover"}, "handed_over_by"),
        ({"purpose": "reminder"}, "due_at"),
    ],
)
def test_an_email_that_cannot_be_right_is_refused(
    templates: Path, overrides: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ReviewPageError, match=complaint):
        _email(templates, **overrides)
