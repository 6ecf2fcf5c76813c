"""Building one member change: balance, stamps, vouchers and the ledger entries that explain them.

A plan starts from the member as read, mirrors every change on an in-memory copy (so replies show
the new state), and commits all of it in one transaction conditioned on the member's revision.
"""

from __future__ import annotations

import copy
import dataclasses
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from loyalty.domain import favourites, ids, point_batches, tiers
from loyalty.domain.calendar import local_day, local_month
from loyalty.domain.errors import ConcurrentUpdate
from loyalty.domain.model import (
    VOUCHER_EXPIRED,
    VOUCHER_ISSUED,
    LedgerEntry,
    LedgerLine,
    Member,
    Merchant,
    Referral,
    Voucher,
)
from loyalty.domain.program import Program, RewardDefinition, TierLevel
from loyalty.domain.segments import RECENT_VISITS_KEPT
from loyalty.store import members as store
from loyalty.store import replies
from loyalty.store.transaction import ConditionalUpdate, ConditionFailed, TransientConflict

CLOSED_VOUCHERS_KEPT = 10
T = TypeVar("T")


class MemberPlan:
    """``merchant``: its program's expiry and tiers are kept in step with every change (claims spend the oldest
    points first; points and tiers that are due are settled first, see ``settle_due``). Without it (jobs that
    only return points) the member's batches are reconciled with its balance on the next change that has it."""

    def __init__(self, member: Member, now: datetime, merchant: Merchant | None = None) -> None:
        self.before = member
        self.member = copy.deepcopy(member)
        self.now = now
        self.merchant = merchant
        program = merchant.program if merchant else None
        self._expiry = program.expiry if program else None
        self._tiers = program.tiers if program else None
        self._month = local_month(now, merchant.timezone) if merchant else None
        self._batches = (point_batches.settle(point_batches.PointBatches.from_map(member.point_batches), credited=0,
                                              debited=0, month=self._month, balance=member.balance)
                         if self._expiry else None)
        self._tier_state = tiers.state_of(member) if self._tiers else None
        self.tier_change: tiers.TierDecision | None = None  # the level changed in this plan (upgrade or downgrade)
        self._tier_due: datetime | None = None
        self.update = store.MemberUpdate(member.member_id, expected_rev=member.rev, merchant_id=member.merchant_id)
        self.ledger: list[LedgerEntry] = []
        self.other_updates: list[store.MemberUpdate] = []
        self.guards: list[store.Guard] = []
        self.counters: list[store.CapCounter] = []
        self.held_referrals: list[Referral] = []
        self.other_items: list[ConditionalUpdate] = []  # other items changed with the member (store-built)
        self.issued: list[Voucher] = []
        self._vouchers_changed = False

    # -- balance and stamps ------------------------------------------------------------------------
    def record(self, kind: str, lines: list[LedgerLine] | tuple[LedgerLine, ...], *, ref: str | None = None,
               location_id: str | None = None, earned: bool = False, spend: int | None = None,
               visit: dict | None = None) -> LedgerEntry | None:
        points = sum(line.points for line in lines)
        stamps = sum(line.stamps for line in lines)
        if not lines:
            return None
        # Entries of one change are a millisecond apart, in the order they happened (points expired, then the scan).
        at = self.now + timedelta(milliseconds=len(self.ledger))
        entry = LedgerEntry(ids.new_id("led"), self.member.member_id, self.member.merchant_id, at, kind,
                            points, stamps, tuple(lines), ref, location_id, spend, visit)
        self.ledger.append(entry)
        self._add("balance", points)
        self._add("stamps", stamps)
        if earned and points > 0:
            self._add("lifetime_points", points)
        if self._batches is not None and points:
            self._batches = point_batches.settle(self._batches, credited=max(points, 0), debited=max(-points, 0),
                                                 month=self._month, balance=self.member.balance)
        return entry

    # -- program rules: expiry and tiers -----------------------------------------------------------
    @property
    def tier(self) -> TierLevel | None:
        """The tier level held now (as planned so far), or None."""
        return self._tiers.level(self._tier_state.level_id) if self._tiers else None

    def settle_due(self) -> None:
        """Points past their expiry leave the balance, and a tier whose grace ended steps down: what the hourly
        job does, done first by any change that reaches the member before it."""
        if self._batches is not None:
            expired = point_batches.expire(self._batches, self.now, self.merchant.timezone, self._expiry.after_months)
            if expired.points:
                months = ", ".join(expired.months)
                self.record("expiry", [LedgerLine("expiry", -expired.points, 0, f"Points earned in {months} expired")])
        self._evaluate_tier()

    def earn(self, points: int, month: str | None = None) -> None:
        """Points that count toward the tier (base, tier and promotion points; negative for a refund of a sale
        earned in ``month``), then the tier they reach."""
        if self._tier_state is None or not points:
            return
        self._tier_state = tiers.record_earned(self._tiers, self._tier_state, points, month or self._month, self.now,
                                               self.merchant.timezone)
        self._evaluate_tier()

    def reverse_earned(self, points: int, month: str) -> None:
        """A refund takes back ``points`` earned in ``month`` from the tier window."""
        self.earn(-points, month)

    def _evaluate_tier(self) -> None:
        if self._tier_state is None:
            return
        decision = tiers.evaluate(self._tiers, self._tier_state, self.now, self.merchant.timezone)
        self._tier_state = decision.state
        self._tier_due = decision.due_at
        if decision.changed:
            first = self.tier_change.changed_from if self.tier_change else decision.changed_from
            self.tier_change = dataclasses.replace(decision, changed_from=first)
        for level in decision.upgrade_rewards:
            reward = self.merchant.program.reward(level.upgrade_reward_id)
            if reward is not None:
                self.issue_voucher(reward, self.merchant.program, source="tier", points_locked=0)

    def finish_rules(self) -> None:
        """Write back the batches and the tier state, and where the member sits in the upkeep index. Idempotent:
        the reply is built after it, and the commit runs it again."""
        if self.merchant is None:
            return
        self._evaluate_tier()  # idempotent: a change already applied is not applied twice
        due: list[datetime] = []
        batches = self._batches.as_map() if self._batches is not None else {}
        if batches != self.before.point_batches:
            self.set("point_batches", batches)
        if self._batches is not None:
            expiring = point_batches.next_expiring(self._batches, self._expiry.after_months, self.merchant.timezone)
            if expiring:
                due.append(expiring.at)
        state = self._tier_state or tiers.TierState()
        for name, value in (("tier_id", state.level_id), ("tier_earned", state.earned_map()),
                            ("tier_qualified_until", state.qualified_until), ("tier_rewarded", state.rewarded)):
            if value != getattr(self.before, name):
                self.set(name, value)
        if self._tier_state is not None and self._tier_due:
            due.append(self._tier_due)
        if due:
            self.update.upkeep_due = min(due)
        elif self.before.point_batches or self.before.tier_id or self.before.tier_earned:
            self.update.upkeep_due = None  # nothing due any more: out of the upkeep index
        # else: never in the index (a program without expiry or tiers): the scan's update leaves it alone

    def _add(self, name: str, value: int) -> None:
        if value:
            self.update.add[name] = self.update.add.get(name, 0) + value
            setattr(self.member, name, getattr(self.member, name) + value)

    def add_counter(self, name: str, value: int) -> None:
        self._add(name, value)

    def set(self, name: str, value: object) -> None:
        self.update.set[name] = value
        setattr(self.member, name, value)

    def visited(self, location_id: str, timezone: str) -> None:
        """A visit counted now: it moves the member to today's (merchant-local) day in the roster index."""
        self.add_counter("visit_count", 1)
        self.set("last_visit_at", self.now)
        self.set("last_location_id", location_id)
        day = local_day(self.now, timezone)
        self.update.last_visit_day = day
        self.set("recent_visits", (*self.member.recent_visits, day.isoformat())[-RECENT_VISITS_KEPT:])
        if self.before.visit_count == 0:
            self.set("first_visit_at", self.now)

    def count_purchases(self, purchases: list[favourites.Purchase], timezone: str) -> None:
        """Bought items count toward the member's favourites; the ranked top (which every member index
        projects) is rewritten only when it changes, so most purchases leave the birthday and joined indexes be."""
        if not purchases:
            return
        counted = favourites.count_purchases(self.member.favourite_counts, self.member.favourite_counts_month,
                                             purchases, favourites.purchase_month(self.now, timezone))
        self.set("favourite_counts", counted.counts)
        self.set("favourite_counts_month", counted.month)
        ranked = favourites.top(counted.counts)
        if not favourites.same_ranking(ranked, self.member.favourites):
            self.set("favourites", ranked)
        categories = favourites.top_categories(counted.counts)
        if categories != self.member.favourite_categories:
            self.set("favourite_categories", categories)

    # -- vouchers ----------------------------------------------------------------------------------
    def issue_voucher(self, reward: RewardDefinition, program: Program, *, source: str, points_locked: int,
                      status: str = VOUCHER_ISSUED) -> Voucher:
        voucher = Voucher.issue(reward, now=self.now, validity_days=program.reward_validity_days, source=source,
                                points_locked=points_locked, status=status)
        self.guards.append(store.reward_code_guard(voucher, self.member.member_id, self.member.merchant_id))
        self.put_voucher(voucher)
        self.issued.append(voucher)
        return voucher

    def put_voucher(self, voucher: Voucher) -> None:
        self.member.vouchers[voucher.issued_reward_id] = voucher
        self.update.put_vouchers = [v for v in self.update.put_vouchers
                                    if v.issued_reward_id != voucher.issued_reward_id] + [voucher]
        self._vouchers_changed = True

    def close_voucher(self, voucher: Voucher, status: str, **changes: object) -> Voucher:
        closed = dataclasses.replace(voucher, status=status, closed_at=self.now, **changes)
        self.put_voucher(closed)
        return closed

    def settle_expired_vouchers(self) -> list[Voucher]:
        """Expired, unredeemed vouchers give their locked points back (moto and DynamoDB TTL both lag)."""
        settled = []
        for voucher in self.member.open_vouchers():
            if voucher.is_expired(self.now):
                settled.append(self.close_voucher(voucher, VOUCHER_EXPIRED))
                if voucher.points_locked:
                    self.record("reward_expired", [LedgerLine(
                        "reward_expired", voucher.points_locked, 0, f"{voucher.name} expired: points returned")],
                        ref=voucher.issued_reward_id)
        return settled

    def reindex_vouchers(self) -> None:
        """Recompute the expiry index entry even when nothing else changed (it may point at a closed voucher)."""
        self._vouchers_changed = True

    # -- commit ------------------------------------------------------------------------------------
    def _finish_vouchers(self) -> None:
        if not self._vouchers_changed:
            return
        closed = sorted((v for v in self.member.vouchers.values() if not v.is_open()),
                        key=lambda v: v.closed_at or v.issued_at, reverse=True)
        for stale in closed[CLOSED_VOUCHERS_KEPT:]:
            del self.member.vouchers[stale.issued_reward_id]
            self.update.drop_vouchers.append(stale.issued_reward_id)
        self.update.put_vouchers = [v for v in self.update.put_vouchers
                                    if v.issued_reward_id not in self.update.drop_vouchers]
        open_vouchers = self.member.open_vouchers()
        self.update.earliest_voucher_expiry = open_vouchers[0].expires_at if open_vouchers else None

    def commit(self, reply: replies.StoredReply | None = None) -> None:
        """All of it in one transaction; ``reply`` is the request's kept reply (exactly-once scans and claims)."""
        self.finish_rules()
        self._finish_vouchers()
        store.commit([self.update, *self.other_updates], self.ledger, guards=self.guards, counters=self.counters,
                     held_referrals=self.held_referrals, reply=reply, others=self.other_items)
        self.member.rev += 1


def with_member_retries(load: Callable[[], Member], build: Callable[[Member], T],
                        on_conflict: Callable[[ConditionFailed], None] | None = None, attempts: int = 6) -> T:
    """Read, plan, commit; when another request changed the member first, read again and re-plan.

    ``build`` returns the reply after committing its plan. Other lost conditions (a guard, a cap) go
    to ``on_conflict``, which raises a domain error or returns to try again.
    """
    for attempt in range(attempts):
        if attempt:
            time.sleep(random.uniform(0, 0.005 * 2**attempt))  # jitter: contenders stop colliding in step
        member = load()
        try:
            return build(member)
        except TransientConflict:
            continue
        except ConditionFailed as lost:
            if replies.TAG in lost.failed:
                raise  # the same request committed first: the caller gets its reply, nothing is re-planned
            if lost.failed & {"member", "reward_code"}:
                continue  # someone else changed the member first, or a code collided: re-plan
            if on_conflict is None:
                raise
            on_conflict(lost)
    raise ConcurrentUpdate()
