"""When and where a promotion runs, and how a multiplier turns into points.

Everything is read on the location's local clock. A window whose ``to`` is before its ``from`` crosses
midnight, and the part after midnight belongs to the day the window STARTED: a Friday 22:00-02:00
promotion runs until 02:00 on Saturday morning, and ``days``, ``startDate`` and ``endDate`` are all
checked against that Friday.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from loyalty.domain.program import WEEKDAYS, Program, Promotion

if TYPE_CHECKING:
    from loyalty.domain.awards import BillLine


def multiplied_bonus(base: int, multiplier: float) -> int:
    """What a multiplier adds on top of ``base``: floor(base * (multiplier - 1)).

    In Decimal, from the multiplier's shortest text: in floats 100 * (1.15 - 1) is 14.999..., not 15.
    """
    return math.floor(Decimal(base) * (Decimal(str(multiplier)) - 1))


def promotion_active(promotion: Promotion, now: datetime, timezone: str, location_id: str | None) -> bool:
    """Whether the promotion runs at this instant at this location (the bill is not looked at)."""
    if not _at_location(promotion, location_id):
        return False
    day = _window_day(promotion, now.astimezone(ZoneInfo(timezone)))
    return day is not None and _runs_on(promotion, day)


def todays_promotions(program: Program, now: datetime, timezone: str, location_id: str | None) -> list[Promotion]:
    """The promotions that can still apply on this local day at this location: running now, or with a
    window that opens later today. Per-member limits and the bill are not known here."""
    local = now.astimezone(ZoneInfo(timezone))
    return [promotion for promotion in program.promotions
            if promotion_active(promotion, now, timezone, location_id) or _opens_later_today(promotion, local,
                                                                                                location_id)]


def matches_item(promotion: Promotion, item: BillLine) -> bool:
    """An item counts toward a promotion limited to skus or categories when it is in either list."""
    return item.sku in (promotion.skus or ()) or (item.category is not None and
                                                  item.category in (promotion.categories or ()))


def limited_to_items(promotion: Promotion) -> bool:
    return bool(promotion.skus or promotion.categories)


def _at_location(promotion: Promotion, location_id: str | None) -> bool:
    return promotion.location_ids is None or location_id in promotion.location_ids


def _window_day(promotion: Promotion, local: datetime) -> date | None:
    """The local date whose window holds this local time (the previous day after midnight in a window
    that crosses it), or None when the time is outside the window."""
    if promotion.window is None:
        return local.date()
    start, end = promotion.window
    clock = local.time()
    if start < end:
        return local.date() if start <= clock < end else None
    if clock >= start:
        return local.date()
    if clock < end:
        return local.date() - timedelta(days=1)
    return None


def _runs_on(promotion: Promotion, day: date) -> bool:
    if promotion.days is not None and WEEKDAYS[day.weekday()] not in promotion.days:
        return False
    text = day.isoformat()  # ISO dates compare as text
    return (promotion.start_date is None or promotion.start_date <= text) and (
        promotion.end_date is None or text <= promotion.end_date)


def _opens_later_today(promotion: Promotion, local: datetime, location_id: str | None) -> bool:
    return (promotion.window is not None and local.time() < promotion.window[0]
            and _at_location(promotion, location_id) and _runs_on(promotion, local.date()))
