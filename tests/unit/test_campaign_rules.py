"""Campaign rules: validation, the next run across DST, occasions (29 February), rendering."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
from loyalty.domain import campaigns as rules
from loyalty.domain.program import Program

WARSAW = "Europe/Warsaw"
PROGRAM = Program.model_validate({
    "points": {"perVisit": 10},
    "rewards": [{"id": "free-cake", "name": "Free cake", "pointsCost": 50}],
})
NOW = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


def campaign(**changes) -> rules.Campaign:
    base = rules.Campaign(
        campaign_id="cmp_1", merchant_id="mch_1", name="Birthday treat", type=rules.BIRTHDAY,
        trigger={"daysBefore": 7}, offer=rules.Offer(reward_id="free-cake", validity_days=14),
        channels=("email", "sms"),
        message={"email": rules.Wording(subject="Happy birthday, {name}!", body="A {reward} at {merchant}."),
                 "sms": rules.Wording(subject=None, body="{merchant}: a cake on us until {expiresAt}. {cardLink}")},
        send_at="10:00", status=rules.ACTIVE, created_at=NOW, updated_at=NOW)
    return dataclasses.replace(base, **changes)


def fields(found: list[dict]) -> set[str]:
    return {problem["field"] for problem in found}


# Validation


def test_the_contract_example_is_valid():
    assert rules.problems(campaign(), PROGRAM) == []


@pytest.mark.parametrize(("changes", "field"), [
    ({"send_at": "25:00"}, "sendAt"),
    ({"send_at": "10am"}, "sendAt"),
    ({"send_at": None}, "sendAt"),
    ({"offer": rules.Offer(reward_id="no-such-reward", validity_days=14)}, "offer.rewardId"),
    ({"offer": rules.Offer()}, "offer"),
    ({"channels": ("email", "sms", "sms")}, "channels"),
    ({"message": {"email": rules.Wording(subject="Hi {nickname}", body="x")}}, "message.email.subject"),
    ({"message": {"email": rules.Wording(subject="Hi", body="x"),
                  "sms": rules.Wording(subject=None, body="x" * 613)}}, "message.sms.body"),
    ({"message": {"email": rules.Wording(subject="Hi", body="x")}}, "message.sms"),
    ({"trigger": {"daysBefore": -1}}, "trigger.daysBefore"),
    ({"trigger": {"daysAfter": 3}}, "trigger.daysAfter"),
    ({"type": rules.WINBACK, "trigger": {"minVisits": 3}}, "trigger.absentDays"),
    ({"type": rules.BROADCAST, "send_at": None, "trigger": {"segment": "vip", "startAt": "2026-13-01T10:00"}},
     "trigger.startAt"),
    ({"type": rules.BROADCAST, "send_at": None, "trigger": {"segment": "vip", "startAt": "2026-12-01 10:00"}},
     "trigger.startAt"),
    ({"type": rules.BROADCAST, "trigger": {"segment": "vip", "startAt": "2026-12-01T10:00"}}, "sendAt"),
])
def test_bad_campaigns_name_the_field(changes, field):
    assert field in fields(rules.problems(campaign(**changes), PROGRAM))


def test_an_sms_of_exactly_612_characters_is_accepted():
    message = {"sms": rules.Wording(subject=None, body="x" * 612)}
    assert rules.problems(campaign(channels=("sms",), message=message), PROGRAM) == []


# The next run, across DST


def test_next_run_is_today_at_send_at_when_still_ahead_else_tomorrow():
    assert rules.next_run_at(campaign(), WARSAW, datetime(2026, 10, 1, 7, 59, tzinfo=UTC)) == datetime(
        2026, 10, 1, 8, 0, tzinfo=UTC)  # 10:00 CEST is 08:00 UTC
    assert rules.next_run_at(campaign(), WARSAW, datetime(2026, 10, 1, 8, 0, tzinfo=UTC)) == datetime(
        2026, 10, 2, 8, 0, tzinfo=UTC)


def test_runs_keep_local_time_across_the_autumn_change():
    before = rules.next_run_at(campaign(), WARSAW, datetime(2026, 10, 24, 9, 0, tzinfo=UTC))
    assert before == datetime(2026, 10, 25, 9, 0, tzinfo=UTC)  # 10:00 CET on the day the clocks go back
    assert rules.next_run_at(campaign(), WARSAW, datetime(2026, 10, 24, 7, 0, tzinfo=UTC)) == datetime(
        2026, 10, 24, 8, 0, tzinfo=UTC)  # the day before is still CEST


def test_runs_keep_local_time_across_the_spring_change():
    assert rules.next_run_at(campaign(), WARSAW, datetime(2027, 3, 27, 10, 0, tzinfo=UTC)) == datetime(
        2027, 3, 28, 8, 0, tzinfo=UTC)  # 10:00 CEST


def test_a_time_the_clocks_skip_runs_at_the_first_valid_time_after_it():
    night = campaign(send_at="02:30")
    run = rules.next_run_at(night, WARSAW, datetime(2027, 3, 27, 12, 0, tzinfo=UTC))
    assert run == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)  # 03:00 CEST, the first minute after the gap
    assert rules.next_run_at(night, WARSAW, run) == datetime(2027, 3, 29, 0, 30, tzinfo=UTC)


def test_a_time_that_occurs_twice_runs_once():
    night = campaign(send_at="02:30")
    first = rules.next_run_at(night, WARSAW, datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, the first of the two
    second = rules.next_run_at(night, WARSAW, first)
    assert second == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)  # the next day, 02:30 CET: not 01:30 UTC the same day


def test_a_paused_campaign_has_no_next_run_and_a_broadcast_runs_once():
    assert rules.next_run_at(campaign(status=rules.PAUSED), WARSAW, NOW) is None
    broadcast = campaign(type=rules.BROADCAST, send_at=None, trigger={"segment": "vip", "startAt": "2026-12-01T18:30"})
    assert rules.next_run_at(broadcast, WARSAW, NOW) == datetime(2026, 12, 1, 17, 30, tzinfo=UTC)
    assert rules.next_run_at(dataclasses.replace(broadcast, last_run_day=date(2026, 12, 1)), WARSAW, NOW) is None


def test_run_ids_are_the_scheduled_time():
    assert rules.run_id_for(datetime(2026, 10, 25, 9, 0, tzinfo=UTC)) == "20261025T0900Z"


# Occasions


def test_birthday_a_week_ahead_and_29_february_on_28_february_in_other_years():
    queries = rules.audience(campaign(), [date(2027, 2, 21)])
    assert [(q.index, q.key, q.occasion) for q in queries] == [
        ("birthdays", "02-28", "2027"), ("birthdays", "02-29", "2027")]
    leap = rules.audience(campaign(), [date(2028, 2, 21)])
    assert [(q.key, q.occasion) for q in leap] == [("02-28", "2028")]
    assert [(q.key, q.occasion) for q in rules.audience(campaign(), [date(2028, 2, 22)])] == [("02-29", "2028")]


def test_anniversaries_of_a_29_february_join_fall_on_28_february():
    anniversary = campaign(type=rules.ANNIVERSARY, trigger={})
    keys = {q.key for q in rules.audience(anniversary, [date(2025, 2, 28)])}
    assert {date(2024, 2, 28), date(2024, 2, 29), date(2023, 2, 28)} <= keys
    assert all(q.occasion == "2025" for q in rules.audience(anniversary, [date(2025, 2, 28)]))


def test_welcome_reads_the_join_day_after_days_ago():
    welcome = campaign(type=rules.WELCOME, trigger={"afterDays": 3})
    [query] = rules.audience(welcome, [date(2026, 11, 10)])
    assert (query.index, query.key, query.occasion, query.needs_first_visit) == (
        "joined", date(2026, 11, 7), "welcome", True)


def test_winback_covers_the_days_since_the_previous_run_and_names_the_absence():
    winback = campaign(type=rules.WINBACK, trigger={"absentDays": 30, "minVisits": 3})
    days = rules.days_to_cover(date(2026, 11, 7), date(2026, 11, 10))
    assert days == [date(2026, 11, 8), date(2026, 11, 9), date(2026, 11, 10)]
    [query] = rules.audience(winback, days)
    assert (query.index, query.key, query.until, query.min_visits) == (
        "last_visit_between", date(2026, 10, 9), date(2026, 10, 11), 3)
    assert rules.occasion_of(query, date(2026, 10, 9)) == "absence-from-2026-10-09"
    assert rules.days_to_cover(None, date(2026, 11, 10)) == [date(2026, 11, 10)]
    assert len(rules.days_to_cover(date(2025, 1, 1), date(2026, 11, 10))) == rules.MAX_CATCH_UP_DAYS


def test_expiring_points_asks_for_the_expiry_day_and_a_broadcast_for_its_segment():
    expiring = campaign(type=rules.EXPIRING_POINTS, trigger={"daysBefore": 14})
    [query] = rules.audience(expiring, [date(2026, 11, 10)])
    assert (query.index, query.key) == ("expiring_points", date(2026, 11, 24))
    broadcast = campaign(type=rules.BROADCAST, trigger={"segment": "vip", "startAt": "2026-12-01T18:30"})
    assert [(q.index, q.key, q.occasion) for q in rules.audience(broadcast, [date(2026, 12, 1)])] == [
        ("segment", "vip", "broadcast")]


# Rendering


def test_rendering_fills_placeholders_and_leaves_the_unsubscribe_link_to_the_sender():
    rendering = rules.Rendering(merchant_name="Café Kasia", reward_name="Free cake", points=None,
                                expires_at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC), timezone=WARSAW,
                                card_link="https://x.test/v1/m/mch_1")
    text = "{name}, {reward} at {merchant} until {expiresAt}; your {favourite}. {cardLink} {unsubscribeLink}"
    with_favourite = rules.render(text, rules.Recipient(name="Ola", favourite="cheesecake"), rendering)
    assert with_favourite == ("Ola, Free cake at Café Kasia until 2026-12-01; your cheesecake. "
                              "https://x.test/v1/m/mch_1 {unsubscribeLink}")
    neutral = rules.render("Your {favourite}", rules.Recipient(name=None, favourite=None), rendering)
    assert neutral == f"Your {rules.NEUTRAL_FAVOURITE}"

