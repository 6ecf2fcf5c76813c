"""Requests through the local API in this process, each one measured: DynamoDB round trips and handler time.

The handlers run in-process through the local HTTP API (API Gateway v2 events built from template.yaml); the meter
(infra/dynamodb_meter.py) sees every DynamoDB call any client makes, so a request's round trips are the
calls captured while it ran.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Reads that only happen when a per-container cache (merchant and program, API keys) is cold or expired.
# A warm container re-reads these when its cache expires: the merchant (program) every 30 s, an API key every
# few seconds (a revoked key must stop working at once), together with its merchant or stamping lastUsedAt.
CACHE_READS = ("GetItem MERCHANT#*/MERCHANT", "GetItem APIKEY#*/APIKEY", "TransactGetItems[APIKEY#",
               "UpdateItem APIKEY#")


@dataclass
class Reply:
    status: int
    body: Any


@dataclass
class Sample:
    status: int
    ms: float
    calls: list  # dynamodb_meter.Call
    server: Counter

    @property
    def round_trips(self) -> int:
        return len(self.calls)

    @property
    def cache_refill(self) -> bool:
        return any(call.shape.startswith(CACHE_READS) for call in self.calls)


@dataclass
class Operation:
    """One row of the report: the measured requests of one kind."""

    name: str
    group: str          # the figure it belongs to: "enroll", "member scan", ...
    note: str = ""      # "population" rows are compared with each other; "informational" rows have no verdict
    limit: int | None = None  # most DynamoDB round trips a warm request may take; None: no verdict
    samples: list[Sample] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class Driver:
    """Requests through the local HTTP API's handle, measured or not; every DynamoDB call is counted either way."""

    def __init__(self, api: Any, meter: Any, server: Any) -> None:
        self.api, self.meter, self.server = api, meter, server
        self.requests = 0

    def send(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
        from infra.local.http_api import json_request

        request = json_request(method, path, body, headers)
        # Every request from its own phone: customers do not share one address (which would be rate limited).
        self.requests += 1
        request.source_ip = f"10.{self.requests >> 16 & 255}.{self.requests >> 8 & 255}.{self.requests & 255}"
        response = self.api.handle(request)
        try:
            parsed = json.loads(response.body) if response.body else None
        except ValueError:
            parsed = response.body.decode("utf-8", "replace")
        return Reply(response.status, parsed)

    def expect(self, status: int, method: str, path: str, body: Any = None,
               headers: dict[str, str] | None = None) -> Any:
        reply = self.send(method, path, body, headers)
        if reply.status != status:
            raise RuntimeError(f"{method} {path}: expected {status}, got {reply.status}: {reply.body}")
        return reply.body

    def measure(self, op: Operation, status: int, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None) -> Reply:
        server_before = self.server.snapshot() if self.server else Counter()
        with self.meter.capture() as captured:
            started = time.perf_counter()
            reply = self.send(method, path, body, headers)
            elapsed = time.perf_counter() - started
        server_delta = (self.server.snapshot() - server_before) if self.server else Counter()
        op.samples.append(Sample(reply.status, (elapsed - captured.overhead_seconds) * 1000, captured.calls,
                                 server_delta))
        if reply.status != status:
            op.failures.append(f"{method} {path} -> {reply.status}: {json.dumps(reply.body)[:300]}")
        return reply


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
