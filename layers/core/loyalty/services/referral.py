"""A member's own referral: the code and link to share, and how many friends it brought."""

from __future__ import annotations

from urllib.parse import quote

from loyalty.domain import qr
from loyalty.domain.access import Caller
from loyalty.replies.referrals import MyReferral, ReferralOffer
from loyalty.services.members import own_member
from loyalty.services.merchants import card_page_url, load_merchant


def my_referral(caller: Caller, base_url: str) -> MyReferral:
    member = own_member(caller)()
    merchant = load_merchant(member.merchant_id)
    link = f"{card_page_url(base_url, member.merchant_id)}?ref={quote(member.referral_code or '')}"
    rules = merchant.program.referral
    return MyReferral(
        code=member.referral_code, link=link, qr_svg=qr.qr_svg(link),
        pending=member.referrals_pending, rewarded=member.referrals_rewarded,
        offer=ReferralOffer(referrer_points=rules.referrer_points, referee_points=rules.referee_points)
        if rules else None,
    )
