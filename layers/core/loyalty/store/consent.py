"""A member's consent log: one item per change under the member's partition, written in the change's transaction."""

from __future__ import annotations

from loyalty.domain.preferences import ConsentChange
from loyalty.store import keys
from loyalty.store.models import ConsentItem
from loyalty.store.transaction import Transaction

TAG = "consent_log"


def to_item(change: ConsentChange) -> ConsentItem:
    at_ms = int(change.at.timestamp() * 1000)
    return ConsentItem(*keys.consent_entry(change.member_id, at_ms, change.change_id), change_id=change.change_id,
                       member_id=change.member_id, merchant_id=change.merchant_id, channel=change.channel,
                       granted=change.granted, at=change.at, source=change.source)


def to_change(item: ConsentItem) -> ConsentChange:
    return ConsentChange(change_id=item.change_id, member_id=item.member_id, merchant_id=item.merchant_id,
                         channel=item.channel, granted=bool(item.granted), at=item.at, source=item.source)


def add_to(txn: Transaction, changes: list[ConsentChange]) -> Transaction:
    for change in changes:
        txn.put(to_item(change), TAG, condition=ConsentItem.pk.does_not_exist())
    return txn
