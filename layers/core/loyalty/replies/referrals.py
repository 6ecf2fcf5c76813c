"""Referrals: a member's own (the code, link and QR to share, and how many friends it brought), and the ones
held for the owner's review."""

from __future__ import annotations

from loyalty.domain.model import Referral
from loyalty.replies.base import Instant, Reply


class ReferralOffer(Reply):
    referrer_points: int
    referee_points: int


class MyReferral(Reply):
    code: str | None
    link: str
    qr_svg: str
    pending: int
    rewarded: int
    offer: ReferralOffer | None


class ReviewedReferral(Reply):
    """A referral that tripped a fraud rule, as the owner reviews it."""

    referral_id: str
    referrer_id: str
    referee_id: str
    status: str
    reasons: list[str]
    held_at: Instant
    decided_at: Instant | None

    @staticmethod
    def fields(referral: Referral) -> dict:
        return {"referral_id": referral.referral_id, "referrer_id": referral.referrer_id,
                "referee_id": referral.referee_id, "status": referral.status, "reasons": list(referral.reasons),
                "held_at": referral.held_at, "decided_at": referral.decided_at}

    @classmethod
    def of(cls, referral: Referral) -> ReviewedReferral:
        return cls(**cls.fields(referral))


class HeldReferrals(Reply):
    referrals: list[ReviewedReferral]


class ReferralPayment(Reply):
    referrer_points: int
    referee_points: int


class ApprovedReferral(ReviewedReferral):
    paid: ReferralPayment
