"""The hourly job returns the points of rewards nobody redeemed in time, reading only members who hold one."""

from __future__ import annotations

from datetime import timedelta


def test_hourly_job_expires_unredeemed_rewards_and_returns_their_points(world, runtime, monkeypatch):
    from loyalty.services import clock

    holder, bystander = world.enroll(), world.enroll()
    world.staff_scan(holder, amount=20_000, receipt_id="r-holder")
    world.staff_scan(bystander, amount=1_000, receipt_id="r-bystander")
    claim = world.call("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, holder.headers).json
    assert world.profile(holder)["points"]["balance"] == 130

    later = clock.now() + timedelta(days=30, minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    result = runtime.invoke("CampaignsFunction", {"task": "expire-rewards"})

    assert result["task"] == "expire-rewards"
    assert result["vouchersExpired"] >= 1
    profile = world.profile(holder)
    assert profile["points"]["balance"] == 230
    assert [r["status"] for r in profile["rewards"]] == ["expired"]
    assert profile["ledger"][0]["kind"] == "reward_expired"
    assert profile["ledger"][0]["points"] == 100
    redeem = world.call("POST", "/v1/redemptions", {"code": claim["code"]}, world.staff)
    assert (redeem.status, redeem.error_code) == (409, "reward_expired")

    again = runtime.invoke("CampaignsFunction", {"task": "expire-rewards"})
    assert world.profile(holder)["points"]["balance"] == 230  # a second run changes nothing
    assert again["vouchersExpired"] == 0


def test_unknown_task_is_refused(runtime):
    import pytest

    with pytest.raises(ValueError, match="Unknown task"):
        runtime.invoke("CampaignsFunction", {"task": "delete-everything"})
