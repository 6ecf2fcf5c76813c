"""Program rules through the handlers: item points, tiers, promotions, points expiry and surprises.

The café is in Europe/Warsaw (UTC+1 in winter, UTC+2 in summer); every test sets the clock."""

from __future__ import annotations

import copy
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.world import create_world, member_headers

RULES = {
    "points": {"perVisit": 10, "perCurrencyUnit": 1, "welcomeBonus": 0,
               "perItem": [{"sku": "LATTE-L", "points": 5}, {"category": "pastry", "points": 2}]},
    "rewards": [{"id": "free-coffee", "name": "Free coffee", "pointsCost": 100},
                {"id": "cake", "name": "Slice of cake", "pointsCost": 30},
                {"id": "free-cake", "name": "Free cake"}],
    "scanCooldownMinutes": 0,
    "tiers": {"windowMonths": 3, "graceDays": 10, "levels": [
        {"id": "silver", "name": "Silver", "threshold": 100, "multiplier": 1.5, "perks": ["Free oat milk"]},
        {"id": "gold", "name": "Gold", "threshold": 300, "multiplier": 2, "perks": ["Early access"],
         "upgradeRewardId": "free-cake"}]},
}
NOV_10 = datetime(2026, 11, 10, 11, 0, tzinfo=UTC)  # a Tuesday, 12:00 in Warsaw


def _program(**changes) -> dict:
    program = copy.deepcopy(RULES)
    program.update(changes)
    return {key: value for key, value in program.items() if value is not None}


@pytest.fixture
def shop(handlers, at):
    at(NOV_10)

    def open_with(**changes):
        return create_world(handlers, program=_program(**changes))

    return open_with


def _sale(world, member, amount=None, items=(), receipt_id=None, location_index=0, headers=None):
    body = {"memberToken": member.token, "locationId": world.locations[location_index], "amount": amount,
            "items": list(items) or None, "receiptId": receipt_id}
    reply = world.call("POST", "/v1/scans", {k: v for k, v in body.items() if v is not None},
                       headers or world.owner)
    assert reply.status == 200, reply.raw
    return reply.json


def _lines(reply) -> list[tuple[str, int]]:
    return [(line["kind"], line["points"]) for line in reply["awarded"]["lines"]]


def _ledger_sum(world, member) -> int:
    return sum(entry["points"] for entry in world.profile(member)["ledger"])


# --- item points -------------------------------------------------------------------------------------------

def test_items_earn_their_own_points_and_every_point_has_a_line(shop):
    world = shop(tiers=None)
    member = world.enroll()
    reply = _sale(world, member, items=[
        {"sku": "LATTE-L", "category": "coffee", "quantity": 2, "amount": 3_000},
        {"sku": "CROISSANT", "category": "pastry", "quantity": 1, "amount": 1_200},
        {"sku": "WATER", "quantity": 1, "amount": 500}])

    assert _lines(reply) == [("visit", 10), ("spend", 47), ("item", 10), ("item", 2)]
    assert reply["awarded"]["points"] == 69 == reply["balance"]
    labels = [line["label"] for line in reply["awarded"]["lines"] if line["kind"] == "item"]
    assert "LATTE-L" in labels[0] and "CROISSANT" in labels[1]


# --- tiers -------------------------------------------------------------------------------------------------

def test_crossing_a_threshold_upgrades_on_that_scan_and_the_multiplier_applies_from_the_next(shop, at):
    world = shop()
    member = world.enroll()
    first = _sale(world, member, amount=5_000)
    assert first["tier"]["id"] is None and "tierChanged" not in first
    assert first["tier"]["next"] == {"id": "silver", "name": "Silver", "pointsNeeded": 40}

    second = _sale(world, member, amount=5_000)
    assert _lines(second) == [("visit", 10), ("spend", 50)]  # held no tier when the scan started
    assert second["tierChanged"] == {"from": None, "to": "silver"}
    assert second["tier"]["id"] == "silver" and second["tier"]["perks"] == ["Free oat milk"]

    third = _sale(world, member, amount=5_000)
    assert _lines(third) == [("visit", 10), ("spend", 50), ("tier", 30)]
    assert "tierChanged" not in third

    fourth = _sale(world, member, amount=10_000)  # 210 + 110 + 55 = 375 earned: gold
    assert fourth["tierChanged"] == {"from": "silver", "to": "gold"}
    assert [r["rewardId"] for r in fourth["rewardsIssued"]] == ["free-cake"]
    card = world.card(member)
    assert card["tier"]["id"] == "gold" and card["tier"]["next"] is None
    assert card["tier"]["earnedInWindow"] == 375
    assert card["tier"]["multiplier"] == 2


