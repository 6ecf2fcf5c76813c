"""Stamp card arithmetic: completing a card issues its reward and starts a new card.

A member holds at most ``MAX_OPEN_REWARDS`` unused rewards (they live on the member item, which DynamoDB caps
at 400 KB). When a stamp card completes with no room left, the card waits full: it keeps ``required`` stamps,
the visit's extra stamps are not kept, and the next visit after a reward is used completes it.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_OPEN_REWARDS = 20


@dataclass(frozen=True)
class StampProgress:
    count: int            # stamps on the current card after this change
    cards_completed: int  # each one issues a voucher
    dropped: int = 0      # stamps not kept because the card is full and no reward can be issued


def add_stamps(count: int, earned: int, required: int, room: int | None = None) -> StampProgress:
    """``room``: how many more rewards the member may hold (None: no limit)."""
    total = count + earned
    completed = total // required
    if room is None or completed <= room:
        return StampProgress(count=total % required, cards_completed=completed)
    completed = max(0, room)
    left = total - completed * required
    kept = min(left, max(count, required))  # a full card waits; stamps it already had are never taken away
    return StampProgress(count=kept, cards_completed=completed, dropped=left - kept)


def card_is_full(stamps: int, required: int, open_rewards: int) -> bool:
    return stamps >= required and open_rewards >= MAX_OPEN_REWARDS
