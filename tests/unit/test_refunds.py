"""Refunds reverse floor(P * R / S) on the running total: any split of a full refund reverses exactly P."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loyalty.domain.errors import RefundTooLarge, ValidationFailed
from loyalty.domain.refunds import points_to_reverse


def _refund_all(points: int, sale: int, parts: list[int]) -> list[int]:
    refunded = reversed_ = 0
    reversals = []
    for part in parts:
        step = points_to_reverse(points, sale, refunded, reversed_, part)
        refunded, reversed_ = refunded + part, reversed_ + step
        reversals.append(step)
    return reversals


@st.composite
def sale_and_split(draw):
    sale = draw(st.integers(min_value=1, max_value=10_000_000))
    points = draw(st.integers(min_value=0, max_value=1_000_000))
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=sale - 1), max_size=min(40, sale - 1)))
                  if sale > 1 else set())
    bounds = [0, *cuts, sale]
    return points, sale, [b - a for a, b in itertools.pairwise(bounds)]


@given(sale_and_split())
def test_any_split_of_a_full_refund_reverses_exactly_the_points_and_every_prefix_its_share(case):
    points, sale, parts = case
    reversals = _refund_all(points, sale, parts)
    assert sum(reversals) == points
    assert all(step >= 0 for step in reversals)
    refunded = reversed_ = 0
    for part, step in zip(parts, reversals, strict=True):
        refunded, reversed_ = refunded + part, reversed_ + step
        assert reversed_ == points * refunded // sale


def test_thirds_do_not_drift():
    assert _refund_all(10, 1000, [333, 333, 334]) == [3, 3, 4]
    assert _refund_all(100, 3, [1, 1, 1]) == [33, 33, 34]


@pytest.mark.parametrize("amount", [0, -1])
def test_a_refund_is_a_positive_amount(amount):
    with pytest.raises(ValidationFailed):
        points_to_reverse(25, 2500, 0, 0, amount)


def test_a_refund_above_what_remains_is_refused():
    assert points_to_reverse(25, 2500, 2000, 20, 500) == 5
    with pytest.raises(RefundTooLarge) as refused:
        points_to_reverse(25, 2500, 2000, 20, 501)
    assert refused.value.details[0]["remaining"] == 500


def test_a_sale_without_an_amount_or_points_reverses_nothing():
    with pytest.raises(RefundTooLarge):
        points_to_reverse(0, 0, 0, 0, 100)
    assert points_to_reverse(0, 2500, 0, 0, 2500) == 0
