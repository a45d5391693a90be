from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from takedown.notices.drafting import render_notice
from takedown.notices.rendering import DateLocaleError, InvalidTimestampError, local_time, make_environment

from .conftest import LOCALES
from .notice_text import section

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from takedown.notices.drafting import NoticeFacts

    MakeFacts = Callable[..., NoticeFacts]

# 2026-11-28 16:05 UTC as a reader of each language writes it (CLDR long date, short time), then the ISO form.
AFTERNOON = {
    "ko": "2026년 11월 28일 오후 4:05 (2026-11-28 16:05 UTC)",
    "en": "November 28, 2026, 4:05\u202fPM (2026-11-28 16:05 UTC)",
    "zh-Hans": "2026年11月28日 16:05 (2026-11-28 16:05 UTC)",
    "zh-Hant": "2026年11月28日 下午4:05 (2026-11-28 16:05 UTC)",
    "ja": "2026年11月28日 16:05 (2026-11-28 16:05 UTC)",
    "ru": "28 ноября 2026\u202fг., 16:05 (2026-11-28 16:05 UTC)",
    "vi": "16:05 28 tháng 11, 2026 (2026-11-28 16:05 UTC)",
    "th": "28 พฤศจิกายน ค.ศ. 2026 16:05 น. (2026-11-28 16:05 UTC)",
    "id": "28 November 2026 16.05 (2026-11-28 16:05 UTC)",
    "es": "28 de noviembre de 2026, 16:05 (2026-11-28 16:05 UTC)",
}


def test_the_table_covers_every_language() -> None:
    assert set(AFTERNOON) == set(LOCALES)


@pytest.mark.parametrize("locale", LOCALES)
def test_a_time_is_written_for_the_reader_then_in_iso_utc(locale: str) -> None:
    assert local_time("2026-11-28T16:05:59.999000Z", locale) == AFTERNOON[locale]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_notice_shows_when_the_content_was_observed_in_its_language(
    make_facts: MakeFacts, templates: Path, locale: str
) -> None:
    # GIVEN content observed at 16:05 UTC
    facts = make_facts(observed_at="2026-11-28T16:05:13Z")
    # WHEN the notice is rendered
    draft = render_notice(facts, locale, templates)
    # THEN the content section gives the time in the reader's form followed by the ISO form, in text and HTML
    assert AFTERNOON[locale] in section(draft.body_text, 1)
    assert AFTERNOON[locale] in draft.body_html


def test_times_with_an_offset_are_shown_in_utc_never_in_a_guessed_zone() -> None:
    # 16:25 in Seoul is 07:25 UTC: the local form names the same moment as the ISO form after it
    assert (
        local_time("2026-11-28T16:25:00+09:00", "ko") == "2026년 11월 28일 오전 7:25 (2026-11-28 07:25 UTC)"
    )
    assert (
        local_time("2026-11-28T23:30:00-05:00", "es")
        == "29 de noviembre de 2026, 4:30 (2026-11-29 04:30 UTC)"
    )


def test_underscore_locale_names_are_accepted() -> None:
    assert local_time("2026-11-28T16:05:00Z", "zh_Hant") == AFTERNOON["zh-Hant"]


@pytest.mark.parametrize("value", ["2026-11-28 16:05", "yesterday", "", "2026-11-28T16:05:00"])
def test_a_time_that_is_not_iso_with_an_offset_is_refused(value: str) -> None:
    with pytest.raises(InvalidTimestampError, match="ISO 8601"):
        local_time(value, "ko")


@pytest.mark.parametrize("locale", ["xx", "", "zz-ZZ", "../ko"])
def test_a_locale_without_date_formats_is_refused(locale: str) -> None:
    with pytest.raises(DateLocaleError, match="no CLDR date formats"):
        local_time("2026-11-28T16:05:00Z", locale)


def test_templates_can_use_it_as_a_filter(templates: Path) -> None:
    environment = make_environment(templates)
    rendered = environment.from_string("{{ t|local_time('ja') }}").render(t="2026-11-28T16:05:00Z")
    assert rendered == AFTERNOON["ja"]
