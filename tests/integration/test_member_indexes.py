"""The member indexes (birthdays, roster by last visit, joined) follow joins, visits and birthday changes."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest

WARSAW_LATE_EVENING = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # already 23 November in Warsaw (UTC+1)


@contextmanager
def dynamodb_operations():
    """The DynamoDB operations sent inside the block."""
    from botocore.client import BaseClient

    seen: list[str] = []
    original = BaseClient._make_api_call

    def record(client, operation_name, params):
        if client.meta.service_model.service_name == "dynamodb":
            seen.append(operation_name)
        return original(client, operation_name, params)

    BaseClient._make_api_call = record
    try:
        yield seen
    finally:
        BaseClient._make_api_call = original


def ids(snapshots) -> set[str]:
    return {snapshot.member_id for snapshot in snapshots}


@pytest.fixture
def at(monkeypatch):
    """Move the services' clock to a given instant."""
    from loyalty.services import clock

    def move(instant: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: instant)

    return move


def test_a_new_member_is_in_the_roster_as_never_visited_and_under_its_local_join_day(world, at):
    from loyalty.store import member_index

    at(WARSAW_LATE_EVENING)
    member = world.enroll(name="Ala", birthday="1990-05-17")

    joined = {s.member_id: s for s in member_index.joined_on(world.merchant_id, date(2026, 11, 23))}
    assert member.member_id in joined
    assert joined[member.member_id].name == "Ala"
    assert joined[member.member_id].visit_count is None  # the joined index carries the contact part only
    assert member.member_id not in ids(member_index.joined_on(world.merchant_id, date(2026, 11, 22)))

    roster = {s.member_id: s for s in member_index.roster(world.merchant_id)}
    assert roster[member.member_id].last_visit_at is None
    assert roster[member.member_id].visit_count == 0
    assert member.member_id in ids(member_index.birthdays_on(world.merchant_id, "05-17"))


def test_a_visit_moves_the_member_to_the_merchants_local_day_of_the_visit(world, at):
    from loyalty.store import member_index

    at(WARSAW_LATE_EVENING - timedelta(days=3))
    member = world.enroll()
    at(WARSAW_LATE_EVENING)
    assert world.scan(member).status == 200

    on_the_day = {s.member_id: s for s in member_index.last_visit_on(world.merchant_id, date(2026, 11, 23))}
    assert on_the_day[member.member_id].visit_count == 1
    assert on_the_day[member.member_id].last_location_id == world.locations[0]
    assert on_the_day[member.member_id].last_visit_at == WARSAW_LATE_EVENING
    assert member.member_id not in ids(member_index.last_visit_on(world.merchant_id, date(2026, 11, 22)))

    at(WARSAW_LATE_EVENING + timedelta(days=2))
    assert world.scan(member, location_index=1).status == 200
    assert member.member_id not in ids(member_index.last_visit_on(world.merchant_id, date(2026, 11, 23)))
    later = {s.member_id: s for s in member_index.last_visit_between(
        world.merchant_id, date(2026, 11, 24), date(2026, 11, 26))}
    assert later[member.member_id].visit_count == 2
    assert later[member.member_id].last_location_id == world.locations[1]
    roster = [s for s in member_index.roster(world.merchant_id) if s.member_id == member.member_id]
    assert len(roster) == 1  # moved, not copied


def test_the_birthday_index_holds_only_members_with_a_birthday_and_follows_changes(world):
    from loyalty.store import member_index
    from loyalty.store import members as store
    from loyalty.store.models import MemberItem

    with_birthday = world.enroll(birthday="1985-02-28")
    without = world.enroll()
    assert MemberItem.get(f"MEMBER#{without.member_id}", "MEMBER").gsi2pk is None  # sparse
    everyone_with_a_birthday = set()
    for month in range(1, 13):
        for day in range(1, 32):
            everyone_with_a_birthday |= ids(member_index.birthdays_on(world.merchant_id, f"{month:02}-{day:02}"))
    assert everyone_with_a_birthday == {with_birthday.member_id}

    store.change_preferences(store.get_member(without.member_id), birthday="07-04", language="en")
    store.change_preferences(store.get_member(with_birthday.member_id), birthday="1985-03-01")
    birthdays = {s.member_id: s for s in member_index.birthdays_on(world.merchant_id, "07-04")}
    assert birthdays[without.member_id].language == "en"
    assert with_birthday.member_id in ids(member_index.birthdays_on(world.merchant_id, "03-01"))
    assert with_birthday.member_id not in ids(member_index.birthdays_on(world.merchant_id, "02-28"))

    store.change_preferences(store.get_member(with_birthday.member_id), birthday=None)
    assert with_birthday.member_id not in ids(member_index.birthdays_on(world.merchant_id, "03-01"))
    assert MemberItem.get(f"MEMBER#{with_birthday.member_id}", "MEMBER").gsi2pk is None


def test_a_profile_change_on_a_stale_member_is_refused(world):
    from loyalty.store import members as store
    from loyalty.store.transaction import ConditionFailed

    member = world.enroll()
    stale = store.get_member(member.member_id)
    assert world.scan(member).status == 200
    with pytest.raises(ConditionFailed):
        store.change_preferences(stale, birthday="01-01")
    assert store.get_member(member.member_id).birthday is None


def test_index_reads_only_query_and_never_see_another_merchants_members(world, other_world, at):
    from loyalty.store import member_index

    at(WARSAW_LATE_EVENING)
    mine = world.enroll(birthday="2000-12-24")
    theirs = other_world.enroll(birthday="2000-12-24")
    world.scan(mine)
    other_world.scan(theirs)

    with dynamodb_operations() as operations:
        found = (ids(member_index.roster(world.merchant_id))
                 | ids(member_index.birthdays_on(world.merchant_id, "12-24"))
                 | ids(member_index.joined_on(world.merchant_id, date(2026, 11, 23)))
                 | ids(member_index.last_visit_on(world.merchant_id, date(2026, 11, 23))))
    assert found == {mine.member_id}
    assert set(operations) == {"Query"}
