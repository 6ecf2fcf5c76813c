"""The attack that motivated the limits: one counter code, one address, 13 invented members joined and
scanned in a tight loop, 12 of them "referred" by the first. The referrer earns only what the rules allow."""

from __future__ import annotations

from datetime import UTC, datetime

from loyalty.domain.program import default_program

from tests.support.world import create_world, new_address

# The default program (the contract's example): 50 + 50 points a referral, at most 10 rewarded a month.
PROGRAM = default_program().to_json()
REFERRER_EMAIL = "anna.kowalska@gmail.com"
LOOK_ALIKES = ["annakowalska+1@gmail.com", "a.nna.kowalska@gmail.com", "Anna.Kowalska+x@googlemail.com",
               "AnnaKowalska@gmail.com"]
INVENTED = [f"guest{i}@example.com" for i in range(8)]


def test_a_scripted_referral_farm_earns_the_referrer_only_what_the_rules_allow(handlers, monkeypatch):
    from loyalty.services import clock

    # A fixed moment 100 s into a 10-minute join window, so the whole burst falls in one window.
    now = datetime.fromtimestamp((int(clock.now().timestamp()) // 600) * 600 + 100, UTC)
    monkeypatch.setattr(clock, "now", lambda: now)
    world = create_world(handlers, program=PROGRAM)
    script = new_address()
    counter_code = world.counter_code()
    join_path = f"/v1/merchants/{world.merchant_id}/members"

    def join(email, **extra):
        return world.call("POST", join_path, {"email": email, "consent": {"email": True}, **extra}, source_ip=script)

    def scan(token):
        return world.call("POST", "/v1/scans", {"counterCode": counter_code}, {"X-Member-Token": token},
                          source_ip=script)

    referrer = join(REFERRER_EMAIL)
    assert referrer.status == 201
    referrer_token = referrer.json["memberToken"]
    assert scan(referrer_token).status == 200
    code = world.call("GET", "/v1/me/referral", headers={"X-Member-Token": referrer_token}).json["code"]
    joins = []
    for email in LOOK_ALIKES + INVENTED:
        reply = join(email, referralCode=code)
        joins.append(reply)
        if reply.status == 201:
            assert scan(reply.json["memberToken"]).status == 200

    # 10 joins per address per 10 minutes: the referrer and 9 friends; the last 3 are refused.
    assert [r.status for r in joins] == [201] * 9 + [429] * 3
    assert {r.error_code for r in joins[9:]} == {"rate_limited"}
    assert all(int(r.headers["retry-after"]) == 500 for r in joins[9:])
    # Every enrolment said "pending": nothing tells the script which referrals were held.
    assert {r.json["referral"]["status"] for r in joins[:9]} == {"pending"}

    # Look-alikes of the referrer's address are held; of the 5 invented friends, 3 are paid (the daily
    # allowance) and 2 held for velocity.
    card = world.call("GET", "/v1/me", headers={"X-Member-Token": referrer_token}).json
    own_visit = 20 + 10  # welcome bonus and the visit itself
    assert card["points"]["balance"] == own_visit + 3 * 50
    assert card["rewards"] == []
    profile = world.call("GET", f"/v1/merchants/{world.merchant_id}/members/{referrer.json['memberId']}",
                         headers=world.owner).json
    assert [entry["points"] for entry in profile["ledger"] if entry["kind"] == "referral"] == [50, 50, 50]
    assert profile["referral"] | {"code": None} == {"code": None, "referredBy": None, "status": None,
                                                     "pending": 6, "rewarded": 3}

    listed = world.call("GET", f"/v1/merchants/{world.merchant_id}/referrals", headers=world.owner,
                        query={"status": "held"}).json["referrals"]
    referee_of = {r.json["memberId"]: i for i, r in enumerate(joins[:9])}
    reasons = sorted((referee_of[r["refereeId"]], tuple(r["reasons"])) for r in listed)
    assert reasons == [(0, ("similar_email",)), (1, ("similar_email",)), (2, ("similar_email",)),
                       (3, ("similar_email",)), (7, ("velocity",)), (8, ("velocity",))]

    # The owner approves one: paid once, and only once.
    first = listed[0]["referralId"]
    decide = f"/v1/merchants/{world.merchant_id}/referrals/{first}/approve"
    assert world.call("POST", decide, headers=world.owner).status == 200
    again = world.call("POST", decide, headers=world.owner)
    assert again.status == 409
    card = world.call("GET", "/v1/me", headers={"X-Member-Token": referrer_token}).json
    assert card["points"]["balance"] == own_visit + 4 * 50
