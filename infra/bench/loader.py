"""Bulk-loading members straight into the table: a large population without enrolling each one.

Each member is what enrolment and a visit history leave behind: the member item (balance, stamps,
visits, spend, consent, referral code, up to 10 closed vouchers, its member index keys, as the store
keeps them) and its phone and referral-code guard items, written with BatchWriteItem through the meter's own client, so
the load is not counted as anyone's round trips.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

REWARD_ID = "free-coffee"  # the reward of the shop the bench opens (infra/seed.py's demo program)


@dataclass
class Member:
    member_id: str
    token: str



class BatchWriter:
    """Puts items 25 at a time (BatchWriteItem's limit), sending again what DynamoDB left unprocessed; the
    last partial batch goes when the ``with`` block ends."""

    def __init__(self, client: Any, table: str) -> None:
        self.client, self.table, self.batch = client, table, []

    def put(self, item: dict) -> None:
        self.batch.append({"PutRequest": {"Item": item}})
        if len(self.batch) == 25:
            self.flush()

    def flush(self) -> None:
        pending, self.batch = {self.table: self.batch}, []
        while pending:
            pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.batch and exc_info[0] is None:
            self.flush()

# Gives a loaded member more of the program's state (tiers, point batches: infra/bench/rules.py): called with the
# member item (index keys not yet set) and its number in the load; returns the item and whether it may be sampled.
Shape = Callable[[Any, int], tuple[Any, bool]]


def bulk_load(meter: Any, merchant_id: str, count: int, sample_size: int, seed: int = 7,
              shape: Shape | None = None, number_from: int = 0) -> list[Member]:
    """`count` members of `merchant_id` written straight to the table; returns tokens for `sample_size` of them
    that have visited before (none within the last day, so none meets the scan cooldown) and that ``shape``
    (when given) lets be sampled.

    Members are numbered from ``number_from`` (their phone numbers follow): a second load of the same merchant
    continues the first. Ledger entries are not written: no measured path reads them.
    """
    from loyalty.domain import ids, tokens
    from loyalty.domain.model import VOUCHER_REDEEMED, Voucher
    from loyalty.settings import get_settings
    from loyalty.store import keys
    from loyalty.store.members import voucher_to_map, with_index_keys
    from loyalty.store.models import GuardItem, MemberItem, MerchantItem

    rng = random.Random(seed)
    now = datetime.now(UTC)
    sample: list[Member] = []

    with meter.internal() as client, BatchWriter(client, get_settings().table_name) as writer:
        timezone = MerchantItem.get(*keys.merchant(merchant_id)).timezone
        for i in range(number_from, number_from + count):
            member_id = ids.new_id("mem")
            token = tokens.new_member_token(member_id)
            visits = 0 if rng.random() < 0.1 else rng.randint(1, 40)
            created = now - timedelta(days=rng.randint(30, 720))
            first = created + timedelta(hours=rng.randint(0, 48)) if visits else None
            last = now - timedelta(days=rng.randint(1, 29), minutes=rng.randint(0, 1440)) if visits else None
            redeemed = min(10, visits // 5)
            spend_count = sum(rng.random() < 0.7 for _ in range(visits))
            total_spend = sum(rng.randint(900, 6500) for _ in range(spend_count))
            lifetime = visits * 10 + total_spend // 100 + (20 if visits else 0)
            vouchers = {}
            for _ in range(redeemed):
                issued = (first or created) + timedelta(days=rng.randint(0, 25))
                voucher = Voucher(ids.new_id("rwd"), REWARD_ID, "Free coffee", ids.new_reward_code(),
                                  VOUCHER_REDEEMED, 0, issued, issued + timedelta(days=30), "stamps",
                                  closed_at=issued + timedelta(days=2), redemption_id=ids.new_id("rdm"))
                vouchers[voucher.issued_reward_id] = voucher_to_map(voucher)
            phone = f"+48601{i:06d}"
            referral_code = ids.new_referral_code()
            member = MemberItem(
                *keys.member(member_id), member_id=member_id, merchant_id=merchant_id, token_hash=token.hash,
                rev=visits + redeemed, phone=phone, name=f"Gość {i}", consent_sms=rng.random() < 0.6,
                consent_email=False, balance=max(0, lifetime - 100 * rng.randint(0, lifetime // 100)),
                lifetime_points=lifetime, stamps=visits % 5, visit_count=visits, total_spend=total_spend,
                spend_count=spend_count, first_visit_at=first, last_visit_at=last, referral_code=referral_code,
                created_at=created)
            member.vouchers = vouchers
            sampleable = True
            if shape is not None:
                member, sampleable = shape(member, i)
            with_index_keys(member, timezone)
            guards = [GuardItem(*keys.phone_guard(merchant_id, phone), owner_id=member_id, merchant_id=merchant_id),
                      GuardItem(*keys.referral_code_guard(merchant_id, referral_code), owner_id=member_id,
                                merchant_id=merchant_id)]
            for item in (member, *guards):
                writer.put(item.serialize())
            if len(sample) < sample_size and member.visit_count and sampleable:
                sample.append(Member(member_id, token.value))
    return sample


def add_locations(meter: Any, merchant_id: str, count: int) -> list[str]:
    """`count` more locations on the merchant item in one write (a chain's set-up; the API adds one at a time).

    Returns the new location ids. Handlers see them once their cached merchant is reloaded."""
    from loyalty.domain import ids
    from loyalty.store import keys
    from loyalty.store.merchants import clear_caches
    from loyalty.store.models import MerchantItem

    with meter.internal():
        merchant = MerchantItem.get(*keys.merchant(merchant_id), consistent_read=True)
        locations = merchant.locations.as_dict() if merchant.locations else {}
        added = [ids.new_id("loc") for _ in range(count)]
        for number, location_id in enumerate(added, start=len(locations) + 1):
            locations[location_id] = {"name": f"Location {number}", "timezone": merchant.timezone}
        merchant.locations = locations
        merchant.save()
    clear_caches()
    return added
