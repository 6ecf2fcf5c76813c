"""Scheduled (EventBridge Scheduler, hourly): issued rewards past their expiry give their points back."""

from typing import Any

from aws_lambda_powertools import Logger
from loyalty.services import expiry
from loyalty.telemetry import flush_metrics

logger = Logger()


@logger.inject_lambda_context
@flush_metrics
def lambda_handler(event: dict, context: Any) -> dict:
    result = expiry.expire_rewards(context.get_remaining_time_in_millis)
    logger.info("rewards expired", extra=result)
    return result
