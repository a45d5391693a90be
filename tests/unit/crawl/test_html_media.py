"""Extracting media, links and contacts from HTML pages with the stdlib HTML parser."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from takedown.crawl.fetch import SafeFetcher
from takedown.crawl.html_media import MediaRef, extract_page, parse_srcset
from takedown.crawl.urls import UrlError

if TYPE_CHECKING:
    from tests.unit.crawl.conftest import LoopbackSite

PAGE = "http://site.example/gallery/index.html"

ALL_PATTERNS = """<!doctype html>
<html lang="ko">
<head>
  <title>  Gallery
     page </title>
  <meta property="og:image" content="/og.jpg">
  <meta property="og:video" content="https://cdn.example/og.mp4">
  <meta name="twitter:image" content="tw.png">
  <link rel="next" href="?page=2">
</head>
<body>
  <img src="a.jpg" srcset="a-1x.jpg 1x, a-2x.jpg 2x" data-src="lazy.jpg">
  <picture><source srcset="pic.webp 1x, pic-2x.webp 2x"><img src="pic.jpg"></picture>
  <video src="clip.mp4" poster="poster.jpg"><source src="clip.webm" type="video/webm"></video>
  <audio><source src="song.mp3"></audio>
  <a href="full.png">full size</a>
  <a href="/gallery/2">next gallery</a>
  <a rel="next" href="index.html?page=2">more</a>
  <a href="mailto:Abuse@Site.Example?subject=report">contact</a>
