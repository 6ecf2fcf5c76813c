"""Earning: a member scanning the counter code, or staff scanning the member's card with the bill."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from loyalty import telemetry
from loyalty.domain import ids, insights, tokens
from loyalty.domain.access import (
    MEMBER,
    OWNER,
    PUBLIC,
    STAFF,
    Caller,
    require_location,
    require_merchant,
)
from loyalty.domain.awards import Award, BillLine, Visit, bill_total, calculate_award, surprise_due, surprise_line
from loyalty.domain.calendar import local_day, local_month
from loyalty.domain.errors import (
    Cooldown,
    InvalidCounterCode,
    NotFound,
    ReceiptAlreadyCounted,
    Unauthorized,
    ValidationFailed,
)
from loyalty.domain.favourites import Purchase
from loyalty.domain.model import LedgerLine, Member, Merchant, Referral
from loyalty.domain.referral import (
    HELD,
    NOT_REWARDED,
    PENDING,
    REWARDED,
    VELOCITY,
    referral_day,
    referral_month,
)
from loyalty.domain.stamps import MAX_OPEN_REWARDS, add_stamps
from loyalty.replies.cards import IssuedReward, Line, Progress, TierChanged, TierOnCard
from loyalty.replies.scans import Awarded, ScanResult
from loyalty.server_keys import signing_key
from loyalty.services import clock, limits
from loyalty.services.exactly_once import ExactlyOnce
from loyalty.services.member_plan import MemberPlan, with_member_retries
from loyalty.services.members import load_for_merchant, own_member
from loyalty.services.merchants import load_merchant, location_of
from loyalty.services.referral_review import referrer_payment
from loyalty.settings import get_settings
from loyalty.store import keys
from loyalty.store import members as store
from loyalty.store.transaction import ConditionFailed

if TYPE_CHECKING:  # the request models are built by the function that parses them, not at every import
    from loyalty.requests.scans import Scan


def record_scan(caller: Caller, request: Scan, once: ExactlyOnce | None = None) -> ScanResult:
    """A member's own phone scans the counter code; staff and POS scan the member's card.

    With ``once`` (an Idempotency-Key), the reply is kept in the scan's own transaction."""
    if caller.role == MEMBER:
        if not request.counter_code:
            raise ValidationFailed.field("counterCode", "Scan the code at the counter.")
        return member_scan(caller, request.counter_code, once)
    if caller.role == PUBLIC:
        raise Unauthorized("Show your card (X-Member-Token) or use a staff key.")
    missing = [{"field": name, "message": "This field is required."} for name, value in
               (("locationId", request.location_id), ("memberToken", request.member_token or request.member_id))
               if not value]
    if missing:
        raise ValidationFailed("A staff scan needs the member's card and the location.", details=missing)
    return staff_scan(caller, request, once)


def member_scan(caller: Caller, counter_code: str, once: ExactlyOnce | None = None) -> ScanResult:
    """The member's phone scanned the QR at the till: a visit at that code's location."""
    own = own_member(caller)
    now = clock.now()
    code = tokens.verify_counter_code(signing_key(), counter_code, now.timestamp(),
                                      get_settings().counter_code_window_seconds)
    try:
        merchant = load_merchant(code.merchant_id)
    except NotFound:
        raise InvalidCounterCode() from None
    if location_of(merchant, code.location_id) is None:
        raise InvalidCounterCode()

    def load() -> Member:
        member = own()
        if member.merchant_id != merchant.merchant_id:
            raise InvalidCounterCode("This code belongs to another business.")
        return member

    quota = limits.quota(limits.SCAN, merchant.merchant_id, caller.source_ip, now)
    return _record_visit(merchant, load, code.location_id, spend_counts_in_cooldown=False, once=once, quota=quota)


def staff_scan(caller: Caller, request: Scan, once: ExactlyOnce | None = None) -> ScanResult:
    """Staff scanned the member's card and entered the bill: a visit plus spend-based points."""
    merchant_id = caller.merchant_id or ""
    require_merchant(caller, merchant_id, OWNER, STAFF)
    merchant = load_merchant(merchant_id)
    if location_of(merchant, request.location_id) is None:
        raise NotFound("No such location.")
    require_location(caller, request.location_id)

    def load() -> Member:
        return load_for_merchant(merchant_id, member_token=request.member_token, member_id=request.member_id,
                                 once=once)

    return sale_scan(merchant, load, request.location_id, amount=request.amount, items=request.items,
                     receipt_id=request.receipt_id, once=once)


def sale_scan(merchant: Merchant, load: Callable[[], Member], location_id: str, *, amount: int | None,
              items: Sequence[BillLine], receipt_id: str | None, once: ExactlyOnce | None) -> ScanResult:
    """A sale at ``location_id`` (the caller is already allowed there; ``load`` reads the member): a visit plus
    spend-based points. Staff scans and POS sales both count through here."""
    return _record_visit(merchant, load, location_id, amount=bill_total(amount, items), items=items,
                         receipt_id=receipt_id, spend_counts_in_cooldown=True, once=once)


