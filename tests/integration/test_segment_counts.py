"""Stored segment counts through the handlers: answered while fresh, recounted live within a time budget,
finished by the campaign tick when the budget is not enough, and never another merchant's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.segments import TODAY, join, visit


@pytest.fixture(autouse=True)
def time_to_count(settings_env):
    """These merchants are small: their counts are made within the request, however busy the machine (a test
    that wants the budget spent says so with its own setting)."""
    settings_env(SEGMENT_COUNT_BUDGET_SECONDS=60)


def tick(runtime) -> dict:
    return runtime.invoke("CampaignsFunction", {})


def listing(world) -> dict:
    reply = world.call("GET", f"/v1/merchants/{world.merchant_id}/segments", headers=world.owner)
    assert reply.status == 200, reply.raw
    return reply.json


def counts_of(reply: dict) -> dict:
    return {s["name"]: s["count"] for s in reply["segments"]}


def walked_live(world) -> dict:
    """Each segment's count by walking its members one by one, as a broadcast reads them."""
    from loyalty.services import clock, segments
    from loyalty.services.merchants import load_merchant

    merchant = load_merchant(world.merchant_id)
    names = [s["name"] for s in listing(world)["segments"]]
    return {name: sum(1 for _ in segments.segment_members(merchant, name, clock.now())) for name in names}


@pytest.fixture
def no_time_to_count(settings_env):
    """A request may not walk the roster at all: it counts one member and leaves the rest to the tick."""
    settings_env(SEGMENT_COUNT_BUDGET_SECONDS=0)


def test_a_small_merchant_gets_exact_counts_at_once(world, cafe):
    reply = listing(world)
    assert reply["counting"] is False
    assert reply["countedAt"] == "2026-11-20T11:00:00Z"
    assert counts_of(reply) == walked_live(world)
    assert counts_of(reply) == {"new": 2, "regulars": 2, "vip": 1, "at_risk": 1, "lapsed": 1,
                                "birthday_this_month": 1}


def test_counts_too_long_for_a_request_are_finished_by_the_tick(world, cafe, runtime, no_time_to_count):
    first = listing(world)
    assert first["counting"] is True and first["countedAt"] is None
    assert set(counts_of(first).values()) == {None}

    assert listing(world)["counting"] is True  # another request goes on a member further, no more
    done = tick(runtime)["segments"]
    assert (done["recountsFinished"], done["complete"]) == (1, True)

    after = listing(world)
    assert after["counting"] is False and after["countedAt"] == "2026-11-20T11:00:00Z"
    assert counts_of(after) == walked_live(world)
    assert tick(runtime)["segments"]["recounts"] == 0  # nothing left under way


def test_a_recount_goes_on_from_where_it_stopped_tick_after_tick(world, cafe, no_time_to_count):
    from loyalty.services import segments

    segments.continue_recounts(lambda: True)  # other merchants' recounts are finished: only this one is left
    listing(world)
    ticks = 0
    while listing(world)["counting"]:
        allowed = iter([True, True, False])  # each tick: one merchant started, two members counted
        segments.continue_recounts(lambda allowed=allowed: next(allowed, False))
        ticks += 1
        assert ticks <= 5
    assert ticks >= 2
    assert counts_of(listing(world)) == walked_live(world)


def test_stale_counts_are_recounted_after_their_maximum_age(world, cafe, at):
    before = counts_of(listing(world))
    newcomer = join(world, at, 0)
    visit(world, at, newcomer, 0)
    assert counts_of(listing(world)) == before  # fresh: the stored counts are answered

    at(TODAY + timedelta(seconds=3601))
    reply = listing(world)
    assert reply["countedAt"] == "2026-11-20T12:00:01Z"
    assert counts_of(reply) == {**before, "new": before["new"] + 1}


def test_a_new_segment_is_counted_by_the_next_recount(world, cafe, runtime, no_time_to_count, settings_env):
    settings_env(SEGMENT_COUNT_BUDGET_SECONDS=60)
    before = counts_of(listing(world))
    settings_env(SEGMENT_COUNT_BUDGET_SECONDS=0)
    body = {"name": "frequent", "conditions": [{"field": "visitCount", "op": "gte", "value": 3}]}
    created = world.call("POST", f"/v1/merchants/{world.merchant_id}/segments", body, world.owner)
    assert created.status == 201, created.raw
    assert created.json["count"] is None

    while_counting = listing(world)
    assert while_counting["counting"] is True
    assert counts_of(while_counting) == {**before, "frequent": None}  # the last counts stand meanwhile

    tick(runtime)
    assert counts_of(listing(world)) == {**before, "frequent": 2}


def test_one_merchants_counts_never_show_for_another(world, other_world, cafe, runtime, no_time_to_count):
    tick(runtime)  # whatever was under way before
    listing(world)
    listing(other_world)
    tick(runtime)
    mine, theirs = counts_of(listing(world)), counts_of(listing(other_world))
    assert mine == walked_live(world) and theirs == walked_live(other_world)
    assert theirs == {"new": 0, "regulars": 0, "vip": 0, "at_risk": 0, "lapsed": 2, "birthday_this_month": 2}
    assert mine != theirs
