"""Rewards: a member claims one (points are locked), cancels it, or staff redeem it exactly once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loyalty import telemetry
from loyalty.domain import ids
from loyalty.domain.access import OWNER, STAFF, Caller, require_location, require_merchant
from loyalty.domain.errors import (
    AlreadyRedeemed,
    ConcurrentUpdate,
    InsufficientBalance,
    NotFound,
    RewardExpired,
    RewardNotActive,
    TooManyOpenRewards,
    ValidationFailed,
)
from loyalty.domain.ids import normalize_code
from loyalty.domain.model import (
    VOUCHER_CANCELLED,
    VOUCHER_EXPIRED,
    VOUCHER_REDEEMED,
    LedgerLine,
    Member,
    Merchant,
    Voucher,
)
from loyalty.domain.stamps import MAX_OPEN_REWARDS
from loyalty.replies.cards import IssuedReward, Progress
from loyalty.replies.rewards import Redemption, RewardOnCard
from loyalty.services import clock
from loyalty.services.exactly_once import ExactlyOnce
from loyalty.services.member_plan import MemberPlan, with_member_retries
from loyalty.services.members import load_for_merchant, own_member
from loyalty.services.merchants import load_merchant, location_of
from loyalty.store import campaigns as campaign_store
from loyalty.store import keys
from loyalty.store import members as store
from loyalty.store.transaction import ConditionFailed

if TYPE_CHECKING:  # the request models are built by the function that parses them, not at every import
    from loyalty.requests.rewards import Redeem


def claim(caller: Caller, reward_id: str, once: ExactlyOnce | None = None) -> RewardOnCard:
    """Lock points for a reward; with ``once`` (an Idempotency-Key) the reply is kept in the same transaction."""
    load = own_member(caller)

    def build(member: Member) -> RewardOnCard:
        merchant = load_merchant(member.merchant_id)
        reward = merchant.program.reward(reward_id)
        if reward is None or not reward.points_cost:
            raise NotFound("This reward is not in the catalog.")
        plan = MemberPlan(member, clock.now(), merchant)
        plan.settle_expired_vouchers()
        plan.settle_due()
        if len(plan.member.open_vouchers()) >= MAX_OPEN_REWARDS:
            raise TooManyOpenRewards(f"A card holds at most {MAX_OPEN_REWARDS} unused rewards: "
                                     "redeem or cancel one first.")
        if plan.member.balance < reward.points_cost:
            raise InsufficientBalance(
                f"{reward.name} needs {reward.points_cost} points; the card has {plan.member.balance}.")
        voucher = plan.issue_voucher(reward, merchant.program, source="points", points_locked=reward.points_cost)
        plan.record("claim", [LedgerLine("claim", -reward.points_cost, 0, f"Claimed {reward.name}")],
                    ref=voucher.issued_reward_id)
        reply = _on_card(voucher, plan.member)
        plan.commit(once.record(reply.wire(), plan.now) if once else None)
        telemetry.count("RewardsClaimed")
        return reply

    return with_member_retries(load, build)


def cancel(caller: Caller, issued_reward_id: str) -> RewardOnCard:
    load = own_member(caller)

    def build(member: Member) -> RewardOnCard:
        plan = MemberPlan(member, clock.now(), load_merchant(member.merchant_id))
        plan.settle_expired_vouchers()
        plan.settle_due()
        voucher = plan.member.vouchers.get(issued_reward_id)
        if voucher is None:
            raise NotFound("No such reward on this card.")
        if voucher.status == VOUCHER_CANCELLED:  # a retried DELETE: already done, say so again
            return _on_card(voucher, plan.member)
        _require_open(voucher)
        if voucher.source != "points":
            raise RewardNotActive("A stamp card reward cannot be cancelled; it stays on the card until it expires.")
        closed = plan.close_voucher(voucher, VOUCHER_CANCELLED)
        plan.record("cancel", [LedgerLine("cancel", voucher.points_locked, 0, f"Cancelled {voucher.name}")],
                    ref=voucher.issued_reward_id)
        plan.commit()
        return _on_card(closed, plan.member)

    return with_member_retries(load, build)


def redeem(caller: Caller, request: Redeem) -> Redemption:
    merchant_id = caller.merchant_id or ""
    require_merchant(caller, merchant_id, OWNER, STAFF)
    merchant = load_merchant(merchant_id)
    location_id = _redemption_location(caller, merchant, request.location_id)
    if request.code:
        return _redeem_code(merchant, normalize_code(request.code), location_id)
    return _redeem_for_member(merchant, request, location_id)


def _redeem_code(merchant: Merchant, code: str, location_id: str | None) -> Redemption:
    """Two round trips: the code's guard item, then one conditional write on the member."""
    merchant_id = merchant.merchant_id
    guard = store.get_guard(keys.reward_code_guard(code))
    if guard is None or guard.merchant_id != merchant_id:
        raise NotFound("No reward with this code.")
    redemption_id = ids.new_id("rdm")
    now = clock.now()
    try:
        member = store.redeem_voucher(guard.owner_id, merchant_id, guard.ref, now, redemption_id, location_id)
    except ConditionFailed:
        member = store.get_member(guard.owner_id)
        voucher = member.vouchers.get(guard.ref) if member else None
        if voucher is None:
            raise RewardNotActive() from None
        if voucher.is_expired(now):
            raise RewardExpired() from None
        _require_open(voucher)
        raise ConcurrentUpdate() from None
    telemetry.count("RewardsRedeemed")
    _count_on_campaign_run(member.vouchers[guard.ref], merchant_id)
    return _redemption_reply(merchant, member, member.vouchers[guard.ref])


