"""Who may be rewarded for a referral."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from loyalty.domain.model import Member
from loyalty.domain.program import Program

PENDING = "pending"
REWARDED = "rewarded"
NOT_REWARDED = "not_rewarded"


def referral_refusal(program: Program, referrer: Member, phone: str | None, email: str | None,
                     rewarded_this_month: int) -> str | None:
    """Why a new member's referral earns nothing, or None when it may be rewarded on the first visit."""
    if program.referral is None:
        return "This program has no referral rewards."
    if (phone and phone == referrer.phone) or (email and email == referrer.email):
        return "You cannot refer yourself."
    if rewarded_this_month >= program.referral.max_rewarded_per_referrer_per_month:
        return "Your friend has reached this month's referral limit."
    return None


def referral_month(now: datetime, timezone: str) -> str:
    """The monthly cap runs on the merchant's calendar, not UTC's."""
    return now.astimezone(ZoneInfo(timezone)).strftime("%Y-%m")
