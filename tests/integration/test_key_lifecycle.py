"""Owners list and revoke their keys; the administrator replaces an owner key; revoked keys stop at once."""

from __future__ import annotations

from tests.support.world import ADMIN_TOKEN, bearer


def _keys(world) -> dict:
    reply = world.call("GET", f"/v1/merchants/{world.merchant_id}/api-keys", headers=world.owner)
    assert reply.status == 200, reply.raw
    return reply.json


def _new_staff_key(world, location_index: int = 0) -> dict:
    reply = world.call("POST", f"/v1/merchants/{world.merchant_id}/api-keys",
                       {"role": "staff", "locationIds": [world.locations[location_index]]}, world.owner)
    assert reply.status == 201, reply.raw
    return reply.json


def test_owner_lists_its_keys_without_secrets(world):
    extra = _new_staff_key(world, 1)

    listed = _keys(world)["apiKeys"]

    assert [key["role"] for key in listed] == ["owner", "staff", "staff"]
    assert listed[-1] == {"apiKeyId": extra["apiKeyId"], "role": "staff", "locationIds": [world.locations[1]],
                          "createdAt": listed[-1]["createdAt"], "lastUsedAt": None}
    assert listed[0]["lastUsedAt"] is not None  # the owner key has just been used
    text = str(listed)
    assert world.owner_key not in text and world.staff_key not in text and extra["apiKey"] not in text
    from loyalty.domain.tokens import hash_secret

    assert hash_secret(world.staff_key) not in text


def test_last_used_is_stamped_when_a_key_is_used_not_on_every_request(world):
    extra = _new_staff_key(world)
    assert next(k for k in _keys(world)["apiKeys"] if k["apiKeyId"] == extra["apiKeyId"])["lastUsedAt"] is None
    member = world.enroll()

    assert world.staff_scan(member, amount=100, headers=bearer(extra["apiKey"])).status == 200

    listed = next(k for k in _keys(world)["apiKeys"] if k["apiKeyId"] == extra["apiKeyId"])
    assert listed["lastUsedAt"] is not None


def test_a_revoked_key_stops_working_in_every_function_at_once(world, monkeypatch):
    import time

    from loyalty.domain.model import ApiKey
    from loyalty.settings import get_settings

    doomed = _new_staff_key(world)
    member = world.enroll()
    assert world.staff_scan(member, amount=100, headers=bearer(doomed["apiKey"])).status == 200  # cached now

    reply = world.call("DELETE", f"/v1/merchants/{world.merchant_id}/api-keys/{doomed['apiKeyId']}",
                       headers=world.owner)
    assert (reply.status, reply.raw) == (204, b"")

    # Another container still holds the key in its cache; it honours it for the key cache's few seconds at most.
    from loyalty.domain.tokens import hash_secret
    from loyalty.store import merchants as store

    stale = ApiKey(api_key_id=doomed["apiKeyId"], merchant_id=world.merchant_id, role="staff",
                   location_ids=(world.locations[0],))
    store._api_keys.put(hash_secret(doomed["apiKey"]), stale)
    assert world.call("GET", f"/v1/merchants/{world.merchant_id}/locations", headers=bearer(doomed["apiKey"])).status \
        == 200
    ttl = get_settings().api_key_cache_ttl_seconds
    assert ttl <= 5
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() + ttl + 0.1)
    for method, path, body in (
        ("POST", "/v1/scans", {"memberId": member.member_id, "locationId": world.locations[0], "amount": 100}),
        ("GET", f"/v1/merchants/{world.merchant_id}/locations", None),
        ("GET", f"/v1/merchants/{world.merchant_id}/members/{member.member_id}", None),
        ("POST", "/v1/redemptions", {"code": "NOSUCHCODE"}),
    ):
        refused = world.call(method, path, body, bearer(doomed["apiKey"]))
        assert (refused.status, refused.error_code) == (401, "unauthorized"), (method, path)
    assert doomed["apiKeyId"] not in str(_keys(world))
    assert world.staff_scan(member, amount=100).status == 200  # the other staff key still works


