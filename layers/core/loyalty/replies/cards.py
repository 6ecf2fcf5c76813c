"""What a member's card shows: balance, stamps, the next reward, open rewards, the catalog, recent history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from loyalty.domain import card, point_batches, tiers
from loyalty.domain.model import LedgerEntry, LedgerLine, Member, Merchant, Voucher
from loyalty.domain.promotions import promotion_active, todays_promotions
from loyalty.domain.stamps import card_is_full
from loyalty.replies.base import OMITTED_WHEN_NONE, Instant, Reply


class Line(Reply):
    """One reason for points or stamps (visit, spend, welcome, referral, ...)."""

    kind: str
    points: int
    stamps: int
    label: str

    @classmethod
    def of(cls, line: LedgerLine) -> Line:
        return cls(kind=line.kind, points=line.points, stamps=line.stamps, label=line.label)


class IssuedReward(Reply):
    """A reward on a member's card: claimed with points or earned with a full stamp card."""

    issued_reward_id: str
    reward_id: str
    name: str
    code: str
    status: Literal["issued", "redeemed", "cancelled", "expired"]
    points_locked: int
    source: Literal["points", "stamps", "campaign", "tier", "surprise"]
    issued_at: Instant
    expires_at: Instant
    closed_at: Instant | None

    @staticmethod
    def fields(voucher: Voucher) -> dict:
        return {"issued_reward_id": voucher.issued_reward_id, "reward_id": voucher.reward_id, "name": voucher.name,
                "code": voucher.code, "status": voucher.status, "points_locked": voucher.points_locked,
                "source": voucher.source, "issued_at": voucher.issued_at, "expires_at": voucher.expires_at,
                "closed_at": voucher.closed_at}

    @classmethod
    def of(cls, voucher: Voucher) -> IssuedReward:
        return cls(**IssuedReward.fields(voucher))


class Stamps(Reply):
    count: int
    required: int
    reward_name: str | None
    full: bool  # the card is complete but waits: the member holds as many unused rewards as a card may

    @classmethod
    def of(cls, merchant: Merchant, member: Member) -> Stamps | None:
        stamp_card = merchant.program.stamp_card
        if stamp_card is None:
            return None
        reward = merchant.program.reward(stamp_card.reward_id)
        return cls(count=member.stamps, required=stamp_card.stamps_required,
                   reward_name=reward.name if reward else None,
                   full=card_is_full(member.stamps, stamp_card.stamps_required, len(member.open_vouchers())))


class NextReward(Reply):
    name: str
    remaining: int
    unit: Literal["visit", "visits", "points"]

    @classmethod
    def of(cls, merchant: Merchant, member: Member) -> NextReward | None:
        upcoming = card.next_reward(merchant.program, member.stamps, member.balance)
        return cls(name=upcoming.name, remaining=upcoming.remaining, unit=upcoming.unit) if upcoming else None


class Progress(Reply):
    """Where the member stands now: part of every reply that changes the card."""

    balance: int
    stamps: Stamps | None
    next_reward: NextReward | None
    message: str

    @staticmethod
    def fields(merchant: Merchant, member: Member) -> dict:
        return {"balance": member.balance, "stamps": Stamps.of(merchant, member),
                "next_reward": NextReward.of(merchant, member), "message": card.card_message(merchant.program, member)}


class NextTier(Reply):
    id: str
    name: str
    points_needed: int


class TierOnCard(Reply):
    """The member's tier, what it gives, and how far the next one is (points earned in the tier window)."""

    id: str | None
    name: str | None
    multiplier: float
    perks: list[str]
    earned_in_window: int
    next: NextTier | None

    @classmethod
    def of(cls, merchant: Merchant, member: Member, now: datetime) -> TierOnCard | None:
        """None when the program has no tiers. A member below the first level has ``id`` null and the first level
        as ``next``."""
        rules = merchant.program.tiers
        if rules is None:
            return None
        shown = tiers.view(rules, tiers.state_of(member), now, merchant.timezone)
        level = shown.level
        upcoming = (NextTier(id=shown.next.id, name=shown.next.name, points_needed=shown.points_needed)
                    if shown.next else None)
        return cls(id=level.id if level else None, name=level.name if level else None,
                   multiplier=level.multiplier if level else 1.0, perks=list(level.perks) if level else [],
                   earned_in_window=shown.earned_in_window, next=upcoming)


