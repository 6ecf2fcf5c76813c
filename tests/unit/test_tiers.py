"""A member's tier: earned in a rolling window of months, upgraded at once, downgraded only after grace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from loyalty.domain.calendar import add_months, local_month, month_start
from loyalty.domain.program import Tiers
from loyalty.domain.tiers import TierDecision, TierState, earned_in_window, evaluate, record_earned, view

WARSAW = "Europe/Warsaw"
BRONZE = {"id": "bronze", "name": "Bronze", "threshold": 100, "upgradeRewardId": "bronze-gift"}
SILVER = {"id": "silver", "name": "Silver", "threshold": 500, "multiplier": 1.25}
GOLD = {"id": "gold", "name": "Gold", "threshold": 1500, "multiplier": 1.5, "upgradeRewardId": "free-cake"}


def program_tiers(window: int = 12, grace: int = 30, levels: tuple[dict, ...] = (SILVER, GOLD)) -> Tiers:
    return Tiers.model_validate({"windowMonths": window, "graceDays": grace, "levels": list(levels)})


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def scan(tiers: Tiers, state: TierState, points: int, now: datetime, timezone: str = WARSAW) -> TierDecision:
    """What a scan (or a refund, with negative points) does: record this month's earnings, then decide."""
    recorded = record_earned(tiers, state, points, local_month(now, timezone), now, timezone)
    return evaluate(tiers, recorded, now, timezone)


# --- upgrades ---------------------------------------------------------------------------------------------

def test_the_scan_that_crosses_the_threshold_upgrades_the_member():
    tiers = program_tiers()
    below = scan(tiers, TierState(), 450, at("2026-11-10T12:00:00"))
    assert (below.state.level_id, below.changed, below.due_at) == (None, False, None)

    crossed = scan(tiers, below.state, 60, at("2026-11-12T12:00:00"))
    assert crossed.changed and crossed.changed_from is None
    assert crossed.state.level_id == "silver"
    assert crossed.upgrade_rewards == ()  # silver has no upgrade reward
    # earned in November 2026: counted until the window of 12 months no longer holds November
    assert crossed.state.qualified_until == month_start("2027-11", WARSAW)
    assert crossed.due_at == month_start("2027-11", WARSAW) + timedelta(days=30)

    again = scan(tiers, crossed.state, 10, at("2026-11-13T12:00:00"))
    assert (again.changed, again.changed_from, again.state.level_id) == (False, None, "silver")


def test_a_jump_over_several_levels_issues_each_crossed_levels_reward_once():
    tiers = program_tiers(window=1, grace=0, levels=(BRONZE, SILVER, GOLD))
    jumped = scan(tiers, TierState(), 2000, at("2026-11-10T12:00:00"))
    assert jumped.state.level_id == "gold" and jumped.changed_from is None
    assert [level.id for level in jumped.upgrade_rewards] == ["bronze", "gold"]
    assert [level.upgrade_reward_id for level in jumped.upgrade_rewards] == ["bronze-gift", "free-cake"]
    assert jumped.state.rewarded == ("bronze", "gold")

    # December: the window is empty, grace is 0, the member drops to no tier; reaching gold again pays nothing.
    dropped = evaluate(tiers, jumped.state, at("2026-12-05T12:00:00"), WARSAW)
    assert (dropped.state.level_id, dropped.changed_from) == (None, "gold")
    back = scan(tiers, dropped.state, 2000, at("2026-12-06T12:00:00"))
    assert back.state.level_id == "gold" and back.changed
    assert back.upgrade_rewards == ()
    assert back.state.rewarded == ("bronze", "gold")


def test_climbing_one_level_at_a_time_pays_each_reward_on_its_own_scan():
    tiers = program_tiers(levels=(BRONZE, SILVER, GOLD))
    bronze = scan(tiers, TierState(), 150, at("2026-11-10T12:00:00"))
    assert [level.id for level in bronze.upgrade_rewards] == ["bronze"]
    silver = scan(tiers, bronze.state, 400, at("2026-11-11T12:00:00"))
    assert silver.state.level_id == "silver" and silver.changed_from == "bronze" and silver.upgrade_rewards == ()
    gold = scan(tiers, silver.state, 1000, at("2026-12-11T12:00:00"))
    assert gold.changed_from == "silver"
    assert [level.id for level in gold.upgrade_rewards] == ["gold"]


# --- grace and downgrades ---------------------------------------------------------------------------------

def silver_earned_in_january(grace: int = 30) -> tuple[Tiers, TierDecision]:
    """600 points in January 2026 with a 3-month window: silver qualifies until April begins in Warsaw."""
    tiers = program_tiers(window=3, grace=grace)
    return tiers, scan(tiers, TierState(), 600, at("2026-01-15T12:00:00"))


