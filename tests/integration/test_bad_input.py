"""Bad input gets the contract's envelope and status, and changes nothing."""

from __future__ import annotations

import uuid

import pytest


def _envelope(reply, status, code):
    assert reply.status == status, reply.raw
    body = reply.json
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], list)


def test_malformed_json_is_400(world):
    member = world.enroll()
    _envelope(world.call("POST", "/v1/scans", "{not json", member.headers), 400, "malformed_request")
    assert world.profile(member)["visitCount"] == 0


@pytest.mark.parametrize("body", [
    {"counterCode": 12345},
    {"counterCode": "x", "bonus": 1000},
    {"memberId": "mem_x", "locationId": "loc_x", "amount": -5},
    {"memberId": "mem_x", "locationId": "loc_x", "amount": "lots"},
    [],
])
def test_wrong_types_and_extra_fields_are_422(world, body):
    member = world.enroll()
    _envelope(world.call("POST", "/v1/scans", body, member.headers), 422, "validation_error")
    assert world.profile(member)["visitCount"] == 0


def test_oversized_body_is_413(world):
    member = world.enroll()
    big = {"counterCode": "x" * 70_000}
    _envelope(world.call("POST", "/v1/scans", big, member.headers), 413, "payload_too_large")


def test_unknown_route_is_404(world):
    reply = world.call("GET", "/v1/nothing-here")
    assert reply.status == 404
    assert reply.error_code == "not_found"


def test_unknown_api_key_is_401_and_missing_credentials_401(world):
    _envelope(world.call("GET", f"/v1/merchants/{world.merchant_id}/program",
                         headers={"Authorization": "Bearer bw_owner_forged"}), 401, "unauthorized")
    _envelope(world.call("GET", f"/v1/merchants/{world.merchant_id}/program"), 401, "unauthorized")
    _envelope(world.call("POST", "/v1/scans", {"counterCode": world.counter_code()}), 401, "unauthorized")


@pytest.mark.parametrize("token", ["garbage", "mem_abc.short", "mem_nosuchmember.aaaaaaaaaaaaaaaaaaaaaaaa"])
def test_bad_member_token_is_401(world, token):
    _envelope(world.call("GET", "/v1/me", headers={"X-Member-Token": token}), 401, "invalid_member_token")


def test_right_member_wrong_secret_is_401(world):
    member = world.enroll()
    forged = member.token.split(".")[0] + ".AAAAAAAAAAAAAAAAAAAAAAAA"
    _envelope(world.call("GET", "/v1/me", headers={"X-Member-Token": forged}), 401, "invalid_member_token")


def test_invalid_program_is_422_and_the_old_one_stays(world):
    bad = dict(world.program, stampCard=None, points=None)
    reply = world.call("PUT", f"/v1/merchants/{world.merchant_id}/program", bad, world.owner)
    _envelope(reply, 422, "validation_error")
    assert world.call("GET", f"/v1/merchants/{world.merchant_id}/program", headers=world.owner).json == world.program


def test_same_idempotency_key_replays_the_reply_without_doing_the_work_again(world):
    member = world.enroll()
    body = {"counterCode": world.counter_code()}
    headers = {"X-Member-Token": member.token, "Idempotency-Key": str(uuid.uuid4())}
    first = world.call("POST", "/v1/scans", body, headers)
    replay = world.call("POST", "/v1/scans", body, headers)
    assert first.status == replay.status == 200
    assert first.raw == replay.raw
    profile = world.profile(member)
    assert profile["visitCount"] == 1
    assert len(profile["ledger"]) == 1


