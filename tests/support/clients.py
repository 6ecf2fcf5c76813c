"""Two ways to call the API with one interface: through the handlers in-process, or over real HTTP.

Both check every reply against the committed OpenAPI document (tests/support/contract.py): a reply
the document does not describe fails the test that received it."""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from infra.local.http_api import HttpApi, json_request
from tests.support.contract import committed_contract


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes = b""

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8")

    @property
    def error_code(self) -> str | None:
        body = self.json
        return body.get("error", {}).get("code") if isinstance(body, dict) else None


class HandlerClient:
    """API Gateway v2 events built from template.yaml's routes, handed to the same handlers Lambda runs."""

    def __init__(self, api: HttpApi) -> None:
        self.api = api

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                query: dict | None = None, source_ip: str | None = None) -> Reply:
        request = json_request(method, path, body, headers, query)
        if source_ip:
            request.source_ip = source_ip  # the phone's address as API Gateway would see it
        response = self.api.handle(request)
        return _checked(method, request.target, Reply(response.status, {k.lower(): v for k, v in response.headers},
                                                      response.body))


class HttpClient:
    """Real HTTP to the local server; one keep-alive connection per thread."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        return conn

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                query: dict | None = None, source_ip: str | None = None) -> Reply:
        """Over real HTTP the source address is this machine's; ``source_ip`` cannot change it."""
        request = json_request(method, path, body, headers, query)
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request(method, request.target, body=request.body or None, headers=dict(request.headers))
                response = conn.getresponse()
                reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
                return _checked(method, request.target, reply)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


LOCAL_ONLY_PREFIX = "/_local/"  # the local stack's own routes (clock, schedules): never part of the contract


def _checked(method: str, target: str, reply: Reply) -> Reply:
    if not urlsplit(target).path.startswith(LOCAL_ONLY_PREFIX):
        committed_contract().check(method, target, reply.status, reply.headers, reply.raw)
    return reply
