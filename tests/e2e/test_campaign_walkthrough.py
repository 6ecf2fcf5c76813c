"""A birthday campaign over real HTTP: create it, preview it, move the clock to its run, run the schedules,
and redeem the voucher it left on the member's card at the counter."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.e2e


def _at(iso: str) -> datetime:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_create_preview_run_and_redeem_a_birthday_campaign(http, shop):
    campaigns = f"/v1/merchants/{shop.merchant_id}/campaigns"
    body = {"name": "Birthday treat", "type": "birthday", "trigger": {"daysBefore": 7},
            "offer": {"rewardId": "cake", "validityDays": 14}, "channels": ["email", "sms"],
            "message": {"email": {"subject": "Happy birthday, {name}!", "body": "A {reward} on us. {unsubscribeLink}"},
                        "sms": {"body": "{merchant}: a {reward} on us until {expiresAt}. {cardLink}"}},
            "sendAt": "10:00"}
    created = shop.call("POST", campaigns, body, shop.owner)
    assert created.status == 201, created.raw
    campaign_id, run_at = created.json["campaignId"], _at(created.json["nextRunAt"])
    birthday = run_at.astimezone(ZoneInfo("Europe/Warsaw")).date() + timedelta(days=7)
    member = shop.enroll(name="Ola", birthday=birthday.replace(year=1990).isoformat())

    preview = shop.call("POST", f"{campaigns}/{campaign_id}/preview", None, shop.owner)
    assert preview.status == 200, preview.raw
    assert preview.json["audience"] == 1
    assert (preview.json["sample"]["channel"], preview.json["sample"]["to"]) == ("sms", member.phone)
    assert "Slice of cake" in preview.json["sample"]["body"]

    moved = http.request("POST", "/_local/clock", {"offsetSeconds": (run_at - datetime.now(UTC)).total_seconds()
                                                   + 60})
    assert moved.status == 200, moved.raw
    try:
        runs = http.request("POST", "/_local/schedules/run")
        assert runs.status == 200, runs.raw
        [tick] = [run for run in runs.json["runs"] if run["function"] == "CampaignsFunction"]
        assert tick["status"] == "succeeded", tick
        assert tick["result"]["reached"] >= 1

        [voucher] = [r for r in shop.profile(member)["rewards"] if r["source"] == "campaign"]
        redeemed = shop.call("POST", "/v1/redemptions", {"code": voucher["code"]}, shop.staff)
        assert redeemed.status == 200, redeemed.raw

        for _ in range(50):  # the run's figures: the redemption is counted on the run that issued the voucher
            [run] = shop.call("GET", f"{campaigns}/{campaign_id}/runs", headers=shop.owner).json["runs"]
            if run["redeemed"]:
                break
            time.sleep(0.1)
        assert (run["targeted"], run["offersIssued"], run["redeemed"]) == (1, 1, 1)
    finally:
        http.request("POST", "/_local/clock", {"offsetSeconds": 0})
