"""A member's own referral: the code, link and QR to share, and how many friends it brought."""

from __future__ import annotations

from loyalty.replies.base import Reply


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
