"""A member's personal data, all of it, as she (or the owner, for her) downloads it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loyalty.domain import favourites
from loyalty.domain.model import LedgerEntry, Member, Merchant
from loyalty.domain.preferences import ConsentChange
from loyalty.replies.base import Instant, Reply
from loyalty.replies.cards import IssuedReward
from loyalty.replies.members import (
    ConsentLogEntry,
    FavouriteItem,
    LedgerItem,
    MemberSummary,
    ReferralStanding,
)


class ExportedMerchant(Reply):
    merchant_id: str
    name: str


class ExportedProfile(MemberSummary):
    """What she told us (the owner's member summary) and what her visits made of her card."""

    tier: str | None
    visit_count: int
    first_visit_at: Instant | None
    last_visit_at: Instant | None
    last_location_id: str | None
    total_spend: int
    favourites: list[FavouriteItem]


class ExportedFeedback(Reply):
    scan_id: str | None
    location_id: str | None
    rating: int | None
    nps: int | None
    comment: str | None
    created_at: Instant | None

    @classmethod
    def of(cls, stored: dict[str, Any]) -> ExportedFeedback:
        """From a feedback item's attributes as stored."""
        def number(name: str) -> int | None:
            value = stored.get(name)
            return None if value is None else int(value)

        created = stored.get("created_at")
        return cls(scan_id=stored.get("scan_id"), location_id=stored.get("location_id"), rating=number("rating"),
                   nps=number("nps"), comment=stored.get("comment"),
                   created_at=datetime.fromisoformat(created) if isinstance(created, str) else None)


class MemberExport(Reply):
    """Every piece of personal data kept about one member of one merchant."""

    exported_at: Instant
    member_id: str
    merchant: ExportedMerchant
    profile: ExportedProfile
    consent_log: list[ConsentLogEntry]  # every consent change, newest first
    ledger: list[LedgerItem]  # every balance change, oldest first
    rewards: list[IssuedReward]  # the vouchers on the card, open and recently closed
    feedback: list[ExportedFeedback]
    referral: ReferralStanding  # her code, who invited her, the friends she invited (pending, rewarded)

    @classmethod
    def of(cls, merchant: Merchant, member: Member, consent_log: list[ConsentChange], ledger: list[LedgerEntry],
           feedback: list[dict[str, Any]], now: datetime) -> MemberExport:
        profile = ExportedProfile(
            **MemberSummary.fields(member), tier=member.tier_id, visit_count=member.visit_count,
            first_visit_at=member.first_visit_at, last_visit_at=member.last_visit_at,
            last_location_id=member.last_location_id, total_spend=member.total_spend,
            favourites=[FavouriteItem.of(f) for f in favourites.top(member.favourite_counts)])
        return cls(
            exported_at=now, member_id=member.member_id,
            merchant=ExportedMerchant(merchant_id=merchant.merchant_id, name=merchant.name), profile=profile,
            consent_log=[ConsentLogEntry(channel=c.channel, granted=c.granted, at=c.at, source=c.source)
                         for c in consent_log],
            ledger=[LedgerItem.of(entry) for entry in ledger],
            rewards=[IssuedReward.of(v) for v in sorted(member.vouchers.values(), key=lambda v: v.issued_at)],
            feedback=[ExportedFeedback.of(item) for item in feedback],
            referral=ReferralStanding(code=member.referral_code, referred_by=member.referred_by,
                                      status=member.referral_status, pending=member.referrals_pending,
                                      rewarded=member.referrals_rewarded))
