"""Suspicious referrals are held, not paid; the owner lists them and approves (paid once) or rejects them."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests.support.world import DEFAULT_TEST_PROGRAM, create_world

MONTHLY_CAP_10 = {**DEFAULT_TEST_PROGRAM, "referral": {"referrerPoints": 50, "refereePoints": 50,
                                                       "maxRewardedPerReferrerPerMonth": 10}}


def _code(world, member):
    return world.call("GET", "/v1/me/referral", headers=member.headers).json["code"]


def _my_referral(world, member):
    return world.call("GET", "/v1/me/referral", headers=member.headers).json


def _held(world):
    reply = world.call("GET", f"/v1/merchants/{world.merchant_id}/referrals", headers=world.owner,
                       query={"status": "held"})
    assert reply.status == 200, reply.raw
    return reply.json["referrals"]


def _decide(world, referral_id, decision, headers=None):
    return world.call("POST", f"/v1/merchants/{world.merchant_id}/referrals/{referral_id}/{decision}",
                      headers=headers or world.owner)


def _balance(world, member):
    return world.card(member)["points"]["balance"]


def test_a_look_alike_email_is_held_then_approval_pays_both_sides_exactly_once(world):
    anna = world.enroll(email="anna.nowak@gmail.com")
    twin = world.enroll(email="Anna.Nowak+cafe@googlemail.com", referralCode=_code(world, anna))
    assert twin.card  # enrolment succeeded

    visit = world.scan(twin)

    assert visit.status == 200, visit.raw
    assert "referral" not in [line["kind"] for line in visit.json["awarded"]["lines"]]
    twin_balance = _balance(world, twin)  # the welcome and visit points, unaffected
    assert twin_balance == visit.json["balance"] > 0
    assert _balance(world, anna) == 0
    assert _my_referral(world, anna)["pending"] == 1  # shown as still pending
    [held] = _held(world)
    assert held["referrerId"] == anna.member_id
    assert held["refereeId"] == twin.member_id
    assert held["reasons"] == ["similar_email"]
    assert held["heldAt"]

    approved = _decide(world, held["referralId"], "approve")

    assert approved.status == 200, approved.raw
    assert approved.json["status"] == "approved"
    assert _balance(world, anna) == 50
    assert _balance(world, twin) == twin_balance + 50
    assert _my_referral(world, anna) | {"qrSvg": None, "link": None, "code": None} == {
        "code": None, "link": None, "qrSvg": None, "pending": 0, "rewarded": 1,
        "offer": {"referrerPoints": 50, "refereePoints": 50}}
    for member in (anna, twin):
        profile = world.profile(member)
        assert sum(entry["points"] for entry in profile["ledger"]) == profile["points"]["balance"]
    assert _held(world) == []

    again = _decide(world, held["referralId"], "approve")
    assert again.status == 409
    assert again.error_code == "referral_already_decided"
    assert _decide(world, held["referralId"], "reject").status == 409
    assert _balance(world, anna) == 50


def test_a_join_from_the_referrers_browser_is_held_and_rejection_pays_nobody(world):
    device = uuid.uuid4().hex
    ola = world.enroll(deviceId=device)
    again = world.enroll(deviceId=device, referralCode=_code(world, ola))
    fresh_browser = world.enroll(cardOnDevice=True, referralCode=_code(world, ola))
    assert world.scan(again).status == 200
    assert world.scan(fresh_browser).status == 200
    again_balance = _balance(world, again)

    held = {r["refereeId"]: r for r in _held(world)}
    assert held[again.member_id]["reasons"] == ["referrer_device"]
    assert held[fresh_browser.member_id]["reasons"] == ["card_on_device"]

    rejected = _decide(world, held[again.member_id]["referralId"], "reject")

    assert rejected.status == 200, rejected.raw
    assert rejected.json["status"] == "rejected"
    assert _balance(world, ola) == 0
    assert _my_referral(world, ola)["pending"] == 1  # the other one still waits
    assert [r["refereeId"] for r in _held(world)] == [fresh_browser.member_id]
    assert _decide(world, held[again.member_id]["referralId"], "approve").status == 409
    assert _balance(world, again) == again_balance


def test_beyond_the_daily_allowance_referrals_are_held_and_the_next_local_day_pays_again(handlers, monkeypatch):
    from loyalty.services import clock

    world = create_world(handlers, program=MONTHLY_CAP_10)
    warsaw = ZoneInfo("Europe/Warsaw")  # the test merchant's timezone
    local_midnight = datetime.combine(clock.now().astimezone(warsaw).date() + timedelta(days=1), time(), warsaw)
    start = local_midnight - timedelta(minutes=45)
    monkeypatch.setattr(clock, "now", lambda: start)
    ewa = world.enroll()
    friends = [world.enroll(email=f"friend{i}.{uuid.uuid4().hex[:6]}@example.com", referralCode=_code(world, ewa))
               for i in range(5)]
    for friend in friends:
        assert world.scan(friend).status == 200

    assert _balance(world, ewa) == 3 * 50  # REFERRALS_REWARDED_PER_DAY is 3
    held = _held(world)
    # Both were held at the same (frozen) instant, so their order in the list is not what is tested.
    assert sorted(r["refereeId"] for r in held) == sorted(f.member_id for f in friends[3:])
    assert {tuple(r["reasons"]) for r in held} == {("velocity",)}

    monkeypatch.setattr(clock, "now", lambda: local_midnight + timedelta(minutes=5))  # the same UTC day
    tomorrow = world.enroll(referralCode=_code(world, ewa))
    assert world.scan(tomorrow).status == 200
    assert _balance(world, ewa) == 4 * 50


def test_only_the_merchants_owner_decides_its_own_referrals(world, other_world):
    anna = world.enroll(email="anna@outlook.com")
    twin = world.enroll(email="anna+2@outlook.com", referralCode=_code(world, anna))
    world.scan(twin)
    [held] = _held(world)
    referral_id = held["referralId"]

    assert _decide(world, referral_id, "approve", headers=world.staff).status == 403
    assert _decide(world, referral_id, "approve", headers=anna.headers).status == 403
    assert world.call("POST", f"/v1/merchants/{world.merchant_id}/referrals/{referral_id}/approve").status == 401
    foreign = world.call("POST", f"/v1/merchants/{other_world.merchant_id}/referrals/{referral_id}/approve",
                         headers=other_world.owner)
    assert foreign.status == 404
    assert _decide(world, "rfl_unknown", "approve").status == 404
    staff_list = world.call("GET", f"/v1/merchants/{world.merchant_id}/referrals", headers=world.staff)
    assert staff_list.status == 403
    assert _held(other_world) == []
    assert _balance(world, anna) == 0
    assert world.call("GET", f"/v1/merchants/{world.merchant_id}/referrals", headers=world.owner,
                      query={"status": "approved"}).status == 422
