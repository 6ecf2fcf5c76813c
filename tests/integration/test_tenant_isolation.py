"""Another merchant's credentials see nothing and change nothing: every route answers 404."""

from __future__ import annotations

from infra.template import http_routes, load_template


def _requests(world, intruder):
    """One request per route, made with the intruding merchant's owner key against ``world``'s things."""
    member = world.enroll()
    seed_visit = world.staff_scan(member, amount=20_000, receipt_id="seed").json["scanId"]
    rated = world.call("POST", "/v1/me/feedback", {"scanId": seed_visit, "rating": 2, "comment": "slow"},
                       member.headers)
    assert rated.status == 201, rated.raw
    claim = world.call("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, member.headers).json
    m, loc = world.merchant_id, world.locations[0]
    referral = _held_referral(world)
    staff_key_id = world.call("GET", f"/v1/merchants/{m}/api-keys", headers=world.owner).json["apiKeys"][1]["apiKeyId"]
    campaign = world.call("POST", f"/v1/merchants/{m}/campaigns", _CAMPAIGN, world.owner).json["campaignId"]
    imported = world.call("POST", f"/v1/merchants/{m}/imports", f"phone,name\n{member.phone},Kept\n".encode(),
                          {**world.owner, "Content-Type": "text/csv"}).json["importId"]
    return member, {
        ("POST", "/v1/merchants/{merchantId}/imports"): (f"/v1/merchants/{m}/imports",
                                                         f"phone,points\n{member.phone},1000\n"),
        ("GET", "/v1/merchants/{merchantId}/imports/{importId}"): (f"/v1/merchants/{m}/imports/{imported}", None),
        ("POST", "/v1/merchants/{merchantId}/locations"): (f"/v1/merchants/{m}/locations", {"name": "Hijack"}),
        ("GET", "/v1/merchants/{merchantId}/locations"): (f"/v1/merchants/{m}/locations", None),
        ("POST", "/v1/merchants/{merchantId}/api-keys"): (f"/v1/merchants/{m}/api-keys",
                                                          {"role": "staff", "locationIds": [loc]}),
        ("GET", "/v1/merchants/{merchantId}/program"): (f"/v1/merchants/{m}/program", None),
        ("PUT", "/v1/merchants/{merchantId}/program"): (f"/v1/merchants/{m}/program", intruder.program),
        ("GET", "/v1/merchants/{merchantId}/locations/{locationId}/counter-code"): (
            f"/v1/merchants/{m}/locations/{loc}/counter-code", None),
        ("POST", "/v1/merchants/{merchantId}/members"): (f"/v1/merchants/{m}/members", {"phone": member.phone}),
        ("POST", "/v1/merchants/{merchantId}/members/search"): (f"/v1/merchants/{m}/members/search",
                                                                {"phone": member.phone}),
        ("GET", "/v1/merchants/{merchantId}/members/{memberId}"): (f"/v1/merchants/{m}/members/{member.member_id}",
                                                                   None),
        ("GET", "/v1/merchants/{merchantId}/api-keys"): (f"/v1/merchants/{m}/api-keys", None),
        ("DELETE", "/v1/merchants/{merchantId}/api-keys/{apiKeyId}"): (f"/v1/merchants/{m}/api-keys/{staff_key_id}",
                                                                       None),
        ("GET", "/v1/merchants/{merchantId}/members/{memberId}/export"): (
            f"/v1/merchants/{m}/members/{member.member_id}/export", None),
        ("DELETE", "/v1/merchants/{merchantId}/members/{memberId}"): (
            f"/v1/merchants/{m}/members/{member.member_id}", None),
        ("POST", "/v1/merchants/{merchantId}/members/{memberId}/card"): (
            f"/v1/merchants/{m}/members/{member.member_id}/card", None),
        ("POST", "/v1/scans"): ("/v1/scans", {"memberId": member.member_id, "locationId": intruder.locations[0],
                                              "amount": 5000}),
        ("POST", "/v1/redemptions"): ("/v1/redemptions", {"code": claim["code"]}),
        ("POST", "/v1/merchants/{merchantId}/pos/events"): (
            f"/v1/merchants/{m}/pos/events",
            {"type": "refund", "eventId": "e-1", "receiptId": "seed", "refundId": "f-1", "amount": 100}),
        ("GET", "/v1/merchants/{merchantId}/referrals"): (f"/v1/merchants/{m}/referrals?status=held", None),
        ("GET", "/v1/merchants/{merchantId}/segments"): (f"/v1/merchants/{m}/segments", None),
        ("POST", "/v1/merchants/{merchantId}/segments"): (
            f"/v1/merchants/{m}/segments",
            {"name": "intruders", "conditions": [{"field": "visitCount", "op": "gte", "value": 0}]}),
        ("GET", "/v1/merchants/{merchantId}/segments/{name}/members"): (f"/v1/merchants/{m}/segments/new/members",
                                                                        None),
        ("POST", "/v1/merchants/{merchantId}/referrals/{referralId}/approve"): (
            f"/v1/merchants/{m}/referrals/{referral}/approve", None),
        ("POST", "/v1/merchants/{merchantId}/referrals/{referralId}/reject"): (
            f"/v1/merchants/{m}/referrals/{referral}/reject", None),
        ("GET", "/v1/merchants/{merchantId}/messaging"): (f"/v1/merchants/{m}/messaging", None),
        ("PUT", "/v1/merchants/{merchantId}/messaging"): (f"/v1/merchants/{m}/messaging",
                                                          {"maxPerMemberPer7Days": 50}),
        ("POST", "/v1/merchants/{merchantId}/campaigns"): (f"/v1/merchants/{m}/campaigns", _CAMPAIGN),
        ("GET", "/v1/merchants/{merchantId}/campaigns"): (f"/v1/merchants/{m}/campaigns", None),
        ("GET", "/v1/merchants/{merchantId}/campaigns/{campaignId}"): (f"/v1/merchants/{m}/campaigns/{campaign}", None),
        ("PATCH", "/v1/merchants/{merchantId}/campaigns/{campaignId}"): (
            f"/v1/merchants/{m}/campaigns/{campaign}", {"status": "paused"}),
        ("POST", "/v1/merchants/{merchantId}/campaigns/{campaignId}/preview"): (
            f"/v1/merchants/{m}/campaigns/{campaign}/preview", None),
        ("GET", "/v1/merchants/{merchantId}/campaigns/{campaignId}/runs"): (
            f"/v1/merchants/{m}/campaigns/{campaign}/runs", None),
        ("GET", "/v1/merchants/{merchantId}/feedback"): (f"/v1/merchants/{m}/feedback?rating=2", None),
        ("GET", "/v1/merchants/{merchantId}/insights"): (
            f"/v1/merchants/{m}/insights?locationId={world.locations[0]}", None),
    }


_CAMPAIGN = {"name": "Welcome", "type": "welcome", "trigger": {"afterDays": 1}, "channels": ["sms"],
             "message": {"sms": {"body": "Welcome to {merchant}, {name}!"}}, "sendAt": "10:00"}


def _held_referral(world) -> str:
    """A referral held for review: joined with the referrer's own address, spelled another way."""
    anna = world.enroll(email="anna.nowak@gmail.com")
    code = world.call("GET", "/v1/me/referral", headers=anna.headers).json["code"]
    world.scan(world.enroll(email="annanowak@gmail.com", referralCode=code))
    held = world.call("GET", f"/v1/merchants/{world.merchant_id}/referrals", headers=world.owner).json
    return held["referrals"][0]["referralId"]


# Routes that take no merchant credentials at all: the administrator's, members' own card routes, the public
# page, health.
NOT_MERCHANT_ROUTES = {
    ("GET", "/v1/me/export"), ("DELETE", "/v1/me"),
    ("POST", "/v1/merchants"), ("POST", "/v1/merchants/{merchantId}/owner-key"),
    ("GET", "/v1/me"), ("GET", "/v1/me/referral"), ("POST", "/v1/me/rewards"),
    ("DELETE", "/v1/me/rewards/{issuedRewardId}"), ("GET", "/v1/m/{merchantId}"), ("GET", "/v1/health"),
    ("GET", "/v1/me/preferences"), ("PATCH", "/v1/me/preferences"), ("GET", "/v1/u/{token}"),
    ("POST", "/v1/u/{token}"), ("POST", "/v1/merchants/{merchantId}/card-link"),
    ("POST", "/v1/merchants/{merchantId}/card-link/open"), ("POST", "/v1/me/feedback"),
    ("GET", "/v1/merchants/{merchantId}/dashboard"),  # public HTML; its data calls are the owner routes here
}


def test_every_merchant_route_answers_404_to_another_merchants_owner(world, other_world):
    member, requests = _requests(world, other_world)
    routes = {(route.method, route.path) for route in http_routes(load_template())}
    assert routes - NOT_MERCHANT_ROUTES == set(requests), "a new route needs a tenant-isolation case here"
    before = world.profile(member)

    for (method, _), (path, body) in requests.items():
        reply = world.client.request(method, path, body, other_world.owner)
        assert reply.status == 404, (method, path, reply.raw)
        assert reply.error_code == "not_found"
        assert member.member_id not in reply.text
        assert member.phone not in reply.text

    after = world.profile(member)
    assert after == before
    held = world.call("GET", f"/v1/merchants/{world.merchant_id}/referrals", headers=world.owner).json
    assert len(held["referrals"]) == 1  # still held: the intruder decided nothing
    assert world.card(member)["memberId"] == member.member_id  # the card was not reissued
    assert world.staff_scan(member, amount=100).status == 200  # the staff key was not revoked
    program = world.call("GET", f"/v1/merchants/{world.merchant_id}/program", headers=world.owner).json
    assert program == world.program
    locations = world.call("GET", f"/v1/merchants/{world.merchant_id}/locations", headers=world.owner).json
    assert [loc["name"] for loc in locations["locations"]] == ["Old Town", "Riverside"]
    messaging = world.call("GET", f"/v1/merchants/{world.merchant_id}/messaging", headers=world.owner).json
    assert messaging["maxPerMemberPer7Days"] == 2  # the defaults: the intruder saved nothing
    feedback = world.call("GET", f"/v1/merchants/{world.merchant_id}/feedback", headers=world.owner).json
    assert [f["comment"] for f in feedback["feedback"]] == ["slow"]  # the owner's own list still has it
    theirs = world.call("GET", f"/v1/merchants/{other_world.merchant_id}/feedback", headers=other_world.owner)
    assert theirs.json["feedback"] == []  # and the intruder's own list never shows it


def test_member_token_of_another_merchant_is_unknown_to_staff(world, other_world):
    stranger = other_world.enroll()
    reply = world.call("POST", "/v1/scans", {"memberToken": stranger.token, "locationId": world.locations[0]},
                       world.staff)
    assert reply.status == 404
    assert other_world.profile(stranger)["visitCount"] == 0


def test_staff_key_is_limited_to_its_locations(world):
    member = world.enroll()
    reply = world.call("POST", "/v1/scans", {"memberToken": member.token, "locationId": world.locations[1]},
                       world.staff)
    assert reply.status == 403
    assert world.profile(member)["visitCount"] == 0


def test_staff_cannot_change_the_program_or_create_keys(world):
    assert world.call("PUT", f"/v1/merchants/{world.merchant_id}/program", world.program, world.staff).status == 403
    assert world.call("POST", f"/v1/merchants/{world.merchant_id}/api-keys",
                      {"role": "staff", "locationIds": world.locations}, world.staff).status == 403


def test_member_token_cannot_use_staff_routes(world):
    member = world.enroll()
    reply = world.call("GET", f"/v1/merchants/{world.merchant_id}/members/{member.member_id}",
                       headers=member.headers)
    assert reply.status == 403
    redeem = world.call("POST", "/v1/redemptions", {"code": "AAAAA-BBBBB"}, member.headers)
    assert redeem.status == 403


def test_only_the_admin_creates_merchants(world):
    body = {"name": "Rogue", "timezone": "Europe/Warsaw", "currency": "PLN"}
    assert world.call("POST", "/v1/merchants", body).status == 401
    assert world.call("POST", "/v1/merchants", body, world.owner).status == 403
    assert world.call("POST", "/v1/merchants", body, {"Authorization": "Bearer nope"}).status == 401
