"""The errors a fetch can end in: a policy refusal or a network failure, each with a short reason code; and a
deferral (:class:`FetchDeferred`), which is not an error of the URL: the request is put off to a later attempt.

The reason code (``"address:loopback"``, ``"size:exceeded"``, ``"redirects:too-many"``, ``"scheme:ftp"``,
``"deadline"``, ``"network:connect"`` ...) is what the crawl worker records and counts; the message is
for people reading the record.
"""

from __future__ import annotations

_MAX_URL_IN_MESSAGE = 200


def shorten_url(url: str) -> str:
    """A URL cut to a length fit for an error message (crawled URLs can be kilobytes long)."""
    if len(url) <= _MAX_URL_IN_MESSAGE:
        return url
    return url[:_MAX_URL_IN_MESSAGE] + "..."


class CrawlError(Exception):
    """A URL could not be fetched.

    Attributes
    ----------
    url
        The URL the failure is about (for a redirect, the hop that failed).
    reason
        A short machine-readable code such as ``"address:loopback"`` or ``"deadline"``.
    message
        A sentence for people.
    """

    def __init__(self, url: str, reason: str, message: str = "") -> None:
        self.url = url
        self.reason = reason
        self.message = message or reason
        super().__init__(f"{self.message} [{reason}] {shorten_url(url)}")


class FetchRefused(CrawlError):
    """The crawler's own policy stopped the fetch: scheme, address, redirects, size or deadline."""


class FetchFailed(CrawlError):
    """The network or the server failed: refused connection, timeout, broken TLS or HTTP."""


class FetchDeferred(Exception):
    """A request was put off, not refused: the host's rate limit or the worker's deadline leaves no slot now.

    Attributes
    ----------
    url
        The URL that was not requested.
    reason
        ``"deferred:host-rate-limit"`` or ``"deferred:worker-deadline"``.
    message
        A sentence for people.
    retry_after
        Seconds until a request to the host would be due (0 when the worker simply ran out of time).
    """

    def __init__(self, url: str, reason: str, message: str, retry_after: float) -> None:
        self.url = url
        self.reason = reason
        self.message = message
        self.retry_after = max(0.0, retry_after)
        super().__init__(f"{message} [{reason}] {shorten_url(url)}")
