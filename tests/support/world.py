"""Test worlds: a fresh merchant with locations, keys and members, driven only through the API."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from infra.seed import open_shop
from tests.support.clients import Reply

ADMIN_TOKEN = "test-admin-token"
_phones = itertools.count(100_000)
_addresses = itertools.count(1)


def new_phone() -> str:
    """A valid, unique Polish mobile number."""
    return f"+48600{next(_phones):06d}"[:12]


def new_address() -> str:
    """A client address no other test uses (each customer joins from their own phone)."""
    n = next(_addresses)
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def member_headers(token: str, idempotency_key: str | None = None) -> dict[str, str]:
    headers = {"X-Member-Token": token}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return headers


@dataclass
class Member:
    member_id: str
    token: str
    card: dict
    phone: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Member-Token": self.token}


@dataclass
class MerchantWorld:
    client: Any
    merchant_id: str
    owner_key: str
    locations: list[str]
    staff_key: str          # valid at locations[0] only
    program: dict
    members: list[Member] = field(default_factory=list)

    @property
    def owner(self) -> dict[str, str]:
        return bearer(self.owner_key)

    @property
    def staff(self) -> dict[str, str]:
        return bearer(self.staff_key)

    def call(self, method: str, path: str, body: Any = None, headers: dict | None = None, **kw: Any) -> Reply:
        return self.client.request(method, path, body, headers, **kw)

    def counter_code(self, location_index: int = 0) -> str:
        location = self.locations[location_index]
        reply = self.call("GET", f"/v1/merchants/{self.merchant_id}/locations/{location}/counter-code",
                          headers=self.owner)
        assert reply.status == 200, reply.raw
        return reply.json["code"]

    def enroll(self, phone: str | None = None, email: str | None = None, source_ip: str | None = None,
               **extra: Any) -> Member:
        body = {"phone": phone or (None if email else new_phone()), "email": email,
                "consent": {"sms": True, "email": False}, **extra}
        body = {k: v for k, v in body.items() if v is not None}
        reply = self.call("POST", f"/v1/merchants/{self.merchant_id}/members", body,
                          source_ip=source_ip or new_address())
        assert reply.status == 201, reply.raw
        member = Member(reply.json["memberId"], reply.json["memberToken"], reply.json["card"], body.get("phone"))
        self.members.append(member)
        return member

    def scan(self, member: Member, idempotency_key: str | None = None, location_index: int = 0,
             source_ip: str | None = None) -> Reply:
        return self.call("POST", "/v1/scans", {"counterCode": self.counter_code(location_index)},
                         member_headers(member.token, idempotency_key), source_ip=source_ip)

    def staff_scan(self, member: Member, amount: int | None = None, receipt_id: str | None = None,
                   headers: dict | None = None) -> Reply:
        body = {"memberToken": member.token, "locationId": self.locations[0], "amount": amount,
                "receiptId": receipt_id}
        return self.call("POST", "/v1/scans", {k: v for k, v in body.items() if v is not None},
                         headers or self.staff)

    def card(self, member: Member) -> dict:
        reply = self.call("GET", "/v1/me", headers=member.headers)
        assert reply.status == 200, reply.raw
        return reply.json

    def profile(self, member: Member) -> dict:
        reply = self.call("GET", f"/v1/merchants/{self.merchant_id}/members/{member.member_id}", headers=self.owner)
        assert reply.status == 200, reply.raw
        return reply.json


DEFAULT_TEST_PROGRAM = {
    "stampCard": {"stampsRequired": 5, "rewardId": "free-coffee"},
    "points": {"perVisit": 10, "perCurrencyUnit": 1, "welcomeBonus": 20},
    "rewards": [{"id": "free-coffee", "name": "Free coffee", "pointsCost": 100},
                {"id": "cake", "name": "Slice of cake", "pointsCost": 30}],
    "rewardValidityDays": 30,
    "scanCooldownMinutes": 240,
    "referral": {"referrerPoints": 50, "refereePoints": 50, "maxRewardedPerReferrerPerMonth": 2},
}


def create_world(client: Any, program: dict | None = None, name: str | None = None) -> MerchantWorld:
    def call(method: str, path: str, body: Any, token: str | None) -> dict:
        reply = client.request(method, path, body, bearer(token) if token else None)
        assert reply.status == 201, reply.raw
        return reply.json

    shop = open_shop(call, ADMIN_TOKEN, name=name or f"Café {uuid.uuid4().hex[:6]}",
                     program=program or DEFAULT_TEST_PROGRAM)
    return MerchantWorld(client, shop.merchant_id, shop.owner_key, shop.locations, shop.staff_key, shop.program)
