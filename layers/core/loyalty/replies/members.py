"""Joining, looking members up, and the member profile staff see."""

from __future__ import annotations

from typing import Any

from pydantic import model_serializer

from loyalty.domain.model import LedgerEntry, Member
from loyalty.domain.preferences import ConsentChange
from loyalty.replies.base import Instant, Reply
from loyalty.replies.cards import Card, IssuedReward, Line, Points


class ConsentFlags(Reply):
    sms: bool
    email: bool


class MemberSummary(Reply):
    member_id: str
    name: str | None
    phone: str | None
    email: str | None
    birthday: str | None
    language: str | None
    consent: ConsentFlags
    points: Points
    stamps: int
    joined_at: Instant | None

    @staticmethod
    def fields(member: Member) -> dict:
        return {"member_id": member.member_id, "name": member.name, "phone": member.phone, "email": member.email,
                "birthday": member.birthday, "language": member.language,
                "consent": ConsentFlags(sms=member.consent_sms, email=member.consent_email),
                "points": Points(balance=member.balance, lifetime=member.lifetime_points), "stamps": member.stamps,
                "joined_at": member.created_at}

    @classmethod
    def of(cls, member: Member) -> MemberSummary:
        return cls(**cls.fields(member))


class ReferralNote(Reply):
    status: str
    message: str


class Joined(Reply):
    """A new card: the member token is shown this once."""

    member_id: str
    member_token: str
    card: Card
    referral: ReferralNote | None = None  # only when the member joined with a referral code

    @model_serializer(mode="wrap")
    def _omit_absent_referral(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        if self.referral is None:
            data.pop("referral", None)
        return data


class ExistingMember(Reply):
    """Staff enrolled an identity that already has a card: that member, without a token."""

    member_id: str
    member: MemberSummary
    card: Card


class LedgerItem(Reply):
    entry_id: str
    at: Instant
    kind: str
    points: int
    stamps: int
    label: str
    lines: list[Line]
    location_id: str | None

    @classmethod
    def of(cls, entry: LedgerEntry) -> LedgerItem:
        return cls(entry_id=entry.entry_id, at=entry.at, kind=entry.kind, points=entry.points, stamps=entry.stamps,
                   label=entry.label, lines=[Line.of(line) for line in entry.lines], location_id=entry.location_id)


class ReferralStanding(Reply):
    code: str | None
    referred_by: str | None
    status: str | None
    pending: int
    rewarded: int


class MemberProfile(MemberSummary):
    visit_count: int
    first_visit_at: Instant | None
    last_visit_at: Instant | None
    total_spend: int
    average_basket: int
    rewards: list[IssuedReward]
    referral: ReferralStanding
    ledger: list[LedgerItem]

    @classmethod
    def of(cls, member: Member, ledger: list[LedgerEntry]) -> MemberProfile:
        return cls(
            **MemberSummary.fields(member),
            visit_count=member.visit_count, first_visit_at=member.first_visit_at,
            last_visit_at=member.last_visit_at, total_spend=member.total_spend,
            average_basket=member.total_spend // member.spend_count if member.spend_count else 0,
            rewards=[IssuedReward.of(v) for v in member.vouchers.values()],
            referral=ReferralStanding(code=member.referral_code, referred_by=member.referred_by,
                                      status=member.referral_status, pending=member.referrals_pending,
                                      rewarded=member.referrals_rewarded),
            ledger=[LedgerItem.of(entry) for entry in ledger],
        )


class NewCard(Reply):
    """A new card QR for a member who lost the old one, shown this once; the old token no longer works."""

    member_id: str
    member_token: str


class ConsentLogEntry(Reply):
    channel: str
    granted: bool
    at: Instant
    source: str  # join_form | staff | member | unsubscribe_link | import


class Preferences(Reply):
    """The member's contact details, birthday, language and consent, with the newest consent changes first."""

    name: str | None
    email: str | None
    phone: str | None
    birthday: str | None
    language: str | None
    consent: ConsentFlags
    consent_log: list[ConsentLogEntry]

    @classmethod
    def of(cls, member: Member, log: list[ConsentChange]) -> Preferences:
        return cls(name=member.name, email=member.email, phone=member.phone, birthday=member.birthday,
                   language=member.language, consent=ConsentFlags(sms=member.consent_sms, email=member.consent_email),
                   consent_log=[ConsentLogEntry(channel=c.channel, granted=c.granted, at=c.at, source=c.source)
                                for c in log])


class CardLinkAccepted(Reply):
    """Accepted: the same reply whether or not the contact has a card here."""

    message: str = ("If this phone number or email has a card here, a link to open it is on its way. "
                    "The link works once, for 30 minutes.")