def _record_visit(merchant: Merchant, load, location_id: str, *, amount: int | None = None,
                  items: Sequence[BillLine] = (), receipt_id: str | None = None,
                  spend_counts_in_cooldown: bool, once: ExactlyOnce | None = None,
                  quota: limits.Quota | None = None) -> ScanResult:
    program = merchant.program
    referral_blocked = False  # the referrer's monthly cap is used up: nobody is paid
    velocity_blocked = False  # the referrer's daily allowance is used up: held for the owner
    surprise_blocked = False  # today's surprises are all given: the visit counts without one

    def build(member: Member) -> ScanResult:
        now = clock.now()  # per attempt: a retry after losing a race must not predate the winner's visit
        plan = MemberPlan(member, now, merchant)
        plan.settle_expired_vouchers()
        plan.settle_due()
        tier_before = plan.tier
        cooldown = timedelta(minutes=program.scan_cooldown_minutes)
        counts = member.last_visit_at is None or now - member.last_visit_at >= cooldown
        if not counts and not (spend_counts_in_cooldown and amount):
            wait = (member.last_visit_at + cooldown - now).total_seconds()
            raise Cooldown(f"This visit is already counted. The next one counts in {_readable_duration(wait)}.",
                           retry_after=max(1, math.ceil(wait)))
        first_visit = counts and member.visit_count == 0
        referral_due = first_visit and member.referral_status == PENDING and member.referred_by is not None
        referral_pays = referral_due and program.referral is not None and not referral_blocked
        held_for = (*member.referral_reasons, *((VELOCITY,) if velocity_blocked else ())) if referral_pays else ()
        referral_pays = referral_pays and not held_for
        location = location_of(merchant, location_id)
        promotion_day = local_day(now, location.timezone).isoformat()
        uses_today = member.promotion_uses if member.promotion_day == promotion_day else {}
        visit = Visit(counts_as_visit=counts, is_first_visit=first_visit, amount_minor=amount,
                      currency=merchant.currency, items=tuple(items),
                      referee_bonus=program.referral.referee_points if referral_pays else 0,
                      at=now, location_id=location_id, location_timezone=location.timezone, tier=tier_before,
                      promotion_uses_today=uses_today)
        award = calculate_award(program, visit)
        awarded = list(award.lines)
        lines = list(award.lines)
        if program.stamp_card and award.stamps:
            reward = program.reward(program.stamp_card.reward_id)
            required = program.stamp_card.stamps_required
            room = MAX_OPEN_REWARDS - len(plan.member.open_vouchers())
            progress = add_stamps(member.stamps, award.stamps, required, room)
            for _ in range(progress.cards_completed):
                lines.append(LedgerLine("stamp_card", 0, -required, f"Stamp card complete: {reward.name}"))
                plan.issue_voucher(reward, program, source="stamps", points_locked=0)
            if progress.dropped:
                lines.append(LedgerLine("card_full", 0, -progress.dropped,
                                        f"Card full: redeem your {reward.name.lower()} to keep collecting"))
        scan_id = ids.new_timed_id("scn", now)  # its time finds its ledger entry (feedback on the visit)
        surprise = _surprise(plan, merchant, member, scan_id) if counts and not surprise_blocked else None
        if surprise:
            awarded.append(surprise)
            lines.append(surprise)
        # The entry carries the sale and, for a counted visit, what the insights rollups count it by.
        plan.record("scan", lines, ref=scan_id, location_id=location_id, earned=True, spend=amount or None,
                    visit=insights.visit_facts(member, now) if counts else None)
        plan.earn(award.earned_points)
        if award.promotion_id:
            plan.set("promotion_day", promotion_day)
            plan.set("promotion_uses", {**uses_today, award.promotion_id: uses_today.get(award.promotion_id, 0) + 1})
        if counts:
            plan.visited(location_id, merchant.timezone)
        plan.count_purchases([Purchase(item.sku, item.category, item.quantity) for item in items], merchant.timezone)
        if amount:
            plan.add_counter("total_spend", amount)
            plan.add_counter("spend_count", 1)
        if receipt_id:
            plan.guards.append(store.Guard(
                keys.receipt_guard(merchant.merchant_id, receipt_id), member.member_id, merchant.merchant_id,
                tag="receipt", ref=scan_id,
                receipt=sale_facts(award, amount, scan_id, location_id, member.member_id, now, merchant.timezone)))
        if referral_due:
            _settle_referral(plan, merchant, member, pays=referral_pays, held_for=held_for)
        if quota:
            plan.counters.extend(quota.counters)
        plan.finish_rules()
        change = plan.tier_change
        reply = ScanResult(
            scan_id=scan_id, member_id=member.member_id, location_id=location_id,
            awarded=Awarded(points=award.points, stamps=award.stamps, lines=[Line.of(line) for line in awarded]),
            **Progress.fields(merchant, plan.member),
            rewards_issued=[IssuedReward.of(v) for v in plan.issued],
            tier=TierOnCard.of(merchant, plan.member, now),
            tier_changed=TierChanged(from_=change.changed_from, to=plan.member.tier_id) if change else None,
        )
        plan.commit(once.record(reply.wire(), now) if once else None)
        telemetry.count("Visits" if counts else "SpendOnlyScans")
        telemetry.count("PointsIssued", max(0, award.points))
        telemetry.count("RewardsIssued", len(plan.issued))
        return reply

    def on_conflict(lost: ConditionFailed) -> None:
        nonlocal referral_blocked, velocity_blocked, surprise_blocked
        refused = quota.refusal(lost, clock.now()) if quota else None
        if refused:
            telemetry.count("ScansRateLimited")
            raise refused from lost
        if "receipt" in lost.failed:
            guard = store.get_guard(keys.receipt_guard(merchant.merchant_id, receipt_id or ""))
            raise ReceiptAlreadyCounted(details=[{"field": "receiptId", "scanId": guard.ref if guard else None,
                                                  "message": "This receipt was counted before."}])
        if lost.failed & {"referral_cap", "referrer"}:
            referral_blocked = True  # the referrer hit the monthly cap meanwhile: the visit still counts
            return
        if "surprise" in lost.failed:
            surprise_blocked = True  # another scan took the day's last surprise first
            return
        if "referral_day" in lost.failed:
            velocity_blocked = True  # today's allowance is used up: the visit counts, the referral waits
            return
        raise lost

    return with_member_retries(load, build, on_conflict)




