"""The hourly job returns the points of rewards nobody redeemed in time, reading only members who hold one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from infra.local.lambda_runtime import LambdaContext


def test_hourly_job_expires_unredeemed_rewards_and_returns_their_points(world, runtime, monkeypatch):
    from loyalty.services import clock

    holder, bystander = world.enroll(), world.enroll()
    world.staff_scan(holder, amount=20_000, receipt_id="r-holder")
    world.staff_scan(bystander, amount=1_000, receipt_id="r-bystander")
    claim = world.call("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, holder.headers).json
    assert world.profile(holder)["points"]["balance"] == 130

    later = clock.now() + timedelta(days=30, minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    result = runtime.invoke("RewardExpiryFunction", {})

    assert result["expired"] >= 1
    assert result["complete"] is True
    profile = world.profile(holder)
    assert profile["points"]["balance"] == 230
    assert [r["status"] for r in profile["rewards"]] == ["expired"]
    assert profile["ledger"][0]["kind"] == "reward_expired"
    assert profile["ledger"][0]["points"] == 100
    redeem = world.call("POST", "/v1/redemptions", {"code": claim["code"]}, world.staff)
    assert (redeem.status, redeem.error_code) == (409, "reward_expired")

    again = runtime.invoke("RewardExpiryFunction", {})
    assert world.profile(holder)["points"]["balance"] == 230  # a second run changes nothing
    assert again["expired"] == 0


def _members_holding_due_rewards(world, count: int, points: int = 40) -> list[str]:
    """A fast path (batched writes): members each holding one claimed reward that expired an hour ago, with the
    ledger entries that earned and locked its points, indexed as the store indexes them."""
    from loyalty.domain import ids
    from loyalty.domain.model import VOUCHER_ISSUED, LedgerEntry, LedgerLine, Member, Voucher
    from loyalty.services import clock
    from loyalty.store import keys
    from loyalty.store import members as store
    from loyalty.store.models import LoyaltyItem

    now = clock.now()
    member_ids = []
    with LoyaltyItem.batch_write() as batch:
        for _ in range(count):
            member_id = ids.new_id("mem")
            voucher = Voucher(ids.new_id("rwd"), "cake", "Slice of cake", ids.new_reward_code(), VOUCHER_ISSUED,
                              points, now - timedelta(days=31), now - timedelta(hours=1), "points")
            member = Member(member_id, world.merchant_id, "x" * 64, lifetime_points=points, created_at=now,
                            vouchers={voucher.issued_reward_id: voucher})
            item = store._to_item(member)
            item.gsi1pk, item.gsi1sk = keys.voucher_expiry_index(member_id, store._iso(voucher.expires_at))
            batch.save(item)
            for entry in (
                LedgerEntry(ids.new_id("led"), member_id, world.merchant_id, now - timedelta(days=32), "scan",
                            points, 0, (LedgerLine("visit", points, 0, "Visit"),)),
                LedgerEntry(ids.new_id("led"), member_id, world.merchant_id, now - timedelta(days=31), "claim",
                            -points, 0, (LedgerLine("claim", -points, 0, "Claimed Slice of cake"),)),
            ):
                batch.save(store._ledger_item(entry))
            member_ids.append(member_id)
    return member_ids


def _balances(member_ids: list[str]) -> list[int]:
    from loyalty.store import members as store

    return [store.get_member(member_id).balance for member_id in member_ids]


class _Deadline(LambdaContext):
    """A Lambda context whose remaining time runs out after ``checks`` looks at the clock."""

    def __init__(self, runtime, checks: int) -> None:
        from infra.template import functions

        super().__init__(functions(runtime.template)["RewardExpiryFunction"], runtime.region)
        self.checks = checks

    def get_remaining_time_in_millis(self) -> int:
        self.checks -= 1
        return 300_000 if self.checks >= 0 else 1_000


@pytest.mark.timeout(900)  # about 2,000 DynamoDB requests; the embedded one is slow on a busy machine
def test_one_run_expires_a_thousand_due_rewards(world, runtime):
    member_ids = _members_holding_due_rewards(world, 1_000)
    assert set(_balances(member_ids)) == {0}

    result = runtime.invoke("RewardExpiryFunction", {})

    assert result["complete"] is True
    assert result["expired"] >= 1_000  # other tests' leftovers may be due too
    assert result["pages"] >= 1_000 // 100
    assert set(_balances(member_ids)) == {40}


def test_a_run_out_of_time_stops_cleanly_and_the_next_run_finishes(world, runtime):
    from loyalty.store import members as store

    member_ids = _members_holding_due_rewards(world, 30)
    handler = runtime.load_module("RewardExpiryFunction").lambda_handler

    first = handler({}, _Deadline(runtime, checks=12))

    assert first["complete"] is False
    assert 0 < first["expired"] < 30
    balances = _balances(member_ids)
    assert set(balances) == {0, 40}  # each member settled wholly or not at all
    for member_id in member_ids:
        member = store.get_member(member_id)
        assert member.balance == sum(entry.points for entry in store.full_ledger(member_id))

    second = runtime.invoke("RewardExpiryFunction", {})

    assert second["complete"] is True
    assert second["expired"] >= 30 - first["expired"]
    assert set(_balances(member_ids)) == {40}
