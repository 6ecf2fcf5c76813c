"""The local-only routes over real HTTP: moving the clock moves what members see, and the template's
schedules run on demand (the hourly reward expiry, against the shifted clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.e2e

DAY = 86400


@pytest.fixture
def clock(http):
    """Sets the local clock's offset over HTTP; real time again after the test."""

    def shift(seconds: int) -> dict:
        reply = http.request("POST", "/_local/clock", {"offsetSeconds": seconds})
        assert reply.status == 200, reply.raw
        return reply.json

    yield shift
    shift(0)


def _at(iso: str) -> datetime:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _close(value: datetime, expected: datetime) -> bool:
    return abs((value - expected).total_seconds()) < 120


def _run_schedules(http) -> dict:
    reply = http.request("POST", "/_local/schedules/run")
    assert reply.status == 200, reply.raw
    return {(run["function"], run["schedule"]): run for run in reply.json["runs"]}


def test_a_scan_and_a_reward_follow_the_shifted_clock(http, shop, clock):
    shown = clock(10 * DAY)
    later = datetime.now(UTC) + timedelta(days=10)
    assert shown["offsetSeconds"] == 10 * DAY
    assert _close(_at(shown["now"]), later)
    assert http.request("GET", "/_local/clock").json["offsetSeconds"] == 10 * DAY

    member = shop.enroll()
    assert shop.staff_scan(member, amount=20_000, receipt_id="r-shifted").status == 200
    claim = shop.call("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, member.headers)
    assert claim.status == 201, claim.raw

    profile = shop.profile(member)
    assert profile["ledger"], profile
    assert all(_close(_at(entry["at"]), later) for entry in profile["ledger"])
    (reward,) = profile["rewards"]
    assert _close(_at(reward["expiresAt"]), later + timedelta(days=30))


def test_schedules_run_fires_the_hourly_expiry_and_returns_its_result(http, shop):
    runs = _run_schedules(http)
    expiry = runs[("RewardExpiryFunction", "ExpireRewards")]
    assert expiry["status"] == "succeeded"
    assert set(expiry["result"]) >= {"expired", "membersChecked", "pages", "complete"}
    assert expiry["result"]["complete"] is True


def test_past_a_rewards_expiry_the_scheduled_job_expires_it(http, shop, clock):
    holder = shop.enroll()
    shop.staff_scan(holder, amount=20_000, receipt_id="r-expiring")
    claim = shop.call("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, holder.headers).json
    assert shop.profile(holder)["points"]["balance"] == 130

    # At real time the reward is still valid: the job leaves it alone.
    _run_schedules(http)
    assert [r["status"] for r in shop.profile(holder)["rewards"]] == ["issued"]

    clock(30 * DAY + 3600)
    expiry = _run_schedules(http)[("RewardExpiryFunction", "ExpireRewards")]
    assert expiry["status"] == "succeeded"
    assert expiry["result"]["expired"] >= 1
    profile = shop.profile(holder)
    assert [r["status"] for r in profile["rewards"]] == ["expired"]
    assert profile["points"]["balance"] == 230
    assert profile["ledger"][0]["kind"] == "reward_expired"
    redeem = shop.call("POST", "/v1/redemptions", {"code": claim["code"]}, shop.staff)
    assert (redeem.status, redeem.error_code) == (409, "reward_expired")


def test_local_routes_are_in_neither_the_template_nor_the_openapi_document(server):
    import json

    from infra.template import ROOT, http_routes

    assert {route.path for route in server.api.local_routes} == {"/_local/clock", "/_local/schedules/run",
                                                                 "/_local/outbox"}
    assert not [route for route in http_routes(server.runtime.template) if "_local" in route.path]
    document = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert not [path for path in document["paths"] if "_local" in path]