def _surprise(plan: MemberPlan, merchant: Merchant, member: Member, scan_id: str) -> LedgerLine | None:
    """A surprise reward on this counted visit, when the draw says so and the merchant's day has one left (a
    capped counter in the scan's transaction, written only when a surprise is given)."""
    rules = merchant.program.surprise
    if rules is None or len(plan.member.open_vouchers()) >= MAX_OPEN_REWARDS:
        return None
    if not surprise_due(rules, member.visit_count + 1, scan_id):
        return None
    reward = merchant.program.reward(rules.reward_id)
    plan.issue_voucher(reward, merchant.program, source="surprise", points_locked=0)
    day = local_day(plan.now, merchant.timezone).isoformat()
    plan.counters.append(store.CapCounter(keys.surprise_counter(merchant.merchant_id, day), rules.max_per_day,
                                          tag="surprise", expires_at=plan.now + timedelta(days=3)))
    return surprise_line(reward.name)


def sale_facts(award: Award, amount: int | None, scan_id: str, location_id: str, member_id: str, now: datetime,
               timezone: str) -> dict:
    """What a later refund of this receipt needs, kept on the receipt's guard."""
    return {"saleAmount": amount, "scanId": scan_id, "locationId": location_id, "memberId": member_id,
            "reversiblePoints": award.reversible_points,
            "earnedMonth": local_month(now, timezone)}


def _settle_referral(plan: MemberPlan, merchant: Merchant, referee: Member, *, pays: bool,
                     held_for: tuple[str, ...]) -> None:
    """The referee's first visit decides the referral, once: both sides rewarded, neither, or held for the owner."""
    referrer_id = referee.referred_by
    rules = merchant.program.referral
    if held_for:
        # The referrer's invite stays pending; the owner's approval pays both sides later (services/referral_review).
        plan.set("referral_status", HELD)
        plan.held_referrals.append(Referral(
            ids.new_id("rfl"), merchant.merchant_id, referrer_id, referee.member_id, HELD, held_for, plan.now,
            rules.referrer_points, rules.referee_points))
        telemetry.count("ReferralsHeld")
        return
    plan.set("referral_status", REWARDED if pays else NOT_REWARDED)
    if not pays:
        plan.other_updates.append(store.MemberUpdate(referrer_id, add={"referrals_pending": -1}, tag="referrer"))
        return
    update, entries = referrer_payment(merchant.merchant_id, referrer_id, referee, rules.referrer_points, plan.now)
    plan.other_updates.append(update)
    plan.ledger.extend(entries)
    month = referral_month(plan.now, merchant.timezone)
    plan.counters.append(store.CapCounter(keys.referral_counter(referrer_id, month),
                                          rules.max_rewarded_per_referrer_per_month, tag="referral_cap"))
    day = referral_day(plan.now, merchant.timezone)
    plan.counters.append(store.CapCounter(keys.referral_day_counter(referrer_id, day),
                                          get_settings().referrals_rewarded_per_day, tag="referral_day",
                                          expires_at=plan.now + timedelta(days=3)))


def _readable_duration(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    if minutes < 90:
        return f"{minutes} min"
    return f"{math.ceil(minutes / 60)} h"