def test_same_key_with_another_body_is_422(world):
    member = world.enroll()
    world.staff_scan(member, amount=20_000, receipt_id="r")
    headers = {"X-Member-Token": member.token, "Idempotency-Key": "claim-1"}
    first = world.call("POST", "/v1/me/rewards", {"rewardId": "cake"}, headers)
    replay = world.call("POST", "/v1/me/rewards", {"rewardId": "cake"}, headers)
    other = world.call("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, headers)
    assert first.status == replay.status == 201
    assert first.raw == replay.raw
    _envelope(other, 422, "idempotency_key_reused")
    assert len(world.card(member)["rewards"]) == 1


def test_idempotency_keys_are_scoped_to_the_caller(world):
    ala, ola = world.enroll(), world.enroll()
    for member in (ala, ola):
        world.staff_scan(member, amount=20_000, receipt_id=f"r-{member.member_id}")
    headers = lambda m: {"X-Member-Token": m.token, "Idempotency-Key": "same"}  # noqa: E731
    a = world.call("POST", "/v1/me/rewards", {"rewardId": "cake"}, headers(ala))
    b = world.call("POST", "/v1/me/rewards", {"rewardId": "cake"}, headers(ola))
    assert a.status == b.status == 201
    assert a.json["code"] != b.json["code"]


def test_too_long_idempotency_key_is_422(world):
    member = world.enroll()
    reply = world.call("POST", "/v1/scans", {"counterCode": world.counter_code()},
                       {"X-Member-Token": member.token, "Idempotency-Key": "k" * 256})
    _envelope(reply, 422, "validation_error")
    assert world.profile(member)["visitCount"] == 0


def test_a_forged_token_never_receives_another_members_replay(world):
    member = world.enroll()
    body = {"counterCode": world.counter_code()}
    first = world.call("POST", "/v1/scans", body, {"X-Member-Token": member.token, "Idempotency-Key": "visit"})
    assert first.status == 200
    forged = member.token.split(".")[0] + ".AAAAAAAAAAAAAAAAAAAAAAAA"
    replay = world.call("POST", "/v1/scans", body, {"X-Member-Token": forged, "Idempotency-Key": "visit"})
    assert (replay.status, replay.error_code) == (401, "invalid_member_token")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/xml"])
def test_bodies_that_are_not_json_are_415(world, content_type):
    reply = world.call("POST", f"/v1/merchants/{world.merchant_id}/locations", '{"name": "Annex"}',
                       {**world.owner, "Content-Type": content_type})
    _envelope(reply, 415, "unsupported_media_type")


def test_json_content_type_is_case_insensitive(world):
    reply = world.call("POST", f"/v1/merchants/{world.merchant_id}/locations", {"name": "Annex"},
                       {**world.owner, "Content-Type": "Application/JSON; charset=UTF-8"})
    assert reply.status == 201, reply.raw


@pytest.mark.parametrize("raw", [
    b'{"name": "\xff\xfe"}',                       # not UTF-8
    b"[" * 5000 + b"]" * 5000,                      # absurd nesting
    b'{"name": ' + b"9" * 5000 + b"}",              # a number Python refuses to parse
])
def test_undecodable_bodies_are_400(world, raw):
    reply = world.call("POST", f"/v1/merchants/{world.merchant_id}/locations", raw, world.owner)
    _envelope(reply, 400, "malformed_request")


@pytest.mark.parametrize("body", [[{"name": "Annex"}], "Annex", 42, None])
def test_a_body_must_be_one_json_object(world, body):
    import json

    reply = world.call("POST", f"/v1/merchants/{world.merchant_id}/locations", json.dumps(body), world.owner)
    _envelope(reply, 422, "validation_error")
    names = [loc["name"] for loc in world.call("GET", f"/v1/merchants/{world.merchant_id}/locations",
                                                headers=world.owner).json["locations"]]
    assert "Annex" not in names


def test_unknown_credentials_are_401_before_any_validation(world):
    reply = world.call("POST", f"/v1/merchants/{world.merchant_id}/locations", {"name": ""},
                       {"Authorization": "Bearer bw_owner_forged"})
    _envelope(reply, 401, "unauthorized")


def test_merchant_keys_on_member_routes_are_403(world):
    reply = world.call("GET", "/v1/me", headers=world.owner)
    _envelope(reply, 403, "forbidden")


def test_anonymous_callers_need_an_unguessable_idempotency_key(world):
    body = {"phone": "+48600999111"}
    weak = world.call("POST", f"/v1/merchants/{world.merchant_id}/members", body, {"Idempotency-Key": "1"})
    _envelope(weak, 422, "validation_error")
    strong = {"Idempotency-Key": str(uuid.uuid4())}
    first = world.call("POST", f"/v1/merchants/{world.merchant_id}/members", body, strong)
    retry = world.call("POST", f"/v1/merchants/{world.merchant_id}/members", body, strong)
    assert first.status == retry.status == 201
    assert first.raw == retry.raw  # the phone that lost the first reply gets its card token back


@pytest.mark.parametrize("body", [
    {"amount": True}, {"amount": "100"}, {"amount": 10.0},
    {"items": [{"sku": "x", "amount": 100_000_000}, {"sku": "y", "amount": 1}]},
])
def test_bills_must_be_honest_integers_within_bounds(world, body):
    member = world.enroll()
    reply = world.call("POST", "/v1/scans", {"memberId": member.member_id, "locationId": world.locations[0], **body},
                       world.staff)
    _envelope(reply, 422, "validation_error")
    assert world.profile(member)["visitCount"] == 0
