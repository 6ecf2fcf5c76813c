"""Replies kept for an Idempotency-Key by the operation's own transaction (scans, claims).

The record is read in the same round trip as the member (BatchGetItem) and written in the same
TransactWriteItems as the member change, on condition that no live record exists: exactly one of
several identical requests commits. Its reply is sealed before it gets here (domain/sealing.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist

from loyalty.store import keys
from loyalty.store.models import LoyaltyItem, ReplyItem

TAG = "idempotency"  # the transaction tag of the record's put: when it loses, the same request won first


@dataclass(frozen=True)
class StoredReply:
    record_id: str
    sealed: str
    payload_hash: str
    expires_at: datetime
    written_at: datetime | None = None  # set on a reply about to be written

    def is_live(self, now: datetime) -> bool:
        return self.expires_at > now  # DynamoDB's TTL deletes late and moto never does: expiry is checked here


def to_item(reply: StoredReply) -> ReplyItem:
    return ReplyItem(*keys.idempotency_record(reply.record_id), status="COMPLETED", data=reply.sealed,
                     validation=reply.payload_hash, ttl=reply.expires_at)


def put_condition(reply: StoredReply):
    """The record may be written where none is, or over one that has expired."""
    return ReplyItem.pk.does_not_exist() | (ReplyItem.ttl < (reply.written_at or datetime.now(UTC)))


def from_item(record_id: str, item: ReplyItem) -> StoredReply:
    expires_at = item.ttl or datetime.fromtimestamp(0, UTC)
    return StoredReply(record_id, item.data, item.validation, expires_at)


def get_reply(record_id: str) -> StoredReply | None:
    try:
        item = ReplyItem.get(*keys.idempotency_record(record_id), consistent_read=True)
    except DoesNotExist:
        return None
    return from_item(record_id, item)


def batch_get_with_reply(key: tuple[str, str], record_id: str) -> tuple[LoyaltyItem | None, StoredReply | None]:
    """One item and the reply record, in one consistent BatchGetItem."""
    record_key = keys.idempotency_record(record_id)
    found = {(item.pk, item.sk): item for item in LoyaltyItem.batch_get([key, record_key], consistent_read=True)}
    record = found.get(record_key)
    reply = from_item(record_id, record) if isinstance(record, ReplyItem) else None
    return found.get(key), reply