def test_claims_do_not_lower_the_tier_and_welcome_points_do_not_raise_it(shop):
    world = shop(points={"perVisit": 10, "perCurrencyUnit": 1, "welcomeBonus": 500})
    member = world.enroll()
    reply = _sale(world, member, amount=8_000)  # 10 + 80 earned; the 500 welcome is not earned
    assert reply["tier"]["id"] is None and reply["balance"] == 590
    claim = world.call("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, member.headers)
    assert claim.status == 201
    assert world.card(member)["tier"]["earnedInWindow"] == 90


def test_the_scheduled_job_steps_a_tier_down_after_grace_and_the_upgrade_reward_is_never_given_twice(
        shop, at, runtime):
    world = shop()
    member = world.enroll()
    _sale(world, member, amount=40_000)  # 410 earned in November: gold at once, from no tier
    assert world.card(member)["tier"]["id"] == "gold"
    rewards = [r["rewardId"] for r in world.card(member)["rewards"]]
    assert rewards.count("free-cake") == 1

    # A three-month window: from 1 February (local) November has left it; grace is 10 days from then.
    at(datetime(2027, 2, 10, 12, 0, tzinfo=UTC))
    runtime.invoke("MemberUpkeepFunction", {})
    assert world.card(member)["tier"]["id"] == "gold"  # still inside grace

    at(datetime(2027, 2, 11, 0, 0, tzinfo=UTC))
    result = runtime.invoke("MemberUpkeepFunction", {})
    assert result["tiersChanged"] >= 1
    card = world.card(member)
    assert card["tier"]["id"] is None

    again = _sale(world, member, amount=40_000)
    assert again["tierChanged"] == {"from": None, "to": "gold"}
    assert again["rewardsIssued"] == []  # the gold reward was given once, ever
    assert _ledger_sum(world, member) == world.card(member)["points"]["balance"]


# --- promotions --------------------------------------------------------------------------------------------

QUIET_TUESDAY = {"id": "quiet-tuesday", "name": "Double points on Tuesday afternoons", "multiplier": 2,
                 "days": ["tue"], "from": "14:00", "to": "17:00", "limitPerMemberPerDay": 1}
PASTRY_BONUS = {"id": "pastry-bonus", "name": "5 extra points with a pastry", "bonusPoints": 5,
                "categories": ["pastry"]}


def test_the_best_promotion_applies_once_per_purchase_within_its_local_window_and_daily_limit(shop, at):
    world = shop(tiers=None, promotions=[PASTRY_BONUS, QUIET_TUESDAY])
    member = world.enroll()
    at(datetime(2026, 12, 1, 13, 30, tzinfo=UTC))  # Tuesday 14:30 in Warsaw
    croissant = {"sku": "CROISSANT", "category": "pastry", "quantity": 1, "amount": 1_000}
    first = _sale(world, member, amount=2_000, items=[croissant])
    # base 10 + 20 + 2 = 32: double points add 32, the pastry bonus 5; only the best applies
    assert _lines(first) == [("visit", 10), ("spend", 20), ("item", 2), ("promotion", 32)]
    assert first["awarded"]["lines"][-1]["label"] == "Double points on Tuesday afternoons"

    second = _sale(world, member, amount=2_000, items=[croissant])  # quiet-tuesday used today: the next best
    assert _lines(second)[-1] == ("promotion", 5)

    at(datetime(2026, 12, 1, 16, 0, tzinfo=UTC))  # 17:00 in Warsaw: the window has closed
    late = _sale(world, member, amount=2_000)
    assert "promotion" not in dict(_lines(late))


def test_a_promotion_window_follows_the_local_clock_across_the_dst_change(shop, at):
    sunday = {**QUIET_TUESDAY, "id": "sunday", "name": "Sunday double", "days": ["sun"],
              "limitPerMemberPerDay": None}
    world = shop(tiers=None, promotions=[sunday])
    member = world.enroll()
    at(datetime(2027, 3, 28, 12, 30, tzinfo=UTC))  # 14:30 CEST, the day clocks went forward
    assert _lines(_sale(world, member, amount=1_000))[-1] == ("promotion", 20)
    at(datetime(2027, 3, 28, 15, 30, tzinfo=UTC))  # 17:30 CEST (it would be 16:30 in CET)
    assert "promotion" not in dict(_lines(_sale(world, member, amount=1_000)))


def test_the_card_shows_the_promotions_of_the_day_at_the_members_location(shop, at):
    world = shop(tiers=None, promotions=[QUIET_TUESDAY])
    member = world.enroll()
    at(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))  # Tuesday morning
    _sale(world, member, amount=1_000)
    today = world.card(member)["promotionsToday"]
    assert [(p["id"], p["from"], p["to"], p["activeNow"]) for p in today] == [("quiet-tuesday", "14:00", "17:00",
                                                                                False)]
    at(datetime(2026, 12, 2, 8, 0, tzinfo=UTC))  # Wednesday
    assert world.card(member)["promotionsToday"] == []


