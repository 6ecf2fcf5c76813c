"""Scheduled (EventBridge Scheduler, hourly): expired points leave the balance; tiers whose grace ended step down."""

from typing import Any

from aws_lambda_powertools import Logger
from loyalty.services import upkeep
from loyalty.telemetry import flush_metrics

logger = Logger()


@logger.inject_lambda_context
@flush_metrics
def lambda_handler(event: dict, context: Any) -> dict:
    result = upkeep.run_upkeep(context.get_remaining_time_in_millis)
    logger.info("members upkept", extra=result)
    return result
