"""Referrals held for the owner's review: the owner's list, and a decision that pays or closes one once."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from loyalty.domain.model import LedgerEntry, Referral
from loyalty.domain.referral import HELD
from loyalty.store import keys
from loyalty.store.members import MemberUpdate, member_transaction
from loyalty.store.models import ReferralItem


def _to_referral(item: ReferralItem) -> Referral:
    return Referral(
        referral_id=item.referral_id, merchant_id=item.merchant_id, referrer_id=item.referrer_id,
        referee_id=item.member_id, status=item.status, reasons=tuple(item.reasons or ()), held_at=item.held_at,
        referrer_points=int(item.referrer_points or 0), referee_points=int(item.referee_points or 0),
        decided_at=item.decided_at)


def get_referral(referral_id: str) -> Referral | None:
    try:
        return _to_referral(ReferralItem.get(*keys.referral(referral_id), consistent_read=True))
    except DoesNotExist:
        return None


def held_referrals(merchant_id: str, limit: int = 100) -> list[Referral]:
    """Oldest first. The sparse index holds only undecided referrals; it projects keys, so the items are read."""
    found = ReferralItem.gsi1.query(keys.held_referrals(merchant_id), limit=limit)
    item_keys = [(item.pk, item.sk) for item in found]
    items = list(ReferralItem.batch_get(item_keys, consistent_read=True)) if item_keys else []
    referrals = [_to_referral(item) for item in items if item.status == HELD]
    return sorted(referrals, key=lambda r: (r.held_at, r.referral_id))


def decide(referral_id: str, status: str, now: datetime, updates: list[MemberUpdate],
           ledger: list[LedgerEntry]) -> None:
    """Close a held referral with the members' changes, in one transaction that only a still-held one passes:
    of two decisions at the same moment, one wins (the other's ConditionFailed names "referral")."""
    txn = member_transaction(updates, ledger)
    actions = [ReferralItem.status.set(status), ReferralItem.decided_at.set(now),
               ReferralItem.gsi1pk.remove(), ReferralItem.gsi1sk.remove()]
    txn.update(ReferralItem(*keys.referral(referral_id)), actions, "referral", condition=ReferralItem.status == HELD)
    txn.commit()
