"""Scheduled jobs (EventBridge Scheduler). The event names the task."""

from typing import Any

from aws_lambda_powertools import Logger
from loyalty.services import expiry
from loyalty.telemetry import flush_metrics

logger = Logger()

TASKS = {"expire-rewards": expiry.expire_rewards}


@logger.inject_lambda_context
@flush_metrics
def lambda_handler(event: dict, context: Any) -> dict:
    task = (event or {}).get("task", "expire-rewards")
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; known: {sorted(TASKS)}")
    result = TASKS[task]()
    logger.info("task finished", extra={"task": task, **result})
    return {"task": task, **result}
