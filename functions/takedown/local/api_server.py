"""The approval API on 127.0.0.1: HTTP requests become API Gateway (REST, proxy) events for the same function
that API Gateway invokes in AWS, called through moto's Lambda API.

A route guarded by a Cognito authorizer in the template is guarded here too: the request's ``Authorization``
header must be a token registered with :meth:`LocalApiServer.sign_in` (there is no Cognito locally), and its
claims reach the function at ``requestContext.authorizer.claims``, as API Gateway passes them. Anything else is
answered 401 ``Unauthorized`` without invoking the function, as API Gateway does.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import boto3

if TYPE_CHECKING:
    from takedown.local.stack import Route

MAX_BODY_BYTES = 1_000_000
COGNITO_AUTHORIZATION = "COGNITO_USER_POOLS"


def _pattern(resource: str) -> re.Pattern[str]:
    """``/reviews/{review_id}`` -> a regex with a named group per path parameter."""
    parts = re.split(r"(\{[^}]+\})", resource)
    regex = "".join(f"(?P<{p[1:-1].rstrip('+')}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$")


def build_proxy_event(
    *,
    method: str,
    route: Route,
    path: str,
    params: dict[str, str],
    query: str,
    headers: dict[str, str],
    body: bytes,
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy-integration event, as AWS builds it (with the authorizer's claims, if any)."""
    multi_query = parse_qs(query, keep_blank_values=True)
    text_body = body.decode("utf-8") if body else None
    request_context: dict[str, Any] = {
        "resourcePath": route.resource,
        "httpMethod": method,
        "path": f"/local{path}",
        "stage": "local",
        "identity": {"sourceIp": "127.0.0.1"},
    }
    if claims is not None:
        request_context["authorizer"] = {"claims": dict(claims)}
    return {
        "resource": route.resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": request_context,
        "body": text_body,
        "isBase64Encoded": False,
    }


class LocalApiServer:
    """Serves the routes found in the template until closed."""

    def __init__(self, routes: list[Route] | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: list[Route] = list(routes or [])
        self._identities: dict[str, dict[str, str]] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                server._handle(self)

            do_GET = _serve  # noqa: N815
            do_POST = _serve  # noqa: N815
            do_HEAD = _serve  # noqa: N815

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="local-api", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def sign_in(self, token: str, claims: dict[str, str]) -> None:
        """Accept ``token`` in the ``Authorization`` header of Cognito-guarded routes, with these ID-token claims
        (``email``, ``email_verified``, ...). Locally this stands in for a Cognito user pool."""
        if not token:
            raise ValueError("a sign-in token must not be empty")
        self._identities[token] = dict(claims)

    def start(self) -> LocalApiServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            found = _pattern(route.resource).match(path)
            if found and route.method == method:
                return route, found.groupdict()
        return None

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        url = urlsplit(request.path)
        method = "GET" if request.command == "HEAD" else request.command
        matched = self._match(method, url.path)
        if matched is None:
            self._reply(
                request,
                404,
                {"Content-Type": "application/json"},
                b'{"message":"Missing Authentication Token"}',
            )
            return
        length = int(request.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._reply(request, 413, {"Content-Type": "text/plain"}, b"payload too large")
            return
        body = request.rfile.read(length) if length else b""
        route, params = matched
        claims: dict[str, str] | None = None
        if route.authorization == COGNITO_AUTHORIZATION:
            claims = self._identities.get(request.headers.get("Authorization") or "")
            if claims is None:
                self._reply(request, 401, {"Content-Type": "application/json"}, b'{"message":"Unauthorized"}')
                return
        event = build_proxy_event(
            method=method,
            route=route,
            path=url.path,
            params=params,
            query=url.query,
            headers={**dict(request.headers.items()), "X-Forwarded-Proto": "http"},
            body=body,
            claims=claims,
        )
        response = boto3.client("lambda", region_name="us-east-1").invoke(
            FunctionName=route.function_name, Payload=json.dumps(event).encode("utf-8")
        )
        payload = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            self._reply(
                request, 502, {"Content-Type": "application/json"}, b'{"message":"Internal server error"}'
            )
            return
        headers = dict(payload.get("headers") or {})
        for key, values in (payload.get("multiValueHeaders") or {}).items():
            headers[key] = values[-1]
        raw = payload.get("body") or ""
        data = base64.b64decode(raw) if payload.get("isBase64Encoded") else raw.encode("utf-8")
        self._reply(
            request, int(payload.get("statusCode", 200)), headers, b"" if request.command == "HEAD" else data
        )

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
        request.send_response(status)
        for key, value in headers.items():
            request.send_header(key, str(value))
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