# --- points expiry -----------------------------------------------------------------------------------------

def test_points_expire_by_earning_month_oldest_spent_first_and_the_card_says_when(shop, at, runtime):
    world = shop(tiers=None, expiry={"afterMonths": 1})
    member = world.enroll()
    _sale(world, member, amount=5_000)  # 60 earned in November
    at(datetime(2026, 12, 5, 12, 0, tzinfo=UTC))
    _sale(world, member, amount=3_000)  # 40 earned in December
    card = world.card(member)
    assert card["expiring"] == {"points": 60, "at": "2026-12-31T23:00:00Z"}  # the end of December, in Warsaw

    claim = world.call("POST", "/v1/me/rewards", {"rewardId": "cake"}, member.headers)  # 30 from November's
    assert claim.status == 201
    assert world.card(member)["expiring"]["points"] == 30

    at(datetime(2026, 12, 31, 22, 59, tzinfo=UTC))
    assert runtime.invoke("MemberUpkeepFunction", {})["pointsExpired"] == 0
    at(datetime(2026, 12, 31, 23, 0, tzinfo=UTC))
    assert runtime.invoke("MemberUpkeepFunction", {})["pointsExpired"] == 30
    card = world.card(member)
    assert card["points"]["balance"] == 40
    assert card["expiring"] == {"points": 40, "at": "2027-01-31T23:00:00Z"}
    assert card["history"][0]["kind"] == "expiry" and card["history"][0]["points"] == -30
    assert runtime.invoke("MemberUpkeepFunction", {})["pointsExpired"] == 0  # nothing twice
    assert _ledger_sum(world, member) == 40


def test_points_due_expire_on_the_members_next_scan_when_the_job_has_not_run(shop, at):
    world = shop(tiers=None, expiry={"afterMonths": 1})
    member = world.enroll()
    _sale(world, member, amount=5_000)
    at(datetime(2027, 1, 2, 12, 0, tzinfo=UTC))
    reply = _sale(world, member, amount=1_000)
    assert reply["balance"] == 20  # November's 60 expired first
    assert [e["kind"] for e in world.card(member)["history"][:2]] == ["scan", "expiry"]


# --- surprise ----------------------------------------------------------------------------------------------

def test_every_nth_visit_brings_a_surprise_within_the_merchants_daily_cap_under_concurrent_scans(shop):
    world = shop(tiers=None, surprise={"rewardId": "free-cake", "everyNthVisit": 2, "maxPerDay": 2})
    members = [world.enroll() for _ in range(4)]
    for member in members:
        first = _sale(world, member, amount=100)
        assert first["rewardsIssued"] == []
    replies: list[dict] = []

    def second_visit(member):
        replies.append(_sale(world, member, amount=100))

    threads = [threading.Thread(target=second_visit, args=(member,)) for member in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    surprised = [r for r in replies if r["rewardsIssued"]]
    assert len(replies) == 4 and len(surprised) == 2
    for reply in surprised:
        assert ("surprise", 0) in _lines(reply)
        assert reply["rewardsIssued"][0]["source"] == "surprise"


def test_a_chance_surprise_is_reproducible_from_the_scan(shop):
    from loyalty.domain.awards import surprise_due
    from loyalty.domain.program import Surprise

    world = shop(tiers=None, surprise={"rewardId": "free-cake", "chancePercent": 50, "maxPerDay": 1000})
    rules = Surprise.model_validate({"rewardId": "free-cake", "chancePercent": 50, "maxPerDay": 1000})
    member = world.enroll()
    for _ in range(6):
        reply = _sale(world, member, amount=100)
        assert bool(reply["rewardsIssued"]) == surprise_due(rules, 0, reply["scanId"])


# --- the member scan's budget ------------------------------------------------------------------------------

def test_a_member_scan_with_every_rule_keeps_its_two_round_trips(shop, meter):
    world = shop(promotions=[QUIET_TUESDAY, PASTRY_BONUS], expiry={"afterMonths": 12},
                 surprise={"rewardId": "free-cake", "everyNthVisit": 10, "maxPerDay": 3})
    member = world.enroll()
    world.card(member)
    body = {"counterCode": world.counter_code()}
    with meter.capture() as captured:
        reply = world.call("POST", "/v1/scans", body, member_headers(member.token, str(uuid.uuid4())))
    assert reply.status == 200, reply.raw
    assert [call.operation for call in captured.calls] == ["BatchGetItem", "TransactWriteItems"]


# --- bad programs ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, field", [
    ({"tiers": {"levels": [{"id": "a", "name": "A", "threshold": 500}, {"id": "b", "name": "B", "threshold": 500}]}},
     "tiers"),
    ({"tiers": {"levels": [{"id": "a", "name": "A", "threshold": 100, "multiplier": 0.5}]}}, "multiplier"),
    ({"tiers": {"levels": [{"id": "a", "name": "A", "threshold": 100, "multiplier": 11}]}}, "multiplier"),
    ({"promotions": [{"id": "p", "name": "P"}]}, "promotions"),
    ({"promotions": [{"id": "p", "name": "P", "multiplier": 2, "bonusPoints": 5}]}, "promotions"),
    ({"promotions": [{"id": "p", "name": "P", "multiplier": 2, "from": "14:00", "to": "14:00"}]}, "promotions"),
    ({"promotions": [{"id": "p", "name": "P", "multiplier": 2, "days": ["tuesday"]}]}, "days"),
    ({"tiers": {"levels": [{"id": "a", "name": "A", "threshold": 1, "upgradeRewardId": "nope"}]}}, "nope"),
    ({"surprise": {"rewardId": "free-cake", "everyNthVisit": 3, "chancePercent": 5}}, "surprise"),
])
def test_a_bad_program_is_refused_with_details_and_changes_nothing(shop, changes, field):
    world = shop()
    before = world.call("GET", f"/v1/merchants/{world.merchant_id}/program", headers=world.owner).json
    reply = world.call("PUT", f"/v1/merchants/{world.merchant_id}/program", {**RULES, **changes}, world.owner)
    assert (reply.status, reply.error_code) == (422, "validation_error"), reply.raw
    assert field in reply.raw.decode()
    after = world.call("GET", f"/v1/merchants/{world.merchant_id}/program", headers=world.owner).json
    assert after == before


