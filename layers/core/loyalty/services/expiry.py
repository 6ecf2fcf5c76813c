"""Scheduled: vouchers past their expiry date give their locked points back."""

from __future__ import annotations

from loyalty import telemetry
from loyalty.domain.model import Member
from loyalty.services import clock
from loyalty.services.member_plan import MemberPlan, with_member_retries
from loyalty.store import keys
from loyalty.store import members as store


def expire_rewards(batch: int = 100) -> dict:
    """Walks only the sparse index of members holding open vouchers that are due, shard by shard."""
    now = clock.now()
    members = expired = 0
    for shard in range(keys.EXPIRY_SHARDS):
        for member_id in store.members_with_vouchers_expiring(shard, now, limit=batch):
            members += 1
            expired += _settle(member_id, now)
    telemetry.count("RewardsExpired", expired)
    return {"membersChecked": members, "vouchersExpired": expired}


def _settle(member_id: str, now) -> int:
    def build(member: Member | None) -> int:
        if member is None:
            return 0
        plan = MemberPlan(member, now)
        settled = plan.settle_expired_vouchers()
        plan.reindex_vouchers()
        plan.commit()
        return len(settled)

    return with_member_retries(lambda: store.get_member(member_id), build)
