"""The member's card: what they have, what is next, and the mobile web page that shows it."""

from __future__ import annotations

from loyalty.domain import feedback, qr
from loyalty.domain.access import Caller, require_member
from loyalty.domain.model import Member
from loyalty.replies.cards import Card, MyCard
from loyalty.services import clock, pages
from loyalty.services.member_plan import MemberPlan, with_member_retries
from loyalty.services.members import load_with_history_by_token, own_member
from loyalty.services.merchants import load_merchant

HISTORY_LENGTH = 10


def my_card(caller: Caller) -> MyCard:
    """One read of the member's partition gives the balance and the history that explains it, consistently."""
    token = require_member(caller)
    member, history = load_with_history_by_token(token, HISTORY_LENGTH)
    merchant = load_merchant(member.merchant_id)
    if _settle(MemberPlan(member, clock.now(), merchant)):
        settle_due(own_member(caller), merchant)
        member, history = load_with_history_by_token(token, HISTORY_LENGTH)
    now = clock.now()
    # The personal card QR staff scan: it holds the member token.
    return MyCard(**Card.fields(merchant, member, history, now), qr_svg=qr.qr_svg(token),
                  nps_due=True if feedback.nps_due(member, now) else None)


def _settle(plan: MemberPlan) -> bool:
    """Settle what is due on the plan; True when that changed the card."""
    settled = plan.settle_expired_vouchers()
    plan.settle_due()
    return bool(settled or plan.ledger or plan.tier_change)


def settle_due(load, merchant) -> Member:
    """Return expired vouchers' points, expire due points and step down a tier whose grace ended before showing
    the card, so what it shows is never stale."""
    def build(member: Member) -> Member:
        plan = MemberPlan(member, clock.now(), merchant)
        if not _settle(plan):
            return member
        plan.commit()
        return plan.member

    return with_member_retries(load, build)


def card_page(merchant_id: str, base_url: str) -> str:
    return pages.merchant_page("card_page.html", merchant_id, base_url)