def test_editing_the_program_leaves_issued_vouchers_as_they_were(shop):
    world = shop(tiers=None, surprise={"rewardId": "free-cake", "everyNthVisit": 2, "maxPerDay": 5})
    member = world.enroll()
    _sale(world, member, amount=100)
    voucher = _sale(world, member, amount=100)["rewardsIssued"][0]
    renamed = _program(tiers=None, rewards=[{"id": "free-cake", "name": "Cake of the day"},
                                            *RULES["rewards"][:2]])
    assert world.call("PUT", f"/v1/merchants/{world.merchant_id}/program", renamed, world.owner).status == 200
    on_card = [r for r in world.card(member)["rewards"] if r["issuedRewardId"] == voucher["issuedRewardId"]]
    assert on_card[0]["name"] == "Free cake"


def test_a_stale_program_cache_is_not_needed_for_rules_to_apply_at_once(shop):
    """The program a merchant saves is the one the next scan uses (the cache is invalidated on save)."""
    world = shop(tiers=None)
    member = world.enroll()
    assert "promotion" not in dict(_lines(_sale(world, member, amount=1_000)))
    always = {"id": "always", "name": "Always double", "multiplier": 2}
    assert world.call("PUT", f"/v1/merchants/{world.merchant_id}/program",
                      _program(tiers=None, promotions=[always]), world.owner).status == 200
    assert _lines(_sale(world, member, amount=1_000))[-1] == ("promotion", 20)


def test_a_week_of_hourly_upkeep_runs_finds_nothing_to_do_for_members_without_points_due(shop, at, runtime):
    world = shop(expiry={"afterMonths": 12})
    member = world.enroll()
    _sale(world, member, amount=1_000)
    for hour in range(0, 24 * 7, 24):
        at(NOV_10 + timedelta(hours=hour))
        assert runtime.invoke("MemberUpkeepFunction", {})["membersUpdated"] == 0


# --- segments and campaigns target tiers -------------------------------------------------------------------

def test_with_tiers_vip_is_the_top_tier_and_a_segment_can_target_any_tier(shop):
    world = shop()
    gold, silver, plain = world.enroll(), world.enroll(), world.enroll()
    _sale(world, gold, amount=40_000)
    _sale(world, silver, amount=15_000)
    _sale(world, plain, amount=1_000)
    segments = f"/v1/merchants/{world.merchant_id}/segments"
    created = world.call("POST", segments, {"name": "silver-members", "match": "all",
                                            "conditions": [{"field": "tier", "op": "eq", "value": "silver"}]},
                         world.owner)
    assert created.status == 201, created.raw

    def members_of(name):
        reply = world.call("GET", f"{segments}/{name}/members?limit=50", headers=world.owner)
        assert reply.status == 200, reply.raw
        return {m["memberId"] for m in reply.json["members"]}

    assert members_of("vip") == {gold.member_id}
    assert members_of("silver-members") == {silver.member_id}
    counts = {s["name"]: s["count"] for s in world.call("GET", segments, headers=world.owner).json["segments"]}
    assert counts["vip"] == 1 and counts["silver-members"] == 1
