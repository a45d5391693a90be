from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from takedown.notices.drafting import (
    COUNTRY_LOCALES,
    EU_MEMBER_STATES,
    CountryCodeError,
    available_locales,
    choose_locales,
    locale_for_language_tag,
)

from .conftest import LOCALES

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("country", "page_lang", "expected"),
    [
        ("KR", "", ["ko", "en"]),
        ("KR", "ja", ["ko", "en"]),
        ("US", "", ["en"]),
        ("GB", "en-GB", ["en"]),
        ("CN", "", ["zh-Hans", "en"]),
        ("TW", "", ["zh-Hant", "en"]),
        ("HK", "", ["zh-Hant", "en"]),
        ("JP", "ja-JP", ["ja", "en"]),
        ("RU", "", ["ru", "en"]),
        ("BY", "", ["ru", "en"]),
        ("VN", "vi", ["vi", "en"]),
        ("TH", "", ["th", "en"]),
        ("ID", "", ["id", "en"]),
        ("ES", "", ["es", "en"]),
        ("MX", "es-MX", ["es", "en"]),
        ("AR", "", ["es", "en"]),
        ("CO", "", ["es", "en"]),
        ("jp", "", ["ja", "en"]),
        (" th ", "", ["th", "en"]),
    ],
)
def test_the_operators_country_decides_its_language_and_english_follows(
    templates: Path, country: str, page_lang: str, expected: list[str]
) -> None:
    assert choose_locales(country, page_lang, templates) == expected


@pytest.mark.parametrize(
    ("country", "page_lang", "expected"),
    [
        ("TW", "zh-CN", ["zh-Hant", "en"]),
        ("ES", "en", ["es", "en"]),
        ("US", "ja", ["en"]),
    ],
)
def test_a_known_country_outweighs_the_page_language(
    templates: Path, country: str, page_lang: str, expected: list[str]
) -> None:
    assert choose_locales(country, page_lang, templates) == expected


@pytest.mark.parametrize(
    ("page_lang", "expected"),
    [
        ("zh-TW", ["zh-Hant", "en"]),
        ("zh-Hant", ["zh-Hant", "en"]),
        ("zh-CN", ["zh-Hans", "en"]),
        ("zh", ["zh-Hans", "en"]),
        ("ja-JP", ["ja", "en"]),
        ("ru", ["ru", "en"]),
        ("es-419", ["es", "en"]),
        ("in", ["id", "en"]),
        ("pt-BR", ["en"]),
        ("<script>", ["en"]),
        ("", ["en"]),
    ],
)
def test_the_page_language_stands_in_when_the_country_is_unknown(
    templates: Path, page_lang: str, expected: list[str]
) -> None:
    # "ZZ" is a well-formed code we know nothing about: as good as unknown
    assert choose_locales("", page_lang, templates) == expected
    assert choose_locales("ZZ", page_lang, templates) == expected


@pytest.mark.parametrize(
    ("country", "page_lang", "expected"),
    [
        ("US", "ko-KR", ["ko", "en"]),
        ("JP", "ko", ["ko", "ja", "en"]),
        ("CN", "ko_KR", ["ko", "zh-Hans", "en"]),
        ("", "ko", ["ko", "en"]),
    ],
)
def test_a_korean_page_adds_korean_first(
    templates: Path, country: str, page_lang: str, expected: list[str]
) -> None:
    assert choose_locales(country, page_lang, templates) == expected


@pytest.mark.parametrize("country", sorted(COUNTRY_LOCALES))
@pytest.mark.parametrize("page_lang", ["", "ko", "ja-JP", "zh-TW", "en"])
def test_every_choice_is_unique_english_included_operator_language_first(
    templates: Path, country: str, page_lang: str
) -> None:
    chosen = choose_locales(country, page_lang, templates)
    # THEN no language twice, English always there, and the operator's language (when we have it) leads,
    # after Korean for Korean recipients
    assert len(chosen) == len(set(chosen))
    assert "en" in chosen
    korean = country == "KR" or page_lang == "ko"
    assert (chosen[0] == "ko") == korean
    operator = COUNTRY_LOCALES[country]
    if operator in LOCALES:
        assert chosen[1 if korean and operator != "ko" else 0] == operator


def test_every_eu_member_state_has_its_language_and_spain_gets_spanish(templates: Path) -> None:
    assert set(COUNTRY_LOCALES) >= EU_MEMBER_STATES
    available = available_locales(templates)
    for country in sorted(EU_MEMBER_STATES):
        language = COUNTRY_LOCALES[country]
        expected = [language, "en"] if language in available and language != "en" else ["en"]
        assert choose_locales(country, "", templates) == expected, country
    assert choose_locales("ES", "", templates) == ["es", "en"]
    assert choose_locales("IE", "", templates) == ["en"]


def test_every_shipped_locale_is_the_language_of_some_country(templates: Path) -> None:
    assert set(available_locales(templates)) == set(LOCALES)
    assert set(LOCALES) <= set(COUNTRY_LOCALES.values())


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        ("ko-KR", "ko"),
        ("KO", "ko"),
        ("zh-TW", "zh-Hant"),
        ("zh_HK", "zh-Hant"),
        ("zh-MO", "zh-Hant"),
        ("zh-Hant-CN", "zh-Hant"),
        ("zh-Hans-HK", "zh-Hans"),
        ("zh-SG", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("pt-BR", "pt"),
        ("in", "id"),
        ("  es-MX ", "es"),
        ("", ""),
        ("-", ""),
        ("123", ""),
    ],
)
def test_page_language_tags_map_to_notice_locales(tag: str, locale: str) -> None:
    assert locale_for_language_tag(tag) == locale


@pytest.mark.parametrize("country", ["Mexico", "M", "MEX", "1A"])
def test_a_country_that_is_not_an_iso_code_is_refused(templates: Path, country: str) -> None:
    with pytest.raises(CountryCodeError):
        choose_locales(country, "es", templates)


def test_a_language_without_a_template_folder_falls_back_to_english(templates: Path, tmp_path: Path) -> None:
    # GIVEN the templates without the Spanish folder
    target = tmp_path / "templates"
    shutil.copytree(templates, target)
    shutil.rmtree(target / "notices" / "es")
    # WHEN a Mexican operator is chosen for
    chosen = choose_locales("MX", "es-MX", target)
    # THEN the notice goes out in English only
    assert chosen == ["en"]