def _redeem_for_member(merchant: Merchant, request: Redeem, location_id: str | None) -> Redemption:
    """Staff redeem a reward by member: an open voucher for it, or one claimed with points on the spot."""
    if not request.reward_id or not (request.member_token or request.member_id):
        raise ValidationFailed("Give a reward code, or a member and a rewardId.", details=[
            {"field": "code", "message": "Required unless memberToken or memberId and rewardId are given."}])

    def build(member: Member) -> Redemption:
        plan = MemberPlan(member, clock.now(), merchant)
        plan.settle_expired_vouchers()
        plan.settle_due()
        redemption_id = ids.new_id("rdm")
        voucher = next((v for v in plan.member.open_vouchers() if v.reward_id == request.reward_id), None)
        if voucher is None:
            reward = merchant.program.reward(request.reward_id)
            if reward is None:
                raise NotFound("This reward is not in the catalog.")
            if not reward.points_cost or plan.member.balance < reward.points_cost:
                raise InsufficientBalance(f"No {reward.name} on this card and not enough points to claim one.")
            voucher = plan.issue_voucher(reward, merchant.program, source="points",
                                         points_locked=reward.points_cost, status=VOUCHER_REDEEMED)
            plan.record("claim", [LedgerLine("claim", -reward.points_cost, 0, f"Claimed {reward.name}")],
                        ref=voucher.issued_reward_id, location_id=location_id)
        voucher = plan.close_voucher(voucher, VOUCHER_REDEEMED, redemption_id=redemption_id, location_id=location_id)
        plan.commit()
        telemetry.count("RewardsRedeemed")
        _count_on_campaign_run(voucher, merchant.merchant_id)
        return _redemption_reply(merchant, plan.member, voucher)

    load = lambda: load_for_merchant(merchant.merchant_id, member_token=request.member_token,  # noqa: E731
                                     member_id=request.member_id)
    return with_member_retries(load, build)


def _count_on_campaign_run(voucher: Voucher, merchant_id: str) -> None:
    """A campaign's voucher counts as redeemed on the run that issued it. After the redemption itself (the
    conditional write that lets one redemption win), so only campaign vouchers pay this one more write."""
    if voucher.campaign_id and voucher.run_id:
        campaign_store.count_redeemed(voucher, merchant_id)


def _redemption_location(caller: Caller, merchant: Merchant, location_id: str | None) -> str | None:
    if location_id is not None:
        if location_of(merchant, location_id) is None:
            raise NotFound("No such location.")
        require_location(caller, location_id)
        return location_id
    if caller.role == STAFF and len(caller.location_ids) == 1:
        return caller.location_ids[0]
    return None


def _require_open(voucher: Voucher) -> None:
    if voucher.status == VOUCHER_REDEEMED:
        raise AlreadyRedeemed()
    if voucher.status == VOUCHER_EXPIRED:
        raise RewardExpired()
    if voucher.status != "issued":
        raise RewardNotActive(f"This reward was {voucher.status}.")


def _on_card(voucher: Voucher, member: Member) -> RewardOnCard:
    return RewardOnCard(**IssuedReward.fields(voucher), balance=member.balance)


def _redemption_reply(merchant: Merchant, member: Member, voucher: Voucher) -> Redemption:
    return Redemption(redemption_id=voucher.redemption_id, reward=IssuedReward.of(voucher),
                           member_id=member.member_id, **Progress.fields(merchant, member))
