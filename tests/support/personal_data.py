"""A member with personal data in every place the service keeps some, and a reader of every stored item."""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from dataclasses import dataclass
from typing import Any

from tests.support.world import Member, MerchantWorld, new_address

_people = itertools.count(random.randrange(10_000))


@dataclass(frozen=True)
class Person:
    """Distinctive values, new for each person: none of them can appear in the table by chance, nor be left
    there by another test."""

    tag: str
    phone_digits: str
    birth_year: int

    @property
    def name(self) -> str:
        return f"Zofia Qwertyńska-{self.tag}"

    @property
    def phone(self) -> str:  # as she types it
        return f"+48 {self.phone_digits[:3]} {self.phone_digits[3:6]} {self.phone_digits[6:]}"

    @property
    def phone_e164(self) -> str:
        return f"+48{self.phone_digits}"

    @property
    def email(self) -> str:
        return f"zofia.{self.tag}@example.com"

    @property
    def birthday(self) -> str:
        return f"{self.birth_year}-10-08"

    @property
    def comment(self) -> str:
        return f"The barista was rude. Call me on {self.phone_e164}, {self.name}"

    @property
    def strings(self) -> tuple[str, ...]:
        """What must be nowhere after her erase."""
        return (self.name, f"Qwertyńska-{self.tag}", self.phone_e164, self.phone_digits, self.email, self.birthday)


def new_person() -> Person:
    n = next(_people)
    return Person(tag=f"qx{uuid.uuid4().hex[:8]}", phone_digits=f"69{n % 10_000_000:07d}", birth_year=1920 + n % 40)


def join(world: MerchantWorld, person: Person, **extra: Any) -> tuple[Member, dict]:
    """She joins on the web card with everything the join form takes (and an Idempotency-Key)."""
    body = {"phone": person.phone, "email": person.email, "name": person.name, "birthday": person.birthday,
            "language": "pl", "consent": {"sms": True, "email": True}, **extra}
    reply = world.call("POST", f"/v1/merchants/{world.merchant_id}/members", body,
                       {"Idempotency-Key": str(uuid.uuid4())}, source_ip=new_address())
    assert reply.status == 201, reply.raw
    return Member(reply.json["memberId"], reply.json["memberToken"], reply.json["card"], person.phone_e164), reply.json


def _client():
    import boto3

    return boto3.client("dynamodb", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"))


def write_feedback(member_id: str, merchant_id: str, scan_id: str, rating: int, comment: str | None,
                   location_id: str | None = None) -> None:
    """A feedback item as the card's "How was it?" keeps it, under the member's partition (written directly: many
    of them, or for visits that never happened)."""
    item = {"PK": {"S": f"MEMBER#{member_id}"}, "SK": {"S": f"FEEDBACK#{scan_id}"}, "kind": {"S": "feedback"},
            "merchant_id": {"S": merchant_id}, "member_id": {"S": member_id}, "scan_id": {"S": scan_id},
            "rating": {"N": str(rating)}, "nps": {"NULL": True}, "created_at": {"S": "2026-10-01T07:30:00.000000+0000"}}
    if comment is not None:
        item["comment"] = {"S": comment}
    if location_id:
        item["location_id"] = {"S": location_id}
    _client().put_item(TableName=os.environ["TABLE_NAME"], Item=item)


def stored_item(key: tuple[str, str]) -> dict | None:
    reply = _client().get_item(TableName=os.environ["TABLE_NAME"], Key={"PK": {"S": key[0]}, "SK": {"S": key[1]}},
                               ConsistentRead=True)
    return reply.get("Item")


def every_stored_item() -> list[dict]:
    """Every item of the table and every entry of each of its indexes, as DynamoDB returns them."""
    client = _client()
    table = os.environ["TABLE_NAME"]
    description = client.describe_table(TableName=table)["Table"]
    sources = [{}] + [{"IndexName": index["IndexName"]}
                      for index in description.get("GlobalSecondaryIndexes", [])]
    found = []
    for source in sources:
        for page in client.get_paginator("scan").paginate(TableName=table, **source):
            found.extend(page["Items"])
    return found


@dataclass(frozen=True)
class Trace:
    where: str
    text: str


def _text_of_binary(value: object) -> str:
    """Binary attributes (a stored file's slices) are searched as the text they hold."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    raise TypeError(f"not JSON: {type(value).__name__}")


def traces_of(strings: tuple[str, ...]) -> list[Trace]:
    """Every stored item or index entry holding any of ``strings`` (compared case-insensitively)."""
    hits = []
    for item in every_stored_item():
        text = json.dumps(item, ensure_ascii=False, default=_text_of_binary).lower()
        for value in strings:
            if value.lower() in text:
                hits.append(Trace(f"{item['PK']['S']} / {item['SK']['S']}", value))
    return hits
