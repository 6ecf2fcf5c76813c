"""Favourites: bounded, decaying purchase counts and their ranked top."""

from __future__ import annotations

from datetime import UTC, datetime

from loyalty.domain.favourites import (
    MAX_COUNTED,
    Purchase,
    count_purchases,
    purchase_month,
    same_ranking,
    top,
    top_categories,
)
from loyalty.domain.model import Favourite, MemberSnapshot


def test_skus_and_their_categories_are_counted_by_quantity():
    counted = count_purchases({}, None, [Purchase("latte", "coffee", 2), Purchase("espresso", "coffee", 1),
                                         Purchase("croissant", None, 1)], "2026-11")
    assert counted.counts == {"c:coffee": 3, "s:latte": 2, "s:espresso": 1, "s:croissant": 1}
    assert [f.wire() for f in top(counted.counts)] == [
        {"category": "coffee", "count": 3}, {"sku": "latte", "count": 2}, {"sku": "croissant", "count": 1}]
    assert top_categories(counted.counts) == ("coffee",)


def test_old_purchases_weigh_half_every_three_months_so_recent_taste_wins():
    counted = count_purchases({}, None, [Purchase("latte", None, 8)], "2025-11")
    later = count_purchases(counted.counts, counted.month, [Purchase("matcha", None, 5)], "2026-02")
    assert later.counts == {"s:matcha": 5, "s:latte": 4}
    a_year_on = count_purchases(later.counts, later.month, [], "2027-02")
    assert a_year_on.counts == {"s:matcha": 0.31, "s:latte": 0.25}
    assert [f.name for f in top(a_year_on.counts)] == ["matcha", "latte"]


def test_counts_stay_bounded_to_the_largest_ones():
    counts, month = {}, None
    for number in range(60):
        counted = count_purchases(counts, month, [Purchase(f"sku-{number}", None, 1 + number % 3)], "2026-11")
        counts, month = counted.counts, counted.month
    assert len(counts) == MAX_COUNTED
    assert min(counts.values()) == 3  # the larger counts were kept


def test_the_month_is_the_merchants():
    assert purchase_month(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "Europe/Warsaw") == "2026-12"


def test_a_ranking_is_the_same_whatever_the_counts():
    assert same_ranking([Favourite(kind="sku", name="latte", count=2)], [Favourite(kind="sku", name="latte", count=9)])
    assert not same_ranking([Favourite(kind="sku", name="latte", count=2)],
                            [Favourite(kind="category", name="latte", count=2)])


def test_the_favourite_word_is_the_top_one_or_none():
    snapshot = MemberSnapshot(member_id="m", merchant_id="x",
                              favourites=(Favourite(kind="category", name="coffee", count=3),))
    assert snapshot.favourite == "coffee"
    assert MemberSnapshot(member_id="m", merchant_id="x").favourite is None
