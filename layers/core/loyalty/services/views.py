"""The contract's JSON shapes of domain records (camelCase, ISO 8601 UTC, no table keys)."""

from __future__ import annotations

from datetime import UTC, datetime

from loyalty.domain.card import card_message, next_reward
from loyalty.domain.model import ApiKey, LedgerEntry, LedgerLine, Location, Member, Merchant, Referral, Voucher
from loyalty.domain.stamps import card_is_full


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def line_json(line: LedgerLine) -> dict:
    return {"kind": line.kind, "points": line.points, "stamps": line.stamps, "label": line.label}


def voucher_json(voucher: Voucher) -> dict:
    return {
        "issuedRewardId": voucher.issued_reward_id, "rewardId": voucher.reward_id, "name": voucher.name,
        "code": voucher.code, "status": voucher.status, "pointsLocked": voucher.points_locked,
        "source": voucher.source, "issuedAt": iso(voucher.issued_at), "expiresAt": iso(voucher.expires_at),
        "closedAt": iso(voucher.closed_at),
    }


def api_key_json(key: ApiKey) -> dict:
    """A key as its merchant sees it: never the key itself nor its hash."""
    return {"apiKeyId": key.api_key_id, "role": key.role, "locationIds": list(key.location_ids),
            "createdAt": iso(key.created_at), "lastUsedAt": iso(key.last_used_at)}


def location_json(location: Location) -> dict:
    return {"locationId": location.location_id, "name": location.name, "timezone": location.timezone}


def ledger_json(entry: LedgerEntry) -> dict:
    return {
        "entryId": entry.entry_id, "at": iso(entry.at), "kind": entry.kind, "points": entry.points,
        "stamps": entry.stamps, "label": entry.label, "lines": [line_json(line) for line in entry.lines],
        "locationId": entry.location_id,
    }


def stamps_json(merchant: Merchant, member: Member) -> dict | None:
    card = merchant.program.stamp_card
    if card is None:
        return None
    reward = merchant.program.reward(card.reward_id)
    return {"count": member.stamps, "required": card.stamps_required, "rewardName": reward.name if reward else None,
            "full": card_is_full(member.stamps, card.stamps_required, len(member.open_vouchers()))}


def progress_json(merchant: Merchant, member: Member) -> dict:
    """The part of every reply that says where the member stands now."""
    upcoming = next_reward(merchant.program, member.stamps, member.balance)
    return {
        "balance": member.balance,
        "stamps": stamps_json(merchant, member),
        "nextReward": upcoming.to_json() if upcoming else None,
        "message": card_message(merchant.program, member),
    }


def catalog_json(merchant: Merchant, member: Member) -> list[dict]:
    return [
        {"id": r.id, "name": r.name, "pointsCost": r.points_cost, "affordable": member.balance >= r.points_cost}
        for r in merchant.program.rewards if r.points_cost
    ]


def member_summary_json(member: Member) -> dict:
    return {
        "memberId": member.member_id, "name": member.name, "phone": member.phone, "email": member.email,
        "birthday": member.birthday, "consent": {"sms": member.consent_sms, "email": member.consent_email},
        "points": {"balance": member.balance, "lifetime": member.lifetime_points}, "stamps": member.stamps,
        "joinedAt": iso(member.created_at),
    }


def referral_json(referral: Referral) -> dict:
    return {
        "referralId": referral.referral_id, "referrerId": referral.referrer_id, "refereeId": referral.referee_id,
        "status": referral.status, "reasons": list(referral.reasons), "heldAt": iso(referral.held_at),
        "decidedAt": iso(referral.decided_at),
    }
