"""Exactly-once POSTs: one request identity (caller, route, Idempotency-Key) and its sealed reply.

Two mechanisms share it. Scans and claims keep their record in their own transaction: it is read in
the same round trip as the member and written with the member change, so an Idempotency-Key costs no
extra round trip. Other POSTs go through Powertools Idempotency (api/idempotency.py), which keeps the
same sealed reply under the same record id.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from loyalty.domain import sealing
from loyalty.domain.access import PUBLIC, Caller
from loyalty.domain.errors import ConcurrentUpdate, IdempotencyKeyReused, LoyaltyError, ValidationFailed
from loyalty.server_keys import signing_key
from loyalty.services import clock
from loyalty.settings import get_settings
from loyalty.store import keys, replies
from loyalty.store.transaction import ConditionFailed

MAX_KEY_LENGTH = 255
MIN_ANONYMOUS_KEY_LENGTH = 16


class Answered(Exception):
    """This request was done before: its kept reply is served instead of doing the work again."""

    def __init__(self, stored: replies.StoredReply) -> None:
        super().__init__("answered before")
        self.stored = stored


_COMPRESSED = b"z:"  # marks a zlib-compressed reply inside the seal


@dataclass
class ExactlyOnce:
    record_id: str
    payload_hash: str
    key: bytes = field(repr=False)
    status: int = 200              # the reply's status, set by the route
    checked: bool = False          # the record has been read (together with the member)
    stored: replies.StoredReply | None = None

    @classmethod
    def for_request(cls, caller: Caller, route: str, idempotency_key: str, body: object) -> ExactlyOnce:
        key = sealing.reply_key(signing_key(), caller.credential, idempotency_key)
        return cls(keys.idempotency_record_id(caller.identity, route, idempotency_key),
                   sealing.payload_hash(key, body), key)

    @classmethod
    def for_event(cls, scope: str, route: str, event_id: str, body: object) -> ExactlyOnce:
        """An event a client names itself (a POS event id), done once per ``scope`` (a merchant), whichever of
        the scope's credentials sends it again."""
        key = sealing.reply_key(signing_key(), scope, event_id)
        return cls(keys.idempotency_record_id(scope, route, event_id), sealing.payload_hash(key, body), key)

    def seal(self, status: int, body: dict) -> str:
        # Compressed first: a scan's reply shrinks to about a third, and the kept reply is written in the scan's
        # own transaction, where every started KB costs two write units.
        plaintext = _COMPRESSED + zlib.compress(json.dumps({"status": status, "body": body}, sort_keys=True).encode())
        return sealing.seal(self.key, plaintext, self.record_id)

    def open(self, sealed: str) -> tuple[int, dict]:
        try:
            plaintext = sealing.unseal(self.key, sealed, self.record_id)
        except ValueError as exc:  # sealed under other request material (a rotated server key): not this request
            raise IdempotencyKeyReused() from exc
        if plaintext.startswith(_COMPRESSED):
            plaintext = zlib.decompress(plaintext[len(_COMPRESSED):])
        reply = json.loads(plaintext)  # replies kept before compression are plain JSON ("{...")
        return int(reply["status"]), reply["body"]

    def record(self, body: dict, now: datetime) -> replies.StoredReply:
        """The reply to write in the operation's transaction."""
        expires_at = now + timedelta(seconds=get_settings().idempotency_ttl_seconds)
        return replies.StoredReply(self.record_id, self.seal(self.status, body), self.payload_hash, expires_at, now)

    def replay(self, stored: replies.StoredReply) -> tuple[int, dict]:
        if stored.payload_hash != self.payload_hash:
            raise IdempotencyKeyReused()
        return self.open(stored.sealed)

    def found(self, stored: replies.StoredReply | None) -> None:
        """Note what the read found; a live record means the request was done before."""
        self.checked = True
        self.stored = stored if stored is not None and stored.is_live(clock.now()) else None

    def raise_if_answered(self) -> None:
        if self.stored is not None:
            raise Answered(self.stored)


def check_idempotency_key(caller: Caller, idempotency_key: str) -> None:
    """Checked after the credentials, so a forged card with a bad key is still 401."""
    if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH:
        raise ValidationFailed.field("Idempotency-Key", f"Use 1 to {MAX_KEY_LENGTH} characters.")
    if caller.role == PUBLIC and len(idempotency_key) < MIN_ANONYMOUS_KEY_LENGTH:
        # Without credentials the key alone guards the replay (a join reply holds a member token).
        raise ValidationFailed.field("Idempotency-Key", "Without credentials, use a random key such as a UUID.")


def run_in_transaction(once: ExactlyOnce, status: int, work: Callable[[ExactlyOnce], dict]) -> tuple[int, dict]:
    """Run work that writes ``once.record(...)`` in its own transaction; replay when it was done before."""
    once.status = status
    if once.stored is not None:  # read with the caller's member while the request was screened
        return once.replay(once.stored)
    try:
        return status, work(once)
    except Answered as answered:
        return once.replay(answered.stored)
    except ConditionFailed as lost:
        if replies.TAG not in lost.failed:
            raise
        failure: Exception = ConcurrentUpdate()
    except LoyaltyError as error:
        # The same request may have won meanwhile (a retry racing the first): then a cooldown or a
        # balance now spent is its doing, and the caller gets the first reply, not this error.
        failure = error
    stored = replies.get_reply(once.record_id)
    if stored is None or not stored.is_live(clock.now()):
        raise failure
    return once.replay(stored)
