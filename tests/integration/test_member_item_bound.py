"""A member item stays small whatever the history: a stamp card cannot pile up unused rewards without end."""

from __future__ import annotations

import os

import boto3

from infra.dynamodb_meter import item_size
from tests.support.world import DEFAULT_TEST_PROGRAM, create_world

MAX_OPEN_REWARDS = 20  # loyalty.domain.stamps; the package is imported inside tests, after the environment is set
# 20 open vouchers and 10 closed ones, at about 300 bytes each, plus the member's own fields.
MAX_MEMBER_ITEM_BYTES = 12 * 1024
TWO_STAMP_CARD = {**DEFAULT_TEST_PROGRAM, "stampCard": {"stampsRequired": 2, "rewardId": "free-coffee"},
                  "scanCooldownMinutes": 0}


def _stored_member_size(member_id: str) -> int:
    from loyalty.store import keys

    client = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    pk, sk = keys.member(member_id)
    item = client.get_item(TableName=os.environ["TABLE_NAME"], Key={"PK": {"S": pk}, "SK": {"S": sk}})["Item"]
    return item_size(item)


def test_four_hundred_scans_of_a_two_stamp_card_keep_the_member_item_small(handlers):
    from loyalty.store import members as store

    world = create_world(handlers, program=TWO_STAMP_CARD)
    member = world.enroll()
    for _ in range(400):
        assert world.staff_scan(member).status == 200

    card = world.card(member)
    assert len(card["rewards"]) == MAX_OPEN_REWARDS
    assert card["stamps"] == {"count": 2, "required": 2, "rewardName": "Free coffee", "full": True}
    assert card["message"] == "Your card is full: redeem your free coffee to keep collecting."
    assert _stored_member_size(member.member_id) < MAX_MEMBER_ITEM_BYTES
    record = store.get_member(member.member_id)
    ledger = store.full_ledger(member.member_id)
    assert record.balance == sum(entry.points for entry in ledger) == 20 + 400 * 10
    assert record.stamps == sum(entry.stamps for entry in ledger) == 2

    # Redeeming one reward makes room: the full card turns into a reward on the next visit, which starts a new card.
    redeemed = world.call("POST", "/v1/redemptions", {"code": card["rewards"][0]["code"]}, world.staff)
    assert redeemed.status == 200
    assert "full" not in redeemed.json["message"]
    scan = world.staff_scan(member).json
    assert [r["rewardId"] for r in scan["rewardsIssued"]] == ["free-coffee"]
    assert scan["stamps"]["count"] == 1 and scan["stamps"]["full"] is False


def test_five_thousand_scans_keep_the_member_item_bounded(world, monkeypatch):
    """A fast path: the scan's own planning, with each commit applied in memory instead of DynamoDB."""
    from loyalty.services import scan
    from loyalty.services.member_plan import MemberPlan
    from loyalty.services.merchants import load_merchant
    from loyalty.store import members as store

    world = create_world(world.client, program=TWO_STAMP_CARD)
    enrolled = world.enroll()
    state = {"member": store.get_member(enrolled.member_id), "points": 0, "stamps": 0}

    def commit_in_memory(plan: MemberPlan, reply=None) -> None:
        plan._finish_vouchers()
        plan.member.rev += 1
        state["member"] = plan.member
        state["points"] += sum(entry.points for entry in plan.ledger)
        state["stamps"] += sum(entry.stamps for entry in plan.ledger)

    monkeypatch.setattr(MemberPlan, "commit", commit_in_memory)
    merchant = load_merchant(world.merchant_id)
    for _ in range(5_000):
        scan._record_visit(merchant, lambda: state["member"], world.locations[0], spend_counts_in_cooldown=False)

    member = state["member"]
    assert len(member.open_vouchers()) == MAX_OPEN_REWARDS
    assert len(member.vouchers) <= MAX_OPEN_REWARDS + 10
    assert item_size(store._to_item(member).serialize()) < MAX_MEMBER_ITEM_BYTES
    assert (member.balance, member.stamps) == (state["points"], state["stamps"]) == (20 + 5_000 * 10, 2)
