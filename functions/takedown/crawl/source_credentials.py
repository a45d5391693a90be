"""What a source's Secrets Manager secret holds: request headers and cookies for that source's hosts only.

The secret named by a source's ``secret_ref`` is a JSON object::

    {"headers": {"Authorization": "Bearer ..."}, "cookies": {"session": "..."}}

Both keys are optional; nothing else is allowed. Names are checked (HTTP tokens; no header the fetcher
owns, such as ``Host`` or ``Content-Length``); values must fit on one header line. Errors name the key and
the header or cookie, never a value: the values are credentials and go nowhere but into the request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

# RFC 9110 token: the characters a header or cookie name may use.
_TOKEN: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")
# RFC 6265 cookie-octet: printable ASCII without space, '"', ',', ';' and '\'.
_COOKIE_VALUE: Final = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{0,4096}")
_MAX_VALUE_CHARS: Final = 8192
# Headers the fetcher writes itself, that would change the message framing, or that have their own key.
_RESERVED_HEADERS: Final = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "accept-encoding",
        "proxy-authorization",
        "proxy-connection",
        "cookie",
    }
)


class SourceSecretError(ValueError):
    """A source's secret cannot be used; ``reason`` is a short code such as ``"secret:invalid"``.

    The message names what is wrong (a key, a header name), never a secret value.
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(f"{message} [{reason}]")


@dataclass(frozen=True)
class SourceCredentials:
    """Headers and cookies a source's requests carry. ``repr`` shows names only."""

    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"SourceCredentials(headers={sorted(self.headers)}, cookies={sorted(self.cookies)})"

    def request_headers(self) -> dict[str, str]:
        """The headers to send: the secret's headers, and its cookies as one ``Cookie`` header.

        >>> SourceCredentials({"X-Key": "k"}, {"a": "1", "b": "2"}).request_headers()
        {'X-Key': 'k', 'Cookie': 'a=1; b=2'}
        """
        headers = dict(self.headers)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return headers


def _string_map(document: dict[str, object], key: str) -> dict[str, str]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise SourceSecretError("secret:invalid", f"'{key}' must be an object of name -> string")
    checked: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise SourceSecretError("secret:invalid", f"'{key}': {str(name)[:40]!r} is not a valid name")
        if not isinstance(item, str):
            raise SourceSecretError("secret:invalid", f"'{key}': the value of {name!r} must be a string")
        checked[name] = item
    return checked


def parse_source_secret(text: str) -> SourceCredentials:
    """Read a source secret's JSON text.

    Raises
    ------
    SourceSecretError
        ``secret:not-json`` when the text is not JSON, ``secret:invalid`` for any rule of the module
        documentation, ``secret:empty`` when it holds no header and no cookie.

    Examples
    --------
    >>> parse_source_secret('{"cookies": {"session": "abc"}}')
    SourceCredentials(headers=[], cookies=['session'])
    >>> parse_source_secret('{"headers": {"Host": "x"}}')  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    takedown.crawl.source_credentials.SourceSecretError: 'headers': 'Host' is set by the crawler [secret:invalid]
    """
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        # The decoder's message quotes the text near the error: not repeated here.
        raise SourceSecretError("secret:not-json", "the secret is not JSON") from error
    if not isinstance(document, dict):
        raise SourceSecretError("secret:invalid", "the secret must be a JSON object with 'headers'/'cookies'")
    unknown = sorted(str(key) for key in set(document) - {"headers", "cookies"})
    if unknown:
        raise SourceSecretError(
            "secret:invalid", f"unknown key {unknown[0][:40]!r} (allowed: headers, cookies)"
        )
    headers = _string_map(document, "headers")
    cookies = _string_map(document, "cookies")
    for name, value in headers.items():
        if name.lower() in _RESERVED_HEADERS:
            hint = " (put cookies under 'cookies')" if name.lower() == "cookie" else ""
            raise SourceSecretError("secret:invalid", f"'headers': {name!r} is set by the crawler{hint}")
        if len(value) > _MAX_VALUE_CHARS or any(not 0x20 <= ord(char) < 0x7F for char in value):
            raise SourceSecretError(
                "secret:invalid",
                f"'headers': the value of {name!r} is too long or not printable ASCII on one line",
            )
    for name, value in cookies.items():
        if not _COOKIE_VALUE.fullmatch(value):
            raise SourceSecretError(
                "secret:invalid", f"'cookies': the value of {name!r} is not a plain cookie value (RFC 6265)"
            )
    if not headers and not cookies:
        raise SourceSecretError("secret:empty", "the secret holds no header and no cookie")
    return SourceCredentials(headers=headers, cookies=cookies)
