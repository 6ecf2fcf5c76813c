"""A request that a rule refuses does not use up its Idempotency-Key: only replies that did the work are kept.

A client that fixes what was wrong (or waits until it holds) may send again with the same key and get
the work done, instead of a replay of the refusal or a "key reused" error.
"""

from __future__ import annotations

import uuid

from tests.support.world import new_phone


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def test_staff_key_for_an_unknown_location_then_for_a_real_one(world):
    path = f"/v1/merchants/{world.merchant_id}/api-keys"
    headers = {**world.owner, **_key()}
    refused = world.call("POST", path, {"role": "staff", "locationIds": ["loc_nowhere"]}, headers)
    assert (refused.status, refused.error_code) == (422, "validation_error")
    created = world.call("POST", path, {"role": "staff", "locationIds": [world.locations[1]]}, headers)
    assert created.status == 201, created.raw
    assert created.json["locationIds"] == [world.locations[1]]


def test_join_with_a_phone_already_taken_then_with_a_free_one(world):
    taken = world.enroll()
    path = f"/v1/merchants/{world.merchant_id}/members"
    headers = _key()
    refused = world.call("POST", path, {"phone": taken.phone, "consent": {"sms": True, "email": False}}, headers)
    assert refused.status == 409, refused.raw
    joined = world.call("POST", path, {"phone": new_phone(), "consent": {"sms": True, "email": False}}, headers)
    assert joined.status == 201, joined.raw
    assert joined.json["memberId"] != taken.member_id


def test_receipt_already_scanned_then_a_new_receipt(world):
    member = world.enroll()
    assert world.staff_scan(member, amount=1_000, receipt_id="r-1").status == 200
    balance = world.profile(member)["points"]["balance"]
    headers = {**world.staff, **_key()}
    refused = world.staff_scan(member, amount=1_000, receipt_id="r-1", headers=headers)
    assert refused.status == 409, refused.raw
    assert world.profile(member)["points"]["balance"] == balance
    earned = world.staff_scan(member, amount=1_000, receipt_id="r-2", headers=headers)
    assert earned.status == 200, earned.raw
    assert world.profile(member)["points"]["balance"] > balance


def test_claim_without_enough_points_then_again_after_earning(world):
    member = world.enroll()
    headers = {**member.headers, **_key()}
    refused = world.call("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, headers)
    assert refused.status == 409, refused.raw
    world.staff_scan(member, amount=10_000, receipt_id="r-big")
    claimed = world.call("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, headers)
    assert claimed.status == 201, claimed.raw
    assert [reward["rewardId"] for reward in world.card(member)["rewards"]] == ["free-coffee"]


def test_redemption_of_a_mistyped_code_then_of_the_right_one(world):
    member = world.enroll()
    world.staff_scan(member, amount=10_000, receipt_id="r-big")
    code = world.call("POST", "/v1/me/rewards", {"rewardId": "cake"}, member.headers).json["code"]
    headers = {**world.staff, **_key()}
    mistyped = ("Y" if code.startswith("X") else "X") + code[1:]
    refused = world.call("POST", "/v1/redemptions", {"code": mistyped}, headers)
    assert refused.status == 404, refused.raw
    redeemed = world.call("POST", "/v1/redemptions", {"code": code}, headers)
    assert redeemed.status == 200, redeemed.raw
    assert world.card(member)["rewards"] == []


def test_campaign_with_an_unknown_reward_then_with_a_real_one(world):
    path = f"/v1/merchants/{world.merchant_id}/campaigns"
    headers = {**world.owner, **_key()}
    body = {"name": "Welcome", "type": "welcome", "trigger": {"afterDays": 1}, "channels": ["sms"],
            "message": {"sms": {"body": "{merchant}: a {reward} waits on your card. {cardLink}"}}, "sendAt": "10:00"}
    refused = world.call("POST", path, {**body, "offer": {"rewardId": "no-such", "validityDays": 7}}, headers)
    assert (refused.status, refused.error_code) == (422, "validation_error")
    created = world.call("POST", path, {**body, "offer": {"rewardId": "cake", "validityDays": 7}}, headers)
    assert created.status == 201, created.raw
    assert created.json["offer"]["rewardId"] == "cake"
