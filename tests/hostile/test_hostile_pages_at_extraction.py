"""Hostile pages at the HTML extractor (``extract_page``, what the crawl worker and the re-check run on each page):
parse work ends where collecting ends, so a page of a million links or tags, or a construct left open for
megabytes, costs what its first chunks do. Each assertion counts work (tags seen, characters fed), never time.
"""

from __future__ import annotations

from takedown.crawl.html_media import MAX_PARSE_CHARS, MAX_PARSE_TAGS, extract_page

PAGE = "https://board.example/list"
MILLION = 1_000_000


def test_a_page_of_a_million_links_is_parsed_only_until_the_extractor_stops() -> None:
    # GIVEN a 30 MB page of a million links, as bytes off the wire, with the one picture at the very end
    links = "".join(f'<a href="/p/{n}">{n}</a>' for n in range(MILLION))
    page = f'<html><head><title>list</title></head><body>{links}<img src="/last.png"></body></html>'.encode()
    # WHEN it is extracted with the crawler's default bounds
    extract = extract_page(page, PAGE)
    # THEN the first 5000 links are kept and the page is marked truncated (recorded as extract:truncated) ...
    assert extract.truncated is True
    assert len(extract.links) == 5000 and extract.title == "list"
    # ... and parsing stopped there: a few thousand tags and under a fiftieth of the page were ever parsed
    assert extract.tags_seen <= 5000 + 10
    assert 0 < extract.chars_fed < len(page) // 50
    assert extract.media == []


def test_a_page_of_a_million_tags_without_a_link_stops_at_the_tag_bound() -> None:
    # GIVEN a page of a million empty <div>s (nothing to collect, so the link bound never stops it)
    page = "<div>" * MILLION + '<img src="/last.png">'
    # WHEN it is extracted
    extract = extract_page(page, PAGE)
    # THEN parsing stopped at the tag bound, well before the end of the page
    assert extract.truncated is True
    assert extract.tags_seen == MAX_PARSE_TAGS < MILLION
    assert extract.chars_fed < len(page) // 4
    assert extract.media == []


def test_a_construct_left_open_for_megabytes_is_read_only_up_to_the_character_bound() -> None:
    # GIVEN 12 MB that the parser can never finish reading: one start tag that does not close, and a comment
    open_tag = "<img " + "data-x=y " * (12 * 1024 * 1024 // 9)
    open_comment = "<!--" + "x" * (12 * 1024 * 1024)
    for page in (open_tag, open_comment):
        # WHEN it is extracted
        extract = extract_page(page, PAGE)
        # THEN exactly the character bound was fed, and the page is marked truncated
        assert len(page) > MAX_PARSE_CHARS
        assert extract.chars_fed == MAX_PARSE_CHARS
        assert extract.truncated is True and extract.media == []


def test_a_page_within_the_bounds_is_read_to_its_end() -> None:
    # GIVEN a page just under the tag bound, whose only picture is its last tag
    page = "<p>" * (MAX_PARSE_TAGS - 1) + '<img src="/last.png">'
    # WHEN it is extracted
    extract = extract_page(page, PAGE)
    # THEN every character was fed, the picture was found, and nothing is marked truncated
    assert extract.truncated is False
    assert extract.chars_fed == len(page) and extract.tags_seen == MAX_PARSE_TAGS
    assert [m.url for m in extract.media] == ["https://board.example/last.png"]
