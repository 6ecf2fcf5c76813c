"""API Gateway (HTTP API, payload format 2.0): the local HTTP server in front of the functions.

Routes and CORS come from template.yaml, so the local run cannot drift from the deploy. `HttpApi`
turns a request into a payload 2.0 event for the route's function and the function's result into a
response, the way API Gateway does; `HttpServer` serves it over HTTP. Local-only routes under
/_local/ (clock, schedules, later the outbox) are answered by the server itself, never by a function,
and exist in neither the template nor the OpenAPI document.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode

from infra.local import LOCAL_ACCOUNT_ID
from infra.local.http_body import BodyTooLarge, read_request_body
from infra.template import Route, cors_configuration, http_routes, match_route

if TYPE_CHECKING:
    from infra.local.lambda_runtime import LambdaRuntime

# Lambda's limit for a synchronous invocation payload; API Gateway cannot pass more to a function.
MAX_BODY_BYTES = 6 * 1024 * 1024
# API Gateway's own request limit: up to it the body is read (and discarded) so the client gets
# its 413 on a reusable connection; beyond it the connection is closed.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
LOCAL_API_ID = "local"
LOCAL_ROUTE_PREFIX = "/_local/"
# One line per request: method, path without its query, status, duration. Query strings carry
# phone numbers and emails, headers carry keys and tokens: neither is ever logged.
access_log = logging.getLogger("infra.local.access")


def error_body(code: str, message: str, details: list[dict] | None = None) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "details": details or []}}).encode()


@dataclass
class HttpRequest:
    method: str
    target: str  # request target as sent: raw path plus optional ?query
    headers: list[tuple[str, str]]
    body: bytes = b""
    source_ip: str = "127.0.0.1"


def json_request(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                 query: dict | None = None) -> HttpRequest:
    """A request as a client sends it: dicts and lists as JSON, str and bytes as they are."""
    target = f"{path}?{urlencode(query)}" if query else path
    all_headers = {name.lower(): value for name, value in (headers or {}).items()}
    if body is None:
        payload = b""
    elif isinstance(body, bytes):
        payload = body
    elif isinstance(body, str):
        payload = body.encode()
    else:
        payload = json.dumps(body).encode()
    if payload:
        all_headers.setdefault("content-type", "application/json")
    return HttpRequest(method, target, list(all_headers.items()), payload)


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass(frozen=True)
class LocalRoute:
    """A route of the local server itself, under /_local/: never in template.yaml or the OpenAPI."""

    method: str
    path: str
    # The request's JSON body (None when empty) -> (status, JSON reply).
    handler: Callable[[Any], tuple[int, Any]]


class LocalRouteError(Exception):
    """Raised by a local route's handler; answered in the API's error envelope."""

    def __init__(self, status: int, code: str, message: str, details: list[dict] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or []

    @classmethod
    def invalid(cls, field_name: str, message: str) -> LocalRouteError:
        return cls(400, "validation_error", f"{field_name}: {message}", [{"field": field_name, "message": message}])


class HttpApi:
    """API Gateway's routing and event mapping, independent of the HTTP server (easy to test).

    Each route's function runs in `runtime`; `local_routes` are answered here, without a function.
    """

    def __init__(self, runtime: LambdaRuntime, local_routes: list[LocalRoute] | None = None) -> None:
        self.runtime = runtime
        self.routes: list[Route] = http_routes(runtime.template)
        self.cors = cors_configuration(runtime.template)
        self.local_routes = list(local_routes or [])

    def http_function_ids(self) -> list[str]:
        """Logical ids of the functions behind at least one HTTP route."""
        return sorted({route.function_logical_id for route in self.routes})

    # HTTP

    def handle(self, request: HttpRequest) -> HttpResponse:
        response = self._route(request)
        self._apply_cors(request, response)
        return response

    def _route(self, request: HttpRequest) -> HttpResponse:
        method = request.method.upper()
        raw_path, _, raw_query = request.target.partition("?")
        decoded_path = unquote(raw_path)

        if method == "OPTIONS" and self.cors is not None:
            explicit = match_route([r for r in self.routes if r.method == "OPTIONS"], method, raw_path)
            if explicit.route is None:
                return self._preflight()

        if len(request.body) > MAX_BODY_BYTES:
            return _json_response(413, error_body("payload_too_large", "The request body exceeds 6 MB."))

        if decoded_path.startswith(LOCAL_ROUTE_PREFIX):
            return self._serve_local(method, decoded_path, request.body)

        match = match_route(self.routes, method, raw_path)
        if match.route is None:
            if match.allowed_methods:
                return _json_response(
                    405,
                    error_body("method_not_allowed", f"{method} is not allowed on {decoded_path}."),
                    [("Allow", ", ".join(match.allowed_methods))],
                )
            return _json_response(404, error_body("not_found", f"No route for {method} {decoded_path}."))

        request_id = str(uuid.uuid4())
        event = build_event(
            now=self.runtime.clock.now(),
            route=match.route,
            method=method,
            raw_path=decoded_path,
            raw_query=raw_query,
            headers=request.headers,
            body=request.body,
            path_parameters=match.path_parameters,
            source_ip=request.source_ip,
            request_id=request_id,
        )
        try:
            result = self.runtime.invoke(match.route.function_logical_id, event)
            response = to_http_response(result)
        except Exception:
            print(f"{match.route.function_logical_id} failed on {match.route.route_key}:", file=sys.stderr)
            traceback.print_exc()
            response = _json_response(500, error_body("internal_error", "The function failed."))
        response.headers.append(("apigw-requestid", request_id))
        return response

    def _serve_local(self, method: str, path: str, body: bytes) -> HttpResponse:
        on_path = [route for route in self.local_routes if route.path == path]
        route = next((route for route in on_path if route.method == method), None)
        if route is None:
            if on_path:
                allowed = ", ".join(sorted(route.method for route in on_path))
                return _json_response(405, error_body("method_not_allowed", f"{method} is not allowed on {path}."),
                                      [("Allow", allowed)])
            return _json_response(404, error_body("not_found", f"No local route for {method} {path}."))
        try:
            payload = json.loads(body) if body.strip() else None
        except ValueError:
            return _json_response(400, error_body("malformed_request", "The body is not valid JSON."))
        try:
            status, reply = route.handler(payload)
        except LocalRouteError as error:
            return _json_response(error.status, error_body(error.code, error.message, error.details))
        return _json_response(status, json.dumps(reply).encode())

    def _preflight(self) -> HttpResponse:
        assert self.cors is not None
        headers = [
            ("Access-Control-Allow-Origin", ",".join(self.cors.get("AllowOrigins") or ["*"])),
            ("Access-Control-Allow-Methods", ",".join(self.cors.get("AllowMethods") or ["*"])),
            ("Access-Control-Allow-Headers", ",".join(self.cors.get("AllowHeaders") or ["*"])),
        ]
        if "MaxAge" in self.cors:
            headers.append(("Access-Control-Max-Age", str(self.cors["MaxAge"])))
        return HttpResponse(status=204, headers=headers)

    def _apply_cors(self, request: HttpRequest, response: HttpResponse) -> None:
        # With CORS configured, API Gateway sets these itself and ignores the function's own.
        if self.cors is None or not any(name.lower() == "origin" for name, _ in request.headers):
            return
        if response.status == 204 and request.method.upper() == "OPTIONS":
            return
        response.headers = [
            (name, value) for name, value in response.headers if not name.lower().startswith("access-control-")
        ]
        origins = self.cors.get("AllowOrigins") or ["*"]
        response.headers.append(("Access-Control-Allow-Origin", ",".join(origins)))
        if self.cors.get("ExposeHeaders"):
            response.headers.append(("Access-Control-Expose-Headers", ",".join(self.cors["ExposeHeaders"])))


def build_event(
    *,
    route: Route,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    path_parameters: dict[str, str],
    source_ip: str,
    request_id: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event (`now`: the request's time, real time by default)."""
    now = now or datetime.now(UTC)
    merged: dict[str, list[str]] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            # Payload 2.0 moves cookies out of the headers into their own list.
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        merged.setdefault(key, []).append(value)
    event_headers = {key: ",".join(values) for key, values in merged.items()}
    event_headers.setdefault("x-forwarded-for", source_ip)
    event_headers.setdefault("x-forwarded-proto", "http")
    host = event_headers.get("host", "localhost")
    if ":" in host:
        event_headers.setdefault("x-forwarded-port", host.rsplit(":", 1)[1])
    event_headers.setdefault("x-amzn-trace-id", f"Root=1-{int(now.timestamp()):08x}-{secrets.token_hex(12)}")
    if body:
        event_headers.setdefault("content-length", str(len(body)))

    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query.setdefault(key, []).append(value)

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = event_headers
    if query:
        event["queryStringParameters"] = {key: ",".join(values) for key, values in query.items()}
    event["requestContext"] = {
        "accountId": LOCAL_ACCOUNT_ID,
        "apiId": LOCAL_API_ID,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0].split(":", 1)[0],
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": event_headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        try:
            event["body"] = body.decode("utf-8")
            event["isBase64Encoded"] = False
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


