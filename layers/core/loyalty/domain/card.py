"""What the card tells a member: the next reward and the line a barista would say."""

from __future__ import annotations

from dataclasses import dataclass

from loyalty.domain.model import Member
from loyalty.domain.program import Program
from loyalty.domain.stamps import card_is_full


@dataclass(frozen=True)
class NextReward:
    name: str
    remaining: int
    unit: str  # "visit" | "visits" | "points"


def next_reward(program: Program, stamps: int, balance: int) -> NextReward | None:
    if program.stamp_card is not None:
        reward = program.reward(program.stamp_card.reward_id)
        # At least 1: a card already at or over the (since lowered) requirement completes on the next visit.
        remaining = max(1, program.stamp_card.stamps_required - stamps)
        return NextReward(reward.name if reward else "reward", remaining, "visit" if remaining == 1 else "visits")
    claimable = sorted((r for r in program.rewards if r.points_cost), key=lambda r: r.points_cost or 0)
    for reward in claimable:
        if (reward.points_cost or 0) > balance:
            return NextReward(reward.name, (reward.points_cost or 0) - balance, "points")
    return None


def card_message(program: Program, member: Member) -> str:
    open_vouchers = member.open_vouchers()
    card = program.stamp_card
    if card is not None and card_is_full(member.stamps, card.stamps_required, len(open_vouchers)):
        reward = program.reward(card.reward_id)
        return f"Your card is full: redeem your {(reward.name if reward else 'reward').lower()} to keep collecting."
    if open_vouchers:
        first = open_vouchers[0]
        return f"Your {first.name.lower()} is ready: show code {first.code} at the counter."
    upcoming = next_reward(program, member.stamps, member.balance)
    affordable = [r for r in program.rewards if r.points_cost and r.points_cost <= member.balance]
    if affordable and (upcoming is None or upcoming.unit == "points"):
        best = max(affordable, key=lambda r: r.points_cost or 0)
        return f"You have enough points for a {best.name.lower()}."
    if upcoming is None:
        return "Thanks for being a regular!"
    unit = "point" if upcoming.unit == "points" and upcoming.remaining == 1 else upcoming.unit
    return f"{upcoming.remaining} more {unit} to your {upcoming.name.lower()}."
