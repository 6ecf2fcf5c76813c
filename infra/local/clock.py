"""A local-only clock offset: the local stack can run "tomorrow" (or next month) today.

One `LocalClock` per stack. The Lambda runtime hands its offset to every invocation, so each
function's `loyalty.services.clock.now()` is shifted by it; the API's events and the schedules read
the same clock. `GET /_local/clock` shows it and `POST /_local/clock {offsetSeconds}` sets it.
Nothing of this exists on AWS, where functions read real time.
"""

from __future__ import annotations

import importlib
import math
import threading
import time
from datetime import UTC, datetime
from typing import Any

from infra.local.http_api import LocalRoute, LocalRouteError

# About a century either way; beyond it dates overflow and nothing useful can be tried.
MAX_OFFSET_SECONDS = 100 * 365 * 24 * 3600
CORE_CLOCK_MODULE = "loyalty.services.clock"


class LocalClock:
    def __init__(self, offset_seconds: float = 0.0) -> None:
        self._offset_seconds = float(offset_seconds)
        self._lock = threading.Lock()

    @property
    def offset_seconds(self) -> float:
        with self._lock:
            return self._offset_seconds

    def set_offset(self, seconds: float) -> None:
        with self._lock:
            self._offset_seconds = float(seconds)

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.offset_seconds, UTC)

    def view(self) -> dict[str, Any]:
        offset = self.offset_seconds
        return {"now": _iso(datetime.fromtimestamp(time.time() + offset, UTC)), "offsetSeconds": _number(offset)}

    def local_routes(self) -> list[LocalRoute]:
        return [
            LocalRoute("GET", "/_local/clock", lambda _body: (200, self.view())),
            LocalRoute("POST", "/_local/clock", self._shift),
        ]

    def _shift(self, body: Any) -> tuple[int, dict[str, Any]]:
        offset = body.get("offsetSeconds") if isinstance(body, dict) else None
        if isinstance(offset, bool) or not isinstance(offset, int | float) or not math.isfinite(offset):
            raise LocalRouteError.invalid("offsetSeconds", "must be a number of seconds, e.g. 86400 for tomorrow")
        if abs(offset) > MAX_OFFSET_SECONDS:
            raise LocalRouteError.invalid("offsetSeconds", f"must be within ±{MAX_OFFSET_SECONDS} seconds")
        self.set_offset(offset)
        return 200, self.view()


def apply_offset_in_function(offset_seconds: float) -> None:
    """Called by the Lambda runtime before each invocation, in the process that runs it."""
    try:
        core_clock = importlib.import_module(CORE_CLOCK_MODULE)
    except ModuleNotFoundError:
        return  # a function without the core layer has no clock to shift
    core_clock.set_local_offset(offset_seconds)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
