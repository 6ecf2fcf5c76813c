"""Points by earning month: a member spends the oldest first and loses only what is due (pure rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loyalty.domain.calendar import add_months, local_month, month_start
from loyalty.domain.point_batches import (
    MAX_BATCHES,
    Expiring,
    PointBatches,
    expire,
    expires_at,
    next_expiring,
    settle,
)

WARSAW = "Europe/Warsaw"
ZONES = ("UTC", WARSAW, "America/New_York", "Pacific/Auckland", "Asia/Kolkata", "America/Asuncion",
         "America/Santiago", "Australia/Lord_Howe")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def batches(**by_month: int) -> PointBatches:
    """batches(m2026_09=40, m2026_10=10) -> {"2026-09": 40, "2026-10": 10}"""
    return PointBatches.from_map({name[1:].replace("_", "-"): points for name, points in by_month.items()})


# --- months on the merchant's calendar --------------------------------------------------------------------

@pytest.mark.parametrize(("month", "n", "expected"), [
    ("2026-11", 1, "2026-12"), ("2026-12", 1, "2027-01"), ("2027-01", -1, "2026-12"),
    ("2026-03", 12, "2027-03"), ("2026-03", -27, "2023-12"), ("2026-05", 0, "2026-05"),
])
def test_months_add_across_years(month, n, expected):
    assert add_months(month, n) == expected


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-1", "26-11", "2026/11", "2026-11-01", ""])
def test_a_string_that_is_not_a_month_is_refused(month):
    with pytest.raises(ValueError, match="not a month"):
        add_months(month, 1)


def test_a_late_evening_in_warsaw_belongs_to_the_next_month_there():
    assert local_month(at("2026-10-31T22:59:59"), WARSAW) == "2026-10"
    assert local_month(at("2026-10-31T23:00:00"), WARSAW) == "2026-11"  # CET from 2026-10-25: UTC+1
    assert local_month(at("2026-10-31T23:00:00"), "UTC") == "2026-10"


def test_warsaw_months_start_at_local_midnight_whatever_the_daylight_saving_time():
    assert month_start("2026-11", WARSAW) == at("2026-10-31T23:00:00")  # winter time, UTC+1
    assert month_start("2027-04", WARSAW) == at("2027-03-31T22:00:00")  # summer time from 2027-03-28, UTC+2
    assert month_start("2026-10", WARSAW) == at("2026-09-30T22:00:00")
    assert month_start("2027-03", WARSAW) == at("2027-02-28T23:00:00")


def test_a_month_whose_midnight_is_skipped_starts_when_the_clocks_jump():
    # Paraguay moved its clocks from 00:00 to 01:00 on 2023-10-01: October began at that jump, 04:00Z.
    start = month_start("2023-10", "America/Asuncion")
    assert start == at("2023-10-01T04:00:00")
    assert local_month(start - timedelta(seconds=1), "America/Asuncion") == "2023-09"


# --- storage ----------------------------------------------------------------------------------------------

def test_batches_read_back_from_storage_oldest_first_as_integers():
    stored = {"2026-11": Decimal(5), "2026-09": Decimal(40), "2026-10": Decimal(0)}
    read = PointBatches.from_map(stored)
    assert read.batches == (("2026-09", 40), ("2026-11", 5))  # an empty month holds nothing
    assert read.total == 45
    assert read.as_map() == {"2026-09": 40, "2026-11": 5}
    assert PointBatches.from_map(read.as_map()) == read
    assert PointBatches.from_map(None) == PointBatches()


@pytest.mark.parametrize("pairs", [
    (("2026-10", 5), ("2026-09", 5)),  # newest first
    (("2026-10", 5), ("2026-10", 5)),  # a month twice
    (("2026-10", 0),),
    (("2026-10", -3),),
    (("october", 3),),
])
def test_malformed_batches_are_refused(pairs):
    with pytest.raises(ValueError):
        PointBatches(pairs)


# --- settle: what an operation leaves ---------------------------------------------------------------------

def test_earned_points_land_in_the_month_they_were_earned():
    after = settle(batches(m2026_09=40), credited=15, debited=0, month="2026-11", balance=55)
    assert after.batches == (("2026-09", 40), ("2026-11", 15))
    assert settle(after, credited=5, debited=0, month="2026-11", balance=60).batches == (
        ("2026-09", 40), ("2026-11", 20))


def test_a_claim_spends_the_oldest_points_first():
    held = batches(m2026_08=30, m2026_09=40, m2026_11=15)
    after = settle(held, credited=0, debited=50, month="2026-11", balance=35)
    assert after.batches == (("2026-09", 20), ("2026-11", 15))


def test_points_credited_elsewhere_are_counted_in_the_current_month():
    """An import or a referral bonus raises the balance without passing a credit: the shortfall is this month's."""
    after = settle(batches(m2026_09=40), credited=10, debited=0, month="2026-11", balance=150)
    assert after.batches == (("2026-09", 40), ("2026-11", 110))


def test_an_excess_over_the_balance_leaves_the_oldest_months():
    after = settle(batches(m2026_08=30, m2026_09=40), credited=0, debited=0, month="2026-11", balance=50)
    assert after.batches == (("2026-08", 10), ("2026-09", 40))


def test_a_refund_that_takes_the_balance_below_zero_leaves_no_batches_and_later_points_start_afresh():
    refunded = settle(batches(m2026_09=40), credited=0, debited=60, month="2026-11", balance=-20)
    assert refunded == PointBatches()
    # 30 earned in December pay the 20 owed first: the member holds 10, earned in December.
    assert settle(refunded, credited=30, debited=0, month="2026-12", balance=10).batches == (("2026-12", 10),)