</body>
</html>
"""


def test_extracts_every_media_pattern() -> None:
    # GIVEN a page using every way of embedding media the crawler knows
    # WHEN it is extracted
    page = extract_page(ALL_PATTERNS, PAGE)
    # THEN each media URL is absolute, canonical and labelled with where it was found
    base = "http://site.example/gallery/"
    assert set(page.media) == {
        MediaRef("http://site.example/og.jpg", "meta[og:image]"),
        MediaRef("https://cdn.example/og.mp4", "meta[og:video]"),
        MediaRef(base + "tw.png", "meta[twitter:image]"),
        MediaRef(base + "a.jpg", "img[src]"),
        MediaRef(base + "a-1x.jpg", "img[srcset]"),
        MediaRef(base + "a-2x.jpg", "img[srcset]"),
        MediaRef(base + "lazy.jpg", "img[data-src]"),
        MediaRef(base + "pic.webp", "source[srcset]"),
        MediaRef(base + "pic-2x.webp", "source[srcset]"),
        MediaRef(base + "pic.jpg", "img[src]"),
        MediaRef(base + "clip.mp4", "video[src]"),
        MediaRef(base + "poster.jpg", "video[poster]"),
        MediaRef(base + "clip.webm", "video>source[src]"),
        MediaRef(base + "full.png", "a[href]"),
    }
    # AND the page's own facts and links come along
    assert page.title == "Gallery page"
    assert page.lang == "ko"
    assert page.links == [base + "index.html?page=2", "http://site.example/gallery/2"]
    assert page.mailto == ["abuse@site.example"]
    assert page.truncated is False
    assert page.skipped_urls == 0


def test_resolves_relative_urls_against_base_href() -> None:
    # GIVEN a page whose <base href> points elsewhere (even when it comes after some URLs)
    html = '<img src="early.png"><base href="https://media.example/files/"><img src="x/y.gif"><a href="../up">u</a>'
    # WHEN it is extracted
    page = extract_page(html, PAGE)
    # THEN every relative URL resolves against the base, as browsers do
    assert page.base_url == "https://media.example/files/"
    assert [ref.url for ref in page.media] == [
        "https://media.example/files/early.png",
        "https://media.example/files/x/y.gif",
    ]
    assert page.links == ["https://media.example/up"]


def test_survives_broken_html() -> None:
    # GIVEN broken markup: unclosed tags, unquoted attributes, stray brackets, an unclosed comment
    html = (
        "<html><head><title>Broken<body><div><p><img src=one.png alt=x>"
        "<a href=/next>next<<img src='two.png'<a href=\"three.jpg\"></div></span></table>"
        "<video src=v.mp4><p>no closing video"
        "<!-- never closed <img src=hidden.png>"
    )
    # WHEN it is extracted
    page = extract_page(html, PAGE)
    # THEN what a browser would see is found and nothing raises
    urls = [ref.url for ref in page.media]
    assert "http://site.example/gallery/one.png" in urls
    assert "http://site.example/gallery/v.mp4" in urls
    assert "http://site.example/next" in page.links
    assert "http://site.example/gallery/hidden.png" not in urls


def test_collects_mailto_addresses() -> None:
    # GIVEN mailto links with mixed case, several recipients, a query, escapes, duplicates and junk
    html = """
      <a href="mailto:Abuse@Host.Example">a</a>
      <a href="MAILTO:dmca@site.example,legal@site.example?subject=hi&body=x">b</a>
      <a href="mailto:abuse%40host.example">dup</a>
      <a href="mailto:not-an-address">bad</a>
      <a href=" mailto:ops@site.example ">spaces</a>
    """
    # WHEN the page is extracted
    page = extract_page(html, PAGE)
    # THEN addresses are lowercased, deduplicated and in order; the unusable one is counted
    assert page.mailto == [
        "abuse@host.example",
        "dmca@site.example",
        "legal@site.example",
        "ops@site.example",
    ]
    assert page.skipped_urls == 1
    assert page.links == []


def test_links_are_canonical_deduplicated_and_ordered() -> None:
    # GIVEN links that differ only in spelling, plus fragments and pagination
    html = """
      <a href="/b">b</a><a href="HTTP://SITE.EXAMPLE/b#top">b again</a><a href="/a">a</a>
      <link rel="prev" href="/prev"><link rel="next" href="/p/2"><a href="/a?">a again</a>
    """
    # WHEN the page is extracted
    page = extract_page(html, PAGE)
    # THEN each page link appears once, canonical, in document order; rel=prev is not followed
    assert page.links == ["http://site.example/b", "http://site.example/a", "http://site.example/p/2"]


def test_skips_and_counts_unusable_urls() -> None:
    # GIVEN javascript:, data:, ftp: and malformed URLs
    html = """
      <a href="javascript:void(0)">js</a>
      <img src="data:image/png;base64,iVBORw0KGgo=">
      <a href="ftp://files.example/x">ftp</a>
      <img src="http://bad host.example/x.png">
      <img src="http://user:pw@site.example/x.png">
      <img src="ok.png">
    """
    # WHEN the page is extracted
    page = extract_page(html, PAGE)
    # THEN only the usable URL remains and the other five are counted
    assert [ref.url for ref in page.media] == ["http://site.example/gallery/ok.png"]
    assert page.skipped_urls == 5


def test_stops_collecting_after_max_links() -> None:
    # GIVEN a page with more references than the limit
    html = "".join(f'<a href="/p{i}">{i}</a>' for i in range(50)) + '<img src="late.png">'
    # WHEN it is extracted with a low limit
    page = extract_page(html, PAGE, max_links=10)
    # THEN collection stops at the limit and says so
    assert page.truncated is True
    assert len(page.links) == 10
    assert page.media == []


def test_decodes_with_meta_charset_and_header_charset() -> None:
    # GIVEN an EUC-KR page that declares its charset in a meta tag
    body = '<meta charset="euc-kr"><title>신고 센터</title>'.encode("euc-kr")
    # WHEN it is extracted without and with a (wrong-by-design) HTTP charset
    from_meta = extract_page(body, PAGE)
    from_header = extract_page(body, PAGE, content_type="text/html; charset=latin-1")
    # THEN the meta charset decodes it, and the HTTP header charset wins when given
    assert from_meta.title == "신고 센터"
    assert from_header.title != "신고 센터"


def test_undeclared_bytes_are_utf8_with_replacement() -> None:
    # GIVEN UTF-8 bytes with one invalid byte and no declaration
    body = "<title>café</title>".encode() + b"\xff<img src=a.png>"
    # WHEN extracted
    page = extract_page(body, PAGE)
    # THEN decoding does not fail and the content is read
    assert page.title == "café"
    assert [ref.url for ref in page.media] == ["http://site.example/gallery/a.png"]


def test_parse_srcset_keeps_commas_inside_urls() -> None:
    # GIVEN a srcset whose URLs contain commas (image CDN transformations)
    value = "https://cdn.example/c_fill,w_100/a.jpg 100w, https://cdn.example/c_fill,w_200/a.jpg 200w,b.jpg"
    # WHEN it is parsed
    urls = parse_srcset(value)
    # THEN every candidate URL is whole
    assert urls == [
        "https://cdn.example/c_fill,w_100/a.jpg",
        "https://cdn.example/c_fill,w_200/a.jpg",
        "b.jpg",
    ]


def test_rejects_bad_arguments() -> None:
    # GIVEN an unusable page URL, and a zero link limit
    # WHEN extraction is asked for
    # THEN each raises a specific error
    with pytest.raises(UrlError):
        extract_page("<p>x</p>", "ftp://site.example/")
    with pytest.raises(ValueError, match="max_links"):
        extract_page("<p>x</p>", PAGE, max_links=0)


def test_extracts_a_served_page(site: LoopbackSite) -> None:
    # GIVEN the all-patterns page served over HTTP as UTF-8
    url = site.serve("/gallery/index.html", ALL_PATTERNS.encode(), content_type="text/html; charset=utf-8")
    fetched = SafeFetcher(allow_private=True).fetch(url)
    # WHEN the fetched page is extracted against its final URL
    page = extract_page(fetched.body, fetched.final_url, content_type=fetched.content_type)
    # THEN the URLs resolve against the loopback site
    assert MediaRef(site.url("/gallery/clip.webm"), "video>source[src]") in page.media
    assert MediaRef(site.url("/og.jpg"), "meta[og:image]") in page.media
    assert len(page.media) == 14
    assert site.url("/gallery/2") in page.links
