"""A location added a moment ago works at once in every function, whatever their cached merchant says."""

from __future__ import annotations


def _stale_merchant_everywhere(world) -> None:
    """What a warm container of another function holds: the merchant as it was before the location existed."""
    import dataclasses

    from loyalty.store import merchants as store

    merchant = store.get_merchant(world.merchant_id, fresh=True)
    store._merchants.put(world.merchant_id, dataclasses.replace(merchant, locations={
        lid: loc for lid, loc in merchant.locations.items() if lid != world.locations[-1]}))


def test_a_new_locations_staff_scan_counter_code_and_redemption_work_at_once(world):
    added = world.call("POST", f"/v1/merchants/{world.merchant_id}/locations", {"name": "Harbour"}, world.owner)
    assert added.status == 201, added.raw
    world.locations.append(added.json["locationId"])
    key = world.call("POST", f"/v1/merchants/{world.merchant_id}/api-keys",
                     {"role": "staff", "locationIds": [world.locations[-1]]}, world.owner).json
    member = world.enroll()
    _stale_merchant_everywhere(world)

    staff_scan = world.call("POST", "/v1/scans", {"memberId": member.member_id, "locationId": world.locations[-1],
                                                  "amount": 20_000}, {"Authorization": f"Bearer {key['apiKey']}"})
    assert staff_scan.status == 200, staff_scan.raw
    assert staff_scan.json["locationId"] == world.locations[-1]

    _stale_merchant_everywhere(world)
    code = world.call("GET", f"/v1/merchants/{world.merchant_id}/locations/{world.locations[-1]}/counter-code",
                      headers=world.owner)
    assert code.status == 200, code.raw
    other = world.enroll()
    _stale_merchant_everywhere(world)
    member_scan = world.call("POST", "/v1/scans", {"counterCode": code.json["code"]}, other.headers)
    assert member_scan.status == 200, member_scan.raw

    _stale_merchant_everywhere(world)
    redeemed = world.call("POST", "/v1/redemptions", {"memberId": member.member_id, "rewardId": "cake",
                                                      "locationId": world.locations[-1]}, world.owner)
    assert redeemed.status == 200, redeemed.raw


def test_an_unknown_location_is_still_refused(world):
    member = world.enroll()
    reply = world.call("POST", "/v1/scans", {"memberId": member.member_id, "locationId": "loc_nosuchplace",
                                             "amount": 100}, world.owner)
    assert (reply.status, reply.error_code) == (404, "not_found")
