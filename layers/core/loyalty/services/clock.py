"""The one source of "now" for services (tests move it instead of sleeping)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> datetime:
    return datetime.fromtimestamp(time.time(), UTC)