class TierChanged(Reply):
    from_: str | None = Field(alias="from")
    to: str | None


class Expiring(Reply):
    """The next points to expire: how many, and the instant they leave the balance."""

    points: int
    at: Instant

    @classmethod
    def of(cls, merchant: Merchant, member: Member) -> Expiring | None:
        rules = merchant.program.expiry
        if rules is None:
            return None
        batch = point_batches.next_expiring(point_batches.PointBatches.from_map(member.point_batches),
                                            rules.after_months, merchant.timezone)
        return cls(points=batch.points, at=batch.at) if batch else None


class PromotionToday(Reply):
    """A promotion that can still apply today at the member's usual location (its local day and times)."""

    id: str
    name: str
    multiplier: float | None
    bonus_points: int | None
    from_: str | None = Field(alias="from")
    to: str | None
    active_now: bool

    @classmethod
    def all_of(cls, merchant: Merchant, member: Member, now: datetime) -> list[PromotionToday]:
        location_id = member.last_location_id
        location = merchant.locations.get(location_id) if location_id else None
        timezone = location.timezone if location else merchant.timezone
        return [cls(id=promotion.id, name=promotion.name, multiplier=promotion.multiplier,
                    bonus_points=promotion.bonus_points, from_=promotion.from_, to=promotion.to,
                    active_now=promotion_active(promotion, now, timezone, location_id))
                for promotion in todays_promotions(merchant.program, now, timezone, location_id)]


class MerchantBrief(Reply):
    merchant_id: str
    name: str
    currency: str


class Points(Reply):
    balance: int
    lifetime: int


class CatalogItem(Reply):
    id: str
    name: str
    points_cost: int | None
    affordable: bool


class HistoryItem(Reply):
    at: Instant
    kind: str
    points: int
    stamps: int
    label: str


class Card(Reply):
    member_id: str
    merchant: MerchantBrief
    points: Points
    stamps: Stamps | None
    next_reward: NextReward | None
    message: str
    rewards: list[IssuedReward]
    catalog: list[CatalogItem]
    referral_code: str | None
    history: list[HistoryItem]
    # Program rules (v2): left out of the reply when the program does not use them, so a v1 card reads as before.
    tier: TierOnCard | None = OMITTED_WHEN_NONE
    expiring: Expiring | None = OMITTED_WHEN_NONE
    promotions_today: list[PromotionToday] | None = OMITTED_WHEN_NONE

    @classmethod
    def fields(cls, merchant: Merchant, member: Member, history: list[LedgerEntry],
               now: datetime | None = None) -> dict:
        """``now`` (default: the present) is when the tier window and today's promotions are read."""
        now = now or datetime.now(UTC)
        progress = Progress.fields(merchant, member)
        return {
            "member_id": member.member_id,
            "merchant": MerchantBrief(merchant_id=merchant.merchant_id, name=merchant.name,
                                      currency=merchant.currency),
            "points": Points(balance=member.balance, lifetime=member.lifetime_points),
            "stamps": progress["stamps"], "next_reward": progress["next_reward"], "message": progress["message"],
            "rewards": [IssuedReward.of(v) for v in member.open_vouchers()],
            "catalog": [CatalogItem(id=r.id, name=r.name, points_cost=r.points_cost,
                                    affordable=member.balance >= r.points_cost)
                        for r in merchant.program.rewards if r.points_cost],
            "referral_code": member.referral_code,
            "history": [HistoryItem(at=e.at, kind=e.kind, points=e.points, stamps=e.stamps, label=e.label)
                        for e in history],
            "tier": TierOnCard.of(merchant, member, now),
            "expiring": Expiring.of(merchant, member),
            "promotions_today": PromotionToday.all_of(merchant, member, now) if merchant.program.promotions else None,
        }

    @classmethod
    def of(cls, merchant: Merchant, member: Member, history: list[LedgerEntry], now: datetime | None = None) -> Card:
        return cls(**cls.fields(merchant, member, history, now))


class MyCard(Card):
    """The member's own card, with the personal QR staff scan (it holds the member token)."""

    qr_svg: str
    # True when the card should ask the NPS question with the feedback on the last visit (left out otherwise).
    nps_due: bool | None = OMITTED_WHEN_NONE
