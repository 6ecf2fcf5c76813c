"""What a visit earns, explained line by line.

The calculation is a pipeline of rules; each rule sees the visit and the lines so far and may add
lines. Promotions and tier multipliers arrive later as more rules appended to ``RULES``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from loyalty.domain.model import LedgerLine
from loyalty.domain.program import Program
from loyalty.domain.referral import referee_line

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
    """One line of the bill as the rules read it (a scan's sale item); promotions on items (later) read these."""

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


@dataclass(frozen=True)
class Award:
    lines: tuple[LedgerLine, ...]

    @property
    def points(self) -> int:
        return sum(line.points for line in self.lines)

    @property
    def stamps(self) -> int:
        return sum(line.stamps for line in self.lines)


Rule = Callable[[Program, Visit, list[LedgerLine]], list[LedgerLine]]


def _visit_rule(program: Program, visit: Visit, _: list[LedgerLine]) -> list[LedgerLine]:
    if not visit.counts_as_visit:
        return []
    points = program.points.per_visit if program.points else 0
    stamps = 1 if program.stamp_card else 0
    if not points and not stamps:
        return []
    return [LedgerLine("visit", points, stamps, "Visit")]


def _spend_rule(program: Program, visit: Visit, _: list[LedgerLine]) -> list[LedgerLine]:
    if not program.points or not program.points.per_currency_unit or not visit.amount_minor:
        return []
    units = visit.amount_minor // (10 ** currency_exponent(visit.currency))
    points = units * program.points.per_currency_unit
    if points <= 0:
        return []
    return [LedgerLine("spend", points, 0, f"Spend {format_money(visit.amount_minor, visit.currency)}")]


def _welcome_rule(program: Program, visit: Visit, _: list[LedgerLine]) -> list[LedgerLine]:
    if not visit.is_first_visit or not visit.counts_as_visit or not program.points:
        return []
    bonus = program.points.welcome_bonus
    return [LedgerLine("welcome", bonus, 0, "Welcome bonus")] if bonus else []


def _referral_rule(_: Program, visit: Visit, __: list[LedgerLine]) -> list[LedgerLine]:
    if not visit.referee_bonus or not visit.is_first_visit:
        return []
    return [referee_line(visit.referee_bonus)]


RULES: tuple[Rule, ...] = (_visit_rule, _spend_rule, _welcome_rule, _referral_rule)


def calculate_award(program: Program, visit: Visit) -> Award:
    lines: list[LedgerLine] = []
    for rule in RULES:
        lines.extend(rule(program, visit, lines))
    return Award(tuple(lines))


def format_money(amount_minor: int, currency: str) -> str:
    exponent = currency_exponent(currency)
    if exponent == 0:
        return f"{amount_minor} {currency}"
    return f"{amount_minor / 10 ** exponent:.{exponent}f} {currency}"
