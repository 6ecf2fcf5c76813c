"""The reply to a scan: what it awarded, and where the member stands now."""

from __future__ import annotations

from loyalty.replies.base import OMITTED_WHEN_NONE, Reply
from loyalty.replies.cards import IssuedReward, Line, Progress, TierChanged, TierOnCard


class Awarded(Reply):
    points: int
    stamps: int
    lines: list[Line]


class ScanResult(Progress):
    scan_id: str
    member_id: str
    location_id: str
    awarded: Awarded
    rewards_issued: list[IssuedReward]
    tier: TierOnCard | None = OMITTED_WHEN_NONE  # with tiers
    tier_changed: TierChanged | None = OMITTED_WHEN_NONE  # on the scan that changed the tier
