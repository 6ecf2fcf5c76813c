"""What a visit earns, explained line by line: the award is exactly the sum of its lines.

Base points (visit, spend, items) come first; the tier multiplier and the best promotion add bonuses
computed on that base; welcome and referral bonuses come last and are not multiplied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol

from loyalty.domain.model import LedgerLine
from loyalty.domain.program import Program, Promotion, Surprise, TierLevel
from loyalty.domain.promotions import limited_to_items, matches_item, multiplied_bonus, promotion_active
from loyalty.domain.promotions import todays_promotions as todays_promotions  # re-exported for the card
from loyalty.domain.referral import referee_line

TIMES = "\N{MULTIPLICATION SIGN}"  # in labels: "2 <times> LATTE-L", "Gold: <times>1.5"

# ISO 4217 minor units of the currencies that do not use two decimals; the rest use two.
_CURRENCY_EXPONENT = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
                     "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}


def currency_exponent(currency: str) -> int:
    return _CURRENCY_EXPONENT.get(currency.upper(), 2)


class BillLine(Protocol):
    """One line of the bill as the rules read it (a scan's sale item)."""

    sku: str
    category: str | None
    quantity: int
    amount: int  # line total in minor units


def bill_total(amount: int | None, items: Sequence[BillLine]) -> int | None:
    """The bill: the amount given, else the sum of its lines, else none."""
    if amount is not None:
        return amount
    return sum(item.amount for item in items) if items else None


@dataclass(frozen=True)
class Visit:
    counts_as_visit: bool          # False inside the cooldown: spend may still earn, the visit does not
    is_first_visit: bool
    amount_minor: int | None = None
    currency: str = "PLN"
    referee_bonus: int = 0         # refereePoints when this first visit completes a pending referral
    items: tuple[BillLine, ...] = ()
    at: datetime | None = None     # the scan instant (UTC); without it no promotion applies
    location_id: str | None = None
    location_timezone: str = "UTC"  # promotions run on the location's clock
    tier: TierLevel | None = None  # the tier held when the scan starts
    # promotion id -> times it already applied to this member on the location-local day of `at`
    promotion_uses_today: Mapping[str, int] = field(default_factory=dict)


REVERSIBLE_KINDS = frozenset({"spend", "item", "tier", "promotion"})
EARNED_KINDS = REVERSIBLE_KINDS | {"visit"}


@dataclass(frozen=True)
class Award:
    lines: tuple[LedgerLine, ...]
    promotion_id: str | None = None  # the promotion applied, if any (its use is recorded by the caller)

    @property
    def points(self) -> int:
        return sum(line.points for line in self.lines)

    @property
    def stamps(self) -> int:
        return sum(line.stamps for line in self.lines)

    @property
    def earned_points(self) -> int:
        """What counts toward a tier: base, tier and promotion points (welcome, referral and surprises do not)."""
        return sum(line.points for line in self.lines if line.kind in EARNED_KINDS)

    @property
    def reversible_points(self) -> int:
        """What a refund of the sale takes back, in proportion: all earned points but the visit's (it happened)."""
        return sum(line.points for line in self.lines if line.kind in REVERSIBLE_KINDS)


def calculate_award(program: Program, visit: Visit) -> Award:
    """Lines in this order: visit, spend, item..., tier, promotion, welcome, referral.

    Base points (visit + spend + items) are what the tier and the promotion multiply; neither sees the
    other's bonus, so they never compound.
    """
    base = [*_visit_lines(program, visit), *_spend_lines(program, visit), *_item_lines(program, visit)]
    base_points = sum(line.points for line in base)
    best = _best_promotion(program, visit, base_points)
    lines = [
        *base,
        *_tier_lines(visit.tier, base_points),
        *([LedgerLine("promotion", best.points, 0, best.promotion.name)] if best else []),
        *_welcome_lines(program, visit),
        *_referral_lines(visit),
    ]
    return Award(tuple(lines), promotion_id=best.promotion.id if best else None)


def _visit_lines(program: Program, visit: Visit) -> list[LedgerLine]:
    if not visit.counts_as_visit:
        return []
    points = program.points.per_visit if program.points else 0
    stamps = 1 if program.stamp_card else 0
    if not points and not stamps:
        return []
    return [LedgerLine("visit", points, stamps, "Visit")]


def _spend_points(program: Program, amount_minor: int | None, currency: str) -> int:
    if not program.points or not amount_minor:
        return 0
    return amount_minor // (10 ** currency_exponent(currency)) * program.points.per_currency_unit


def _spend_lines(program: Program, visit: Visit) -> list[LedgerLine]:
    points = _spend_points(program, visit.amount_minor, visit.currency)
    if points <= 0:
        return []
    return [LedgerLine("spend", points, 0, f"Spend {format_money(visit.amount_minor, visit.currency)}")]


def _item_points(program: Program, item: BillLine) -> int:
    return program.points.item_points(item.sku, item.category) * item.quantity if program.points else 0


def _item_lines(program: Program, visit: Visit) -> list[LedgerLine]:
    return [LedgerLine("item", points, 0, f"{item.quantity} {TIMES} {item.sku}")
            for item in visit.items if (points := _item_points(program, item)) > 0]


def _tier_lines(tier: TierLevel | None, base_points: int) -> list[LedgerLine]:
    points = multiplied_bonus(base_points, tier.multiplier) if tier else 0
    return [LedgerLine("tier", points, 0, f"{tier.name}: {TIMES}{tier.multiplier:g}")] if points > 0 else []


class _Applied(NamedTuple):
    promotion: Promotion
    points: int


def _best_promotion(program: Program, visit: Visit, base_points: int) -> _Applied | None:
    """The promotion adding the most points (ties: the first listed); None when none adds any."""
    best: _Applied | None = None
    for promotion in program.promotions:
        points = _promotion_points(program, promotion, visit, base_points)
        if points > (best.points if best else 0):
            best = _Applied(promotion, points)
    return best


def _promotion_points(program: Program, promotion: Promotion, visit: Visit, base_points: int) -> int:
    """What one promotion adds to this purchase, 0 when it does not apply."""
    if visit.at is None or not promotion_active(promotion, visit.at, visit.location_timezone, visit.location_id):
        return 0
    limit = promotion.limit_per_member_per_day
    if limit is not None and visit.promotion_uses_today.get(promotion.id, 0) >= limit:
        return 0
    if promotion.min_spend is not None and (visit.amount_minor is None or visit.amount_minor < promotion.min_spend):
        return 0
    matching_base = base_points
    if limited_to_items(promotion):
        matching = [item for item in visit.items if matches_item(promotion, item)]
        if not matching:
            return 0
        # The spend share of the matching items, never more than the bill's own spend line (an amount given
        # apart from the items may be smaller than their sum).
        matching_spend = min(_spend_points(program, sum(item.amount for item in matching), visit.currency),
                             _spend_points(program, visit.amount_minor, visit.currency))
        matching_base = sum(_item_points(program, item) for item in matching) + matching_spend
    if promotion.bonus_points is not None:
        return promotion.bonus_points
    return multiplied_bonus(matching_base, promotion.multiplier)


def _welcome_lines(program: Program, visit: Visit) -> list[LedgerLine]:
    if not visit.is_first_visit or not visit.counts_as_visit or not program.points:
        return []
    bonus = program.points.welcome_bonus
    return [LedgerLine("welcome", bonus, 0, "Welcome bonus")] if bonus else []


def _referral_lines(visit: Visit) -> list[LedgerLine]:
    if not visit.referee_bonus or not visit.is_first_visit:
        return []
    return [referee_line(visit.referee_bonus)]


def surprise_due(surprise: Surprise, visit_number: int, draw_key: str) -> bool:
    """Whether this counted visit (the member's ``visit_number``-th) wins the surprise.

    A chance is drawn from the sha256 of ``draw_key`` (the scan id), so the same scan always draws the same.
    The per-day cap is the caller's: it needs the day's count.
    """
    if surprise.every_nth_visit is not None:
        return visit_number > 0 and visit_number % surprise.every_nth_visit == 0
    draw = int.from_bytes(hashlib.sha256(draw_key.encode()).digest()[:8], "big") / 2 ** 64  # uniform in [0, 1)
    return draw * 100 < surprise.chance_percent


def surprise_line(reward_name: str) -> LedgerLine:
    """Explains the voucher a surprise issued; the voucher itself carries the value."""
    return LedgerLine("surprise", 0, 0, f"Surprise: {reward_name}")


def format_money(amount_minor: int, currency: str) -> str:
    exponent = currency_exponent(currency)
    if exponent == 0:
        return f"{amount_minor} {currency}"
    return f"{amount_minor / 10 ** exponent:.{exponent}f} {currency}"
