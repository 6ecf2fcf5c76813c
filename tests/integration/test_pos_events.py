"""POS events through the handlers: POS keys, signatures over the raw body, sales, refunds, replays, races.

Round trips are DynamoDB requests counted by the benchmark's meter with the merchant and the keys already
in the container's cache (a warm function)."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from tests.support.pos import open_till, signature
from tests.support.world import bearer

# 10 points a visit, 1 point per whole currency unit spent: a sale of 25.00 earns 25 reversible points.
SALE = 2500


def _metered(meter, action):
    with meter.capture() as captured:
        reply = action()
    return reply, [call.operation for call in captured.calls]


@pytest.fixture
def till(world):
    return open_till(world)


# --- keys ------------------------------------------------------------------------------------------------

def test_a_pos_key_is_shown_once_listed_like_staff_keys_and_revoked_within_seconds(world, till):
    assert till.api_key.startswith("bw_pos_") and till.signing_secret
    listed = world.call("GET", f"/v1/merchants/{world.merchant_id}/api-keys", headers=world.owner).json["apiKeys"]
    (pos_key,) = [key for key in listed if key["apiKeyId"] == till.api_key_id]
    assert (pos_key["role"], pos_key["locationIds"]) == ("pos", till.location_ids)
    assert till.api_key not in json.dumps(listed) and till.signing_secret not in json.dumps(listed)
    member = world.enroll()
    assert till.sale(member, amount=100).status == 200

    revoked = world.call("DELETE", f"/v1/merchants/{world.merchant_id}/api-keys/{till.api_key_id}",
                         headers=world.owner)
    assert revoked.status == 204
    refused = till.sale(member, amount=100)
    assert (refused.status, refused.error_code) == (401, "unauthorized")


def test_only_the_owner_creates_pos_keys_and_only_for_its_locations(world):
    body = {"role": "pos", "locationIds": [world.locations[0]]}
    path = f"/v1/merchants/{world.merchant_id}/api-keys"
    assert world.call("POST", path, body, world.staff).status == 403
    unknown = world.call("POST", path, {"role": "pos", "locationIds": ["loc_nowhere"]}, world.owner)
    assert (unknown.status, unknown.error_code) == (422, "validation_error")


def test_a_pos_key_on_any_other_route_is_403(world, till):
    member = world.enroll()
    for method, path, body in (
            ("GET", f"/v1/merchants/{world.merchant_id}/locations", None),
            ("POST", "/v1/scans", {"memberId": member.member_id, "locationId": world.locations[0], "amount": 100}),
            ("GET", f"/v1/merchants/{world.merchant_id}/members/{member.member_id}", None),
            ("GET", "/v1/me", None),
            ("POST", f"/v1/merchants/{world.merchant_id}/members", {"phone": "+48600999111",
                                                                   "consent": {"sms": False, "email": False}})):
        raw = json.dumps(body).encode() if body is not None else b""
        headers = {**bearer(till.api_key), "Bywalec-Signature": signature(till.signing_secret, int(time.time()), raw)}
        reply = world.call(method, path, raw or None, headers)
        assert (reply.status, reply.error_code) == (403, "forbidden"), (method, path, reply.raw)
    assert world.profile(member)["visitCount"] == 0


def test_staff_and_owner_keys_and_no_key_cannot_post_pos_events(world, till):
    event = json.dumps({"type": "refund", "eventId": "e1", "receiptId": "r1", "refundId": "f1", "amount": 1}).encode()
    path = till.path
    assert world.call("POST", path, event, world.staff).status == 403
    assert world.call("POST", path, event, world.owner).status == 403
    anonymous = world.call("POST", path, event, {"Bywalec-Signature": signature(till.signing_secret,
                                                                                 int(time.time()), event)})
    assert (anonymous.status, anonymous.error_code) == (401, "unauthorized")


# --- signatures ------------------------------------------------------------------------------------------

def _event(member) -> dict:
    return {"type": "sale", "eventId": f"evt-{uuid.uuid4().hex}", "locationId": "will-be-set",
            "receiptId": f"rcp-{uuid.uuid4().hex}", "member": {"memberId": member.member_id}, "amount": SALE}


def test_a_bad_stale_or_missing_signature_is_401_and_counts_nothing(world, till):
    member = world.enroll()
    event = {**_event(member), "locationId": world.locations[0]}
    compact = json.dumps(event, separators=(",", ":")).encode()
    now = time.time()
    refusals = {
        "wrong secret": till.send(event, secret="whsec-of-someone-else"),
        # Well past the 300 s either way (the exact bounds are unit-tested): a slow machine must not pass them.
        "stale t": till.send(event, at=now - 360),
        "t from the future": till.send(event, at=now + 360),
        "missing header": world.call("POST", till.path, compact, bearer(till.api_key)),
        "malformed header": world.call("POST", till.path, compact, {**bearer(till.api_key),
                                                                    "Bywalec-Signature": "sha256=abc"}),
        "t changed after signing": world.call("POST", till.path, compact, {
            **bearer(till.api_key),
            "Bywalec-Signature": signature(till.signing_secret, int(now), compact).replace(
                f"t={int(now)}", f"t={int(now) + 1}")}),
        # Signed over the same JSON serialised differently: the MAC covers the bytes as sent.
        "re-serialised body": world.call("POST", till.path, json.dumps(event, indent=1).encode(), {
            **bearer(till.api_key), "Bywalec-Signature": signature(till.signing_secret, int(now), compact)}),
    }
    for why, reply in refusals.items():
        assert (reply.status, reply.error_code) == (401, "invalid_signature"), (why, reply.raw)
    assert world.profile(member)["visitCount"] == 0

    spaced = json.dumps(event, indent=2).encode()  # any bytes the till likes, signed as sent
    assert till.send(event, raw=spaced, at=time.time() - 240).status == 200
    assert world.profile(member)["visitCount"] == 1


def test_the_signature_is_checked_before_the_body(world, till):
    nonsense = {"type": "sale", "amount": "lots"}
    unsigned = till.send(nonsense, secret="not-the-secret")
    assert (unsigned.status, unsigned.error_code) == (401, "invalid_signature")
    signed = till.send(nonsense)
    assert (signed.status, signed.error_code) == (422, "validation_error")
    unknown_type = till.send({"type": "void", "eventId": "e"})
    assert (unknown_type.status, unknown_type.error_code) == (422, "validation_error")
    two_members = till.send({**_event(world.enroll()), "locationId": world.locations[0],
                             "member": {"memberId": "mem_x", "phone": "+48600100200"}})
    assert (two_members.status, two_members.error_code) == (422, "validation_error")


# --- sales -----------------------------------------------------------------------------------------------

def test_a_sale_is_the_staff_scan_and_a_resent_event_is_the_same_reply(world, till, meter):
    member = world.enroll()
    world.card(member)
    till.sale(member, amount=100)  # warms the POS key and the merchant
    event = {**_event(member), "locationId": world.locations[0], "occurredAt": "2026-11-23T10:00:00Z",
             "items": [{"sku": "LATTE-L", "category": "coffee", "quantity": 1, "amount": SALE}]}
    first, calls = _metered(meter, lambda: till.send(event))
    assert first.status == 200, first.raw
    assert calls == ["BatchGetItem", "TransactWriteItems"]
    reply = first.json
    assert [(line["kind"], line["points"]) for line in reply["awarded"]["lines"]] == [("spend", 25)]  # in cooldown
    assert reply["locationId"] == world.locations[0] and reply["memberId"] == member.member_id

    again, calls = _metered(meter, lambda: till.send(event))
    assert (again.status, again.raw, calls) == (200, first.raw, ["BatchGetItem"])
    assert world.profile(member)["totalSpend"] == 100 + SALE

    moved = till.send({**event, "amount": SALE + 1})
    assert (moved.status, moved.error_code) == (422, "idempotency_key_reused")


def test_a_sale_finds_the_member_by_phone_or_card_and_a_receipt_counts_once(world, till, meter):
    member = world.enroll()
    till.sale(member, amount=100)
    by_phone, calls = _metered(meter, lambda: till.sale(who={"phone": member.phone.replace("+48", "+48 ")},
                                                        amount=SALE, receipt_id="till-1-0001"))
    assert by_phone.status == 200, by_phone.raw
    assert by_phone.json["memberId"] == member.member_id
    assert calls == ["GetItem", "BatchGetItem", "TransactWriteItems"]  # the phone's guard, member, the sale

    by_card = till.sale(who={"memberToken": member.token}, amount=SALE, receipt_id="till-1-0002")
    assert (by_card.status, by_card.json["memberId"]) == (200, member.member_id)

    counted = till.sale(member, amount=SALE, receipt_id="till-1-0001")
    assert (counted.status, counted.error_code) == (409, "receipt_already_counted")
    stranger = till.sale(who={"phone": "+48600999000"}, amount=SALE)
    assert (stranger.status, stranger.error_code) == (404, "not_found")
    assert world.profile(member)["totalSpend"] == 100 + 2 * SALE


def test_the_keys_locations_scope_the_sale(world, till):
    member = world.enroll()
    outside = till.sale(member, amount=SALE, location_id=world.locations[1])
    assert (outside.status, outside.error_code) == (403, "forbidden")
    nowhere = till.sale(member, amount=SALE, location_id="loc_nowhere")
    assert (nowhere.status, nowhere.error_code) == (404, "not_found")


def test_merchants_never_share_event_ids_receipts_or_members(world, other_world, till):
    other_till = open_till(other_world)
    mine, theirs = world.enroll(), other_world.enroll()
    assert till.sale(mine, amount=SALE, event_id="evt-1", receipt_id="r-1").status == 200
    assert other_till.sale(theirs, amount=SALE, event_id="evt-1", receipt_id="r-1").status == 200
    assert other_world.profile(theirs)["totalSpend"] == SALE
    assert till.sale(theirs, amount=SALE).status == 404  # another merchant's member does not exist here
    assert till.refund("r-1", 100).status == 200
    assert other_world.profile(theirs)["visitCount"] == 1
    elsewhere = till.send({"type": "refund", "eventId": "e", "receiptId": "r-1", "refundId": "f", "amount": 1},
                          path=f"/v1/merchants/{other_world.merchant_id}/pos/events")
    assert elsewhere.status == 404


# --- refunds ---------------------------------------------------------------------------------------------

def _sold(world, till, amount=SALE):
    member = world.enroll()
    receipt_id = f"rcp-{uuid.uuid4().hex}"
    sale = till.sale(member, amount=amount, receipt_id=receipt_id)
    assert sale.status == 200, sale.raw
    return member, receipt_id, sale.json


def test_refunds_reverse_the_refunded_share_of_the_sales_points_and_keep_the_visit(world, till, meter):
    member, receipt_id, sale = _sold(world, till)
    assert [(line["kind"], line["points"]) for line in sale["awarded"]["lines"]] == [
        ("visit", 10), ("spend", 25), ("welcome", 20)]  # only the spend is reversible
    card = world.card(member)
    balance, stamps = card["points"]["balance"], card["stamps"]["count"]

    first, calls = _metered(meter, lambda: till.refund(receipt_id, 1000, refund_id="rf-1"))
    assert first.status == 200, first.raw
    assert calls == ["BatchGetItem", "GetItem", "TransactWriteItems"]  # the receipt with the event, member, write
    assert first.json == {"refundId": "rf-1", "pointsReversed": 10, "balance": balance - 10}

    rest = till.refund(receipt_id, SALE - 1000)
    assert rest.json["pointsReversed"] == 15 and rest.json["balance"] == balance - 25
    over = till.refund(receipt_id, 1)
    assert (over.status, over.error_code) == (422, "refund_too_large")

    card = world.card(member)
    assert (card["points"]["balance"], card["stamps"]["count"]) == (balance - 25, stamps)  # the visit stays
    refund_lines = [entry for entry in world.profile(member)["ledger"] if entry["kind"] == "refund"]
    assert [entry["points"] for entry in refund_lines] == [-15, -10]
    assert refund_lines[-1]["lines"][0]["label"] == "Refund 10.00 PLN"


def test_any_split_of_a_full_refund_reverses_exactly_the_sales_points(world, till):
    _, receipt_id, _ = _sold(world, till, amount=1000)  # 10 reversible points
    reversed_ = [till.refund(receipt_id, part).json["pointsReversed"] for part in (333, 333, 334)]
    assert reversed_ == [3, 3, 4]


def test_the_same_refund_or_event_again_is_the_first_reply_and_reverses_nothing_more(world, till, meter):
    member, receipt_id, _ = _sold(world, till)
    event = {"type": "refund", "eventId": "evt-refund-1", "receiptId": receipt_id, "refundId": "rf-1", "amount": 500}
    first = till.send(event)
    assert first.status == 200, first.raw
    replayed, calls = _metered(meter, lambda: till.send(event))
    assert (replayed.raw, calls) == (first.raw, ["BatchGetItem"])
    resent = till.send({**event, "eventId": "evt-refund-2"})  # the till lost the reply and sends a new event
    assert (resent.status, resent.json) == (200, first.json)
    assert world.card(member)["points"]["balance"] == first.json["balance"]
    assert len([e for e in world.profile(member)["ledger"] if e["kind"] == "refund"]) == 1


def test_a_refund_of_an_unknown_receipt_or_bad_amount_is_refused(world, till):
    missing = till.refund("never-sold", 100)
    assert (missing.status, missing.error_code) == (404, "not_found")
    _, receipt_id, _ = _sold(world, till)
    for amount in (0, -5):
        reply = till.refund(receipt_id, amount)
        assert (reply.status, reply.error_code) == (422, "validation_error")
    too_much = till.refund(receipt_id, SALE + 1)
    assert (too_much.status, too_much.error_code) == (422, "refund_too_large")


def test_a_refund_may_leave_a_negative_balance_which_blocks_claims(world, till):
    member, receipt_id, _ = _sold(world, till, amount=10_000)  # 20 welcome + 10 visit + 100 spend
    claim = world.call("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, member.headers)
    assert claim.status == 201, claim.raw
    refund = till.refund(receipt_id, 10_000)
    assert refund.json == {"refundId": refund.json["refundId"], "pointsReversed": 100, "balance": -70}
    blocked = world.call("POST", "/v1/me/rewards", {"rewardId": "cake"}, member.headers)
    assert (blocked.status, blocked.error_code) == (409, "insufficient_balance")


def test_concurrent_refunds_of_one_receipt_are_never_over_refunded(world, till):
    from loyalty.domain.access import POS, Caller
    from loyalty.domain.errors import RefundTooLarge
    from loyalty.requests.pos import RefundEvent
    from loyalty.services import pos

    member, receipt_id, _ = _sold(world, till, amount=10_000)
    caller = Caller(POS, world.merchant_id, tuple(till.location_ids), till.api_key_id)
    balance = world.card(member)["points"]["balance"]

    def race(amounts: list[int]) -> list[object]:
        start, results = threading.Barrier(len(amounts)), [None] * len(amounts)

        def refund(index: int, amount: int) -> None:
            event = RefundEvent(type="refund", event_id=uuid.uuid4().hex, receipt_id=receipt_id,
                                refund_id=f"rf-{uuid.uuid4().hex}", amount=amount)
            start.wait()
            try:
                results[index] = pos.record_refund(caller, world.merchant_id, event, None)
            except RefundTooLarge as refused:
                results[index] = refused

        threads = [threading.Thread(target=refund, args=(i, amount)) for i, amount in enumerate(amounts)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        return results

    both = race([3000, 3000])  # both fit: both counted, each on the other's totals
    assert sorted(result.points_reversed for result in both) == [30, 30]
    one = race([3000, 3000, 3000])  # 4000 remain: only one fits
    assert len([r for r in one if isinstance(r, RefundTooLarge)]) == 2
    assert world.card(member)["points"]["balance"] == balance - 90
    rest = till.refund(receipt_id, 1000)
    assert rest.json["pointsReversed"] == 10
    assert till.refund(receipt_id, 1).status == 422
