"""Exactly-once scans and claims at the round trips of a plain one, sealed replies, credentials first.

Round trips are DynamoDB requests counted by the benchmark's meter (infra/dynamodb_meter.py), with the
merchant and the API keys already in the container's cache (a warm function).
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta

import pytest

from tests.support.world import member_headers

CLAIM = "/v1/me/rewards"


def _metered(meter, world, method, path, body=None, headers=None):
    with meter.capture() as captured:
        reply = world.call(method, path, body, headers)
    return reply, [call.operation for call in captured.calls]


def _table_items() -> list[dict]:
    import boto3

    client = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    return [item for page in client.get_paginator("scan").paginate(TableName=os.environ["TABLE_NAME"])
            for item in page["Items"]]


def _rich(world):
    member = world.enroll()
    assert world.staff_scan(member, amount=20_000, receipt_id=f"r-{uuid.uuid4().hex}").status == 200
    world.card(member)  # the merchant is in the container's cache from here on
    return member


def test_a_keyed_member_scan_costs_two_round_trips_and_a_retry_one_with_the_first_reply(world, meter):
    member = world.enroll()
    world.card(member)
    body, key = {"counterCode": world.counter_code()}, str(uuid.uuid4())

    first, calls = _metered(meter, world, "POST", "/v1/scans", body, member_headers(member.token, key))
    assert first.status == 200, first.raw
    assert calls == ["BatchGetItem", "TransactWriteItems"]

    retry, calls = _metered(meter, world, "POST", "/v1/scans", body, member_headers(member.token, key))
    assert (retry.status, retry.raw) == (200, first.raw)  # byte for byte, not 429 cooldown
    assert calls == ["BatchGetItem"]

    again = world.call("POST", "/v1/scans", body, member.headers)  # no key: a new visit, inside the cooldown
    assert (again.status, again.error_code) == (429, "cooldown")
    assert world.profile(member)["visitCount"] == 1


def test_a_scan_without_a_key_still_costs_two_round_trips(world, meter):
    member = world.enroll()
    world.card(member)
    reply, calls = _metered(meter, world, "POST", "/v1/scans", {"counterCode": world.counter_code()}, member.headers)
    assert reply.status == 200
    assert calls == ["GetItem", "TransactWriteItems"]


def test_a_keyed_claim_costs_two_round_trips_and_a_retry_one_with_the_first_reply(world, meter):
    member = _rich(world)
    key = str(uuid.uuid4())
    first, calls = _metered(meter, world, "POST", CLAIM, {"rewardId": "free-coffee"}, member_headers(member.token, key))
    assert first.status == 201, first.raw
    assert calls == ["BatchGetItem", "TransactWriteItems"]

    retry, calls = _metered(meter, world, "POST", CLAIM, {"rewardId": "free-coffee"}, member_headers(member.token, key))
    assert (retry.status, retry.raw) == (201, first.raw)
    assert calls == ["BatchGetItem"]
    card = world.card(member)
    assert [r["code"] for r in card["rewards"] if r["rewardId"] == "free-coffee"] == [first.json["code"]]
    assert card["points"]["balance"] == first.json["balance"]


def test_a_keyed_staff_scan_costs_two_round_trips(world, meter):
    member = world.enroll()
    body = {"memberId": member.member_id, "locationId": world.locations[0], "amount": 1500}
    world.staff_scan(member, amount=100)  # warms the staff key and the merchant
    headers = {**world.staff, "Idempotency-Key": "till-7-sale-1"}
    first, calls = _metered(meter, world, "POST", "/v1/scans", body, headers)
    assert first.status == 200, first.raw
    assert calls == ["BatchGetItem", "TransactWriteItems"]
    retry, calls = _metered(meter, world, "POST", "/v1/scans", body, headers)
    assert (retry.raw, calls) == (first.raw, ["BatchGetItem"])
    assert world.profile(member)["totalSpend"] == 1600


def test_the_member_routes_keep_their_round_trips(world, meter):
    member = world.enroll()
    world.card(member)
    card, calls = _metered(meter, world, "GET", "/v1/me", headers=member.headers)
    assert (card.status, calls) == (200, ["Query"])  # the member and its history in one consistent read
    referral, calls = _metered(meter, world, "GET", "/v1/me/referral", headers=member.headers)
    assert (referral.status, calls) == (200, ["GetItem"])


def test_the_same_key_with_another_body_is_refused_and_does_nothing(world):
    member = _rich(world)
    key = str(uuid.uuid4())
    assert world.call("POST", CLAIM, {"rewardId": "cake"}, member_headers(member.token, key)).status == 201
    other = world.call("POST", CLAIM, {"rewardId": "free-coffee"}, member_headers(member.token, key))
    assert (other.status, other.error_code) == (422, "idempotency_key_reused")
    assert [r["rewardId"] for r in world.card(member)["rewards"]] == ["cake"]

    visitor, scan_key = world.enroll(), str(uuid.uuid4())
    assert world.scan(visitor, scan_key).status == 200
    moved = world.scan(visitor, scan_key, location_index=1)
    assert (moved.status, moved.error_code) == (422, "idempotency_key_reused")


def test_a_kept_reply_lasts_24_hours(world, monkeypatch):
    from loyalty.services import clock

    member = world.enroll()
    body = {"memberId": member.member_id, "locationId": world.locations[0], "amount": 1000}
    headers = {**world.staff, "Idempotency-Key": "sale-24h"}
    first = world.call("POST", "/v1/scans", body, headers)
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(hours=23))
    assert world.call("POST", "/v1/scans", body, headers).raw == first.raw
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(hours=25))
    later = world.call("POST", "/v1/scans", body, headers)  # the record is still in the table (TTL lags)
    assert later.status == 200, later.raw
    assert later.json["scanId"] != first.json["scanId"]
    assert world.profile(member)["totalSpend"] == 2000


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/scans", {"counterCode": 42}),
    ("/v1/scans", {"counterCode": "x", "favourite": "latte"}),
    (CLAIM, {}),
    (CLAIM, {"rewardId": ["free-coffee"]}),
])
def test_a_forged_card_with_an_invalid_body_is_401_not_422(world, path, body):
    member = world.enroll()
    forged = member.token.split(".")[0] + ".AAAAAAAAAAAAAAAAAAAAAAAA"
    for token in (forged, "mem_nosuchmember.AAAAAAAAAAAAAAAAAAAAAAAA"):
        for key in (None, "k" * 300):
            reply = world.call("POST", path, body, member_headers(token, key))
            assert (reply.status, reply.error_code) == (401, "invalid_member_token"), reply.raw


def test_kept_replies_hold_no_secret_and_replay_byte_identical(world):
    path = f"/v1/merchants/{world.merchant_id}/api-keys"
    body, headers = {"role": "staff", "locationIds": [world.locations[1]]}, {**world.owner, "Idempotency-Key": "k1"}
    created = world.call("POST", path, body, headers)
    assert created.status == 201
    join_key = str(uuid.uuid4())
    join_path, join_body = f"/v1/merchants/{world.merchant_id}/members", {"email": f"{join_key[:8]}@example.com"}
    joined = world.call("POST", join_path, join_body, {"Idempotency-Key": join_key})
    assert joined.status == 201

    assert world.call("POST", path, body, headers).raw == created.raw
    assert world.call("POST", join_path, join_body, {"Idempotency-Key": join_key}).raw == joined.raw
    stored = json.dumps(_table_items())
    for secret in (created.json["apiKey"], joined.json["memberToken"], world.owner_key):
        assert secret not in stored