def test_credits_and_debits_are_amounts():
    with pytest.raises(ValueError):
        settle(PointBatches(), credited=-1, debited=0, month="2026-11", balance=0)
    with pytest.raises(ValueError):
        settle(PointBatches(), credited=0, debited=-1, month="2026-11", balance=0)


def test_without_expiry_a_member_keeps_at_most_max_batches_and_no_point_is_lost():
    held, balance, month = PointBatches(), 0, "2020-01"
    for _ in range(100):  # a hundred months of earnings, nothing ever expiring
        balance += 10
        held = settle(held, credited=10, debited=0, month=month, balance=balance)
        month = add_months(month, 1)
    assert len(held.batches) == MAX_BATCHES
    assert held.total == balance
    # the oldest were merged into a later month (later expiry, never earlier)
    assert held.batches[0] == (add_months("2020-01", 100 - MAX_BATCHES), 10 * (100 - MAX_BATCHES + 1))


# --- expiry -----------------------------------------------------------------------------------------------

def test_points_earned_in_a_month_expire_at_local_midnight_ending_month_plus_after_months():
    assert expires_at("2026-10", 0, WARSAW) == at("2026-10-31T23:00:00")
    assert expires_at("2026-03", 12, WARSAW) == at("2027-03-31T22:00:00")
    assert expires_at("2025-11", 12, WARSAW) == at("2026-11-30T23:00:00")  # earned in Nov 2025, kept all Nov 2026


def test_a_batch_expires_at_its_instant_and_not_a_moment_before():
    held = batches(m2025_10=30, m2025_11=40, m2026_01=5)
    due = expires_at("2025-10", 12, WARSAW)  # 2026-10-31T23:00Z
    before = expire(held, due - timedelta(microseconds=1), WARSAW, 12)
    assert (before.batches, before.points, before.months) == (held, 0, ())

    at_due = expire(held, due, WARSAW, 12)
    assert at_due.points == 30
    assert at_due.months == ("2025-10",)
    assert at_due.batches == batches(m2025_11=40, m2026_01=5)


def test_an_expiry_run_that_comes_late_takes_every_month_due_by_then():
    held = batches(m2025_10=30, m2025_11=40, m2026_01=5)
    late = expire(held, at("2027-01-15T12:00:00"), WARSAW, 12)
    assert (late.points, late.months, late.batches.batches) == (70, ("2025-10", "2025-11"), (("2026-01", 5),))


def test_the_card_shows_the_oldest_batch_and_when_it_goes():
    held = batches(m2026_03=12, m2026_05=40)
    assert next_expiring(held, 12, WARSAW) == Expiring(12, at("2027-03-31T22:00:00"))
    assert next_expiring(PointBatches(), 12, WARSAW) is None


# --- properties -------------------------------------------------------------------------------------------

months = st.integers(min_value=2020 * 12, max_value=2032 * 12).map(lambda i: f"{i // 12:04d}-{i % 12 + 1:02d}")
batch_maps = st.dictionaries(months, st.integers(min_value=1, max_value=10_000), max_size=15)
operations = st.lists(st.tuples(
    st.integers(min_value=0, max_value=2),  # months since the previous operation
    st.integers(min_value=0, max_value=500),  # credited
    st.integers(min_value=0, max_value=500),  # debited
    st.integers(min_value=-300, max_value=300),  # balance moved by paths that do not tell (imports, refunds)
), max_size=40)


@given(operations)
def test_after_any_history_the_batches_add_up_to_the_balance_never_below_zero(history):
    held, balance, month = PointBatches(), 0, "2026-01"
    for months_later, credited, debited, elsewhere in history:
        month = add_months(month, months_later)
        balance += credited - debited + elsewhere
        held = settle(held, credited=credited, debited=debited, month=month, balance=balance)
        assert held.total == max(0, balance)
        assert all(points > 0 for _, points in held.batches)


@given(batch_maps, st.integers(min_value=0, max_value=50_000))
def test_a_debit_takes_the_oldest_months_first(by_month, debited):
    held = PointBatches.from_map(by_month)
    after = settle(held, credited=0, debited=debited, month="2032-12", balance=held.total - debited)
    left = after.as_map()
    taken = [points - left.get(month, 0) for month, points in held.batches]
    assert sum(taken) == min(debited, held.total)
    # a month is touched only when every older month is empty
    touched = [i for i, amount in enumerate(taken) if amount]
    if touched:
        newest_touched = touched[-1]
        assert all(month not in left for month, _ in held.batches[:newest_touched])


@given(batch_maps, st.integers(min_value=1, max_value=60), st.sampled_from(ZONES),
       st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2036, 1, 1), timezones=st.just(UTC)))
def test_expiry_takes_exactly_the_batches_whose_instant_has_come(by_month, after_months, zone, now):
    held = PointBatches.from_map(by_month)
    expired = expire(held, now, zone, after_months)
    for month, points in held.batches:
        due = expires_at(month, after_months, zone) <= now
        assert (month in expired.months) == due
        assert expired.batches.as_map().get(month) == (None if due else points)
    assert expired.points + expired.batches.total == held.total


@given(months, st.sampled_from(ZONES))
def test_a_month_starts_at_local_midnight_of_its_first_day_or_at_the_first_instant_of_that_day(month, zone):
    start = month_start(month, zone)
    assert local_month(start, zone) == month
    assert local_month(start - timedelta(microseconds=1), zone) == add_months(month, -1)