def test_a_member_who_stops_qualifying_keeps_the_tier_through_grace():
    tiers, silver = silver_earned_in_january()
    april = month_start("2026-04", WARSAW)
    assert april == at("2026-03-31T22:00:00")  # summer time began on 2026-03-29
    assert silver.state.qualified_until == april
    assert silver.due_at == april + timedelta(days=30)

    in_grace = evaluate(tiers, silver.state, at("2026-04-20T12:00:00"), WARSAW)
    assert (in_grace.state.level_id, in_grace.changed) == ("silver", False)
    assert in_grace.state.qualified_until == april  # grace runs from when it stopped, not from this look
    assert in_grace.due_at == april + timedelta(days=30)
    assert view(tiers, in_grace.state, at("2026-04-20T12:00:00"), WARSAW).level.id == "silver"


def test_the_downgrade_comes_when_grace_ends_and_not_a_moment_before():
    tiers, silver = silver_earned_in_january()
    grace_end = silver.due_at
    assert evaluate(tiers, silver.state, grace_end - timedelta(microseconds=1), WARSAW).state.level_id == "silver"

    down = evaluate(tiers, silver.state, grace_end, WARSAW)
    assert (down.changed, down.changed_from, down.state.level_id) == (True, "silver", None)
    assert (down.state.qualified_until, down.due_at, down.upgrade_rewards) == (None, None, ())


def test_a_member_looked_at_long_after_grace_is_downgraded_once():
    tiers = program_tiers(window=3, grace=30)
    gold = scan(tiers, TierState(), 1600, at("2026-01-15T12:00:00"))
    gold = scan(tiers, gold.state, 100, at("2026-03-15T12:00:00"))
    # The job missed the member for months: by now the window holds nothing and grace ended long ago.
    late = evaluate(tiers, gold.state, at("2026-09-01T12:00:00"), WARSAW)
    assert (late.changed_from, late.state.level_id) == ("gold", None)
    assert late.state.earned == ()
    assert evaluate(tiers, late.state, at("2026-09-02T12:00:00"), WARSAW).changed is False


def test_a_downgrade_lands_on_the_level_that_still_qualifies_and_holds_it_for_its_own_grace():
    tiers = program_tiers(window=3, grace=10)
    gold = scan(tiers, TierState(), 1000, at("2026-01-15T12:00:00"))
    gold = scan(tiers, gold.state, 600, at("2026-02-15T12:00:00"))
    assert gold.state.level_id == "gold"
    assert gold.state.qualified_until == month_start("2026-04", WARSAW)  # January's 1000 leave in April

    # Grace ends on 11 April, while February's 600 still make silver.
    silver = evaluate(tiers, gold.state, gold.due_at, WARSAW)
    assert (silver.changed_from, silver.state.level_id) == ("gold", "silver")
    assert silver.state.qualified_until == month_start("2026-05", WARSAW)  # February leaves the window in May
    assert silver.due_at == month_start("2026-05", WARSAW) + timedelta(days=10)
    # a look before silver's own grace ends changes nothing: one downgrade per grace period
    assert evaluate(tiers, silver.state, silver.due_at - timedelta(seconds=1), WARSAW).changed is False
    assert evaluate(tiers, silver.state, silver.due_at, WARSAW).changed_from == "silver"


def test_earning_again_within_grace_clears_it():
    tiers, silver = silver_earned_in_january()
    in_grace = evaluate(tiers, silver.state, at("2026-04-10T12:00:00"), WARSAW)
    requalified = scan(tiers, in_grace.state, 500, at("2026-04-12T12:00:00"))
    assert (requalified.state.level_id, requalified.changed) == ("silver", False)
    assert requalified.state.qualified_until == month_start("2026-07", WARSAW)  # April leaves the window in July
    assert evaluate(tiers, requalified.state, silver.due_at, WARSAW).state.level_id == "silver"


def test_a_one_month_window_counts_only_this_month():
    tiers = program_tiers(window=1, grace=0)
    silver = scan(tiers, TierState(), 600, at("2026-11-20T12:00:00"))
    december = month_start("2026-12", WARSAW)
    assert december == at("2026-11-30T23:00:00")
    assert (silver.state.level_id, silver.state.qualified_until, silver.due_at) == ("silver", december, december)
    assert earned_in_window(tiers, silver.state, december - timedelta(seconds=1), WARSAW) == 600
    assert earned_in_window(tiers, silver.state, december, WARSAW) == 0
    assert evaluate(tiers, silver.state, december - timedelta(seconds=1), WARSAW).state.level_id == "silver"
    assert evaluate(tiers, silver.state, december, WARSAW).state.level_id is None


