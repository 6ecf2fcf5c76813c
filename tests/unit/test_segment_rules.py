"""Segment rules: the built-ins on one member's snapshot, custom conditions, and their validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loyalty.domain.model import MemberSnapshot
from loyalty.domain.segments import (
    BUILT_IN,
    Context,
    Segment,
    Tally,
    condition_of,
    matches,
    problems,
    spend_bucket,
    vip_count,
    vip_threshold,
)

WARSAW = "Europe/Warsaw"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def member(**fields) -> MemberSnapshot:
    return MemberSnapshot(member_id=fields.pop("member_id", "mem_1"), merchant_id="mer_1",
                          created_at=fields.pop("created_at", NOW - timedelta(days=400)), **fields)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def built_in(name: str, snapshot: MemberSnapshot, now: datetime = NOW, spends=()) -> bool:
    return matches(Segment(name, BUILT_IN[name]), snapshot, WARSAW, Context.at(now, WARSAW, spends))


def test_new_is_a_first_visit_within_30_days():
    assert built_in("new", member(first_visit_at=days_ago(29), last_visit_at=days_ago(29), visit_count=1))
    assert not built_in("new", member(first_visit_at=days_ago(30), last_visit_at=days_ago(1), visit_count=4))
    assert not built_in("new", member(visit_count=0))


def test_regulars_have_three_visits_within_90_days():
    assert built_in("regulars", member(visit_count=9, last_visit_at=days_ago(1),
                                       recent_visits=("2026-08-23", "2026-10-01", "2026-11-19")))
    assert not built_in("regulars", member(visit_count=9, last_visit_at=days_ago(1),
                                           recent_visits=("2026-08-22", "2026-10-01", "2026-11-19")))
    # Visits recorded before the list existed: only the last visit is known, so not (yet) a regular.
    assert not built_in("regulars", member(visit_count=30, last_visit_at=days_ago(1)))


def test_at_risk_is_absent_over_twice_their_usual_gap_between_21_and_90_days():
    weekly = dict(visit_count=5, first_visit_at=days_ago(28 + 40), last_visit_at=days_ago(40))  # gap 7 days
    assert built_in("at_risk", member(**weekly))
    monthly = dict(visit_count=3, first_visit_at=days_ago(60 + 40), last_visit_at=days_ago(40))  # gap 30 days
    assert not built_in("at_risk", member(**monthly))  # 40 days is not over twice 30
    assert not built_in("at_risk", member(visit_count=5, first_visit_at=days_ago(30), last_visit_at=days_ago(20)))
    assert not built_in("at_risk", member(visit_count=5, first_visit_at=days_ago(130), last_visit_at=days_ago(90)))
    assert not built_in("at_risk", member(visit_count=2, first_visit_at=days_ago(41), last_visit_at=days_ago(40)))


def test_lapsed_is_no_visit_for_90_days_including_never_since_joining():
    assert built_in("lapsed", member(visit_count=2, last_visit_at=days_ago(90)))
    assert not built_in("lapsed", member(visit_count=2, last_visit_at=days_ago(89)))
    assert built_in("lapsed", member(visit_count=0, created_at=days_ago(91)))
    assert not built_in("lapsed", member(visit_count=0, created_at=days_ago(10)))


def test_birthday_this_month_is_the_merchants_month():
    new_year_in_warsaw = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # 1 January 2027, 00:30 in Warsaw
    assert built_in("birthday_this_month", member(birthday="01-15"), now=new_year_in_warsaw)
    assert not built_in("birthday_this_month", member(birthday="1990-12-15"), now=new_year_in_warsaw)
    assert built_in("birthday_this_month", member(birthday="1990-11-02"))
    assert not built_in("birthday_this_month", member())


def test_vip_is_the_top_five_percent_by_spend_and_at_least_one_member():
    spends = [100 * n for n in range(1, 41)]  # 40 members: the top 2 are vip
    assert vip_threshold(spends) == 3900
    assert built_in("vip", member(total_spend=4000), spends=spends)
    assert built_in("vip", member(total_spend=3900), spends=spends)
    assert not built_in("vip", member(total_spend=3800), spends=spends)
    assert vip_threshold([0, 0, 500]) == 500  # at least one
    assert vip_threshold([0, 0]) is None  # nobody spent: nobody is vip
    assert not built_in("vip", member(total_spend=0), spends=[0, 0])


def custom(match: str, *conditions: dict) -> Segment:
    return Segment("custom", "", match, tuple(condition_of(c) for c in conditions))


def test_custom_conditions_all_and_any():
    snapshot = member(visit_count=7, total_spend=12000, balance=40, last_visit_at=days_ago(3), birthday="03-08",
                      last_location_id="loc_a", favourite_categories=("coffee", "cake"))
    context = Context.at(NOW, WARSAW)
    everything = custom("all", {"field": "visitCount", "op": "gte", "value": 5},
                        {"field": "totalSpend", "op": "lte", "value": 12000},
                        {"field": "daysSinceLastVisit", "op": "lte", "value": 3},
                        {"field": "points", "op": "eq", "value": 40},
                        {"field": "birthdayMonth", "op": "in", "value": [3, 4]},
                        {"field": "locationId", "op": "eq", "value": "loc_a"},
                        {"field": "favouriteCategory", "op": "in", "value": ["cake", "tea"]},
                        {"field": "daysSinceJoined", "op": "gte", "value": 400})
    assert matches(everything, snapshot, WARSAW, context)
    one_fails = custom("all", {"field": "visitCount", "op": "gte", "value": 5},
                       {"field": "favouriteCategory", "op": "eq", "value": "tea"})
    assert not matches(one_fails, snapshot, WARSAW, context)
    either = custom("any", {"field": "visitCount", "op": "gte", "value": 5},
                    {"field": "favouriteCategory", "op": "eq", "value": "tea"})
    assert matches(either, snapshot, WARSAW, context)


def test_a_never_visited_member_has_no_days_since_last_visit_and_nobody_has_a_tier_yet():
    context = Context.at(NOW, WARSAW)
    assert not matches(custom("all", {"field": "daysSinceLastVisit", "op": "gte", "value": 0}),
                       member(visit_count=0), WARSAW, context)
    assert not matches(custom("all", {"field": "tier", "op": "in", "value": ["gold", "silver"]}),
                       member(visit_count=50), WARSAW, context)


def test_validation_names_the_field_at_fault():
    assert problems("weekend-regulars", "all", [{"field": "visitCount", "op": "gte", "value": 3}]) == []
    assert problems("x", "all", [{"field": "shoeSize", "op": "eq", "value": 42}])[0]["field"] == "conditions[0].field"
    assert problems("x", "all", [{"field": "visitCount", "op": "gt", "value": 1}])[0]["field"] == "conditions[0].op"
    assert problems("x", "all", [{"field": "tier", "op": "gte", "value": "gold"}])[0]["field"] == "conditions[0].op"
    assert problems("x", "all", [{"field": "visitCount", "op": "in", "value": 3}])[0]["field"] == "conditions[0].value"
    assert problems("x", "all", [{"field": "birthdayMonth", "op": "eq", "value": 13}])[0]["field"] == \
        "conditions[0].value"
    assert problems("x", "all", [{"field": "visitCount", "op": "eq", "value": "3"}])[0]["field"] == \
        "conditions[0].value"
    assert [p["field"] for p in problems("VIP!", "most", [])] == ["name", "match", "conditions"]
    assert problems("lapsed", "all", [{"field": "visitCount", "op": "eq", "value": 0}])[0]["field"] == "name"


def test_spend_buckets_keep_the_order_of_spends_and_stay_few():
    spends = [1, 2, 3, 11, 12, 13, 100, 109, 5_000, 10**6, 10**12]
    buckets = [spend_bucket(spend) for spend in spends]
    assert buckets == sorted(buckets)
    assert len(set(buckets[:4])) == 4  # small whole spends each have a bucket of their own
    assert spend_bucket(10**12) < 400  # a histogram of any roster holds a few hundred buckets at most
    assert spend_bucket(100) == spend_bucket(107)  # ... because larger spends share one, about 9 % wide


def test_vip_count_from_the_histogram_takes_the_top_5_percent_and_the_rest_of_their_bucket():
    def vip(spends, members):
        tally = Tally.of([])
        for index, spend in enumerate(spends):
            tally.add(member(member_id=f"mem_{index}", total_spend=spend), [], WARSAW, Context.at(NOW, WARSAW))
        tally.members = members  # the others never spent
        return tally.result()["vip"]

    spread = [1000 * 2**k for k in range(40)]  # 40 spenders a doubling apart: one per bucket
    exact_threshold = vip_threshold(spread + [0] * 60)
    assert vip(spread, 100) == sum(spend >= exact_threshold for spend in spread) == 5
    assert vip([1030, 1060, 1100, 5000], 20) == 1  # ceil(5 % of 20) is the top spender alone
    # ceil(5 % of 40) is 2, but the second highest shares its bucket (1024 to 1116) with two lower: all count
    assert vip([1030, 1060, 1100, 5000], 40) == 4
    assert vip([1000], 100) == 1  # at least one member, when anyone spent
    assert vip([], 100) == 0
    assert vip_count({}, 0) == 0
