"""Scheduled (hourly): points past their expiry leave the balance, and tiers whose grace ended step down.

Only members that are due are read: the upkeep index (GSI5) holds each member with expiring points or a tier
under the instant its next change is due, and projects what the change needs, so acting on a member reads
one index entry and writes one transaction (conditioned on the member's revision; a member that changed
since the index caught up is read again). A member's own next scan or claim settles the same, first."""

from __future__ import annotations

from collections.abc import Callable

from loyalty import telemetry
from loyalty.domain.errors import NotFound
from loyalty.domain.model import Member, Merchant
from loyalty.services import clock
from loyalty.services.member_plan import MemberPlan, with_member_retries
from loyalty.services.merchants import load_merchant
from loyalty.services.sweep import sweep
from loyalty.store import keys
from loyalty.store import members as store

PAGE_SIZE = 100


def run_upkeep(remaining_ms: Callable[[], int], page_size: int = PAGE_SIZE) -> dict:
    now = clock.now()
    changes = {"pointsExpired": 0, "tiersChanged": 0}
    merchants: dict[str, Merchant | None] = {}  # read once per run: a long run outlives the merchant cache

    def merchant_of(merchant_id: str) -> Merchant | None:
        if merchant_id not in merchants:
            try:
                merchants[merchant_id] = load_merchant(merchant_id)
            except NotFound:
                merchants[merchant_id] = None
        return merchants[merchant_id]

    def fetch(shard: int, start: dict | None):
        page = store.members_due_for_upkeep(shard, now, limit=page_size, start=start)
        return page.members, page.next_start

    def settle(due: Member) -> int:
        expired, tier_changed = _settle(due, merchant_of)
        changes["pointsExpired"] += expired
        changes["tiersChanged"] += int(tier_changed)
        return 1

    result = sweep(keys.UPKEEP_SHARDS, fetch, settle, remaining_ms)
    telemetry.count("PointsExpired", changes["pointsExpired"])
    telemetry.count("TierDowngrades", changes["tiersChanged"])
    return {**changes, "membersUpdated": result.settled, "pages": result.pages, "complete": result.complete}


def _settle(due: Member, merchant_of: Callable[[str], Merchant | None]) -> tuple[int, bool]:
    """Expire and step down what is due for one member, from its index entry first and from the item when the
    entry was behind."""
    loads = iter([due])

    def load() -> Member | None:
        return next(loads, None) or store.get_member(due.member_id)

    def build(member: Member | None) -> tuple[int, bool]:
        merchant = merchant_of(member.merchant_id) if member is not None else None
        if merchant is None:
            return 0, False
        plan = MemberPlan(member, clock.now(), merchant)
        plan.settle_due()
        plan.commit()  # also when nothing was due: the entry moves on to the member's next due instant
        expired = -sum(entry.points for entry in plan.ledger if entry.kind == "expiry")
        return expired, plan.tier_change is not None

    return with_member_retries(load, build)
