"""Replies of claiming, cancelling and redeeming rewards."""

from __future__ import annotations

from loyalty.replies.cards import IssuedReward, Progress


class RewardOnCard(IssuedReward):
    """A claimed or cancelled reward, and the card's balance after it."""

    balance: int


class Redemption(Progress):
    redemption_id: str | None
    reward: IssuedReward
    member_id: str
