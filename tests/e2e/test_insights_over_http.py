"""Insights over real HTTP against the local server: the table's stream reaches the rollups in the background
(and at once on `POST /_local/schedules/run`), so a scan shows in the owner's figures within seconds."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.e2e


def _insights(shop, **query) -> dict:
    params = "&".join(f"{name}={value}" for name, value in query.items())
    reply = shop.call("GET", f"/v1/merchants/{shop.merchant_id}/insights{'?' + params if params else ''}",
                      headers=shop.owner)
    assert reply.status == 200, reply.raw
    return reply.json


def test_a_scan_shows_in_the_insights_after_a_drain(http, shop):
    member = shop.enroll()
    assert shop.staff_scan(member, amount=1_250, receipt_id="r-insights-1").status == 200
    assert http.request("POST", "/_local/schedules/run").status == 200

    figures = _insights(shop)
    assert figures["members"]["total"] == 1
    assert figures["members"]["new"] == 1
    assert figures["visits"]["count"] == 1
    assert figures["spend"] == {"total": 1_250, "averageBasket": 1_250}
    assert figures["members"]["active30"] == figures["members"]["active90"] == 1
    # 10 per visit, 12 for the spend, 20 welcome: all still on the card.
    assert figures["points"]["issued"] == figures["points"]["outstanding"] == 42
    here = {entry["locationId"]: entry for entry in figures["byLocation"]}
    assert here[shop.locations[0]] == {"locationId": shop.locations[0], "visits": 1, "spend": 1_250}
    assert here[shop.locations[1]]["visits"] == 0


def test_the_background_stream_reader_brings_a_scan_within_seconds(shop):
    member = shop.enroll()
    assert shop.scan(member).status == 200
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _insights(shop)["visits"]["count"] == 1:
            break
        time.sleep(0.5)
    figures = _insights(shop, locationId=shop.locations[0])
    assert figures["visits"]["count"] == 1
    assert figures["locationId"] == shop.locations[0]


def test_bad_ranges_are_refused_over_http(shop):
    path = f"/v1/merchants/{shop.merchant_id}/insights"
    for query in ("from=2026-05-02&to=2026-05-01", "from=2024-01-01&to=2026-01-02", "from=2026-13-01"):
        reply = shop.call("GET", f"{path}?{query}", headers=shop.owner)
        assert reply.status == 422, (query, reply.raw)
        assert reply.json["error"]["code"] == "validation_error"
    assert shop.call("GET", f"{path}?locationId=loc_nope", headers=shop.owner).status == 404
