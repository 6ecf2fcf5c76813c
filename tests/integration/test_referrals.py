"""Referrals: both sides rewarded once, on the friend's first visit; abuse earns nothing."""

from __future__ import annotations

from datetime import timedelta

from tests.support.world import new_phone


def _referral(world, member):
    reply = world.call("GET", "/v1/me/referral", headers=member.headers)
    assert reply.status == 200, reply.raw
    return reply.json


def test_both_sides_are_rewarded_once_on_the_friends_first_visit(world, monkeypatch):
    from loyalty.services import clock

    ala = world.enroll()
    code = _referral(world, ala)["code"]
    friend = world.enroll(referralCode=code)
    assert _referral(world, ala)["pending"] == 1
    assert world.card(ala)["points"]["balance"] == 0

    first = world.scan(friend)

    assert first.status == 200, first.raw
    assert {"kind": "referral", "points": 50, "stamps": 0,
            "label": "Joined with a friend's invite"} in first.json["awarded"]["lines"]
    assert world.card(ala)["points"]["balance"] == 50
    assert _referral(world, ala) | {"qrSvg": None, "link": None} == {
        "code": code, "link": None, "qrSvg": None, "pending": 0, "rewarded": 1,
        "offer": {"referrerPoints": 50, "refereePoints": 50}}

    later = clock.now() + timedelta(hours=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    second = world.scan(friend)
    assert second.status == 200
    assert "referral" not in [line["kind"] for line in second.json["awarded"]["lines"]]
    assert world.card(ala)["points"]["balance"] == 50


def test_referral_link_opens_the_card_page_with_the_code(world):
    ala = world.enroll()
    referral = _referral(world, ala)
    assert referral["link"].endswith(f"/v1/m/{world.merchant_id}?ref={referral['code']}")
    assert referral["qrSvg"].startswith("<svg")


def test_an_existing_member_gets_nothing_for_a_referral(world):
    ala = world.enroll()
    phone = new_phone()
    world.enroll(phone=phone)
    again = world.call("POST", f"/v1/merchants/{world.merchant_id}/members",
                       {"phone": phone, "referralCode": _referral(world, ala)["code"]})
    assert again.status == 409
    assert _referral(world, ala)["pending"] == 0


def test_self_referral_with_own_email_gets_nothing(world):
    ala = world.enroll(email="ala@example.com")
    body = {"phone": new_phone(), "email": "ALA@example.com", "referralCode": _referral(world, ala)["code"]}
    reply = world.call("POST", f"/v1/merchants/{world.merchant_id}/members", body)
    assert reply.status == 409  # the same email is the same person
    assert _referral(world, ala)["pending"] == 0


def test_unknown_referral_code_is_reported_and_nothing_is_created(world):
    phone = new_phone()
    reply = world.call("POST", f"/v1/merchants/{world.merchant_id}/members",
                       {"phone": phone, "referralCode": "NOPE1234"})
    assert reply.status == 422
    assert reply.error_code == "invalid_referral"
    search = world.call("POST", f"/v1/merchants/{world.merchant_id}/members/search", {"phone": phone}, world.owner)
    assert search.status == 404


def test_monthly_cap_holds_and_enrolment_still_succeeds(world):
    # The test program caps rewarded referrals at 2 per referrer per month.
    ala = world.enroll()
    code = _referral(world, ala)["code"]
    friends = [world.enroll(referralCode=code) for _ in range(3)]
    for friend in friends:
        assert world.scan(friend).status == 200
    assert world.card(ala)["points"]["balance"] == 100
    referral = _referral(world, ala)
    assert referral["rewarded"] == 2
    assert referral["pending"] == 0
    late = world.enroll(referralCode=code)
    assert late.member_id
    assert world.scan(late).status == 200
    assert world.card(ala)["points"]["balance"] == 100
