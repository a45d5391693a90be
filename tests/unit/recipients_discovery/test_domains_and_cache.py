from __future__ import annotations

import pytest

from takedown.recipients.domains import (
    HostNameError,
    is_public_suffix,
    normalise_host,
    parent_domains,
    registered_domain,
)
from takedown.recipients.ttl_cache import TtlCache


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("www.example.com", "example.com"),
        ("a.b.example.co.uk", "example.co.uk"),
        ("www.example.co.kr", "example.co.kr"),
        ("someone.blogspot.com", "blogspot.com"),  # private suffixes do not count: the registrar's view
        ("EXAMPLE.COM.", "example.com"),
        ("bücher.example.de", "example.de"),
        ("site.example", ""),
        ("192.0.2.1", ""),
        ("[2001:db8::1]", ""),
    ],
)
def test_registered_domain_uses_the_bundled_public_suffix_list(host: str, domain: str) -> None:
    assert registered_domain(host) == domain


@pytest.mark.parametrize("host", ["", "exa mple.com", "a..b.com", "x" * 64 + ".com", "1.2.3.999"])
def test_invalid_host_names_are_refused(host: str) -> None:
    with pytest.raises(HostNameError):
        normalise_host(host)


def test_parent_domains_and_public_suffixes() -> None:
    assert parent_domains("a.b.example.co.uk") == [
        "a.b.example.co.uk",
        "b.example.co.uk",
        "example.co.uk",
        "co.uk",
    ]
    assert is_public_suffix("co.uk") and is_public_suffix("com") and not is_public_suffix("example.com")


def test_cache_expires_entries_and_keeps_at_most_max_entries() -> None:
    # GIVEN a cache of two entries with a controlled clock
    now = [0.0]
    cache: TtlCache[str, int] = TtlCache(ttl_seconds=10, max_entries=2, clock=lambda: now[0])
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    # THEN the oldest entry made room for the newest
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == (None, 2, 3, 2)
    # AND entries expire after their time to live
    now[0] = 10.0
    assert cache.get("b") is None


def test_cache_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        TtlCache(ttl_seconds=0)
