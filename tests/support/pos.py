"""A till: a POS key of a test merchant that signs its events as the contract says (computed here, not with the
server's own code, so the tests check the server against the contract)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from tests.support.clients import Reply
from tests.support.world import MerchantWorld, bearer


def signature(secret: str, timestamp: int, raw_body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + raw_body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


@dataclass
class Till:
    world: MerchantWorld
    api_key_id: str
    api_key: str
    signing_secret: str
    location_ids: list[str]

    @property
    def path(self) -> str:
        return f"/v1/merchants/{self.world.merchant_id}/pos/events"

    def send(self, event: dict[str, Any], *, raw: bytes | None = None, at: float | None = None,
             secret: str | None = None, headers: dict[str, str] | None = None, path: str | None = None) -> Reply:
        """Signed over ``raw`` (the body exactly as sent: by default compact JSON, keys as given)."""
        body = raw if raw is not None else json.dumps(event, separators=(",", ":")).encode()
        timestamp = int(at if at is not None else time.time())
        signed = {**bearer(self.api_key),
                  "Bywalec-Signature": signature(secret or self.signing_secret, timestamp, body)}
        return self.world.call("POST", path or self.path, body, {**signed, **(headers or {})})

    def sale(self, member: Any = None, *, amount: int | None = None, receipt_id: str | None = None,
             event_id: str | None = None, location_id: str | None = None, **extra: Any) -> Reply:
        event = {"type": "sale", "eventId": event_id or f"evt-{uuid.uuid4().hex}",
                 "locationId": location_id or self.location_ids[0],
                 "receiptId": receipt_id or f"rcp-{uuid.uuid4().hex}",
                 "member": extra.pop("who", None) or {"memberId": member.member_id}, **extra}
        if amount is not None:
            event["amount"] = amount
        return self.send(event)

    def refund(self, receipt_id: str, amount: int, *, refund_id: str | None = None,
               event_id: str | None = None) -> Reply:
        return self.send({"type": "refund", "eventId": event_id or f"evt-{uuid.uuid4().hex}", "receiptId": receipt_id,
                          "refundId": refund_id or f"rfd-{uuid.uuid4().hex}", "amount": amount})


def open_till(world: MerchantWorld, location_ids: list[str] | None = None) -> Till:
    """A POS key made by the merchant's owner, valid at the first location unless told otherwise."""
    locations = location_ids or world.locations[:1]
    reply = world.call("POST", f"/v1/merchants/{world.merchant_id}/api-keys", {"role": "pos", "locationIds": locations},
                       world.owner)
    assert reply.status == 201, reply.raw
    return Till(world, reply.json["apiKeyId"], reply.json["apiKey"], reply.json["signingSecret"], locations)
