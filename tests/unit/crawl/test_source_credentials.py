"""A source's secret: headers and cookies, checked, and never echoed in errors or reprs."""

from __future__ import annotations

import json

import pytest

from takedown.crawl.source_credentials import SourceCredentials, SourceSecretError, parse_source_secret

SECRET_VALUE = "synthetic-secret-value-7d41"


def test_a_secret_with_headers_and_cookies_becomes_request_headers() -> None:
    # GIVEN a secret with a header and two cookies
    text = json.dumps({"headers": {"X-Crawl-Key": SECRET_VALUE}, "cookies": {"session": "abc", "lang": "ko"}})
    # WHEN it is parsed
    credentials = parse_source_secret(text)
    # THEN the request carries the header and one Cookie header, and the repr shows names only
    assert credentials.request_headers() == {"X-Crawl-Key": SECRET_VALUE, "Cookie": "session=abc; lang=ko"}
    assert SECRET_VALUE not in repr(credentials)
    assert repr(credentials) == "SourceCredentials(headers=['X-Crawl-Key'], cookies=['lang', 'session'])"


def test_cookies_alone_are_enough() -> None:
    assert parse_source_secret('{"cookies": {"sid": "1"}}').request_headers() == {"Cookie": "sid=1"}


@pytest.mark.parametrize(
    ("document", "reason", "names"),
    [
        ("not json", "secret:not-json", ""),
        ([], "secret:invalid", "JSON object"),
        ({"headers": {}, "password": "x"}, "secret:invalid", "'password'"),
        ({"headers": ["X-Key"]}, "secret:invalid", "'headers'"),
        ({"headers": {"Bad Name": "b4d-v4lue"}}, "secret:invalid", "'Bad Name'"),
        ({"headers": {"X-Key": 5}}, "secret:invalid", "'X-Key'"),
        ({"headers": {"Host": "h0st-v4lue"}}, "secret:invalid", "'Host'"),
        ({"headers": {"Cookie": "k3y=v4lue"}}, "secret:invalid", "'cookies'"),
        ({"headers": {"X-Key": "v4lue\r\nInjected: 1"}}, "secret:invalid", "'X-Key'"),
        ({"headers": {"X-Key": "v4lu\u00e9"}}, "secret:invalid", "'X-Key'"),
        ({"cookies": {"sid": "v4l;ue"}}, "secret:invalid", "'sid'"),
        ({"cookies": {"sid": "v4l ue"}}, "secret:invalid", "'sid'"),
        ({}, "secret:empty", ""),
        ({"headers": {}, "cookies": {}}, "secret:empty", ""),
    ],
)
def test_a_bad_secret_is_refused_by_name_without_its_value(document: object, reason: str, names: str) -> None:
    # GIVEN a secret that breaks a rule
    text = document if isinstance(document, str) else json.dumps(document)
    # WHEN it is parsed
    with pytest.raises(SourceSecretError) as raised:
        parse_source_secret(text)
    # THEN the reason says what kind of problem, the message names the key, and no value is repeated
    assert raised.value.reason == reason
    assert names in raised.value.message
    for value in _values(document):
        assert value not in raised.value.message


def _values(document: object) -> list[str]:
    """The header and cookie values of a secret document (what must never be echoed)."""
    if not isinstance(document, dict):
        return []
    return [
        v
        for key in ("headers", "cookies")
        if isinstance(document.get(key), dict)
        for v in document[key].values()
        if isinstance(v, str)
    ]


def test_credentials_default_to_nothing() -> None:
    assert SourceCredentials().request_headers() == {}
