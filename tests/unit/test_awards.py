"""What a visit earns: every point and stamp comes with a line that explains it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loyalty.domain.awards import Visit, calculate_award, currency_exponent, format_money
from loyalty.domain.program import Program, default_program

COFFEE = {"id": "free-coffee", "name": "Free coffee", "pointsCost": 100}


def program(**fields) -> Program:
    return Program.model_validate({"rewards": [COFFEE], **fields})


STAMPS_ONLY = program(stampCard={"stampsRequired": 5, "rewardId": "free-coffee"})
SPEND_ONLY = program(points={"perCurrencyUnit": 1})


def kinds(award) -> list[str]:
    return [line.kind for line in award.lines]


# --- the default café program: 10 points a visit, 1 point per PLN, 20 welcome points, a stamp a visit --

def test_first_visit_with_a_bill_earns_visit_spend_and_welcome_lines():
    award = calculate_award(default_program(), Visit(counts_as_visit=True, is_first_visit=True, amount_minor=2550))

    assert [(line.kind, line.points, line.stamps, line.label) for line in award.lines] == [
        ("visit", 10, 1, "Visit"),
        ("spend", 25, 0, "Spend 25.50 PLN"),
        ("welcome", 20, 0, "Welcome bonus"),
    ]
    assert award.points == 55
    assert award.stamps == 1


def test_a_returning_visit_gets_no_welcome_bonus():
    award = calculate_award(default_program(), Visit(counts_as_visit=True, is_first_visit=False))

    assert kinds(award) == ["visit"]
    assert (award.points, award.stamps) == (10, 1)


def test_a_visit_without_a_bill_earns_no_spend_line():
    for amount in (None, 0):
        visit = Visit(counts_as_visit=True, is_first_visit=False, amount_minor=amount)
        award = calculate_award(default_program(), visit)
        assert "spend" not in kinds(award)


def test_inside_the_cooldown_the_bill_still_earns_but_the_visit_does_not():
    award = calculate_award(default_program(), Visit(counts_as_visit=False, is_first_visit=False, amount_minor=1200))

    assert kinds(award) == ["spend"]
    assert (award.points, award.stamps) == (12, 0)


def test_inside_the_cooldown_without_a_bill_nothing_is_earned():
    award = calculate_award(default_program(), Visit(counts_as_visit=False, is_first_visit=False))

    assert award.lines == ()
    assert (award.points, award.stamps) == (0, 0)


def test_the_welcome_bonus_needs_a_visit_that_counts():
    award = calculate_award(default_program(), Visit(counts_as_visit=False, is_first_visit=True, amount_minor=500))

    assert "welcome" not in kinds(award)


# --- spend ------------------------------------------------------------------------------------------

def test_a_25_50_pln_bill_earns_25_points_at_1_point_per_pln():
    award = calculate_award(SPEND_ONLY, Visit(counts_as_visit=True, is_first_visit=False, amount_minor=2550))

    assert award.points == 25
    assert award.lines[0].label == "Spend 25.50 PLN"


def test_only_whole_currency_units_earn_so_99_grosze_earn_nothing():
    award = calculate_award(SPEND_ONLY, Visit(counts_as_visit=True, is_first_visit=False, amount_minor=99))

    assert award.lines == ()


def test_points_per_currency_unit_multiplies_the_whole_units():
    double = program(points={"perCurrencyUnit": 3})

    award = calculate_award(double, Visit(counts_as_visit=True, is_first_visit=False, amount_minor=1050))

    assert award.points == 30


def test_a_program_without_spend_points_ignores_the_bill():
    per_visit_only = program(points={"perVisit": 5})

    award = calculate_award(per_visit_only, Visit(counts_as_visit=True, is_first_visit=False, amount_minor=10_000))

    assert kinds(award) == ["visit"]
    assert award.points == 5


def test_a_jpy_amount_has_no_minor_units():
    award = calculate_award(SPEND_ONLY, Visit(counts_as_visit=True, is_first_visit=False, amount_minor=1234,
                                              currency="JPY"))

    assert award.points == 1234
    assert award.lines[0].label == "Spend 1234 JPY"


def test_a_kwd_amount_has_three_minor_units():
    award = calculate_award(SPEND_ONLY, Visit(counts_as_visit=True, is_first_visit=False, amount_minor=2500,
                                              currency="KWD"))

    assert award.points == 2
    assert award.lines[0].label == "Spend 2.500 KWD"


def test_a_west_african_cfa_franc_amount_has_no_minor_units():
    award = calculate_award(SPEND_ONLY, Visit(counts_as_visit=True, is_first_visit=False, amount_minor=1500,
                                              currency="XOF"))

    assert award.points == 1500


@pytest.mark.parametrize(("currency", "exponent"), [
    ("PLN", 2), ("EUR", 2), ("USD", 2), ("HUF", 2), ("GBP", 2),
    ("JPY", 0), ("KRW", 0), ("ISK", 0), ("CLP", 0), ("VND", 0), ("XAF", 0), ("UGX", 0),
    ("BHD", 3), ("KWD", 3), ("JOD", 3), ("OMR", 3), ("TND", 3),
    ("jpy", 0), ("kwd", 3),
])
def test_currency_exponents_follow_iso_4217(currency, exponent):
    assert currency_exponent(currency) == exponent


@pytest.mark.parametrize(("amount", "currency", "text"), [
    (2550, "PLN", "25.50 PLN"),
    (5, "EUR", "0.05 EUR"),
    (100, "PLN", "1.00 PLN"),
    (1234, "JPY", "1234 JPY"),
    (1500, "KWD", "1.500 KWD"),
])
def test_money_is_shown_with_the_currency_minor_units(amount, currency, text):
    assert format_money(amount, currency) == text


# --- stamp-only and points-only programs ------------------------------------------------------------

def test_a_stamp_only_program_gives_one_stamp_and_no_points_per_visit():
    award = calculate_award(STAMPS_ONLY, Visit(counts_as_visit=True, is_first_visit=True, amount_minor=5000))

    assert [(line.kind, line.points, line.stamps) for line in award.lines] == [("visit", 0, 1)]


def test_a_points_only_program_gives_no_stamps():
    points_only = program(points={"perVisit": 10, "perCurrencyUnit": 1})

    award = calculate_award(points_only, Visit(counts_as_visit=True, is_first_visit=False, amount_minor=700))

    assert award.stamps == 0
    assert award.points == 17


def test_a_spend_only_program_writes_no_empty_visit_line():
    award = calculate_award(SPEND_ONLY, Visit(counts_as_visit=True, is_first_visit=False, amount_minor=300))

    assert kinds(award) == ["spend"]


# --- referral -----------------------------------------------------------------------------------------

def test_a_referred_members_first_visit_earns_the_referee_bonus():
    award = calculate_award(default_program(), Visit(counts_as_visit=True, is_first_visit=True, referee_bonus=50))

    assert kinds(award) == ["visit", "welcome", "referral"]
    referral = award.lines[-1]
    assert (referral.points, referral.stamps, referral.label) == (50, 0, "Joined with a friend's invite")
    assert award.points == 10 + 20 + 50


def test_the_referee_bonus_is_never_paid_on_a_later_visit():
    award = calculate_award(default_program(), Visit(counts_as_visit=True, is_first_visit=False, referee_bonus=50))

    assert "referral" not in kinds(award)


# --- properties ----------------------------------------------------------------------------------------

visits = st.builds(
    Visit,
    counts_as_visit=st.booleans(),
    is_first_visit=st.booleans(),
    amount_minor=st.one_of(st.none(), st.integers(min_value=0, max_value=10_000_000)),
    currency=st.sampled_from(["PLN", "EUR", "JPY", "KWD"]),
    referee_bonus=st.integers(min_value=0, max_value=1_000),
)


@given(visits)
def test_the_totals_are_exactly_the_sum_of_the_explained_lines(visit):
    award = calculate_award(default_program(), visit)

    assert award.points == sum(line.points for line in award.lines)
    assert award.stamps == sum(line.stamps for line in award.lines)
    assert all(line.points > 0 or line.stamps > 0 for line in award.lines)
    assert all(line.label for line in award.lines)


@given(visits)
def test_at_most_one_stamp_per_visit_and_only_when_it_counts(visit):
    award = calculate_award(default_program(), visit)

    assert award.stamps == (1 if visit.counts_as_visit else 0)


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=1_000))
def test_spend_points_never_exceed_the_whole_units_times_the_rate(amount, rate):
    rules = program(points={"perCurrencyUnit": rate})

    award = calculate_award(rules, Visit(counts_as_visit=False, is_first_visit=False, amount_minor=amount))

    assert award.points == (amount // 100) * rate


def test_bill_total_prefers_the_amount_then_the_sum_of_items():
    from loyalty.domain.awards import bill_total
    from loyalty.requests.scans import SaleItem

    items = [SaleItem(sku="latte", quantity=2, amount=2400), SaleItem(sku="cake", quantity=1, amount=1150)]
    assert bill_total(5000, items) == 5000
    assert bill_total(None, items) == 3550
    assert bill_total(None, ()) is None
    assert bill_total(0, items) == 0
