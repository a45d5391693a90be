"""Properties of URL canonicalisation (``takedown.crawl.urls``): for any input, a canonical URL or a ``UrlError``.

A canonical URL is idempotent under canonicalisation, absolute http(s), without credentials or fragment, with a
lowercase ASCII (IDNA) host; the dedup, the host allow-lists and the SSRF guard all rely on that.
"""

from __future__ import annotations

import string
from urllib.parse import urlsplit

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from takedown.crawl.urls import UrlError, canonicalize_url, host_of, split_url

PROPERTIES = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

SCHEMES = st.sampled_from(
    ["http", "https", "HTTP", "HtTpS", "ftp", "file", "javascript", "data", "gopher", ""]
)
LABEL = st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=12)
UNICODE_LABEL = st.text(
    alphabet=st.characters(codec="utf-8", categories=["Ll", "Lu", "Lo", "Nd"]), min_size=1, max_size=8
)
HOSTS = st.one_of(
    st.lists(st.one_of(LABEL, UNICODE_LABEL), min_size=1, max_size=4).map(".".join),
    st.ip_addresses().map(lambda ip: f"[{ip}]" if ip.version == 6 else str(ip)),
    st.integers(0, 2**32 - 1).map(str),  # decimal IPv4
    st.integers(0, 2**32 - 1).map(hex),  # hex IPv4
    st.sampled_from(
        ["localhost", "LOCALHOST.", "0177.0.0.1", "127.1", "[::ffff:127.0.0.1]", "xn--bcher-kva.example"]
    ),
)
SANE_HOSTS = st.one_of(
    st.lists(st.one_of(LABEL, UNICODE_LABEL), min_size=1, max_size=4).map(
        lambda labels: ".".join(labels) + ".example"
    ),
    st.ip_addresses().map(lambda ip: f"[{ip}]" if ip.version == 6 else str(ip)),
)
URL_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)
USERINFO = st.one_of(st.just(""), st.sampled_from(["user@", "user:pass@", ":@", "a%40b@"]))
PORTS = st.one_of(
    st.just(""), st.integers(0, 70000).map(lambda p: f":{p}"), st.sampled_from([":", ":http", ":８０"])
)


@st.composite
def url_like(draw: st.DrawFn, *, hostile: bool) -> str:
    """Strings shaped like URLs. ``hostile`` draws every part from sane and hostile choices alike; otherwise the
    scheme, separator, credentials and port are mostly what a page would use, so most inputs canonicalise."""
    if hostile:
        scheme, separator = draw(SCHEMES), draw(st.sampled_from(["://", ":/", ":\\\\", ":"]))
        authority = draw(USERINFO) + draw(HOSTS) + draw(PORTS)
    else:
        scheme, separator = draw(st.sampled_from(["http", "https", "HTTPS"])), "://"
        port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")))
        authority = draw(SANE_HOSTS) + port
    path = "/" + draw(URL_TEXT)
    query = draw(st.one_of(st.just(""), URL_TEXT.map(lambda q: "?" + q)))
    fragment = draw(st.one_of(st.just(""), URL_TEXT.map(lambda f: "#" + f)))
    return (
        f"{scheme}{separator}{authority}{path}{query}{fragment}" if scheme else f"//{authority}{path}{query}"
    )


def canonical_or_none(url: str, base: str | None = None) -> str | None:
    try:
        return canonicalize_url(url, base=base)
    except UrlError as refused:
        assert refused.reason  # every refusal carries a reason code
        return None


def assert_canonical(canonical: str) -> None:
    # Doing it again changes nothing
    assert canonicalize_url(canonical) == canonical
    parts = urlsplit(canonical)
    # It is absolute http(s), without credentials or fragment
    assert parts.scheme in {"http", "https"}
    assert "@" not in parts.netloc and "#" not in canonical
    # Its host is lowercase ASCII (IDNA for names), and what host_of and split_url report
    host = host_of(canonical)
    assert host.isascii() and host == host.lower() and host
    assert split_url(canonical).url == canonical
    # No control character or space survives anywhere
    assert not any(ord(c) < 0x21 or ord(c) == 0x7F for c in canonical)


@PROPERTIES
@given(url_like(hostile=False))
@example("HTTP://Example.COM:80/a/./b/../c%7e?b=2&a=1#top")
@example("http://xn--bcher-kva.example/")
@example("http://bücher.example/über")
def test_canonicalisation_is_idempotent_and_yields_only_safe_http_urls(url: str) -> None:
    # GIVEN a URL a page could carry WHEN it is canonicalised THEN the result is canonical (see assert_canonical)
    canonical = canonical_or_none(url)
    assume(canonical is not None)
    assert canonical is not None
    assert_canonical(canonical)


@PROPERTIES
@given(st.one_of(url_like(hostile=True), st.text(max_size=80)))
@example("https://user:pass@bank.example/")
@example("javascript:alert(1)//http://x.example/")
def test_any_string_gives_a_canonical_url_or_a_url_error(url: str) -> None:
    # GIVEN any string, hostile parts included WHEN it is canonicalised
    # THEN the only failure is a UrlError with a reason (canonical_or_none checks), and a success is canonical
    canonical = canonical_or_none(url)
    if canonical is not None:
        assert_canonical(canonical)


@PROPERTIES
@given(
    st.text(max_size=60),
    st.one_of(url_like(hostile=False), st.sampled_from(["https://site.example/a/b/", "http://[::1]:8080/"])),
)
def test_a_relative_reference_resolves_to_a_canonical_url_or_is_refused(reference: str, base: str) -> None:
    # GIVEN any reference found on a page and the page's URL
    page = canonical_or_none(base)
    assume(page is not None)
    # WHEN it is resolved THEN the result (if any) is canonical and http(s)
    resolved = canonical_or_none(reference, base=page)
    if resolved is not None:
        assert_canonical(resolved)


@PROPERTIES
@given(st.lists(st.one_of(LABEL, UNICODE_LABEL), min_size=1, max_size=3), st.sampled_from(["http", "https"]))
def test_hosts_that_differ_only_in_case_or_a_trailing_dot_are_one_host(
    labels: list[str], scheme: str
) -> None:
    # GIVEN one host name written three ways
    name = ".".join(labels)
    spellings = [f"{scheme}://{name}/", f"{scheme}://{name.upper()}/", f"{scheme}://{name}./"]
    canonical = [canonical_or_none(s) for s in spellings]
    assume(all(c is not None for c in canonical))
    # THEN they canonicalise to one URL (where upper-casing keeps the name a name: some letters change form)
    assert canonical[0] == canonical[2]
    if name.upper().lower() == name.lower():
        assert canonical[0] == canonical[1]
