"""Requests to the demo's loopback boards, straight (no proxy from the environment), answered whatever the status."""

from __future__ import annotations

import urllib.error
import urllib.request

DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(url: str, method: str = "GET") -> tuple[int, str, bytes]:
    """The status, content type and body of ``url``; an error status is an answer like any other."""
    request = urllib.request.Request(url, method=method)
    try:
        with DIRECT.open(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["Content-Type"], error.read()
