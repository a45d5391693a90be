"""Properties of the HTML media extractor (``takedown.crawl.html_media.extract_page``): any text or bytes give a
bounded extract whose every URL is absolute, canonical http(s); nothing a page contains makes it raise."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from takedown.crawl.email_addresses import is_plausible_email
from takedown.crawl.html_media import extract_page
from takedown.crawl.urls import canonicalize_url

PROPERTIES = settings(
    max_examples=250, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
PAGE_URL = "https://board.example/thread/1"

ATTRIBUTE_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "//cdn.example/x.jpg",
            "../../up.png",
            "http://[::1]/x.png",
            "http://user:pass@evil.example/a.png",
            "mailto:a@b.example?subject=x",
            "mailto:evil@evil.example%0D%0ABcc:x@y.example",
            "https://bücher.example/bild.webp",
            "a.jpg 1x, b.jpg 2x,, ,c.jpg",
            " \t\n",
            "http://169.254.169.254/latest",
        ]
    ),
)
TAGS = st.sampled_from(
    ["img", "a", "video", "source", "meta", "link", "base", "title", "html", "div", "script"]
)
ATTRIBUTES = st.sampled_from(
    [
        "src",
        "href",
        "srcset",
        "data-src",
        "data-srcset",
        "poster",
        "content",
        "property",
        "rel",
        "lang",
        "name",
    ]
)


@st.composite
def html_fragments(draw: st.DrawFn) -> str:
    """Tag soup: real tags and attributes with hostile values, unclosed and misnested, among random text."""
    parts = []
    for _ in range(draw(st.integers(0, 30))):
        tag = draw(TAGS)
        attributes = " ".join(
            f'{draw(ATTRIBUTES)}="{draw(ATTRIBUTE_VALUES)}"' for _ in range(draw(st.integers(0, 3)))
        )
        closer = draw(st.sampled_from(["", f"</{tag}>", "/>", "<", "<!--", "]]>", "&#x202E;", "&#0;"]))
        parts.append(f"<{tag} {attributes}>{draw(st.text(max_size=10))}{closer}")
    return "".join(parts)


def assert_bounded_and_canonical(html: str | bytes, max_links: int) -> None:
    extract = extract_page(html, PAGE_URL, max_links=max_links)
    # THEN the extract is bounded ...
    assert len(extract.media) + len(extract.links) + len(extract.mailto) <= max_links
    # ... and every URL in it is absolute, canonical http(s), without credentials
    for url in [m.url for m in extract.media] + extract.links + [extract.base_url]:
        assert canonicalize_url(url) == url
        parts = urlsplit(url)
        assert parts.scheme in {"http", "https"} and "@" not in parts.netloc
    # ... media and links are deduplicated, mailto addresses plain
    assert len({m.url for m in extract.media}) == len(extract.media)
    assert len(set(extract.links)) == len(extract.links)
    assert all(is_plausible_email(address) for address in extract.mailto)
    assert extract.skipped_urls >= 0


@PROPERTIES
@given(html_fragments(), st.integers(1, 40))
@example('<base href="javascript:x"><img src="a.png">', 5)
@example("<img srcset=" + "a.jpg," * 1000 + ">", 10)
def test_tag_soup_gives_a_bounded_extract_of_canonical_urls(html: str, max_links: int) -> None:
    # GIVEN tag soup with hostile URLs WHEN it is extracted THEN see assert_bounded_and_canonical
    assert_bounded_and_canonical(html, max_links)


@PROPERTIES
@given(st.one_of(st.text(max_size=400), st.binary(max_size=400)), st.integers(1, 40))
@example(b"\xef\xbb\xbf<meta charset=utf-16><img src=x.png>", 3)
def test_any_text_or_bytes_never_raise(page: str | bytes, max_links: int) -> None:
    # GIVEN arbitrary text or bytes as a page body WHEN extracted THEN no exception, and the same bounds hold
    assert_bounded_and_canonical(page, max_links)


# Labels Python's codecs.lookup knows that are not text encodings, or that cannot decode arbitrary bytes.
NOT_TEXT_ENCODINGS = [
    "x-unknown-\x00",
    "base64",
    "hex",
    "rot13",
    "zlib",
    "bz2",
    "uu",
    "quopri",
    "punycode",
    "idna",
    "undefined",
]


@pytest.mark.parametrize("label", NOT_TEXT_ENCODINGS)
def test_a_declared_charset_that_is_no_text_encoding_is_ignored(label: str) -> None:
    # GIVEN a page declaring a charset that is not a text encoding, with a picture on it
    page = f'<meta charset="{label}"><img src="a.png">'.encode("latin-1") + b"\xff\xfe"
    # WHEN it is extracted THEN the declaration is ignored (UTF-8 with replacement) and the picture is found
    assert [m.url for m in extract_page(page, PAGE_URL).media] == ["https://board.example/thread/a.png"]
