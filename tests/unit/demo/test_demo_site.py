"""The demo board site: its pages, its images and their distances, and the loopback server that serves it."""

from __future__ import annotations

import io
import socket
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import imagehash
import pytest
from PIL import Image

from takedown.demo.site import (
    HTML_TYPE,
    ORIGIN_PLACEHOLDER,
    DemoSite,
    DemoSiteError,
    build_demo_site,
    serve_site,
)
from takedown.demo.synthetic import encode, make_image
from tests.unit.demo.loopback_http import fetch

BANK_SEEDS = [11, 23, 37, 52]
ORIGIN = "http://127.0.0.1:8765"


class _PageLinks(HTMLParser):
    """Collects <img src>, <a href> with their rel, <link rel> and the <html lang> of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.anchors: list[tuple[str, str | None]] = []
        self.head_links: list[tuple[str, str | None]] = []
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        elif tag == "img" and values.get("src"):
            self.images.append(str(values["src"]))
        elif tag == "a" and values.get("href"):
            self.anchors.append((str(values["href"]), values.get("rel")))
        elif tag == "link" and values.get("href"):
            self.head_links.append((str(values["href"]), values.get("rel")))


def _parse(site: DemoSite, path: str) -> _PageLinks:
    rendered = site.render(path, origin=ORIGIN)
    assert rendered is not None
    parser = _PageLinks()
    parser.feed(rendered[1].decode("utf-8"))
    return parser


def _image_paths(site: DemoSite, page: str) -> list[str]:
    return [urlsplit(urljoin(ORIGIN + page, src)).path for src in _parse(site, page).images]


def _phash(data: bytes) -> imagehash.ImageHash:
    with Image.open(io.BytesIO(data)) as image:
        return imagehash.phash(image.convert("RGB"))


@pytest.fixture(scope="module")
def site() -> DemoSite:
    return build_demo_site(bank_seeds=BANK_SEEDS, n_pages=12)


# --- building -------------------------------------------------------------------------------------------


def test_same_arguments_build_the_same_site() -> None:
    # GIVEN / WHEN the site is built twice with the same arguments
    first = build_demo_site(bank_seeds=[5], n_pages=2, seed=3)
    second = build_demo_site(bank_seeds=[5], n_pages=2, seed=3)

    # THEN every byte and every expectation is the same
    assert first.resources == second.resources
    assert first.expected_matches == second.expected_matches
    assert first.altered_copies == second.altered_copies


def test_another_site_seed_gives_another_layout() -> None:
    # GIVEN / WHEN
    first = build_demo_site(bank_seeds=[5], n_pages=2, seed=3)
    second = build_demo_site(bank_seeds=[5], n_pages=2, seed=4)

    # THEN
    assert first.resources != second.resources


def test_index_is_korean_links_every_board_page_and_the_abuse_contact(site: DemoSite) -> None:
    # GIVEN / WHEN
    index = _parse(site, "/")

    # THEN
    hrefs = {href for href, _ in index.anchors}
    assert index.lang == "ko"
    assert {f"/board/{n}" for n in range(1, 13)} <= hrefs
    assert "mailto:abuse@site.example" in hrefs
    assert ("/board/1", "next") in index.anchors


def test_site_lists_its_pages_and_a_robots_file(site: DemoSite) -> None:
    # GIVEN / WHEN / THEN
    assert site.pages == ["/", *(f"/board/{n}" for n in range(1, 13))]
    assert site.resources["/robots.txt"][0].startswith("text/plain")


def test_board_pages_paginate_with_rel_next_and_prev(site: DemoSite) -> None:
    for number in range(1, 13):
        # GIVEN / WHEN
        page = _parse(site, f"/board/{number}")

        # THEN every page but the last points on, every page but the first points back
        assert (("/board/" + str(number + 1), "next") in page.anchors) is (number < 12)
        assert (("/board/" + str(number + 1), "next") in page.head_links) is (number < 12)
        assert (("/board/" + str(number - 1), "prev") in page.anchors) is (number > 1)
        assert page.lang == "ko"


def test_every_board_page_shows_one_to_three_images_that_exist(site: DemoSite) -> None:
    shown: set[str] = set()
    for number in range(1, 13):
        # GIVEN / WHEN
        paths = _image_paths(site, f"/board/{number}")

        # THEN
        assert 1 <= len(set(paths)) <= 3
        for path in paths:
            assert site.resources[path][0].startswith("image/")
        shown.update(paths)
    # AND no image on the site is left unshown
    assert shown == set(site.media_paths())


def test_image_urls_come_root_relative_page_relative_and_absolute(site: DemoSite) -> None:
    # GIVEN
    sources = [src for number in range(1, 13) for src in _parse(site, f"/board/{number}").images]

    # WHEN / THEN
    assert any(src.startswith(ORIGIN + "/media/") for src in sources)
    assert any(src.startswith("../media/") for src in sources)
    assert any(src.startswith("/media/") for src in sources)


def test_images_come_in_several_formats_with_matching_content_types(site: DemoSite) -> None:
    # GIVEN
    expected_format = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
    seen: set[str] = set()

    for path in site.media_paths():
        # WHEN each image is decoded
        content_type, data = site.resources[path]
        with Image.open(io.BytesIO(data)) as image:
            # THEN its bytes are what its content type says
            assert image.format == expected_format[content_type], path
        seen.add(content_type)
    assert seen == set(expected_format)


def test_each_expected_match_page_shows_its_altered_bank_copy(site: DemoSite) -> None:
    # GIVEN / WHEN / THEN one page per bank seed, and that page shows the altered copy
    assert len(site.expected_matches) == len(BANK_SEEDS)
    assert sorted(copy.bank_seed for copy in site.altered_copies.values()) == sorted(BANK_SEEDS)
    for page, media in site.expected_matches.items():
        assert media in _image_paths(site, page)
        assert media in site.altered_copies


def test_altered_copies_are_scaled_recompressed_and_sometimes_captioned(site: DemoSite) -> None:
    for media, copy in site.altered_copies.items():
        # GIVEN
        content_type, data = site.resources[media]

        # WHEN / THEN
        assert content_type == "image/jpeg"
        assert 0.5 <= copy.scale <= 0.8
        assert 60 <= copy.jpeg_quality <= 80
        with Image.open(io.BytesIO(data)) as image:
            assert image.size == (round(640 * copy.scale), round(480 * copy.scale))
    captions = [copy.caption for copy in site.altered_copies.values()]
    assert any(caption is None for caption in captions)
    assert any(caption is not None for caption in captions)


def test_bank_images_are_the_unaltered_originals_as_png(site: DemoSite) -> None:
    # GIVEN / WHEN
    bank = site.bank_images()

    # THEN
    assert bank == {f"sample-{seed}": encode(make_image(seed), "PNG") for seed in BANK_SEEDS}


def test_unrelated_images_are_every_image_but_the_altered_copies(site: DemoSite) -> None:
    # GIVEN / WHEN
    unrelated = set(site.unrelated_media_paths())

    # THEN
    assert unrelated == set(site.media_paths()) - set(site.altered_copies)
    assert unrelated


def test_bank_originals_are_close_to_their_copies_and_far_from_everything_else(site: DemoSite) -> None:
    # GIVEN the pHash of each bank original and of each image on the site
    bank = {item: _phash(data) for item, data in site.bank_images().items()}
    on_site = {path: _phash(site.resources[path][1]) for path in site.media_paths()}

    for item, original in bank.items():
        # WHEN the original is compared with every image on the site
        for path, found in on_site.items():
            copy = site.altered_copies.get(path)
            distance = original - found
            # THEN its own altered copy is within 8 bits and every other image is at least 20 away
            if copy is not None and copy.bank_item_id == item:
                assert distance <= 8, (item, path, distance)
            else:
                assert distance >= 20, (item, path, distance)


@pytest.mark.parametrize(
    ("arguments", "reason_part"),
    [
        ({"bank_seeds": [3, 3]}, "distinct"),
        ({"bank_seeds": [1000]}, "0..999"),
        ({"bank_seeds": [-1]}, "0..999"),
        ({"bank_seeds": [1, 2, 3], "n_pages": 2}, "pages"),
        ({"bank_seeds": [], "n_pages": 0}, "n_pages"),
        ({"bank_seeds": [], "contact": "nobody"}, "email"),
        ({"bank_seeds": [], "contact": "a b@site.example"}, "email"),
        ({"bank_seeds": [], "contact": 'x"@site.example'}, "email"),
    ],
)
def test_bad_arguments_are_refused_with_a_reason(arguments: dict[str, object], reason_part: str) -> None:
    # GIVEN / WHEN / THEN
    with pytest.raises(DemoSiteError) as raised:
        build_demo_site(**arguments)  # type: ignore[arg-type]
    assert reason_part in raised.value.reason


def test_site_without_bank_seeds_has_no_expected_matches() -> None:
    # GIVEN / WHEN
    site = build_demo_site(bank_seeds=[], n_pages=2)

    # THEN
    assert site.expected_matches == {}
    assert site.bank_images() == {}
    assert set(site.unrelated_media_paths()) == set(site.media_paths())


# --- serving --------------------------------------------------------------------------------------------


def test_server_serves_every_path_with_its_content_type(site: DemoSite) -> None:
    # GIVEN a running server
    with serve_site(site) as server:
        for path in site.resources:
            # WHEN each path is fetched over HTTP
            status, content_type, body = fetch(server.base_url + path)

            # THEN it comes back whole, typed, and with absolute URLs pointing at this server
            expected = site.render(path, origin=server.base_url)
            assert expected is not None
            assert (status, content_type, body) == (200, *expected)
            if content_type == HTML_TYPE:
                assert ORIGIN_PLACEHOLDER.encode() not in body
        assert server.errors == []


def test_server_listens_on_loopback(site: DemoSite) -> None:
    # GIVEN / WHEN
    with serve_site(site) as server:
        # THEN
        assert server.base_url.startswith("http://127.0.0.1:")
        assert urlsplit(server.base_url).port


def test_unknown_path_is_404(site: DemoSite) -> None:
    # GIVEN
    with serve_site(site) as server:
        # WHEN
        status, content_type, _ = fetch(server.base_url + "/board/999")

        # THEN
        assert status == 404
        assert content_type.startswith("text/plain")
        assert server.hits == {"/board/999": 1}


def test_hits_count_requests_per_path_ignoring_query_strings(site: DemoSite) -> None:
    # GIVEN
    media = site.media_paths()[0]
    with serve_site(site) as server:
        # WHEN
        fetch(server.base_url + "/")
        fetch(server.base_url + "/?page=1")
        fetch(server.base_url + media)

        # THEN
        assert server.hits == {"/": 2, media: 1}


def test_head_sends_headers_without_a_body(site: DemoSite) -> None:
    # GIVEN
    media = site.media_paths()[0]
    with serve_site(site) as server:
        # WHEN
        status, content_type, body = fetch(server.base_url + media, method="HEAD")

        # THEN
        assert (status, content_type, body) == (200, site.resources[media][0], b"")


def test_server_writes_nothing_to_stderr(site: DemoSite, capfd: pytest.CaptureFixture[str]) -> None:
    # GIVEN
    with serve_site(site) as server:
        # WHEN ordinary, missing and unsupported requests arrive
        fetch(server.base_url + "/")
        fetch(server.base_url + "/missing")
        fetch(server.base_url + "/", method="DELETE")

    # THEN
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out == ""


def test_closed_server_refuses_connections(site: DemoSite) -> None:
    # GIVEN a server that was started and closed (twice: closing again is harmless)
    server = serve_site(site)
    port = urlsplit(server.base_url).port
    assert port is not None
    server.close()
    server.close()

    # WHEN / THEN
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.com", "::"])
def test_non_loopback_hosts_are_refused(site: DemoSite, host: str) -> None:
    # GIVEN / WHEN / THEN
    with pytest.raises(DemoSiteError) as raised:
        serve_site(site, host=host)
    assert "loopback" in raised.value.reason
