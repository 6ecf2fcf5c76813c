"""End to end over real HTTP against the local server: the walk a merchant's developer takes first,
and the races that flaky phone networks and busy counters produce."""

from __future__ import annotations

import uuid

import pytest

from tests.support.concurrency import together
from tests.support.world import ADMIN_TOKEN, bearer, new_phone

pytestmark = pytest.mark.e2e



def test_health(http):
    reply = http.request("GET", "/v1/health")
    assert (reply.status, reply.json) == (200, {"status": "ok"})


def test_the_five_minute_walk(http):
    merchant = http.request("POST", "/v1/merchants", {"name": "Kawiarnia", "timezone": "Europe/Warsaw",
                                                      "currency": "PLN"}, bearer(ADMIN_TOKEN))
    assert merchant.status == 201
    mid, owner = merchant.json["merchantId"], bearer(merchant.json["apiKey"])
    location = http.request("POST", f"/v1/merchants/{mid}/locations", {"name": "Old Town"}, owner).json["locationId"]
    staff = bearer(http.request("POST", f"/v1/merchants/{mid}/api-keys",
                                {"role": "staff", "locationIds": [location]}, owner).json["apiKey"])

    joined = http.request("POST", f"/v1/merchants/{mid}/members", {"phone": new_phone(), "consent": {"sms": True}})
    assert joined.status == 201
    me = {"X-Member-Token": joined.json["memberToken"]}
    code = http.request("GET", f"/v1/merchants/{mid}/locations/{location}/counter-code", headers=staff).json["code"]
    scan = http.request("POST", "/v1/scans", {"counterCode": code}, me)
    assert scan.status == 200
    assert scan.json["message"] == "4 more visits to your free coffee."

    bill = http.request("POST", "/v1/scans", {"memberToken": joined.json["memberToken"], "locationId": location,
                                              "amount": 8000, "receiptId": "R-77"}, staff)
    assert bill.status == 200
    assert bill.json["balance"] == 110  # 10 visit + 20 welcome, then 80 for 80.00 PLN inside the cooldown

    claim = http.request("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, me)
    assert claim.status == 201
    redeemed = http.request("POST", "/v1/redemptions", {"code": claim.json["code"]}, staff)
    assert redeemed.status == 200
    assert redeemed.json["balance"] == 10

    referral = http.request("GET", "/v1/me/referral", headers=me).json
    friend = http.request("POST", f"/v1/merchants/{mid}/members", {"email": f"{uuid.uuid4().hex[:8]}@example.com",
                                                                   "referralCode": referral["code"]})
    assert friend.status == 201
    page = http.request("GET", f"/v1/m/{mid}")
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Kawiarnia" in page.text


def test_twenty_concurrent_redemptions_of_one_code_exactly_one_wins(shop):
    member = shop.enroll()
    shop.staff_scan(member, amount=20_000, receipt_id="big-order")
    balance_before_claim = shop.card(member)["points"]["balance"]
    claim = shop.call("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, member.headers).json

    replies = together(20, lambda i: shop.call("POST", "/v1/redemptions", {"code": claim["code"]}, shop.staff))

    statuses = sorted(r.status for r in replies)
    assert statuses == [200] + [409] * 19, [r.raw for r in replies]
    assert {r.error_code for r in replies if r.status == 409} == {"already_redeemed"}
    profile = shop.profile(member)
    assert profile["points"]["balance"] == balance_before_claim - 100
    assert sum(entry["points"] for entry in profile["ledger"]) == profile["points"]["balance"]
    assert [r["status"] for r in profile["rewards"]] == ["redeemed"]


def test_ten_concurrent_identical_scans_with_one_key_award_once_and_reply_identically(shop):
    member = shop.enroll()
    body = {"counterCode": shop.counter_code()}
    headers = {"X-Member-Token": member.token, "Idempotency-Key": str(uuid.uuid4())}

    replies = together(10, lambda i: shop.call("POST", "/v1/scans", body, headers))

    assert {r.status for r in replies} == {200}, [r.raw for r in replies]
    assert len({r.raw for r in replies}) == 1
    profile = shop.profile(member)
    assert profile["visitCount"] == 1
    assert len(profile["ledger"]) == 1
    reused = shop.call("POST", "/v1/scans", {"counterCode": body["counterCode"] + "0"}, headers)
    assert (reused.status, reused.error_code) == (422, "idempotency_key_reused")


def test_concurrent_scans_inside_the_cooldown_award_once(shop):
    member = shop.enroll()
    code = shop.counter_code()

    replies = together(8, lambda i: shop.call("POST", "/v1/scans", {"counterCode": code}, member.headers))

    statuses = sorted(r.status for r in replies)
    assert statuses == [200] + [429] * 7, [r.raw for r in replies]
    for reply in replies:
        if reply.status == 429:
            assert reply.error_code == "cooldown"
            assert int(reply.headers["retry-after"]) > 0
    profile = shop.profile(member)
    assert profile["visitCount"] == 1
    assert profile["points"]["balance"] == 30


def test_concurrent_claims_never_overspend(shop):
    member = shop.enroll()
    shop.staff_scan(member, amount=5_000, receipt_id="r")  # 10 + 50 + 20 = 80 points: two cakes at 30
    replies = together(6, lambda i: shop.call("POST", "/v1/me/rewards", {"rewardId": "cake"}, member.headers))
    assert sorted(r.status for r in replies) == [201, 201, 409, 409, 409, 409], [r.raw for r in replies]
    card = shop.card(member)
    assert card["points"]["balance"] == 20
    assert len(card["rewards"]) == 2


def test_concurrent_joins_with_one_phone_create_one_member(shop):
    phone = new_phone()
    replies = together(6, lambda i: shop.call("POST", f"/v1/merchants/{shop.merchant_id}/members", {"phone": phone}))
    assert sorted(r.status for r in replies) == [201] + [409] * 5, [r.raw for r in replies]


def test_six_concurrent_identical_claims_with_one_key_lock_points_once_and_reply_identically(shop):
    member = shop.enroll()
    shop.staff_scan(member, amount=20_000, receipt_id="r")
    headers = {"X-Member-Token": member.token, "Idempotency-Key": str(uuid.uuid4())}

    replies = together(6, lambda i: shop.call("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, headers))

    assert {r.status for r in replies} == {201}, [r.raw for r in replies]
    assert len({r.raw for r in replies}) == 1
    card = shop.card(member)
    assert [r["code"] for r in card["rewards"] if r["rewardId"] == "free-coffee"] == [replies[0].json["code"]]
    assert card["points"]["balance"] == replies[0].json["balance"]


def test_concurrent_approvals_of_a_held_referral_pay_both_sides_once(shop):
    name = f"anna.{uuid.uuid4().hex[:8]}"
    anna = shop.enroll(email=f"{name}@gmail.com")
    code = shop.call("GET", "/v1/me/referral", headers=anna.headers).json["code"]
    twin = shop.enroll(email=f"{name.replace('.', '')}+2@gmail.com", referralCode=code)  # the same mailbox
    assert shop.scan(twin).status == 200
    twin_before = shop.card(twin)["points"]["balance"]
    held = shop.call("GET", f"/v1/merchants/{shop.merchant_id}/referrals", headers=shop.owner).json["referrals"]
    assert [(r["refereeId"], r["reasons"]) for r in held] == [(twin.member_id, ["similar_email"])]
    path = f"/v1/merchants/{shop.merchant_id}/referrals/{held[0]['referralId']}/approve"

    replies = together(6, lambda i: shop.call("POST", path, headers=shop.owner))

    assert sorted(r.status for r in replies) == [200] + [409] * 5, [r.raw for r in replies]
    assert {r.error_code for r in replies if r.status == 409} == {"referral_already_decided"}
    assert shop.card(anna)["points"]["balance"] == 50
    assert shop.card(twin)["points"]["balance"] == twin_before + 50
    for member in (anna, twin):
        profile = shop.profile(member)
        assert sum(entry["points"] for entry in profile["ledger"]) == profile["points"]["balance"]
