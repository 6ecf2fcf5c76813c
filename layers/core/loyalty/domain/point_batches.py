"""Points by earning month: spent oldest first, expired month by month (pure rules).

A member's balance is split into batches, one per local month in which the points were earned. Claims and
other debits take the oldest batch first, so what expires is always what has waited longest; a batch earned
in month M expires at the end of M + afterMonths.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from loyalty.domain.calendar import add_months, local_month, month_start, month_totals

# Expiry keeps at most afterMonths + 1 months alive (afterMonths is at most 60), so a member has no more
# batches than this while the scheduled expiry runs. Without expiry nothing removes old months: past this
# many, the oldest is merged into the next one (later, never earlier, so no point leaves before it is due).
MAX_BATCHES = 61


@dataclass(frozen=True)
class PointBatches:
    batches: tuple[tuple[str, int], ...] = ()  # (earning month, points remaining > 0), oldest first

    def __post_init__(self) -> None:
        months = [month for month, _ in self.batches]
        if any(points <= 0 for _, points in self.batches):
            raise ValueError("a batch holds a positive number of points")
        if any(older >= newer for older, newer in pairwise(months)):
            raise ValueError("batches are one per month, oldest first")
        month_totals(dict(self.batches))  # every month is "YYYY-MM"

    @property
    def total(self) -> int:
        return sum(points for _, points in self.batches)

    def as_map(self) -> dict[str, int]:
        """month -> points, for storage."""
        return dict(self.batches)

    @classmethod
    def from_map(cls, by_month: Mapping[str, int] | None) -> PointBatches:
        return cls(month_totals(by_month))


def _credit(batches: dict[str, int], month: str, points: int) -> None:
    if points > 0:
        batches[month] = batches.get(month, 0) + points


def _spend_oldest_first(batches: dict[str, int], points: int) -> None:
    for month in sorted(batches):
        if points <= 0:
            return
        taken = min(points, batches[month])
        batches[month] -= taken
        points -= taken


def _batches(by_month: dict[str, int]) -> PointBatches:
    months = month_totals(by_month)
    while len(months) > MAX_BATCHES:
        (_, oldest), (next_month, next_points), *rest = months
        months = ((next_month, oldest + next_points), *rest)
    return PointBatches(months)


def settle(batches: PointBatches, *, credited: int, debited: int, month: str, balance: int) -> PointBatches:
    """After an operation: `credited` (>= 0) lands in `month`, `debited` (>= 0) is spent oldest first,
    then the batches are reconciled with the member's `balance` after the operation: the total is
    made equal to max(0, balance) (a shortfall is added to `month`: points credited by paths that do
    not track batches; an excess is spent oldest first: a negative balance holds no batches)."""
    if credited < 0 or debited < 0:
        raise ValueError("credited and debited are amounts (>= 0)")
    by_month = batches.as_map()
    _credit(by_month, month, credited)
    _spend_oldest_first(by_month, debited)
    difference = max(0, balance) - sum(by_month.values())
    _credit(by_month, month, difference)
    _spend_oldest_first(by_month, -difference)
    return _batches(by_month)


def expires_at(month: str, after_months: int, timezone: str) -> datetime:
    """The end of month M + after_months: local midnight starting month M + after_months + 1, in UTC."""
    return month_start(add_months(month, after_months + 1), timezone)


@dataclass(frozen=True)
class Expired:
    batches: PointBatches  # what remains
    points: int  # how many expire now (0 when none)
    months: tuple[str, ...]  # the earning months that expired


def expire(batches: PointBatches, now: datetime, timezone: str, after_months: int) -> Expired:
    """Batches earned in month M expire at expires_at(M) (<= now)."""
    # expires_at(M) <= now exactly when month M + after_months + 1 has begun, that is when it is at most
    # now's local month: comparing months finds every due batch with one zone lookup.
    last_due = add_months(local_month(now, timezone), -(after_months + 1))
    due = tuple((month, points) for month, points in batches.batches if month <= last_due)
    kept = PointBatches(tuple((month, points) for month, points in batches.batches if month > last_due))
    return Expired(kept, sum(points for _, points in due), tuple(month for month, _ in due))


@dataclass(frozen=True)
class Expiring:
    points: int
    at: datetime


def next_expiring(batches: PointBatches, after_months: int, timezone: str) -> Expiring | None:
    """The batch that expires next (the oldest: each month has its own instant), or None without points."""
    if not batches.batches:
        return None
    month, points = batches.batches[0]
    return Expiring(points, expires_at(month, after_months, timezone))