def test_a_refund_lowers_what_was_earned_and_grace_starts_at_the_refund():
    tiers = program_tiers()
    silver = scan(tiers, TierState(), 600, at("2026-11-10T12:00:00"))
    refund_at = at("2026-11-11T09:00:00")
    refunded = scan(tiers, silver.state, -200, refund_at)
    assert earned_in_window(tiers, refunded.state, refund_at, WARSAW) == 400
    assert refunded.state.level_id == "silver"  # grace, from the refund
    assert refunded.state.qualified_until == refund_at
    assert refunded.due_at == refund_at + timedelta(days=30)

    emptied = scan(tiers, refunded.state, -1000, refund_at)
    assert emptied.state.earned == ()  # never below zero
    # a refund of a sale from a month that has left the window changes nothing
    old = record_earned(tiers, silver.state, -600, "2025-10", refund_at, WARSAW)
    assert old == silver.state


def test_a_scan_just_after_local_midnight_counts_in_the_new_month_across_dst():
    tiers = program_tiers(window=5)
    # 2026-10-31T23:30Z is 00:30 on 1 November in Warsaw (winter time since 25 October).
    silver = scan(tiers, TierState(), 600, at("2026-10-31T23:30:00"))
    assert silver.state.earned == (("2026-11", 600),)
    # November leaves a 5-month window when April 2027 begins, in summer time: 2027-03-31T22:00Z.
    assert silver.state.qualified_until == at("2027-03-31T22:00:00")
    assert earned_in_window(tiers, silver.state, at("2027-03-31T21:59:59"), WARSAW) == 600
    assert earned_in_window(tiers, silver.state, at("2027-03-31T22:00:00"), WARSAW) == 0


def test_five_years_of_monthly_earnings_keep_at_most_window_months_entries():
    for window in (1, 3, 12, 24):
        tiers, state, month = program_tiers(window=window), TierState(), "2026-01"
        for elapsed in range(60):
            now = month_start(month, WARSAW) + timedelta(days=14)
            state = scan(tiers, state, 100, now).state
            assert len(state.earned) <= window
            assert earned_in_window(tiers, state, now, WARSAW) == 100 * min(elapsed + 1, window)
            month = add_months(month, 1)


def test_a_level_the_program_no_longer_has_gives_way_to_the_level_that_qualifies():
    tiers = program_tiers()
    state = record_earned(tiers, TierState("platinum"), 700, "2026-11", at("2026-11-10T12:00:00"), WARSAW)
    moved = evaluate(tiers, state, at("2026-11-10T12:00:00"), WARSAW)
    assert (moved.changed_from, moved.state.level_id) == ("platinum", "silver")


# --- the card ---------------------------------------------------------------------------------------------

def test_the_card_shows_the_tier_and_what_the_next_one_takes():
    tiers = program_tiers()
    now = at("2026-11-10T12:00:00")
    nothing = view(tiers, TierState(), now, WARSAW)
    assert (nothing.level, nothing.earned_in_window, nothing.next.id, nothing.points_needed) == (None, 0, "silver", 500)

    silver = scan(tiers, TierState(), 600, now).state
    card = view(tiers, silver, now, WARSAW)
    assert (card.level.id, card.earned_in_window, card.next.id, card.points_needed) == ("silver", 600, "gold", 900)

    gold = scan(tiers, silver, 1000, now).state
    top = view(tiers, gold, now, WARSAW)
    assert (top.level.id, top.earned_in_window, top.next, top.points_needed) == ("gold", 1600, None, None)


def test_tier_state_reads_back_from_storage():
    until = at("2027-11-30T23:00:00")
    state = TierState.from_stored("silver", {"2026-11": Decimal(600), "2026-10": Decimal(5)}, until, ["bronze"])
    assert state == TierState("silver", (("2026-10", 5), ("2026-11", 600)), until, ("bronze",))
    assert TierState.from_stored(None, state.earned_map(), None, None) == TierState(None, state.earned, None, ())
    assert TierState.from_stored(None, None, None, None) == TierState()


# --- properties: what a member would notice over any history -----------------------------------------------

ZONES = (WARSAW, "UTC", "America/New_York", "Pacific/Auckland", "America/Asuncion")
START = at("2026-01-01T00:00:00")


