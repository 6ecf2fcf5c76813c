"""Scheduled: vouchers past their expiry date give their locked points back."""

from __future__ import annotations

from collections.abc import Callable

from loyalty import telemetry
from loyalty.domain.errors import ConcurrentUpdate
from loyalty.domain.model import Member
from loyalty.services import clock
from loyalty.services.member_plan import MemberPlan, with_member_retries
from loyalty.settings import get_settings
from loyalty.store import keys
from loyalty.store import members as store

PAGE_SIZE = 100


def expire_rewards(remaining_ms: Callable[[], int], page_size: int = PAGE_SIZE) -> dict:
    """Pages through the sparse index of members holding due vouchers, shard by shard, until all are settled
    or the time left (``remaining_ms``, the Lambda context's) falls under the safety margin. What is left
    stays in the index, so the next run picks it up."""
    margin_ms = get_settings().expiry_time_margin_seconds * 1000
    now = clock.now()
    members = expired = pages = 0
    complete = True
    for shard in range(keys.EXPIRY_SHARDS):
        start = None
        while complete:
            if remaining_ms() < margin_ms:
                complete = False
                break
            page = store.members_with_vouchers_expiring(shard, now, limit=page_size, start=start)
            pages += 1
            for member_id in page.member_ids:
                if remaining_ms() < margin_ms:
                    complete = False
                    break
                members += 1
                try:
                    expired += _settle(member_id, now)
                except ConcurrentUpdate:
                    continue  # a busy card: it stays in the index, and the next run settles it
            start = page.next_start
            if start is None:
                break
    telemetry.count("RewardsExpired", expired)
    return {"expired": expired, "membersChecked": members, "pages": pages, "complete": complete}


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
