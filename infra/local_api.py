"""Local stand-in for API Gateway (HTTP API, payload format 2.0) in front of the Lambda handlers.

Routes, handlers, memory sizes and the table schema all come from template.yaml, so the local run
cannot drift from the deploy. `python -m infra.local_api` (what `make run` does) starts it with an
embedded DynamoDB; tests use `start_local_stack()`.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import os
import secrets
import signal
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from infra.http_body import BodyTooLarge, read_request_body
from infra.template import (
    ROOT,
    FunctionSpec,
    Route,
    cors_configuration,
    ensure_table,
    functions,
    http_routes,
    layer_content_uris,
    load_template,
    match_route,
)

# Lambda's limit for a synchronous invocation payload; API Gateway cannot pass more to a function.
MAX_BODY_BYTES = 6 * 1024 * 1024
# API Gateway's own request limit: up to it the body is read (and discarded) so the client gets
# its 413 on a reusable connection; beyond it the connection is closed.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
LOCAL_ACCOUNT_ID = "123456789012"
LOCAL_API_ID = "local"
DEFAULT_REGION = "eu-central-1"
DEFAULT_TABLE_NAME = "bywalec-local"
DEFAULT_PORT = 3000
# Execution environments per function for the local server (LOCAL_LAMBDA_CONCURRENCY to change).
DEFAULT_CONCURRENCY = 4


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()


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


class LambdaContext:
    """The attributes and method of the Lambda runtime's context object that handlers use."""

    def __init__(self, spec: FunctionSpec, region: str) -> None:
        self.function_name = spec.logical_id
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT_ID}:function:{spec.logical_id}"
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.logical_id}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = time.monotonic() + spec.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _Function:
    """One function's handler, loaded from its file on first use (a cold start)."""

    def __init__(self, spec: FunctionSpec, root: Path) -> None:
        self.spec = spec
        self._root = root
        self._module: ModuleType | None = None
        self._load_lock = threading.Lock()

    def module(self) -> ModuleType:
        with self._load_lock:
            if self._module is None:
                self._module = self._load()
            return self._module

    def handler(self) -> Any:
        return getattr(self.module(), self.spec.handler.rpartition(".")[2])

    def _load(self) -> ModuleType:
        module_path = self.spec.handler.rpartition(".")[0]
        code_dir = (self._root / self.spec.code_uri).resolve()
        file_path = code_dir / (module_path.replace(".", "/") + ".py")
        if not file_path.is_file():
            raise FileNotFoundError(f"{self.spec.logical_id}: handler file {file_path} does not exist")
        # Every function has an app.py; a unique module name keeps them apart in sys.modules.
        name = "bywalec_fn_" + "".join(ch if ch.isalnum() else "_" for ch in code_dir.name)
        spec = importlib.util.spec_from_file_location(name, file_path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {file_path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module


def _environment_main(conn: Any, spec: FunctionSpec, root: Path, region: str) -> None:
    """A worker process standing in for one Lambda execution environment: one invocation at a time."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent shuts environments down on Ctrl-C
    handler = _Function(spec, root).handler()
    while True:
        try:
            event = conn.recv()
        except EOFError:
            return
        if event is None:
            return
        try:
            conn.send(("ok", handler(event, LambdaContext(spec, region))))
        except BaseException:
            conn.send(("error", traceback.format_exc()))


class _ProcessPool:
    """Up to `size` execution environments of one function, each a separate process.

    Lambda runs concurrent requests in separate environments, never two in one. Handlers rely on
    that (Powertools keeps the current event in class attributes), so local concurrency must come
    from processes too; then concurrent requests really race each other at the database.
    """

    def __init__(self, spec: FunctionSpec, root: Path, region: str, size: int) -> None:
        import multiprocessing

        self.spec, self.root, self.region, self.size = spec, root, region, size
        self._context = multiprocessing.get_context("spawn")
        self._idle: list[tuple[Any, Any]] = []
        self._started = 0
        self._all: list[tuple[Any, Any]] = []
        self._available = threading.Condition()

    def _acquire(self) -> tuple[Any, Any]:
        with self._available:
            while not self._idle and self._started >= self.size:
                self._available.wait()
            if self._idle:
                return self._idle.pop()
            self._started += 1
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_environment_main, args=(child, self.spec, self.root, self.region),
                                        name=f"lambda-{self.spec.logical_id}", daemon=True)
        process.start()
        child.close()
        environment = (process, parent)
        with self._available:
            self._all.append(environment)
        return environment

    def _release(self, environment: tuple[Any, Any], healthy: bool) -> None:
        with self._available:
            if healthy:
                self._idle.append(environment)
            else:
                self._started -= 1
                self._all.remove(environment)
            self._available.notify()

    def invoke(self, event: Any) -> Any:
        environment = self._acquire()
        process, conn = environment
        try:
            conn.send(event)
            status, value = conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            process.kill()
            self._release(environment, healthy=False)
            raise RuntimeError(f"{self.spec.logical_id}: the execution environment died") from None
        self._release(environment, healthy=True)
        if status == "error":
            raise RuntimeError(f"{self.spec.logical_id} failed:\n{value}")
        return value

    def close(self) -> None:
        with self._available:
            environments, self._all, self._idle = self._all, [], []
        for _process, conn in environments:
            with contextlib.suppress(OSError):
                conn.send(None)
        for process, _ in environments:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()


class LocalApi:
    """API Gateway's routing and event mapping, independent of the HTTP server (easy to test).

    `concurrency=0` runs handlers in this process, one invocation at a time (fast, for tests that
    call handlers directly); `concurrency=N` gives each function up to N execution environments in
    worker processes, so concurrent HTTP requests run concurrently, as on Lambda.
    """

    def __init__(
        self,
        template: dict[str, Any] | None = None,
        root: Path = ROOT,
        *,
        region: str | None = None,
        access_log: bool = False,
        concurrency: int = 0,
    ) -> None:
        self.template = template if template is not None else load_template(root / "template.yaml")
        self.root = root
        self.region = region or os.environ.get("AWS_REGION") or DEFAULT_REGION
        self.routes: list[Route] = http_routes(self.template)
        self.cors = cors_configuration(self.template)
        self.access_log = access_log
        self._functions = {logical_id: _Function(spec, root) for logical_id, spec in functions(self.template).items()}
        # One invocation at a time in this process. Lambda never runs two invocations in one
        # environment, and handlers rely on it: Powertools keeps the current event in a class
        # attribute shared by every resolver, so concurrent invocations would see each other's
        # events. Little is lost: handlers are GIL-bound and the embedded DynamoDB is serialized.
        self._invoke_lock = threading.Lock()
        self._pools = {
            logical_id: _ProcessPool(function.spec, root, self.region, concurrency)
            for logical_id, function in self._functions.items()
        } if concurrency > 0 else {}
        # Layers are on sys.path in Lambda (/opt/python); locally their source folders are.
        for content_uri in reversed(layer_content_uris(self.template)):
            for folder in (root / content_uri / "python", root / content_uri):
                if folder.is_dir() and str(folder) not in sys.path:
                    sys.path.insert(0, str(folder))

    # Functions

    def http_function_ids(self) -> list[str]:
        """Logical ids of the functions behind at least one HTTP route."""
        return sorted({route.function_logical_id for route in self.routes})

    def load_module(self, logical_id: str) -> ModuleType:
        """The function's handler module, loaded once (the same module requests are served by)."""
        return self._functions[logical_id].module()

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Invoke a function directly (what Lambda does for a schedule or `aws lambda invoke`)."""
        if self._pools:
            return self._pools[logical_id].invoke(event)
        function = self._functions[logical_id]
        with self._invoke_lock:
            handler = function.handler()
            return handler(event, LambdaContext(function.spec, self.region))

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()

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
            result = self.invoke(match.route.function_logical_id, event)
            response = to_http_response(result)
        except Exception:
            print(f"{match.route.function_logical_id} failed on {match.route.route_key}:", file=sys.stderr)
            traceback.print_exc()
            response = _json_response(500, error_body("internal_error", "The function failed."))
        response.headers.append(("apigw-requestid", request_id))
        return response

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
    """An API Gateway HTTP API payload 2.0 event."""
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
                target=self.path,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
            )
            response = self.server.api.handle(request)
        self._write(response)
        if self.server.api.access_log:
            elapsed_ms = (time.monotonic() - started) * 1000
            print(f"{self.command} {self.path} -> {response.status} ({elapsed_ms:.0f} ms)", file=sys.stderr)

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
        pass  # _serve writes one short line per request when access logging is on


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class _ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    api: LocalApi


# The stack: environment, DynamoDB, table, server


@dataclass
class LocalStack:
    base_url: str
    admin_token: str
    env: dict[str, str]
    api: LocalApi
    table_name: str
    dynamodb_endpoint: str
    seed: dict[str, Any] | None = None
    _server: _ApiServer | None = None
    _thread: threading.Thread | None = None
    _dynamodb: Any = None
    _previous_env: dict[str, str | None] = field(default_factory=dict)

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Invoke a function directly, e.g. `invoke("RewardExpiryFunction", {})`."""
        return self.api.invoke(logical_id, event)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.api.close()
        if self._dynamodb is not None:
            self._dynamodb.stop()
            self._dynamodb = None
        _restore(self._previous_env)
        self._previous_env = {}
        _forget_cached_settings()

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def local_environment(base_url: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """Variables the handlers need locally; values already set in `environ` are kept."""
    environ = os.environ if environ is None else environ
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    defaults = {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        # The embedded DynamoDB accepts any credentials; boto3 refuses to sign without some.
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "TABLE_NAME": DEFAULT_TABLE_NAME,
        "LOYALTY_ADMIN_TOKEN": secrets.token_urlsafe(24),
        "LOYALTY_SIGNING_KEY": secrets.token_urlsafe(32),
        "POWERTOOLS_SERVICE_NAME": "bywalec",
        "POWERTOOLS_METRICS_NAMESPACE": "Bywalec",
        "POWERTOOLS_LOG_LEVEL": "WARNING",  # keeps the terminal readable
        # No CloudWatch or X-Ray locally: EMF lines and trace segments would only be noise.
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PUBLIC_BASE_URL": base_url,
    }
    return {key: environ.get(key) or value for key, value in defaults.items()}


def start_local_stack(
    port: int = 0,
    seed: bool = False,
    *,
    host: str = "127.0.0.1",
    access_log: bool = False,
    root: Path = ROOT,
    env_overrides: dict[str, str | None] | None = None,
    concurrency: int | None = None,
) -> LocalStack:
    """Start DynamoDB (embedded unless AWS_ENDPOINT_URL_DYNAMODB is set), the table and the API.

    Sets the handlers' variables in os.environ (restored by `stop()`). Values already in the
    environment are kept; `env_overrides` wins over them, and None there means "use the local
    default" (e.g. {"PUBLIC_BASE_URL": None} for links to this server). Run one stack per process
    at a time, since handler modules are cached per process.
    """
    # Bind first: PUBLIC_BASE_URL must carry the real port before any handler is imported.
    server = _ApiServer((host, port), _ApiRequestHandler)
    base_url = f"http://{host}:{server.server_port}"
    previous: dict[str, str | None] = {}
    dynamodb = None
    try:
        overrides = env_overrides or {}
        environ = {k: v for k, v in os.environ.items() if k not in overrides}
        environ.update({k: v for k, v in overrides.items() if v is not None})
        env = local_environment(base_url, environ)
        env.update({k: v for k, v in overrides.items() if v is not None})
        endpoint = environ.get("AWS_ENDPOINT_URL_DYNAMODB")
        if not endpoint:
            from infra.embedded_dynamodb import EmbeddedDynamoDB

            dynamodb = EmbeddedDynamoDB(host="127.0.0.1")
            endpoint = dynamodb.start()
        env["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
        for key, value in env.items():
            previous[key] = os.environ.get(key)
            os.environ[key] = value
        _forget_cached_settings()

        import boto3

        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=env["AWS_REGION"])
        if concurrency is None:
            concurrency = int(os.environ.get("LOCAL_LAMBDA_CONCURRENCY") or DEFAULT_CONCURRENCY)
        api = LocalApi(root=root, region=env["AWS_REGION"], access_log=access_log, concurrency=concurrency)
        ensure_table(client, env["TABLE_NAME"], api.template)
    except BaseException:
        server.server_close()
        if dynamodb is not None:
            dynamodb.stop()
        _restore(previous)
        raise

    server.api = api
    thread = threading.Thread(target=server.serve_forever, name="local-api", daemon=True)
    thread.start()
    stack = LocalStack(
        base_url=base_url,
        admin_token=env["LOYALTY_ADMIN_TOKEN"],
        env=env,
        api=api,
        table_name=env["TABLE_NAME"],
        dynamodb_endpoint=endpoint,
        _server=server,
        _thread=thread,
        _dynamodb=dynamodb,
        _previous_env=previous,
    )
    if seed:
        try:
            stack.seed = run_seed(base_url, stack.admin_token)
        except BaseException:
            stack.stop()
            raise
    return stack


def _restore(previous: dict[str, str | None]) -> None:
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _forget_cached_settings() -> None:
    # The core reads its settings once per process; a new stack brings new values.
    settings = sys.modules.get("loyalty.settings")
    cached = getattr(settings, "get_settings", None)
    if cached is not None and hasattr(cached, "cache_clear"):
        cached.cache_clear()


def run_seed(base_url: str, admin_token: str) -> dict[str, Any] | None:
    """Demo data via infra.seed.seed_demo, when that module exists."""
    try:
        from infra import seed as seed_module
    except ModuleNotFoundError as exc:
        if exc.name != "infra.seed":
            raise
        return None
    return seed_module.seed_demo(base_url, admin_token)


# Command line


def _print_banner(stack: LocalStack, seeded: dict[str, Any] | None, embedded: bool) -> None:
    where = "embedded (moto)" if embedded else stack.dynamodb_endpoint
    lines = [
        "",
        f"Bywalec local API: {stack.base_url}",
        f"  health:       {stack.base_url}/v1/health",
        f"  DynamoDB:     {where}, table {stack.table_name}",
        f"  admin token:  {stack.admin_token}",
    ]
    if seeded:
        labels = [
            ("merchantId", "merchant:"),
            ("ownerApiKey", "owner key:"),
            ("staffApiKey", "staff key:"),
            ("cardPageUrl", "card page:"),
            ("counterCodeUrl", "counter code:"),
        ]
        lines.extend(f"  {label:<13} {seeded[key]}" for key, label in labels if seeded.get(key))
        lines.extend(f"  {line}" for line in seeded.get("lines") or [])
    print("\n".join(lines), flush=True)
    if seeded and seeded.get("counterCodeUrl"):
        import qrcode

        qr = qrcode.QRCode(border=1)
        qr.add_data(seeded["counterCodeUrl"])
        qr.make(fit=True)
        print("\nCounter code (scan with a phone):", flush=True)
        qr.print_ascii(invert=True)
    print("\nCtrl-C to stop.", flush=True)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> None:
    port = int(os.environ.get("PORT") or DEFAULT_PORT)
    embedded = not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    # `docker stop` and process managers send SIGTERM; shut down the same way as on Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        stack = start_local_stack(port=port, access_log=True)
    except OSError as exc:
        message = f"Cannot listen on 127.0.0.1:{port}: {exc.strerror}. Set PORT to another port."
        print(message, file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    try:
        try:
            seeded = run_seed(stack.base_url, stack.admin_token)
        except Exception:
            traceback.print_exc()
            print("Seeding failed; the API is still running without demo data.", file=sys.stderr)
            seeded = None
        _print_banner(stack, seeded, embedded)
        threading.Event().wait()
    except KeyboardInterrupt:
        print("\nStopping.", file=sys.stderr)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
