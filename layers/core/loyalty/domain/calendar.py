"""Members' days and months on the merchant's calendar: the days the member indexes are keyed by, the months
points expire and tiers count by."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def local_day(at: datetime, timezone: str) -> date:
    """The day ``at`` falls on in ``timezone`` (a visit at 00:30 in Warsaw is that Warsaw day, not UTC's)."""
    return at.astimezone(ZoneInfo(timezone)).date()


def birthday_month_day(birthday: str | None) -> str | None:
    """``MM-DD`` of a birthday stored as ``YYYY-MM-DD`` or ``MM-DD``; None when there is none."""
    if not birthday:
        return None
    month_day = birthday[-5:]
    if len(month_day) != 5 or month_day[2] != "-" or not (month_day[:2] + month_day[3:]).isdigit():
        raise ValueError(f"not a birthday: {birthday!r}")
    return month_day


# --- months: "YYYY-MM" on the merchant's calendar (points expire and tiers count per earning month) ---

def _year_month(month: str) -> tuple[int, int]:
    if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit() or not 1 <= int(month[5:]) <= 12:
        raise ValueError(f"not a month (YYYY-MM): {month!r}")
    return int(month[:4]), int(month[5:])


def local_month(at: datetime, timezone: str) -> str:
    """The month ``at`` falls in on ``timezone``'s calendar: 2026-10-31T23:30Z is "2026-11" in Warsaw."""
    local = at.astimezone(ZoneInfo(timezone))
    return f"{local.year:04d}-{local.month:02d}"


def add_months(month: str, n: int) -> str:
    """The month ``n`` months after ``month`` (before it when ``n`` is negative)."""
    year, number = _year_month(month)
    index = year * 12 + number - 1 + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_start(month: str, timezone: str) -> datetime:
    """The UTC instant at which ``month`` begins in ``timezone`` (local midnight on the 1st).

    fold=0 gives the first instant of the day wherever a zone moves its clocks at midnight: the earlier of
    two midnights when they repeat, the moment of the jump when midnight is skipped.
    """
    year, number = _year_month(month)
    return datetime(year, number, 1, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def month_totals(by_month: Mapping[str, int] | None) -> tuple[tuple[str, int], ...]:
    """A stored map of month -> amount as (month, amount) pairs, oldest first, months with nothing left out.

    Amounts read back as ints (DynamoDB numbers arrive as Decimal); a key that is not "YYYY-MM" is refused.
    """
    for month in by_month or {}:
        _year_month(month)
    return tuple(sorted((month, int(amount)) for month, amount in (by_month or {}).items() if int(amount) > 0))