def to_http_response(result: Any) -> HttpResponse:
    """Map a function's return value the way API Gateway does for payload format 2.0."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # Anything else is taken as the JSON body of a 200.
        return _json_response(200, json.dumps(result).encode())

    status = result["statusCode"]
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"invalid statusCode {result['statusCode']!r}")

    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((str(name), _header_value(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        if any(existing.lower() == str(name).lower() for existing, _ in headers):
            continue
        for value in values if isinstance(values, list) else [values]:
            headers.append((str(name), _header_value(value)))
    for cookie in result.get("cookies") or []:
        headers.append(("Set-Cookie", str(cookie)))
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))

    body = result.get("body")
    if body is None:
        payload = b""
    elif result.get("isBase64Encoded"):
        payload = base64.b64decode(body)
    elif isinstance(body, str):
        payload = body.encode("utf-8")
    else:
        payload = json.dumps(body).encode()
    return HttpResponse(status=status, headers=headers, body=payload)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json_response(status: int, body: bytes, extra: list[tuple[str, str]] | None = None) -> HttpResponse:
    return HttpResponse(status=status, headers=[("Content-Type", "application/json"), *(extra or [])], body=body)


# HTTP server


class _ApiRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bywalec-local"
    timeout = 120  # an idle keep-alive connection ends instead of holding a thread forever
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls
    server: _ApiServer

    def _serve(self) -> None:
        started = time.monotonic()
        try:
            body = self._read_body()
        except BodyTooLarge:
            response = _json_response(413, error_body("payload_too_large", "The request body exceeds 6 MB."))
            self.close_connection = True  # the unread body cannot be skipped safely
        except ValueError:
            response = _json_response(400, error_body("bad_request", "Malformed request body framing."))
            self.close_connection = True
        else:
            request = HttpRequest(
                method=self.command,
                # http.server decodes the request line as Latin-1; clients (curl) send unencoded characters as UTF-8.
                target=self.path.encode("iso-8859-1").decode("utf-8", "replace"),
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
            )
            response = self.server.api.handle(request)
        elapsed_ms = (time.monotonic() - started) * 1000
        path = self.path.partition("?")[0]
        # Logged before the reply is written, so a client that has its reply can already read the line.
        access_log.info("%s %s -> %d (%.0f ms)", self.command, path, response.status, elapsed_ms)
        self._write(response)

    def _read_body(self) -> bytes:
        return read_request_body(self, MAX_REQUEST_BYTES)

    def _write(self, response: HttpResponse) -> None:
        self.send_response(response.status, _reason(response.status))
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        no_body = self.command == "HEAD" or response.status in (204, 304) or response.status < 200
        if response.status not in (204, 304) and response.status >= 200:
            self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not no_body and response.body:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, PROPFIND, ...) gets the JSON envelope too, never an HTML error page.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the stock line holds the query string; _serve logs its own to `access_log`


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class _ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    api: HttpApi


class HttpServer:
    """The API on a port. It binds at once (links must carry the real port before any function
    is loaded) and serves once `serve(api)` is called."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _ApiServer((host, port), _ApiRequestHandler)
        self.base_url = f"http://{host}:{self._server.server_port}"
        self._thread: threading.Thread | None = None

    def serve(self, api: HttpApi) -> None:
        self._server.api = api
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-http-api", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()


