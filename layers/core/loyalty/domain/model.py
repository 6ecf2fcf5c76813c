"""Plain records the services work with; the store converts them to and from items."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from loyalty.domain import ids
from loyalty.domain.program import Program, RewardDefinition

VOUCHER_ISSUED = "issued"
VOUCHER_REDEEMED = "redeemed"
VOUCHER_CANCELLED = "cancelled"
VOUCHER_EXPIRED = "expired"


@dataclass(frozen=True, kw_only=True)
class Location:
    location_id: str
    name: str
    timezone: str


@dataclass(frozen=True, kw_only=True)
class Merchant:
    merchant_id: str
    name: str
    timezone: str
    currency: str
    program: Program
    locations: dict[str, Location] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ApiKey:
    api_key_id: str
    merchant_id: str
    role: str  # "owner" | "staff" | "pos"
    location_ids: tuple[str, ...] = ()
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    sealed_signing_secret: str | None = field(default=None, repr=False)  # POS keys: see domain/sealing.py


@dataclass
class Voucher:
    """A reward issued to a member: claimed with points or earned with a full stamp card."""

    issued_reward_id: str
    reward_id: str
    name: str
    code: str
    status: str
    points_locked: int
    issued_at: datetime
    expires_at: datetime
    source: str  # "points" | "stamps" | "campaign"
    closed_at: datetime | None = None
    redemption_id: str | None = None
    location_id: str | None = None
    campaign_id: str | None = None  # a campaign's offer: its run counts the redemption
    run_id: str | None = None

    @classmethod
    def issue(cls, reward: RewardDefinition, *, now: datetime, validity_days: int, source: str, points_locked: int,
              status: str = VOUCHER_ISSUED, campaign_id: str | None = None, run_id: str | None = None) -> Voucher:
        """A new voucher with a fresh id and counter code (the code's guard item keeps it unique)."""
        return cls(issued_reward_id=ids.new_id("rwd"), reward_id=reward.id, name=reward.name,
                   code=ids.new_reward_code(), status=status, points_locked=points_locked, issued_at=now,
                   expires_at=now + timedelta(days=validity_days), source=source,
                   closed_at=None if status == VOUCHER_ISSUED else now, campaign_id=campaign_id, run_id=run_id)

    def is_open(self) -> bool:
        return self.status == VOUCHER_ISSUED

    def is_expired(self, now: datetime) -> bool:
        return self.is_open() and self.expires_at <= now


@dataclass(frozen=True, kw_only=True)
class Favourite:
    """One of a member's most bought things: a sku or a category, with its (recent) purchase count."""

    kind: str  # "sku" | "category"
    name: str
    count: int

    def wire(self) -> dict[str, Any]:
        return {self.kind: self.name, "count": self.count}


@dataclass
class Member:
    member_id: str
    merchant_id: str
    token_hash: str
    rev: int = 0
    phone: str | None = None
    email: str | None = None
    name: str | None = None
    birthday: str | None = None  # "YYYY-MM-DD", or "MM-DD" without the year
    language: str | None = None  # "pl" | "en"
    consent_sms: bool = False
    consent_email: bool = False
    balance: int = 0
    lifetime_points: int = 0
    stamps: int = 0
    visit_count: int = 0
    total_spend: int = 0
    spend_count: int = 0
    first_visit_at: datetime | None = None
    last_visit_at: datetime | None = None
    referral_code: str | None = None
    referred_by: str | None = None
    referral_status: str | None = None  # "pending" | "held" | "rewarded" | "not_rewarded"
    referrals_pending: int = 0
    referrals_rewarded: int = 0
    vouchers: dict[str, Voucher] = field(default_factory=dict)
    created_at: datetime | None = None
    device_hash: str | None = None  # keyed hash of the browser's random device id, when the card page sent one
    erased_at: datetime | None = None  # the personal data was erased then; the ledger and its figures stay
    referral_reasons: tuple[str, ...] = ()  # fraud signals seen at joining: the referral is held, not paid
    language: str | None = None  # "pl" | "en"
    last_location_id: str | None = None
    favourites: tuple[Favourite, ...] = ()  # the top purchases as last ranked (changes only when the top changes)
    favourite_categories: tuple[str, ...] = ()
    favourite_counts: dict[str, float] = field(default_factory=dict)  # see domain/favourites.py
    favourite_counts_month: str | None = None
    recent_visits: tuple[str, ...] = ()  # merchant-local days (YYYY-MM-DD) of the last counted visits, newest last
    tier_id: str | None = None
    tier_earned: dict[str, int] = field(default_factory=dict)  # see domain/tiers.py
    tier_qualified_until: datetime | None = None
    tier_rewarded: tuple[str, ...] = ()
    point_batches: dict[str, int] = field(default_factory=dict)  # see domain/point_batches.py
    promotion_day: str | None = None
    promotion_uses: dict[str, int] = field(default_factory=dict)
    nps_answered_at: datetime | None = None  # see domain/feedback.py

    def open_vouchers(self) -> list[Voucher]:
        return sorted((v for v in self.vouchers.values() if v.is_open()), key=lambda v: v.expires_at)


@dataclass(frozen=True)
class Referral:
    """A referral held for the owner's review, and the owner's decision."""

    referral_id: str
    merchant_id: str
    referrer_id: str
    referee_id: str
    status: str  # "held" | "approved" | "rejected"
    reasons: tuple[str, ...]
    held_at: datetime
    referrer_points: int
    referee_points: int
    decided_at: datetime | None = None


@dataclass(frozen=True)
class LedgerLine:
    kind: str
    points: int
    stamps: int
    label: str


@dataclass(frozen=True)
class LedgerEntry:
    """One append-only ledger entry: the net change of one operation, explained line by line."""

    entry_id: str
    member_id: str
    merchant_id: str
    at: datetime
    kind: str
    points: int
    stamps: int
    lines: tuple[LedgerLine, ...]
    ref: str | None = None
    location_id: str | None = None
    spend: int | None = None  # minor units: a sale's amount, or minus a refund's
    visit: dict[str, Any] | None = None  # a counted visit's facts for the insights rollups (domain/insights.py)

    @property
    def label(self) -> str:
        return "; ".join(line.label for line in self.lines)


@dataclass(frozen=True, kw_only=True)
class MemberSnapshot:
    """A member as the member indexes project it: contact, consent and (from the roster) what segments read.

    Fields the index read does not project are None (the birthday and joined indexes carry the contact part)."""

    member_id: str
    merchant_id: str
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    consent_sms: bool = False
    consent_email: bool = False
    language: str | None = None
    birthday: str | None = None
    favourites: tuple[Favourite, ...] = ()
    first_visit_at: datetime | None = None
    created_at: datetime | None = None
    visit_count: int | None = None
    total_spend: int | None = None
    balance: int | None = None
    last_visit_at: datetime | None = None
    last_location_id: str | None = None
    favourite_categories: tuple[str, ...] = ()
    recent_visits: tuple[str, ...] = ()
    tier: str | None = None

    @property
    def favourite(self) -> str | None:
        """The ``{favourite}`` of a message: the most bought item or category, or None when none is known."""
        return self.favourites[0].name if self.favourites else None
