"""The insights rollups' rules: figures read from rollups agree with the same figures counted member by member."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loyalty.domain import insights, segments
from loyalty.domain.model import Member, MemberSnapshot, Voucher
from loyalty.domain.program import Program
from pydantic import ValidationError

TZ = "Europe/Warsaw"
START = date(2026, 1, 1)


def _instant(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _history(joined: date, visits: list[tuple[int, int]]) -> tuple[Member, list[insights.LedgerFacts]]:
    """A member's counted visits as the scan writes them: each entry's facts from the member as it was read."""
    member = Member(member_id="mem_1", merchant_id="mch_1", token_hash="x", created_at=_instant(joined, 8))
    facts = []
    for offset, hour in sorted(visits):
        at = _instant(joined + timedelta(days=offset), hour)
        if member.last_visit_at and at - member.last_visit_at < timedelta(hours=4):
            continue  # the cooldown: not a counted visit
        facts.append(insights.LedgerFacts("mch_1", "scan", at, 10, "loc_a", None, insights.visit_facts(member, at)))
        member.visit_count += 1
        member.first_visit_at = member.first_visit_at or at
        member.last_visit_at = at
    return member, facts


members_strategy = st.lists(
    st.tuples(st.integers(0, 200), st.lists(st.tuples(st.integers(0, 200), st.integers(6, 20)), max_size=8)),
    min_size=1, max_size=8)


def _world(histories):
    tally = insights.Tally()
    everyone = []
    for joined_offset, visits in histories:
        joined = START + timedelta(days=joined_offset)
        member, facts = _history(joined, visits)
        tally.count(insights.MemberChange(None, insights.MemberImage("mch_1", member.created_at, False, None, {}),
                                          member.created_at), TZ)
        for fact in facts:
            tally.count(fact, TZ)
        everyone.append((member, facts))
    days, months = {}, {}
    for (_, location, period), counts in tally.items().items():
        kind, _, value = period.partition("#")
        if location is not None:
            continue  # the location's own rollups: the figures here are the whole business's
        if kind == "DAY":
            days[date.fromisoformat(value)] = counts
        else:
            months[value] = counts
    return everyone, days, months


def _local_day(at: datetime) -> date:
    from loyalty.domain.calendar import local_day

    return local_day(at, TZ)


def _snapshot(member: Member, facts: list[insights.LedgerFacts], last: date) -> MemberSnapshot:
    seen = [fact.at for fact in facts if _local_day(fact.at) <= last]
    return MemberSnapshot(member_id="m", merchant_id="mch_1", visit_count=len(seen),
                          first_visit_at=seen[0] if seen else None, last_visit_at=seen[-1] if seen else None,
                          created_at=member.created_at)


@settings(max_examples=60, deadline=None)
@given(members_strategy, st.integers(0, 400), st.integers(0, 120))
def test_figures_from_rollups_match_the_members_one_by_one(histories, last_offset, length):
    everyone, days, months = _world(histories)
    last = START + timedelta(days=last_offset)
    first = last - timedelta(days=length)
    got = insights.figures(first=first, last=last, days=days, months=months, scope_days=days, locations={})

    def visited(member_facts, a: date, b: date) -> bool:
        return any(a <= _local_day(fact.at) <= b for fact in member_facts)

    joined = [m for m, _ in everyone if _local_day(m.created_at) <= last]
    assert got.members_total == len(joined)
    assert got.members_new == sum(first <= _local_day(m.created_at) <= last for m, _ in everyone)
    distinct = [facts for _, facts in everyone if visited(facts, first, last)]
    assert insights.visitors(days, first, last) == len(distinct)
    assert got.active30 == sum(visited(f, last - timedelta(days=29), last) for _, f in everyone)
    assert got.active90 == sum(visited(f, last - timedelta(days=89), last) for _, f in everyone)
    returning = sum(1 for facts in distinct if _local_day(facts[0].at) < first)
    assert got.returning_rate == (round(returning / len(distinct), 4) if distinct else 0.0)
    context = segments.Context(today=last)
    for name, value in ((segments.AT_RISK, got.at_risk), (segments.LAPSED, got.lapsed)):
        expected = sum(segments.matches(segments.Segment(name, ""), _snapshot(m, f, last), TZ, context)
                       for m, f in everyone if _local_day(m.created_at) <= last)
        assert value == expected, name


@settings(max_examples=40, deadline=None)
@given(members_strategy, st.integers(1, 6))
def test_one_tally_of_a_batch_equals_the_tallies_of_its_records_added_up(histories, parts):
    facts = [fact for joined, visits in histories for fact in _history(START + timedelta(days=joined), visits)[1]]
    whole = insights.Tally()
    for fact in facts:
        whole.count(fact, TZ)
    added: dict = {}
    for n in range(parts):
        piece = insights.Tally()
        for fact in facts[n::parts]:
            piece.count(fact, TZ)
        for key, counts in piece.items().items():
            for name, value in counts.items():
                added.setdefault(key, {}).setdefault(name, 0)
                added[key][name] += value
    assert whole.items() == {key: {n: v for n, v in counts.items() if v} for key, counts in added.items()
                             if any(counts.values())}


def _entry(kind: str, points: int, day: date = START, spend: int | None = None) -> insights.LedgerFacts:
    return insights.LedgerFacts("mch_1", kind, _instant(day, 10), points, None, spend)


@given(st.lists(st.tuples(st.sampled_from(["scan", "referral", "campaign_bonus", "claim", "cancel", "expiry",
                                           "refund", "reward_expired", "import", "something_new"]),
                          st.integers(-200, 200)), max_size=30),
       st.lists(st.integers(0, 100), max_size=5))
def test_the_points_identity_holds_whatever_moved_them(moves, redeemed):
    tally = insights.Tally()
    for kind, points in moves:
        tally.count(_entry(kind, points), TZ)
    vouchers = {f"rwd_{n}": insights.VoucherState("redeemed", points, _instant(START, 9), _instant(START, 11))
                for n, points in enumerate(redeemed)}
    tally.count(insights.MemberChange(None, insights.MemberImage("mch_1", _instant(START, 8), False, None, vouchers),
                                      _instant(START, 12)), TZ)
    items = tally.items()
    days = {date.fromisoformat(p.split("#")[1]): c for (_, _, p), c in items.items() if p.startswith("DAY#")}
    months = {p.split("#")[1]: c for (_, _, p), c in items.items() if p.startswith("MONTH#")}
    got = insights.figures(first=START, last=START, days=days, months=months, scope_days=days, locations={})
    assert got.points_outstanding == sum(points for _, points in moves)  # the sum of the balances
    assert got.points_issued == (got.points_redeemed + got.points_expired + got.points_locked
                                 + got.points_outstanding + got.points_refunded)
    assert got.points_redeemed == sum(redeemed)
    assert got.rewards_redeemed == got.rewards_issued == len(redeemed)


def test_feedback_gives_the_average_rating_and_the_net_promoter_score():
    tally = insights.Tally()
    for rating, nps in ((5, 10), (4, 9), (2, 3), (3, 7), (1, None)):
        tally.count(insights.FeedbackFacts("mch_1", _instant(START, 10), "loc_a", rating, nps), TZ)
    items = tally.items()
    days = {date.fromisoformat(p.split("#")[1]): c for (_, loc, p), c in items.items() if loc is None}
    at_a = {date.fromisoformat(p.split("#")[1]): c for (_, loc, p), c in items.items() if loc == "loc_a"}
    got = insights.figures(first=START, last=START, days=days, months={}, scope_days=at_a, locations={})
    assert (got.average_rating, got.nps, got.responses) == (3.0, 25, 5)  # 2 promoters, 1 detractor of 4 answers


def test_a_campaign_counts_the_visits_of_members_its_offer_reached_in_the_14_days_before():
    issued = _instant(START, 9)
    voucher = Voucher(issued_reward_id="rwd_1", reward_id="cake", name="Cake", code="C", status="issued",
                      points_locked=0, issued_at=issued, expires_at=issued + timedelta(days=30), source="campaign",
                      campaign_id="cmp_1", run_id="run")
    member = Member(member_id="m", merchant_id="mch_1", token_hash="x", vouchers={"rwd_1": voucher})
    assert insights.visit_facts(member, issued + timedelta(days=14))["campaigns"] == ["cmp_1"]
    assert "campaigns" not in insights.visit_facts(member, issued + timedelta(days=15))
    tally = insights.Tally()
    tally.count(insights.LedgerFacts("mch_1", "scan", issued + timedelta(days=3), 10, None, None,
                                     insights.visit_facts(member, issued + timedelta(days=3))), TZ)
    days = {date.fromisoformat(p.split("#")[1]): c for (_, _, p), c in tally.items().items() if p.startswith("DAY")}
    assert insights.campaign_visits(days, START, START + timedelta(days=10), "cmp_1") == 1


def test_clv_is_monthly_spend_per_member_times_the_expected_lifetime():
    months = {"2026-01": {"active": 10, "spend": 100_000},
              "2026-02": {"active": 8, "kept": 5, "spend": 80_000}}  # half of January's members came back
    # February: 80,000 over 8 members = 10,000 a member; churn 1 - 5/10 = 0.5: two months of life.
    assert insights.customer_lifetime_value(months, "2026-02", "2026-02") == 20_000
    assert insights.customer_lifetime_value({}, "2026-02", "2026-02") == 0


def _program(*rewards: dict) -> Program:
    return Program.model_validate({"points": {"perVisit": 10}, "rewards": list(rewards)})


def test_the_liability_values_the_points_on_cards_at_the_cheapest_cost_per_point_of_a_reward():
    coffee = {"id": "coffee", "name": "Coffee", "pointsCost": 100, "costMinor": 450}  # 4.50 per 100 points
    cake = {"id": "cake", "name": "Cake", "pointsCost": 30, "costMinor": 300}  # 10.00 per 100 points
    stamp_only = {"id": "mug", "name": "Mug", "costMinor": 100}  # not claimable with points: no rate

    assert insights.liability(1_000, _program(coffee, cake, stamp_only)) == 4_500
    assert insights.liability(333, _program(cake)) == 3_330
    assert insights.liability(7, _program(coffee)) == 32  # 31.5, rounded to the nearest minor unit
    assert insights.liability(0, _program(coffee)) == 0
    assert insights.liability(1_000, _program({"id": "coffee", "name": "Coffee", "pointsCost": 100},
                                              stamp_only)) is None


def test_a_reward_cost_must_be_a_positive_whole_amount_and_is_left_out_of_the_program_when_unset():
    for bad in (0, -450, 4.5, "450"):
        with pytest.raises(ValidationError):
            _program({"id": "coffee", "name": "Coffee", "pointsCost": 100, "costMinor": bad})
    plain = _program({"id": "coffee", "name": "Coffee", "pointsCost": 100})
    assert plain.to_json()["rewards"] == [{"id": "coffee", "name": "Coffee", "pointsCost": 100}]
    priced = _program({"id": "coffee", "name": "Coffee", "pointsCost": 100, "costMinor": 450})
    assert priced.to_json()["rewards"][0]["costMinor"] == 450
    assert Program.model_validate(priced.to_json()) == priced
