"""Who may be rewarded for a referral, and which referrals look like fraud and wait for the owner."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from loyalty.domain.model import LedgerLine, Member
from loyalty.domain.program import Program

# A referee's referral_status; HELD and the decisions below are also a held referral's status.
PENDING = "pending"
HELD = "held"
REWARDED = "rewarded"
NOT_REWARDED = "not_rewarded"
APPROVED = "approved"
REJECTED = "rejected"

# Why a referral is held (the owner sees these codes).
SIMILAR_EMAIL = "similar_email"        # the referrer's own address, spelled another way
REFERRER_DEVICE = "referrer_device"    # joined in the browser where the referrer joined
CARD_ON_DEVICE = "card_on_device"      # joined in a browser that already held a card here
VELOCITY = "velocity"                  # the referrer's daily allowance of rewarded referrals was used up

# Gmail ignores dots in the local part; these providers deliver "name+tag@" to "name@".
_GMAIL = {"gmail.com", "googlemail.com"}
_PLUS_TAG_PROVIDERS = _GMAIL | {
    "outlook.com", "hotmail.com", "live.com", "msn.com", "icloud.com", "me.com", "mac.com",
    "proton.me", "protonmail.com", "pm.me", "fastmail.com", "yandex.com", "yandex.ru",
}


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


def mailbox(email: str) -> str:
    """The mailbox an address delivers to: case, Gmail's dots and common providers' +tags do not matter."""
    local, _, domain = email.strip().lower().rpartition("@")
    if domain in _PLUS_TAG_PROVIDERS:
        local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def suspicions(referrer: Member, email: str | None, device_hash: str | None,
               card_on_device: bool) -> tuple[str, ...]:
    """The signals that a join with ``referrer``'s code is the referrer again; each one holds the referral.

    (The referrer's own phone or email never gets this far: they are the referrer's, so the join is refused.)"""
    reasons = []
    if email and referrer.email and mailbox(email) == mailbox(referrer.email):
        reasons.append(SIMILAR_EMAIL)
    if device_hash and device_hash == referrer.device_hash:
        reasons.append(REFERRER_DEVICE)
    if card_on_device:
        reasons.append(CARD_ON_DEVICE)
    return tuple(reasons)


def referee_line(points: int) -> LedgerLine:
    return LedgerLine("referral", points, 0, "Joined with a friend's invite")


def referrer_line(points: int, friend_name: str | None) -> LedgerLine:
    return LedgerLine("referral", points, 0, f"{friend_name or 'Your friend'} made their first visit")


def referral_month(now: datetime, timezone: str) -> str:
    """The monthly cap runs on the merchant's calendar, not UTC's."""
    return now.astimezone(ZoneInfo(timezone)).strftime("%Y-%m")


def referral_day(now: datetime, timezone: str) -> str:
    """The daily allowance runs on the merchant's calendar too."""
    return now.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d")
