"""The core loop through the handlers: join, scan, claim, redeem, refer (in-process, on moto)."""

from __future__ import annotations

import pytest

from tests.support.world import new_phone


def test_a_new_customer_joins_scans_and_sees_progress(world):
    member = world.enroll()
    assert member.card["message"] == "5 more visits to your free coffee."

    reply = world.scan(member)

    assert reply.status == 200, reply.raw
    body = reply.json
    assert [line["kind"] for line in body["awarded"]["lines"]] == ["visit", "welcome"]
    assert body["awarded"] == {"points": 30, "stamps": 1, "lines": body["awarded"]["lines"]}
    assert body["balance"] == 30
    assert body["stamps"]["count"] == 1
    assert body["message"] == "4 more visits to your free coffee."
    card = world.card(member)
    assert card["points"] == {"balance": 30, "lifetime": 30}
    assert card["history"][0]["points"] == 30


def test_fifth_stamp_issues_the_free_coffee_and_starts_a_new_card(world, monkeypatch):
    from datetime import timedelta

    from loyalty.services import clock

    member = world.enroll()
    start = clock.now()
    issued = []
    for visit in range(5):
        monkeypatch.setattr(clock, "now", lambda v=visit: start + timedelta(hours=5 * v))
        reply = world.scan(member)
        assert reply.status == 200, reply.raw
        issued += reply.json["rewardsIssued"]
    assert reply.json["stamps"]["count"] == 0
    assert [r["rewardId"] for r in issued] == ["free-coffee"]
    assert issued[0]["pointsLocked"] == 0
    card = world.card(member)
    assert card["rewards"][0]["code"] == issued[0]["code"]
    assert "ready" in card["message"]


def test_staff_scan_with_bill_earns_spend_points_once_per_receipt(world):
    member = world.enroll()
    first = world.staff_scan(member, amount=2550, receipt_id="R-1")
    assert first.status == 200, first.raw
    assert {"kind": "spend", "points": 25, "stamps": 0, "label": "Spend 25.50 PLN"} in first.json["awarded"]["lines"]

    again = world.staff_scan(member, amount=2550, receipt_id="R-1")

    assert again.status == 409
    assert again.error_code == "receipt_already_counted"
    assert world.card(member)["points"]["balance"] == first.json["balance"]


