"""The one source of "now" for services (tests move it instead of sleeping)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

# Local runs only: the local stack sets this before each invocation (POST /_local/clock) so that a
# developer can try time-driven features today. Nothing on AWS sets it, so there it stays 0.
_local_offset_seconds = 0.0


def now() -> datetime:
    return datetime.fromtimestamp(time.time() + _local_offset_seconds, UTC)


def set_local_offset(seconds: float) -> None:
    """Local stack only: shift `now()` by `seconds` from real time."""
    global _local_offset_seconds
    _local_offset_seconds = float(seconds)