def test_revoking_an_unknown_or_foreign_key_is_404_and_the_owner_key_is_not_revocable(world, other_world):
    foreign = _keys(other_world)["apiKeys"][1]["apiKeyId"]
    for api_key_id in ("key_nosuchkey", foreign):
        reply = world.call("DELETE", f"/v1/merchants/{world.merchant_id}/api-keys/{api_key_id}", headers=world.owner)
        assert (reply.status, reply.error_code) == (404, "not_found")
    owner = _keys(world)["apiKeys"][0]
    reply = world.call("DELETE", f"/v1/merchants/{world.merchant_id}/api-keys/{owner['apiKeyId']}",
                       headers=world.owner)
    assert (reply.status, reply.error_code) == (409, "owner_key_not_revocable")
    staff = world.call("DELETE", f"/v1/merchants/{world.merchant_id}/api-keys/{owner['apiKeyId']}",
                       headers=world.staff)
    assert staff.status == 403
    assert len(_keys(other_world)["apiKeys"]) == 2


def test_the_administrator_replaces_the_owner_key_and_the_old_one_is_revoked(world):
    path = f"/v1/merchants/{world.merchant_id}/owner-key"
    assert world.call("POST", path, headers=world.owner).status == 403
    assert world.call("POST", "/v1/merchants/mch_nosuchmerchant/owner-key", headers=bearer(ADMIN_TOKEN)).status == 404

    reply = world.call("POST", path, headers=bearer(ADMIN_TOKEN))

    assert reply.status == 201, reply.raw
    new_key = reply.json["apiKey"]
    assert new_key.startswith("bw_owner_")
    old = world.call("GET", f"/v1/merchants/{world.merchant_id}/program", headers=world.owner)
    assert (old.status, old.error_code) == (401, "unauthorized")
    listed = world.call("GET", f"/v1/merchants/{world.merchant_id}/api-keys", headers=bearer(new_key)).json
    assert [(k["apiKeyId"], k["role"]) for k in listed["apiKeys"] if k["role"] == "owner"] == [
        (reply.json["apiKeyId"], "owner")]
    assert world.staff_scan(world.enroll(), amount=100).status == 200  # staff keys are untouched


def test_a_staff_scan_stays_within_three_round_trips_when_its_key_and_merchant_are_re_read(world, monkeypatch):
    """Keys are re-read every few seconds; the re-read brings the merchant along, so no scan pays for both."""
    import os
    import time

    import boto3

    from infra.dynamodb_meter import Meter

    meter = Meter(lambda: boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"]))
    member = world.enroll()
    assert world.staff_scan(member, amount=100).status == 200  # the container is warm
    real, offset, shapes = time.monotonic, [0.0], []
    monkeypatch.setattr(time, "monotonic", lambda: real() + offset[0])
    meter.install()
    try:
        for _ in range(3):
            offset[0] += 31  # past the key cache's and the merchant cache's lifetimes
            with meter.capture() as captured:
                assert world.staff_scan(member, amount=100).status == 200
            shapes.append([call.shape for call in captured.calls])
    finally:
        meter.uninstall()

    assert all(len(calls) <= 3 for calls in shapes), shapes
    assert all(calls[0] == "TransactGetItems[APIKEY#*/APIKEY, MERCHANT#*/MERCHANT]" for calls in shapes), shapes


def test_concurrent_owner_key_replacements_leave_exactly_one_owner_key(world):
    import threading

    from loyalty.domain.access import ADMIN, Caller
    from loyalty.services import api_keys
    from loyalty.store import merchants as store

    admin = Caller(ADMIN, api_key_id="admin")
    issued, errors = [], []

    def replace() -> None:
        try:
            issued.append(api_keys.replace_owner_key(admin, world.merchant_id).wire())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=replace) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    owners = [key for key in store.list_api_keys(world.merchant_id) if key.role == "owner"]
    assert len(owners) == 1
    store.clear_caches()  # what any other container sees after the key cache's few seconds
    working = [reply for reply in issued if world.call("GET", f"/v1/merchants/{world.merchant_id}/program",
                                                       headers=bearer(reply["apiKey"])).status == 200]
    assert [reply["apiKeyId"] for reply in working] == [owners[0].api_key_id]
    assert world.call("GET", f"/v1/merchants/{world.merchant_id}/program", headers=world.owner).status == 401
