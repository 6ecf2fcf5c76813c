"""Stamp card arithmetic: completing a card issues its reward and starts a new card."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StampProgress:
    count: int            # stamps on the current card after this change
    cards_completed: int  # each one issues a voucher


def add_stamps(count: int, earned: int, required: int) -> StampProgress:
    total = count + earned
    return StampProgress(count=total % required, cards_completed=total // required)
