"""What a member's card shows: balance, stamps, the next reward, open rewards, the catalog, recent history."""

from __future__ import annotations

from typing import Literal

from loyalty.domain import card
from loyalty.domain.model import LedgerEntry, LedgerLine, Member, Merchant, Voucher
from loyalty.domain.stamps import card_is_full
from loyalty.replies.base import Instant, Reply


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
    source: Literal["points", "stamps", "campaign"]
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

    @classmethod
    def fields(cls, merchant: Merchant, member: Member, history: list[LedgerEntry]) -> dict:
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
        }

    @classmethod
    def of(cls, merchant: Merchant, member: Member, history: list[LedgerEntry]) -> Card:
        return cls(**cls.fields(merchant, member, history))


class MyCard(Card):
    """The member's own card, with the personal QR staff scan (it holds the member token)."""

    qr_svg: str
