"""After a notice the demo's boards change as operators would: a path answers 404, or serves a placeholder."""

from __future__ import annotations

import pytest

from takedown.demo.site import DemoSite, DemoSiteError, build_demo_site, serve_site
from tests.unit.demo.loopback_http import fetch


@pytest.fixture(scope="module")
def site() -> DemoSite:
    return build_demo_site(bank_seeds=[11, 23], n_pages=4)


def test_a_taken_down_picture_answers_404_and_the_rest_of_the_site_is_unchanged(site: DemoSite) -> None:
    # GIVEN a served site and one of its altered copies
    picture, other = sorted(site.altered_copies)
    with serve_site(site) as server:
        assert fetch(server.base_url + picture)[0] == 200
        # WHEN its operator deletes the picture
        server.take_down(picture)
        # THEN the picture answers 404, and every other path what it answered before
        status, content_type, _ = fetch(server.base_url + picture)
        assert (status, content_type.split(";")[0]) == (404, "text/plain")
        assert fetch(server.base_url + other) == (200, *site.resources[other])
        page = site.pages[1]
        rendered = site.render(page, origin=server.base_url)
        assert rendered is not None
        assert fetch(server.base_url + page) == (200, *rendered)
        assert server.errors == []


def test_a_replaced_picture_serves_the_replacement_under_the_same_url(site: DemoSite) -> None:
    # GIVEN a served site
    picture = sorted(site.altered_copies)[0]
    with serve_site(site) as server:
        # WHEN its operator puts other bytes at the picture's URL
        server.replace(picture, "image/png", b"\x89PNG placeholder")
        # THEN the URL serves them, with their type, and the request is counted like any other
        assert fetch(server.base_url + picture) == (200, "image/png", b"\x89PNG placeholder")
        assert server.hits[picture] == 1


@pytest.mark.parametrize(
    ("change", "reason_part"),
    [
        (lambda server: server.take_down("/media/not-there.jpg"), "serves nothing at"),
        (lambda server: server.replace("/media/not-there.jpg", "image/png", b""), "serves nothing at"),
        (lambda server: server.replace("/", "  ", b""), "content type"),
    ],
)
def test_changing_a_path_the_site_does_not_serve_or_without_a_type_is_refused(
    site: DemoSite, change: object, reason_part: str
) -> None:
    # GIVEN a served site
    with serve_site(site) as server:
        # WHEN a change names a path the site never served, or has no content type
        with pytest.raises(DemoSiteError) as refused:
            change(server)  # type: ignore[operator]
        # THEN it is refused with the reason, and the site still answers as built
        assert reason_part in refused.value.reason
        assert fetch(server.base_url + "/robots.txt")[0] == 200
