"""Scheduled: vouchers past their expiry date give their locked points back."""

from __future__ import annotations

from collections.abc import Callable

from loyalty import telemetry
from loyalty.domain.model import Member
from loyalty.services import clock
from loyalty.services.member_plan import MemberPlan, with_member_retries
from loyalty.services.merchants import load_merchant
from loyalty.services.sweep import sweep
from loyalty.store import keys
from loyalty.store import members as store

PAGE_SIZE = 100


def expire_rewards(remaining_ms: Callable[[], int], page_size: int = PAGE_SIZE) -> dict:
    """Every member holding a voucher past its expiry, read from the sparse index shard by shard."""
    now = clock.now()

    def fetch(shard: int, start: dict | None):
        page = store.members_with_vouchers_expiring(shard, now, limit=page_size, start=start)
        return page.member_ids, page.next_start

    result = sweep(keys.EXPIRY_SHARDS, fetch, lambda member_id: _settle(member_id, now), remaining_ms)
    telemetry.count("RewardsExpired", result.settled)
    return {"expired": result.settled, "membersChecked": result.checked, "pages": result.pages,
            "complete": result.complete}


def _settle(member_id: str, now) -> int:
    def build(member: Member | None) -> int:
        if member is None:
            return 0
        plan = MemberPlan(member, now, load_merchant(member.merchant_id))  # returned points join this month's batch
        settled = plan.settle_expired_vouchers()
        plan.reindex_vouchers()
        plan.commit()
        return len(settled)

    return with_member_retries(lambda: store.get_member(member_id), build)