class Ledger:
    """The oracle: every month's net earnings ever, and the window sum at any instant of the history."""

    def __init__(self, window: int, timezone: str):
        self.window, self.timezone = window, timezone
        self.snapshots: list[tuple[datetime, dict[str, int]]] = [(START - timedelta(days=3650), {})]

    def add(self, when: datetime, month: str, points: int) -> None:
        by_month = dict(self.snapshots[-1][1])
        by_month[month] = by_month.get(month, 0) + points
        self.snapshots.append((when, by_month))

    def month_earned(self, month: str) -> int:
        return self.snapshots[-1][1].get(month, 0)

    def window_sum(self, when: datetime) -> int:
        by_month = next(snapshot for moment, snapshot in reversed(self.snapshots) if moment <= when)
        last = local_month(when, self.timezone)
        first = add_months(last, -(self.window - 1))
        return sum(points for month, points in by_month.items() if first <= month <= last)

    def changes_between(self, start: datetime, end: datetime) -> list[datetime]:
        """Every instant in [start, end] at which the window sum may change: earnings and month starts."""
        moments = [start, end, *(moment for moment, _ in self.snapshots if start <= moment <= end)]
        month = local_month(start, self.timezone)
        while month_start(month, self.timezone) <= end:
            if month_start(month, self.timezone) >= start:
                moments.append(month_start(month, self.timezone))
            month = add_months(month, 1)
        return moments


levels_strategy = st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=4, unique=True).map(
    lambda thresholds: [{"id": f"level-{i}", "name": f"Level {i}", "threshold": threshold,
                         **({"upgradeRewardId": f"gift-{i}"} if i % 2 == 0 else {})}
                        for i, threshold in enumerate(sorted(thresholds))])
events_strategy = st.lists(st.tuples(
    st.integers(min_value=1, max_value=24 * 70),  # hours since the previous event
    st.integers(min_value=-150, max_value=250),  # points earned (negative: a refund)
    st.integers(min_value=0, max_value=3),  # a refund's sale was this many months ago
), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=4), st.integers(min_value=0, max_value=60), levels_strategy,
       st.sampled_from(ZONES), events_strategy)
def test_over_any_history_upgrades_are_immediate_and_downgrades_wait_for_grace(window, grace, levels, zone, events):
    tiers = Tiers.model_validate({"windowMonths": window, "graceDays": grace, "levels": levels})
    threshold = {level["id"]: level["threshold"] for level in levels}
    ledger, state, now, due_at = Ledger(window, zone), TierState(), START, None
    downgrades: list[datetime] = []
    rewarded: list[str] = []

    def look(when: datetime, decision: TierDecision) -> None:
        nonlocal state, due_at
        held = decision.state.level_id
        qualifying = [level.id for level in tiers.levels if level.threshold <= ledger.window_sum(when)]
        # upgrades are immediate: never below the level that qualifies
        assert tiers.rank(held) >= tiers.rank(qualifying[-1] if qualifying else None)
        if held is not None and held not in qualifying:
            # kept only in grace: it qualified at some instant in the grace period that ends after now
            grace_start = when - timedelta(days=grace) - timedelta(microseconds=1)
            assert any(ledger.window_sum(moment) >= threshold[held]
                       for moment in ledger.changes_between(grace_start, when))
        if decision.changed and tiers.rank(held) < tiers.rank(decision.changed_from):
            # a downgrade: the level held did not qualify at any instant of the whole grace period before now
            assert all(ledger.window_sum(moment) < threshold[decision.changed_from]
                       for moment in ledger.changes_between(when - timedelta(days=grace), when))
            assert not downgrades or when - downgrades[-1] >= timedelta(days=grace)
            downgrades.append(when)
        assert decision.changed == (decision.state.level_id != state.level_id)
        rewarded.extend(level.id for level in decision.upgrade_rewards)
        assert all(level.upgrade_reward_id for level in decision.upgrade_rewards)
        assert len(decision.state.earned) <= window
        assert (decision.due_at is None) == (held is None)
        assert decision.due_at is None or decision.due_at > when
        state, due_at = decision.state, decision.due_at

    for hours, points, months_ago in events:
        now += timedelta(hours=hours)
        while due_at is not None and due_at <= now:  # the scheduled job looks at the member when due
            look(due_at, evaluate(tiers, state, due_at, zone))
        month = add_months(local_month(now, zone), -months_ago if points < 0 else 0)
        points = max(points, -ledger.month_earned(month))  # a refund returns at most what that month earned
        ledger.add(now, month, points)
        look(now, evaluate(tiers, record_earned(tiers, state, points, month, now, zone), now, zone))

    assert len(rewarded) == len(set(rewarded))  # an upgrade reward is issued at most once per level
