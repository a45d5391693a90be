"""URL canonicalisation: one spelling per resource, and clear refusals for URLs the crawler must not use."""

from __future__ import annotations

import pytest

from takedown.crawl.urls import UrlError, canonicalize_url, host_of, split_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM/", "http://example.com/"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com/a#section-2", "http://example.com/a"),
        ("http://example.com/a/./b/../c", "http://example.com/a/c"),
        ("http://example.com/a/%2e%2E/b", "http://example.com/b"),
        ("http://example.com/%7euser/%41%62c", "http://example.com/~user/Abc"),
        ("http://example.com/a%2fb%3a", "http://example.com/a%2Fb%3A"),
        ("http://example.com/a b/ü", "http://example.com/a%20b/%C3%BC"),
        ("http://example.com/100%", "http://example.com/100%25"),
        ("http://example.com/?b=2&a=1&b=1", "http://example.com/?b=2&a=1&b=1"),
        ("http://example.com/p?q=a b&r=%7e", "http://example.com/p?q=a%20b&r=~"),
        ("http://example.com/p?", "http://example.com/p"),
        ("http://bücher.example/", "http://xn--bcher-kva.example/"),
        ("http://Example.com./x", "http://example.com/x"),
        ("  http://example.com/x \n", "http://example.com/x"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("http://[0:0:0:0:0:0:0:1]/", "http://[::1]/"),
        ("http://0x7f.1/", "http://127.0.0.1/"),
        ("http://2130706433/", "http://127.0.0.1/"),
        ("http://0177.0.0.1/", "http://127.0.0.1/"),
        ("http://example.com\\evil\\path", "http://example.com/evil/path"),
    ],
)
def test_canonicalize_url_normalises(url: str, expected: str) -> None:
    # GIVEN a URL spelled in a non-canonical way
    # WHEN it is canonicalised
    result = canonicalize_url(url)
    # THEN it has the one canonical spelling
    assert result == expected


@pytest.mark.parametrize(
    ("relative", "base", "expected"),
    [
        ("img/a.png", "http://site.example/dir/page.html", "http://site.example/dir/img/a.png"),
        ("../a.png", "http://site.example/dir/sub/", "http://site.example/dir/a.png"),
        ("/root.png", "http://site.example/dir/page", "http://site.example/root.png"),
        ("//cdn.example/x.jpg", "https://site.example/", "https://cdn.example/x.jpg"),
        ("?page=2", "http://site.example/list?page=1", "http://site.example/list?page=2"),
        ("https://other.example/a", "http://site.example/", "https://other.example/a"),
    ],
)
def test_canonicalize_url_resolves_against_base(relative: str, base: str, expected: str) -> None:
    # GIVEN a relative URL and the page it appears on
    # WHEN it is canonicalised with that base
    result = canonicalize_url(relative, base=base)
    # THEN it is absolute and canonical
    assert result == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://files.example/a", "scheme:ftp"),
        ("javascript:alert(1)", "scheme:javascript"),
        ("file:///etc/passwd", "scheme:file"),
        ("data:image/png;base64,AAAA", "scheme:data"),
        ("/relative/only", "url:relative"),
        ("http:///path", "url:no-host"),
        ("http://user:pass@example.com/", "url:credentials"),
        ("http://user@example.com/", "url:credentials"),
        ("http://exa\x00mple.com/", "url:control-chars"),
        ("http://example.com/a\x7fb", "url:control-chars"),
        ("http://example.com/a\nb", "url:control-chars"),
        ("http://example.com:99999/", "url:invalid-port"),
        ("http://example.com:8o/", "url:invalid-port"),
        ("http://exa mple.com/", "url:invalid-host"),
        ("http://a..b/", "url:invalid-host"),
        ("http://1.2.3.999/", "url:invalid-host"),
        ("http://[::1/", "url:invalid-host"),
        ("http://[fe80::1%25eth0]/", "url:invalid-host"),
    ],
)
def test_canonicalize_url_refuses(url: str, reason: str) -> None:
    # GIVEN a URL the crawler must not use
    # WHEN it is canonicalised
    with pytest.raises(UrlError) as raised:
        canonicalize_url(url)
    # THEN the error names the specific reason
    assert raised.value.reason == reason


def test_canonicalize_url_is_idempotent() -> None:
    # GIVEN an already canonical URL with escapes and a query
    url = canonicalize_url("HTTPS://Bücher.Example:443/a b/%7e?x=%2f#f")
    # WHEN it is canonicalised again
    again = canonicalize_url(url)
    # THEN nothing changes
    assert again == url == "https://xn--bcher-kva.example/a%20b/~?x=%2F"


def test_host_of_and_split_url() -> None:
    # GIVEN URLs with mixed-case, IDN and IPv6 hosts
    # WHEN their parts are taken
    parts = split_url("https://[::1]:8443/a?b=1")
    # THEN hosts are canonical and the request target and Host header are ready for a fetcher
    assert host_of("http://WWW.Example.com./x") == "www.example.com"
    assert host_of("http://bücher.example/") == "xn--bcher-kva.example"
    assert (parts.host, parts.port, parts.target, parts.host_header) == ("::1", 8443, "/a?b=1", "[::1]:8443")
    assert split_url("http://site.example/").host_header == "site.example"
