from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from jinja2.exceptions import SecurityError, UndefinedError
from markupsafe import Markup

from takedown.notices.rendering import (
    InvalidTimestampError,
    TemplateFolderError,
    as_text,
    header_safe,
    make_environment,
    neutralize_controls,
    one_line,
    paragraphs,
    shown_url,
    utc,
)

from .conftest import HOSTILE

if TYPE_CHECKING:
    from pathlib import Path


def _folder_with(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        (tmp_path / name).write_text(source, encoding="utf-8")
    return tmp_path


def test_one_environment_is_shared_per_folder(templates: Path, tmp_path: Path) -> None:
    # WHEN the environment is asked for twice for one folder, and once for another
    first, second = make_environment(templates), make_environment(templates)
    other = make_environment(tmp_path)
    # THEN the same folder gives the same environment, another folder its own
    assert first is second
    assert other is not first


def test_a_missing_templates_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateFolderError, match="not found"):
        make_environment(tmp_path / "absent")


def test_page_data_is_never_evaluated_as_template(tmp_path: Path) -> None:
    # GIVEN a title that is itself template syntax
    environment = make_environment(tmp_path)
    # WHEN it is rendered as data
    rendered = environment.from_string("{{ title }}").render(title="{{ 7*7 }}{% raw %}")
    # THEN it stays literal (and is escaped, string templates autoescape)
    assert rendered == "{{ 7*7 }}{% raw %}"


def test_a_missing_variable_raises_instead_of_printing_nothing(tmp_path: Path) -> None:
    environment = make_environment(tmp_path)
    with pytest.raises(UndefinedError):
        environment.from_string("Dear {{ nobody }}").render()


def test_templates_cannot_reach_python_internals(tmp_path: Path) -> None:
    environment = make_environment(tmp_path)
    with pytest.raises(SecurityError):
        environment.from_string("{{ ''.__class__.__mro__[1].__subclasses__() }}").render()


def test_templates_cannot_mutate_their_data(tmp_path: Path) -> None:
    environment = make_environment(tmp_path)
    urls = ["https://a.example/1"]
    with pytest.raises(SecurityError):
        environment.from_string("{{ urls.append('https://b.example/2') }}").render(urls=urls)
    assert urls == ["https://a.example/1"]


def test_html_templates_autoescape_and_text_templates_do_not(tmp_path: Path) -> None:
    # GIVEN the same template as HTML and as text
    folder = _folder_with(
        tmp_path, {"page.html.j2": "{{ x }}", "mail.txt.j2": "{{ x }}", "words.j2": "{{ x }}"}
    )
    environment = make_environment(folder)
    # WHEN markup is rendered through each
    as_html = environment.get_template("page.html.j2").render(x="<b>&</b>")
    as_plain = environment.get_template("mail.txt.j2").render(x="<b>&</b>")
    other = environment.get_template("words.j2").render(x="<b>&</b>")
    # THEN only the text template leaves it as it is; other names escape, the safe default
    assert as_html == "&lt;b&gt;&amp;&lt;/b&gt;"
    assert as_plain == "<b>&</b>"
    assert other == as_html


def test_every_output_shows_control_and_bidi_characters_as_markers(tmp_path: Path) -> None:
    folder = _folder_with(tmp_path, {"mail.txt.j2": "[{{ x }}]"})
    rendered = make_environment(folder).get_template("mail.txt.j2").render(x="a\rb\u202ec\x00d\ne\tf")
    # newline and tab are kept (paragraphs need them); everything else is visible
    assert rendered == "[a[U+000D]b[U+202E]c[U+0000]d\ne\tf]"


def test_neutralize_controls_keeps_escaped_markup_escaped() -> None:
    value = Markup("&lt;b&gt;\u202e")
    cleaned = neutralize_controls(value)
    assert isinstance(cleaned, Markup)
    assert str(cleaned) == "&lt;b&gt;[U+202E]"
    assert neutralize_controls(7) == 7


def test_one_line_marks_every_line_break() -> None:
    assert one_line("Title\r\nBcc: x\u2028y\u202e") == "Title[U+000D][U+000A]Bcc: x[U+2028]y[U+202E]"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://site.example/p?id=1&x=2", "https://site.example/p?id=1&x=2"),
        ("https://사이트.example/게시판/1", "https://사이트.example/게시판/1"),
        ("https://site.example/a b", "https://site.example/a%20b"),
        ('https://site.example/<x>"', "https://site.example/%3Cx%3E%22"),
        ("https://site.example/\r\nBcc:", "https://site.example/%0D%0ABcc:"),
        ("https://site.example/gnp\u202eexe", "https://site.example/gnp%E2%80%AEexe"),
        ("https://site.example/\u200bhidden", "https://site.example/%E2%80%8Bhidden"),
    ],
)
def test_shown_url_encodes_only_what_may_not_appear_raw(url: str, shown: str) -> None:
    assert shown_url(url) == shown


@pytest.mark.parametrize(
    ("moment", "minutes", "seconds"),
    [
        ("2026-11-28T07:25:13.482000Z", "2026-11-28 07:25 UTC", "2026-11-28 07:25:13 UTC"),
        ("2026-11-28T16:25:13+09:00", "2026-11-28 07:25 UTC", "2026-11-28 07:25:13 UTC"),
        ("2026-12-31T23:59:59-05:00", "2027-01-01 04:59 UTC", "2027-01-01 04:59:59 UTC"),
    ],
)
def test_utc_formats_any_offset_in_utc(moment: str, minutes: str, seconds: str) -> None:
    assert utc(moment) == minutes
    assert utc(moment, seconds=True) == seconds


@pytest.mark.parametrize("moment", ["yesterday", "2026-11-28T07:25:13", ""])
def test_utc_refuses_times_without_offset_or_not_times(moment: str) -> None:
    with pytest.raises(InvalidTimestampError):
        utc(moment)


def test_header_safe_makes_one_clean_line() -> None:
    # GIVEN a subject carrying an injected header, controls and a bidi override
    text = f"Removal request {HOSTILE}\x00\t end"
    # WHEN it is made header-safe
    safe = header_safe(text)
    # THEN no line break or control character survives, and whitespace is collapsed
    assert "\r" not in safe and "\n" not in safe and "\u202e" not in safe and "\x00" not in safe
    assert "  " not in safe
    assert safe.startswith("Removal request <script>") and safe.endswith("gnp.exe end")


@pytest.mark.parametrize("max_len", [1, 10, 57])
def test_header_safe_cuts_to_the_limit(max_len: int) -> None:
    long_subject = "삭제 요청 " * 40
    safe = header_safe(long_subject, max_len=max_len)
    assert len(safe) <= max_len
    assert safe.endswith("…")


def test_header_safe_keeps_short_text_whole() -> None:
    assert header_safe("  불법촬영물등   삭제 요청  ") == "불법촬영물등 삭제 요청"


def test_header_safe_refuses_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="max_len"):
        header_safe("x", max_len=0)


def test_paragraphs_escapes_text_and_splits_at_blank_lines() -> None:
    rendered = paragraphs("a <b> & c\nline two\n\n  \n\nnext", style="margin:0;")
    assert str(rendered) == (
        '<p style="margin:0;">a &lt;b&gt; &amp; c<br>\nline two</p>\n<p style="margin:0;">next</p>'
    )


def test_as_text_restores_what_an_escaping_macro_escaped() -> None:
    assert as_text("Centre &lt;Seoul&gt; &amp; &#39;partners&#39;") == "Centre <Seoul> & 'partners'"
