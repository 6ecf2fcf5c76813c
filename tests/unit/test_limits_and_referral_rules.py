"""Rate-limit windows and shards, and the signals that hold a referral (pure rules)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from loyalty.domain import limits
from loyalty.domain.model import Member
from loyalty.domain.referral import CARD_ON_DEVICE, REFERRER_DEVICE, SIMILAR_EMAIL, mailbox, suspicions
from loyalty.settings import get_settings


def test_a_window_frees_at_its_end_and_retry_after_counts_the_seconds_left():
    window = limits.window_at(1_000_030.5, 60)
    assert (window.start, window.end) == (1_000_020, 1_000_080)
    assert window.retry_after(window.end - 12.2) == 13
    assert window.retry_after(window.end - 0.001) == 1
    assert limits.window_at(window.end, 60).start == window.end


def test_shard_shares_add_up_to_at_least_the_merchant_limit():
    for limit, shards in ((18_000, 32), (6_000, 32), (100, 32), (7, 3)):
        assert limits.shard_limit(limit, shards) * shards >= limit
        assert limits.shard_limit(limit, shards) * shards < limit + shards  # rounding adds under one a shard


def test_a_chain_at_100_scans_a_second_writes_no_counter_more_than_a_few_times_a_second():
    """One minute of a 500-location chain's peak: 6,000 scans, each adding to one random shard of the window."""
    settings = get_settings()
    shards, window = settings.rate_limit_shards, settings.scan_limit.window_seconds
    rng = random.Random(2026)
    per_second = [Counter(limits.pick_shard(shards, rng) for _ in range(100)) for _ in range(window)]
    per_window = sum(per_second, Counter())

    hottest_rate = max(per_window.values()) / window
    assert 100 / shards <= 3.2  # the mean write rate of one counter item
    assert hottest_rate <= 4.0, hottest_rate  # the hottest item over the whole window
    assert max(max(second.values()) for second in per_second) <= 12  # the worst single second of any item
    # ...and the chain is never refused: its busiest shard stays far below its share of the merchant limit.
    assert max(per_window.values()) < limits.shard_limit(settings.scan_limit.per_merchant, shards) / 2


@pytest.mark.parametrize(("one", "other"), [
    ("Anna.Nowak@gmail.com", "annanowak@gmail.com"),
    ("anna.nowak+cafe@googlemail.com", "annanowak@gmail.com"),
    ("ANNA+1@outlook.com", "anna@outlook.com"),
    ("Ola@Example.COM", "ola@example.com"),
])
def test_look_alike_addresses_share_one_mailbox(one, other):
    assert mailbox(one) == mailbox(other)


@pytest.mark.parametrize(("one", "other"), [
    ("anna.nowak@example.com", "annanowak@example.com"),  # dots matter outside Gmail
    ("anna+1@example.com", "anna@example.com"),  # unknown providers may deliver +tags elsewhere
    ("anna@gmail.com", "anna@outlook.com"),
])
def test_distinct_mailboxes_stay_distinct(one, other):
    assert mailbox(one) != mailbox(other)


def test_suspicions_name_every_signal_and_nothing_for_a_real_friend():
    referrer = Member("mem_a", "mch_1", "hash", email="anna.nowak@gmail.com", device_hash="d1")
    assert suspicions(referrer, "ola@example.com", "d2", False) == ()
    assert suspicions(referrer, None, None, False) == ()
    assert suspicions(referrer, "a.n.n.a.nowak+2@gmail.com", "d1", True) == (
        SIMILAR_EMAIL, REFERRER_DEVICE, CARD_ON_DEVICE)
    no_device = Member("mem_b", "mch_1", "hash", phone="+48600100200")
    assert suspicions(no_device, "ola@example.com", None, False) == ()
