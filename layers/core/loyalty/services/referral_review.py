"""The owner's review of held referrals: list them, approve one (both sides paid once) or reject it."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from loyalty import telemetry
from loyalty.domain import ids
from loyalty.domain.access import OWNER, Caller, require_merchant
from loyalty.domain.errors import NotFound, ReferralAlreadyDecided
from loyalty.domain.model import LedgerEntry, Member, Referral
from loyalty.domain.referral import APPROVED, HELD, NOT_REWARDED, REJECTED, REWARDED, referee_line, referrer_line
from loyalty.replies.referrals import (
    ApprovedReferral,
    HeldReferrals,
    ReferralPayment,
    ReviewedReferral,
)
from loyalty.services import clock
from loyalty.store import members as member_store
from loyalty.store import referrals as store
from loyalty.store.transaction import ConditionFailed


def referrer_payment(merchant_id: str, referrer_id: str, referee: Member, points: int,
                     now: datetime) -> tuple[member_store.MemberUpdate, list[LedgerEntry]]:
    """The referrer's side of a paid referral: the points, its invite counted as rewarded, the ledger entry."""
    update = member_store.MemberUpdate(referrer_id, tag="referrer", add={
        "balance": points, "lifetime_points": points, "referrals_pending": -1, "referrals_rewarded": 1})
    ledger = [LedgerEntry(ids.new_id("led"), referrer_id, merchant_id, now, "referral", points, 0,
                          (referrer_line(points, referee.name),), ref=referee.member_id)] if points else []
    return update, ledger


def held_referrals(caller: Caller, merchant_id: str) -> HeldReferrals:
    require_merchant(caller, merchant_id, OWNER)
    return HeldReferrals(referrals=[ReviewedReferral.of(r) for r in store.held_referrals(merchant_id)])


def approve(caller: Caller, merchant_id: str, referral_id: str) -> ApprovedReferral:
    """Pay both sides what the referral would have paid on the friend's first visit."""
    referral = _held(caller, merchant_id, referral_id)
    referee = member_store.get_member(referral.referee_id)
    if referee is None:
        raise NotFound("No such referral.")
    now = clock.now()
    points = referral.referee_points
    referee_update = member_store.MemberUpdate(referee.member_id, tag="referee", set={"referral_status": REWARDED},
                                               add={"balance": points, "lifetime_points": points})
    ledger = [LedgerEntry(ids.new_id("led"), referee.member_id, merchant_id, now, "referral", points, 0,
                          (referee_line(points),), ref=referral_id)] if points else []
    referrer_update, referrer_ledger = referrer_payment(merchant_id, referral.referrer_id, referee,
                                                        referral.referrer_points, now)
    decided = _decide(referral, APPROVED, now, [referee_update, referrer_update], ledger + referrer_ledger)
    telemetry.count("ReferralsApproved")
    paid = ReferralPayment(referrer_points=referral.referrer_points, referee_points=referral.referee_points)
    return ApprovedReferral(**ReviewedReferral.fields(decided), paid=paid)


def reject(caller: Caller, merchant_id: str, referral_id: str) -> ReviewedReferral:
    """Close it unpaid; the referrer's invite no longer counts as pending."""
    referral = _held(caller, merchant_id, referral_id)
    now = clock.now()
    updates = [member_store.MemberUpdate(referral.referee_id, tag="referee", set={"referral_status": NOT_REWARDED}),
               member_store.MemberUpdate(referral.referrer_id, tag="referrer", add={"referrals_pending": -1})]
    decided = _decide(referral, REJECTED, now, updates, [])
    telemetry.count("ReferralsRejected")
    return ReviewedReferral.of(decided)


def _held(caller: Caller, merchant_id: str, referral_id: str) -> Referral:
    require_merchant(caller, merchant_id, OWNER)
    referral = store.get_referral(referral_id)
    if referral is None or referral.merchant_id != merchant_id:
        raise NotFound("No such referral.")
    if referral.status != HELD:
        raise ReferralAlreadyDecided()
    return referral


def _decide(referral: Referral, status: str, now: datetime, updates: list[member_store.MemberUpdate],
            ledger: list[LedgerEntry]) -> Referral:
    try:
        store.decide(referral.referral_id, status, now, updates, ledger)
    except ConditionFailed as lost:
        if "referral" in lost.failed:  # decided by a concurrent request
            raise ReferralAlreadyDecided() from lost
        raise
    return dataclasses.replace(referral, status=status, decided_at=now)
