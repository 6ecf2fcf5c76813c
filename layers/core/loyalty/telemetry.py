"""Business metrics as CloudWatch EMF lines (Powertools Metrics), flushed once per invocation.

Services count what a merchant would chart (visits, points issued, rewards redeemed); handlers
flush with ``flush_metrics``. Locally POWERTOOLS_METRICS_DISABLED keeps them out of the terminal.
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools.metrics import Metrics, MetricUnit

metrics = Metrics()
# Most requests (reads, refusals) count nothing; an empty flush is normal here, not a mistake.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def count(name: str, value: int = 1) -> None:
    if value:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


flush_metrics = metrics.log_metrics
