"""Business metrics as CloudWatch EMF lines (Powertools Metrics), flushed once per invocation.

Services count what a merchant would chart (visits, points issued, rewards redeemed); handlers
flush with ``flush_metrics``. Locally POWERTOOLS_METRICS_DISABLED keeps them out of the terminal.
A metric is never worth a failed request: recording problems are logged and swallowed.
"""

from __future__ import annotations

import logging
import warnings

from aws_lambda_powertools.metrics import Metrics, MetricUnit

from loyalty.settings import get_settings

metrics = Metrics(namespace=get_settings().metrics_namespace)
# Most requests (reads, refusals) count nothing; an empty flush is normal here, not a mistake.
warnings.filterwarnings("ignore", message="No application metrics to publish")
_log = logging.getLogger(__name__)


def count(name: str, value: int = 1) -> None:
    # Disabled metrics are never flushed, so they must not pile up either.
    if not value or not get_settings().metrics_enabled:
        return
    try:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    except Exception:  # a metric is never worth a failed request
        _log.warning("could not record metric %s", name, exc_info=True)


flush_metrics = metrics.log_metrics