def test_claim_then_redeem_at_the_counter_exactly_once(world):
    member = world.enroll()
    world.staff_scan(member, amount=10_000, receipt_id="big")  # 10 + 100 + 20 welcome = 130 points
    claim = world.call("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, member.headers)
    assert claim.status == 201, claim.raw
    assert claim.json["status"] == "issued"
    assert claim.json["pointsLocked"] == 100
    assert world.card(member)["points"]["balance"] == 30

    redeemed = world.call("POST", "/v1/redemptions", {"code": claim.json["code"]}, world.staff)
    assert redeemed.status == 200, redeemed.raw
    assert redeemed.json["reward"]["status"] == "redeemed"
    assert redeemed.json["balance"] == 30

    again = world.call("POST", "/v1/redemptions", {"code": claim.json["code"].lower().replace("-", "")}, world.staff)
    assert again.status == 409
    assert again.error_code == "already_redeemed"


def test_cancelling_a_claim_returns_the_points(world):
    member = world.enroll()
    world.staff_scan(member, amount=10_000, receipt_id="r")
    claim = world.call("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, member.headers).json
    cancelled = world.call("DELETE", f"/v1/me/rewards/{claim['issuedRewardId']}", headers=member.headers)
    assert cancelled.status == 200, cancelled.raw
    assert cancelled.json["status"] == "cancelled"
    assert cancelled.json["balance"] == 130
    retried = world.call("DELETE", f"/v1/me/rewards/{claim['issuedRewardId']}", headers=member.headers)
    assert (retried.status, retried.json["balance"]) == (200, 130)  # a retried DELETE returns nothing twice
    redeem = world.call("POST", "/v1/redemptions", {"code": claim["code"]}, world.staff)
    assert redeem.status == 409


def test_claim_without_enough_points_is_refused_and_changes_nothing(world):
    member = world.enroll()
    reply = world.call("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, member.headers)
    assert reply.status == 409
    assert reply.error_code == "insufficient_balance"
    assert world.profile(member)["ledger"] == []


def test_an_expired_reward_returns_its_points(world, monkeypatch):
    from datetime import timedelta

    from loyalty.services import clock

    member = world.enroll()
    world.staff_scan(member, amount=10_000, receipt_id="r")
    claim = world.call("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, member.headers).json
    later = clock.now() + timedelta(days=31)
    monkeypatch.setattr(clock, "now", lambda: later)

    redeem = world.call("POST", "/v1/redemptions", {"code": claim["code"]}, world.staff)
    assert redeem.status == 409
    assert redeem.error_code == "reward_expired"
    card = world.card(member)
    assert card["points"]["balance"] == 130
    assert card["rewards"] == []
    assert card["history"][0]["kind"] == "reward_expired"


def test_existing_phone_public_gets_409_staff_gets_the_member(world):
    phone = new_phone()
    member = world.enroll(phone=phone)
    public = world.call("POST", f"/v1/merchants/{world.merchant_id}/members", {"phone": phone})
    assert public.status == 409
    assert public.error_code == "already_member"
    assert "memberToken" not in public.raw.decode()
    staff = world.call("POST", f"/v1/merchants/{world.merchant_id}/members", {"phone": phone}, world.staff)
    assert staff.status == 200
    assert staff.json["memberId"] == member.member_id
    assert "memberToken" not in staff.json


@pytest.mark.parametrize("body, field", [
    ({}, "phone"),
    ({"phone": "600100200"}, "phone"),
    ({"email": "not-an-email"}, "email"),
    ({"phone": "+48600100200", "birthday": "2999-01-01"}, "birthday"),
    ({"phone": "+48600100200", "favourite": "latte"}, "favourite"),
    ({"phone": 48600100200}, "phone"),
])
def test_invalid_enrolment_gets_field_errors_and_creates_nothing(world, body, field):
    reply = world.call("POST", f"/v1/merchants/{world.merchant_id}/members", body)
    assert reply.status == 422, reply.raw
    assert reply.error_code == "validation_error"
    assert field in [d["field"] for d in reply.json["error"]["details"]]


def test_staff_search_a_member_by_phone_or_email_in_the_body(world):
    phone = new_phone()
    member = world.enroll(phone=phone, email="ala@example.com")
    search = f"/v1/merchants/{world.merchant_id}/members/search"
    for body in ({"phone": phone}, {"phone": f"{phone[:3]} {phone[3:6]} {phone[6:]}"}, {"email": "Ala@Example.com"}):
        reply = world.call("POST", search, body, world.staff)
        assert reply.status == 200, reply.raw
        assert (reply.json["memberId"], reply.json["phone"]) == (member.member_id, phone)
    nobody = world.call("POST", search, {"email": "nobody@example.com"}, world.staff)
    assert (nobody.status, nobody.error_code) == (404, "not_found")
    empty = world.call("POST", search, {}, world.staff)
    assert (empty.status, empty.error_code) == (422, "validation_error")
    assert world.call("GET", f"/v1/merchants/{world.merchant_id}/members", headers=world.staff,
                      query={"phone": phone}).status == 405  # the phone-in-the-URL route is gone
    assert world.call("POST", search, {"phone": phone}, member.headers).status == 403


def test_a_bill_given_as_items_earns_on_its_total(world):
    member = world.enroll()
    reply = world.call("POST", "/v1/scans", {
        "memberId": member.member_id, "locationId": world.locations[0], "receiptId": "items-1",
        "items": [{"sku": "flat-white", "quantity": 2, "amount": 2400}, {"sku": "croissant", "amount": 1150}],
    }, world.staff)
    assert reply.status == 200, reply.raw
    assert {"kind": "spend", "points": 35, "stamps": 0, "label": "Spend 35.50 PLN"} in reply.json["awarded"]["lines"]
    assert world.profile(member)["totalSpend"] == 3550


def test_a_card_holds_a_bounded_number_of_unused_rewards(world):
    from loyalty.services.rewards import MAX_OPEN_REWARDS

    member = world.enroll()
    world.staff_scan(member, amount=100_000, receipt_id="big")  # 1030 points: room for more cakes than allowed
    for _ in range(MAX_OPEN_REWARDS):
        assert world.call("POST", "/v1/me/rewards", {"rewardId": "cake"}, member.headers).status == 201
    refused = world.call("POST", "/v1/me/rewards", {"rewardId": "cake"}, member.headers)
    assert (refused.status, refused.error_code) == (409, "too_many_open_rewards")
    assert world.card(member)["points"]["balance"] == 1030 - 30 * MAX_OPEN_REWARDS
