"""A till over real HTTP: a POS key, a signed sale, a partial refund, a resent event, and the server's clock
(the local clock offset applies to the signature's time window, as on AWS the real clock does)."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.support.pos import open_till

pytestmark = pytest.mark.e2e


def _server_now(http) -> float:
    return datetime.fromisoformat(http.request("GET", "/_local/clock").json["now"].replace("Z", "+00:00")).timestamp()


def test_a_till_reports_a_sale_and_a_refund_over_http(http, shop):
    till = open_till(shop)
    member = shop.enroll()
    now = _server_now(http)
    sale = {"type": "sale", "eventId": "till-7-evt-1", "locationId": shop.locations[0], "receiptId": "R-7-1",
            "member": {"phone": member.phone}, "amount": 4000}
    sold = till.send(sale, at=now)
    assert sold.status == 200, sold.raw
    assert [(line["kind"], line["points"]) for line in sold.json["awarded"]["lines"]] == [
        ("visit", 10), ("spend", 40), ("welcome", 20)]
    assert till.send(sale, at=now).raw == sold.raw  # the till resent it: nothing counted twice
    assert shop.profile(member)["visitCount"] == 1

    refund = {"type": "refund", "eventId": "till-7-evt-2", "receiptId": "R-7-1", "refundId": "RF-1", "amount": 1000}
    refunded = till.send(refund, at=now)
    assert refunded.status == 200, refunded.raw
    assert refunded.json == {"refundId": "RF-1", "pointsReversed": 10, "balance": sold.json["balance"] - 10}
    stale = till.send({**refund, "eventId": "till-7-evt-3"}, at=now - 600)
    assert (stale.status, stale.error_code) == (401, "invalid_signature")
    assert shop.card(member)["points"]["balance"] == sold.json["balance"] - 10
