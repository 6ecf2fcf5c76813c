"""EventBridge Scheduler (and EventBridge rules): every `ScheduleV2` and `Schedule` event of template.yaml.

While the stack runs, each enabled schedule with a `rate(...)` expression fires in a background
thread every period (the first time one period after the start, as a new schedule does);
`POST /_local/schedules/run` fires every enabled schedule once, now, then drains the queues they fed
(queues.py) and the table's stream (streams.py), and returns what each returned.
`cron(...)` and `at(...)` schedules fire on demand only. The event is what AWS delivers: a
ScheduleV2 target gets its `Input` with the `<aws.scheduler.*>` context attributes filled in (`{}`
without one); a Schedule (rule) target gets its `Input`, or the "Scheduled Event" without one. Times
come from the stack's clock, so a shifted clock shifts what the jobs see.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from infra.local import LOCAL_ACCOUNT_ID
from infra.local.clock import LocalClock
from infra.local.http_api import LocalRoute
from infra.local.lambda_runtime import FunctionError
from infra.template import ScheduleEvent

log = logging.getLogger("infra.local.scheduler")

LOCAL_STACK_NAME = "bywalec-local"  # stands in for ${AWS::StackName} in schedule names
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


class Invoker(Protocol):
    def invoke(self, logical_id: str, event: Any) -> Any: ...


def rate_seconds(expression: str) -> float | None:
    """The period of a `rate(...)` expression in seconds; None for cron(...) and at(...)."""
    match = _RATE.match(expression.strip())
    if match is None:
        return None
    value = int(match.group(1))
    if value <= 0:
        raise ValueError(f"invalid schedule expression {expression!r}")
    return value * _UNIT_SECONDS[match.group(2).rstrip("s")]


def schedule_name(schedule: ScheduleEvent) -> str:
    name = schedule.name
    if isinstance(name, dict) and isinstance(name.get("Fn::Sub"), str):
        name = name["Fn::Sub"].replace("${AWS::StackName}", LOCAL_STACK_NAME)
    return name if isinstance(name, str) else f"{LOCAL_STACK_NAME}-{schedule.function_logical_id}-{schedule.event_name}"


def scheduled_event(schedule: ScheduleEvent, scheduled_time: datetime, region: str) -> Any:
    """The event the target function receives, as EventBridge delivers it."""
    at = scheduled_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    if schedule.kind == "ScheduleV2":
        payload = schedule.input if schedule.input is not None else "{}"
        attributes = {
            "schedule-arn": f"arn:aws:scheduler:{region}:{LOCAL_ACCOUNT_ID}:schedule/default/{schedule_name(schedule)}",
            "scheduled-time": at,
            "execution-id": uuid.uuid4().hex[:16],
            "attempt-number": "1",
        }
        for attribute, value in attributes.items():
            payload = payload.replace(f"<aws.scheduler.{attribute}>", value)
        return _json_or_text(payload)
    if schedule.input is not None:
        return _json_or_text(schedule.input)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT_ID,
        "time": at,
        "region": region,
        "resources": [f"arn:aws:events:{region}:{LOCAL_ACCOUNT_ID}:rule/{schedule_name(schedule)}"],
        "detail": {},
    }


def _json_or_text(payload: str) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return payload


@dataclass(frozen=True)
class Run:
    function: str
    schedule: str
    status: str  # "succeeded" or "failed"
    result: Any  # what the function returned, or {"errorType", "errorMessage"}

    def view(self) -> dict[str, Any]:
        return {"function": self.function, "schedule": self.schedule, "status": self.status, "result": self.result}


class Scheduler:
    def __init__(self, schedules: list[ScheduleEvent], runtime: Invoker, clock: LocalClock, region: str,
                 *, periods: dict[ScheduleEvent, float] | None = None,
                 drain_queues: Callable[[], list[dict[str, Any]]] | None = None,
                 drain_streams: Callable[[], list[dict[str, Any]]] | None = None) -> None:
        """`periods` overrides the template's rates (tests use fractions of a second); `drain_queues` feeds the
        queues the runs filled to their functions until they are empty (see queues.py), then `drain_streams`
        the table's stream records written so far (see streams.py)."""
        self.schedules = [schedule for schedule in schedules if schedule.enabled]
        self.drain_queues, self.drain_streams = drain_queues, drain_streams
        self.runtime, self.clock, self.region = runtime, clock, region
        self.periods = {schedule: rate_seconds(schedule.expression) for schedule in self.schedules}
        self.periods.update(periods or {})
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._firing = ThreadPoolExecutor(max_workers=max(1, len(self.schedules)), thread_name_prefix="schedule")

    def fire(self, schedule: ScheduleEvent) -> Run:
        """One delivery of the schedule's event to its function, now (at the stack's clock)."""
        event = scheduled_event(schedule, self.clock.now(), self.region)
        try:
            result = self.runtime.invoke(schedule.function_logical_id, event)
        except FunctionError as error:
            return self._failed(schedule, error.error_type, error.error_message)
        except Exception as error:
            return self._failed(schedule, type(error).__name__, str(error))
        return Run(schedule.function_logical_id, schedule.event_name, "succeeded", result)

    def run_all(self) -> list[Run]:
        """Every schedule once, concurrently, as when they all fall due at the same minute."""
        return list(self._firing.map(self.fire, self.schedules))

    def run_all_and_drain(self) -> dict[str, Any]:
        """Every schedule once, then every queue they fed and the stream, until nothing is left to deliver."""
        runs = [run.view() for run in self.run_all()]
        queues = self.drain_queues() if self.drain_queues else []
        return {"runs": runs, "queues": queues, "streams": self.drain_streams() if self.drain_streams else []}

    def local_routes(self) -> list[LocalRoute]:
        return [LocalRoute("POST", "/_local/schedules/run", lambda _body: (200, self.run_all_and_drain()))]

    def start(self) -> None:
        if any(period is not None for period in self.periods.values()):
            self._thread = threading.Thread(target=self._fire_on_rate, name="local-scheduler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._firing.shutdown(wait=True, cancel_futures=True)

    def _fire_on_rate(self) -> None:
        started = time.monotonic()
        due = {schedule: started + period for schedule, period in self.periods.items() if period is not None}
        while True:
            wait = max(0.0, min(due.values()) - time.monotonic())
            if self._stopped.wait(wait):
                return
            now = time.monotonic()
            for schedule, at in due.items():
                if at <= now:
                    period = self.periods[schedule] or 0.0
                    # A run that was missed (the machine slept) is skipped, not caught up on.
                    due[schedule] = at + period * (int((now - at) // period) + 1)
                    self._firing.submit(self._fire_and_log, schedule)

    def _fire_and_log(self, schedule: ScheduleEvent) -> None:
        started = time.monotonic()
        run = self.fire(schedule)
        elapsed_ms = (time.monotonic() - started) * 1000
        if run.status == "succeeded":
            log.info("schedule %s -> %s succeeded (%.0f ms)", run.schedule, run.function, elapsed_ms)
        else:
            log.error("schedule %s -> %s failed: %s", run.schedule, run.function, run.result)

    @staticmethod
    def _failed(schedule: ScheduleEvent, error_type: str, message: str) -> Run:
        return Run(schedule.function_logical_id, schedule.event_name, "failed",
                   {"errorType": error_type, "errorMessage": message})
