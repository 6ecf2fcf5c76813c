"""What a member buys most: bounded, decaying purchase counts per sku and per category.

The counts live on the member item and are updated in the scan's own transaction, so they must stay
small and bounded: at most ``MAX_COUNTED`` keys, and each month's purchases weigh half as much every
``HALF_LIFE_MONTHS`` months, so the ranking reflects roughly the last 12 months (a purchase a year old
weighs 1/16) without keeping a bucket per month. A count is therefore "recent purchases", not an exact
12-month total. Counts decay when a later purchase is counted, on the merchant's calendar month.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from loyalty.domain.model import Favourite

MAX_COUNTED = 20
TOP = 3
HALF_LIFE_MONTHS = 3
_FORGOTTEN_BELOW = 0.05  # a count decayed this far is dropped: it would never reach the top again soon
_SKU, _CATEGORY = "s:", "c:"


@dataclass(frozen=True)
class Purchase:
    sku: str
    category: str | None
    quantity: int


@dataclass(frozen=True)
class Counts:
    counts: dict[str, float]  # "s:<sku>" | "c:<category>" -> decayed count
    month: str                # YYYY-MM they are decayed to


def purchase_month(now: datetime, timezone: str) -> str:
    return now.astimezone(ZoneInfo(timezone)).strftime("%Y-%m")


def _months_between(earlier: str, later: str) -> int:
    (y1, m1), (y2, m2) = (map(int, earlier.split("-")), map(int, later.split("-")))
    return max(0, (y2 - y1) * 12 + (m2 - m1))


def count_purchases(counts: Mapping[str, float], counted_month: str | None, purchases: Iterable[Purchase],
                    month: str) -> Counts:
    """The counts decayed to ``month`` with ``purchases`` added, trimmed to the ``MAX_COUNTED`` largest."""
    factor = 0.5 ** (_months_between(counted_month, month) / HALF_LIFE_MONTHS) if counted_month else 1.0
    updated = {key: value * factor for key, value in counts.items()}
    for purchase in purchases:
        for key in (_SKU + purchase.sku, *((_CATEGORY + purchase.category,) if purchase.category else ())):
            updated[key] = updated.get(key, 0.0) + purchase.quantity
    kept = sorted(((key, value) for key, value in updated.items() if value >= _FORGOTTEN_BELOW),
                  key=lambda kv: (-kv[1], kv[0]))[:MAX_COUNTED]
    return Counts({key: round(value, 2) for key, value in kept}, month)


def _ranked(counts: Mapping[str, float]) -> list[tuple[str, float]]:
    # Highest count first; on a tie the sku (more specific) before the category, then by name.
    return sorted(counts.items(), key=lambda kv: (-kv[1], not kv[0].startswith(_SKU), kv[0]))


def top(counts: Mapping[str, float], n: int = TOP) -> tuple[Favourite, ...]:
    """The ``n`` most bought skus and categories, with their counts rounded (at least 1)."""
    return tuple(Favourite(kind="sku" if key.startswith(_SKU) else "category", name=key[2:],
                           count=max(1, round(value))) for key, value in _ranked(counts)[:n])


def top_categories(counts: Mapping[str, float], n: int = TOP) -> tuple[str, ...]:
    return tuple(key[2:] for key, _ in _ranked(counts) if key.startswith(_CATEGORY))[:n]


def same_ranking(a: Iterable[Favourite], b: Iterable[Favourite]) -> bool:
    """Whether two favourite lists name the same things in the same order (counts aside)."""
    return [(f.kind, f.name) for f in a] == [(f.kind, f.name) for f in b]
