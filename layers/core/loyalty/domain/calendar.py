"""Members' days on the merchant's calendar: the days the member indexes are keyed by."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def local_day(at: datetime, timezone: str) -> date:
    """The day ``at`` falls on in ``timezone`` (a visit at 00:30 in Warsaw is that Warsaw day, not UTC's)."""
    return at.astimezone(ZoneInfo(timezone)).date()


def local_month(at: datetime, timezone: str) -> str:
    """``YYYY-MM`` of the month ``at`` falls in, in ``timezone``."""
    return at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m")


def birthday_month_day(birthday: str | None) -> str | None:
    """``MM-DD`` of a birthday stored as ``YYYY-MM-DD`` or ``MM-DD``; None when there is none."""
    if not birthday:
        return None
    month_day = birthday[-5:]
    if len(month_day) != 5 or month_day[2] != "-" or not (month_day[:2] + month_day[3:]).isdigit():
        raise ValueError(f"not a birthday: {birthday!r}")
    return month_day
