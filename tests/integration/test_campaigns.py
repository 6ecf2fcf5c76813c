"""Campaigns through their handlers: the owner's routes, and the tick reaching each member once per occasion."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.support.world import new_phone

WARSAW = ZoneInfo("Europe/Warsaw")


def birthday_campaign(**changes) -> dict:
    body = {
        "name": "Birthday treat", "type": "birthday", "trigger": {"daysBefore": 7},
        "offer": {"rewardId": "cake", "validityDays": 14}, "channels": ["email", "sms"],
        "message": {"email": {"subject": "Happy birthday, {name}!",
                              "body": "A {reward} at {merchant}. {unsubscribeLink}"},
                    "sms": {"body": "{merchant}: a {reward} on us until {expiresAt}. {cardLink}"}},
        "sendAt": "10:00", "status": "active",
    }
    body.update(changes)
    return body


def create(world, body: dict):
    return world.call("POST", f"/v1/merchants/{world.merchant_id}/campaigns", body, world.owner)


def run_time(reply: dict) -> datetime:
    return datetime.fromisoformat(reply["nextRunAt"].replace("Z", "+00:00"))


def tick(runtime) -> dict:
    return runtime.invoke("CampaignsFunction", {})


def message_for(campaign_id: str, member_id: str, occasion: str):
    """The outbox message of a campaign, member and occasion (its id is derived from them), or None."""
    from loyalty.domain.campaigns import message_id_for
    from loyalty.store import outbox

    return outbox.get(message_id_for(campaign_id, member_id, occasion))


def campaign_vouchers(world, member) -> list[dict]:
    return [r for r in world.profile(member)["rewards"] if r["source"] == "campaign"]


def runs(world, campaign_id: str) -> list[dict]:
    reply = world.call("GET", f"/v1/merchants/{world.merchant_id}/campaigns/{campaign_id}/runs", headers=world.owner)
    assert reply.status == 200, reply.raw
    return reply.json["runs"]


# The owner's routes


def test_a_campaign_is_created_listed_and_runs_next_at_its_local_send_time(world, at):
    at(datetime(2026, 10, 1, 7, 0, tzinfo=UTC))
    reply = create(world, birthday_campaign())
    assert reply.status == 201, reply.raw
    assert reply.json["nextRunAt"] == "2026-10-01T08:00:00Z"  # 10:00 in Warsaw, summer time
    campaign_id = reply.json["campaignId"]

    listed = world.call("GET", f"/v1/merchants/{world.merchant_id}/campaigns", headers=world.owner)
    assert [c["campaignId"] for c in listed.json["campaigns"]] == [campaign_id]
    one = world.call("GET", f"/v1/merchants/{world.merchant_id}/campaigns/{campaign_id}", headers=world.owner)
    assert one.json["trigger"] == {"daysBefore": 7}


def test_bad_campaigns_are_refused_with_field_details_and_nothing_is_written(world):
    cases = [
        (birthday_campaign(offer={"rewardId": "no-such-reward", "validityDays": 14}), "offer.rewardId"),
        (birthday_campaign(sendAt="25:00"), "sendAt"),
        (birthday_campaign(message={"email": {"subject": "Hi {nickname}", "body": "x"},
                                    "sms": {"body": "x"}}), "message.email.subject"),
        (birthday_campaign(message={"email": {"subject": "Hi", "body": "x"}, "sms": {"body": "x" * 613}}),
         "message.sms.body"),
        (birthday_campaign(type="broadcast", sendAt=None, trigger={"segment": "vip", "startAt": "tomorrow"}),
         "trigger.startAt"),
        (birthday_campaign(message={"email": {"subject": "Hi", "body": "x"}}), "message.sms"),
        (birthday_campaign(type="broadcast", sendAt=None,
                           trigger={"segment": "no-such-segment", "startAt": "2030-01-01T10:00"}), "trigger.segment"),
    ]
    for body, field in cases:
        reply = create(world, body)
        assert reply.status == 422, (field, reply.raw)
        assert field in {d["field"] for d in reply.json["error"]["details"]}, (field, reply.json)
    listed = world.call("GET", f"/v1/merchants/{world.merchant_id}/campaigns", headers=world.owner)
    assert listed.json["campaigns"] == []


def test_pausing_resuming_and_editing_recompute_the_next_run(world, at):
    at(datetime(2026, 10, 1, 7, 0, tzinfo=UTC))
    campaign_id = create(world, birthday_campaign()).json["campaignId"]
    path = f"/v1/merchants/{world.merchant_id}/campaigns/{campaign_id}"

    paused = world.call("PATCH", path, {"status": "paused"}, world.owner)
    assert (paused.status, paused.json["status"], paused.json["nextRunAt"]) == (200, "paused", None)
    resumed = world.call("PATCH", path, {"status": "active", "sendAt": "18:30"}, world.owner)
    assert resumed.json["nextRunAt"] == "2026-10-01T16:30:00Z"
    refused = world.call("PATCH", path, {"sendAt": "later"}, world.owner)
    assert refused.status == 422
    assert world.call("GET", path, headers=world.owner).json["sendAt"] == "18:30"


def test_another_merchant_sees_none_of_it(world, other_world):
    campaign_id = create(world, birthday_campaign()).json["campaignId"]
    base = f"/v1/merchants/{world.merchant_id}/campaigns"
    for method, path in (("GET", base), ("GET", f"{base}/{campaign_id}"), ("GET", f"{base}/{campaign_id}/runs"),
                         ("POST", f"{base}/{campaign_id}/preview"), ("PATCH", f"{base}/{campaign_id}")):
        reply = world.call(method, path, {} if method != "GET" else None, other_world.owner)
        assert reply.status in (403, 404), (method, path, reply.status)
    own_path = f"/v1/merchants/{other_world.merchant_id}/campaigns/{campaign_id}"
    assert world.call("GET", own_path, headers=other_world.owner).status == 404


def test_preview_counts_the_next_runs_audience_and_renders_one_message_without_writing(world, at):
    today = date(2026, 10, 1)
    at(datetime(2026, 10, 1, 7, 0, tzinfo=UTC))
    birthday = today + timedelta(days=7)
    member = world.enroll(email="ola@example.com", name="Ola", birthday=birthday.replace(year=1990).isoformat(),
                          consent={"sms": False, "email": True})
    world.enroll(birthday=(birthday + timedelta(days=1)).replace(year=1991).isoformat())  # not this run
    campaign_id = create(world, birthday_campaign()).json["campaignId"]

    reply = world.call("POST", f"/v1/merchants/{world.merchant_id}/campaigns/{campaign_id}/preview", None, world.owner)

    assert reply.status == 200, reply.raw
    assert reply.json["audience"] == 1
    sample = reply.json["sample"]
    assert (sample["channel"], sample["to"], sample["subject"]) == ("email", "ola@example.com", "Happy birthday, Ola!")
    assert "Slice of cake" in sample["body"]
    assert "http://loyalty.test/v1/u/" in sample["body"]  # the unsubscribe link this member would get
    assert campaign_vouchers(world, member) == []
    assert runs(world, campaign_id) == []


# The tick


def _birthday_world(world, at, count: int = 3):
    """Members whose birthday is a week after the run, and the campaign; the clock is at the run."""
    at(datetime(2026, 10, 1, 7, 0, tzinfo=UTC))
    birthday = date(2026, 10, 8)
    members = [world.enroll(phone=new_phone(), name=f"M{n}", birthday=birthday.replace(year=1980 + n).isoformat())
               for n in range(count)]
    bystander = world.enroll(birthday=date(1990, 10, 9).isoformat())
    reply = create(world, birthday_campaign()).json
    at(run_time(reply) + timedelta(minutes=5))
    return reply["campaignId"], members, bystander


def test_the_tick_reaches_each_member_once_with_the_offer_and_a_message(world, runtime, at):
    campaign_id, members, bystander = _birthday_world(world, at)

    first = tick(runtime)
    again = tick(runtime)

    assert first["complete"] is True
    for member in members:
        vouchers = campaign_vouchers(world, member)
        assert [(v["rewardId"], v["status"]) for v in vouchers] == [("cake", "issued")]
        assert message_for(campaign_id, member.member_id, "2026") is not None
    assert campaign_vouchers(world, bystander) == []
    [run] = runs(world, campaign_id)
    assert (run["targeted"], run["offersIssued"], run["occasion"]) == (3, 3, "2026-10-01")
    assert run["finishedAt"] is not None
    campaign = world.call("GET", f"/v1/merchants/{world.merchant_id}/campaigns/{campaign_id}", headers=world.owner)
    assert campaign.json["nextRunAt"] == "2026-10-02T08:00:00Z"
    assert again["complete"] is True


def test_the_same_run_invoked_again_continues_it_and_reaches_nobody_twice(world, runtime, at):
    from loyalty.store import campaigns as store

    campaign_id, members, _ = _birthday_world(world, at)
    before = store.get(world.merchant_id, campaign_id)

    tick(runtime)
    # The run is delivered again as if it had never been marked done (EventBridge delivers at least once).
    store.save(before, previous=store.get(world.merchant_id, campaign_id))
    second = tick(runtime)

    assert second["complete"] is True
    for member in members:
        assert len(campaign_vouchers(world, member)) == 1
        assert message_for(campaign_id, member.member_id, "2026") is not None
    [run] = runs(world, campaign_id)
    assert (run["targeted"], run["offersIssued"]) == (3, 3)


def test_overlapping_runs_reach_each_member_once(world, at):
    from loyalty.services import campaigns as service

    campaign_id, members, _ = _birthday_world(world, at, count=6)
    results, errors = [], []

    def run() -> None:
        try:
            results.append(service.run_due(lambda: 300_000))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    for member in members:
        assert len(campaign_vouchers(world, member)) == 1
        assert message_for(campaign_id, member.member_id, "2026") is not None
    [run_figures] = runs(world, campaign_id)
    assert (run_figures["targeted"], run_figures["offersIssued"]) == (6, 6)


def test_a_run_that_crashes_halfway_is_finished_by_the_next_tick_reaching_nobody_twice(world, runtime, at,
                                                                                     monkeypatch):
    from loyalty.store import campaigns as store

    campaign_id, members, _ = _birthday_world(world, at, count=5)
    real_reach, calls = store.reach, []

    def crash_after_two(step):
        calls.append(step.member_id)
        if len(calls) > 2:
            raise RuntimeError("the function died here")
        real_reach(step)

    monkeypatch.setattr(store, "reach", crash_after_two)
    crashed = tick(runtime)
    assert (crashed["failed"], crashed["complete"]) == (1, False)  # the other campaigns of the tick went on
    reached_before = [m for m in members if campaign_vouchers(world, m)]
    assert len(reached_before) == 2
    assert store.get(world.merchant_id, campaign_id).last_run_day is None  # the run did not finish

    monkeypatch.setattr(store, "reach", real_reach)
    assert tick(runtime)["complete"] is True

    for member in members:
        assert len(campaign_vouchers(world, member)) == 1
        assert message_for(campaign_id, member.member_id, "2026") is not None
    [run] = runs(world, campaign_id)
    assert (run["targeted"], run["offersIssued"]) == (5, 5)


def test_a_run_out_of_time_stops_and_the_next_tick_continues_it(world, runtime, at):
    from loyalty.services import campaigns as service
    from loyalty.store import campaigns as store

    campaign_id, members, _ = _birthday_world(world, at, count=4)
    checks = iter(range(1_000))
    first = service.run_due(lambda: 300_000 if next(checks) < 3 else 1_000)
    assert first["complete"] is False
    assert store.get(world.merchant_id, campaign_id).last_run_day is None

    assert tick(runtime)["complete"] is True
    assert all(len(campaign_vouchers(world, m)) == 1 for m in members)


def test_consent_gates_only_the_message_the_offer_reaches_the_card(world, runtime, at):
    at(datetime(2026, 10, 1, 7, 0, tzinfo=UTC))
    silent = world.enroll(phone=new_phone(), birthday="1985-10-08", consent={"sms": False, "email": False})
    body = birthday_campaign(offer={"bonusPoints": 25})
    reply = create(world, body).json
    before = world.profile(silent)["points"]["balance"]
    at(run_time(reply) + timedelta(minutes=1))

    tick(runtime)

    profile = world.profile(silent)
    assert profile["points"]["balance"] == before + 25
    assert profile["ledger"][0]["kind"] == "campaign_bonus"
    # The message is written; the sender finds no consent at send time and counts it skipped.
    assert message_for(reply["campaignId"], silent.member_id, "2026") is not None


def test_a_campaign_voucher_redeemed_at_the_counter_counts_on_its_run(world, runtime, at):
    campaign_id, members, _ = _birthday_world(world, at, count=1)
    tick(runtime)
    [voucher] = campaign_vouchers(world, members[0])

    redeemed = world.call("POST", "/v1/redemptions", {"code": voucher["code"]}, world.staff)

    assert redeemed.status == 200, redeemed.raw
    assert runs(world, campaign_id)[0]["redeemed"] == 1


def test_a_run_on_the_autumn_dst_day_happens_at_local_send_time(world, runtime, at):
    at(datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    member = world.enroll(phone=new_phone(), birthday="1990-11-01")
    reply = create(world, birthday_campaign()).json
    assert reply["nextRunAt"] == "2026-10-25T09:00:00Z"  # 10:00 CET, the clocks went back that night

    at(datetime(2026, 10, 25, 8, 59, tzinfo=UTC))  # 09:59 local: not yet
    tick(runtime)
    assert campaign_vouchers(world, member) == []
    at(datetime(2026, 10, 25, 9, 10, tzinfo=UTC))
    tick(runtime)
    assert len(campaign_vouchers(world, member)) == 1
    assert runs(world, reply["campaignId"])[0]["occasion"] == "2026-10-25"


def test_winback_reaches_regulars_on_the_day_their_absence_is_absent_days_old_once(world, runtime, at):
    def visit(member, instant: datetime, receipt: str) -> None:
        at(instant)
        assert world.staff_scan(member, amount=1_000, receipt_id=receipt).status == 200

    early, absence_start = datetime(2026, 10, 1, 10, tzinfo=UTC), datetime(2026, 10, 11, 10, tzinfo=UTC)
    at(early)
    regular, newcomer, returning = world.enroll(), world.enroll(), world.enroll()
    visit(regular, early, "r-1")
    visit(regular, absence_start, "r-2")
    visit(newcomer, absence_start, "n-1")  # one visit only: not a regular
    visit(returning, early, "b-1")
    visit(returning, absence_start, "b-2")
    visit(returning, datetime(2026, 11, 5, 10, tzinfo=UTC), "b-3")  # came back: not absent
    at(datetime(2026, 11, 9, 12, tzinfo=UTC))
    reply = create(world, birthday_campaign(name="We miss you", type="winback",
                                            trigger={"absentDays": 30, "minVisits": 2})).json
    assert reply["nextRunAt"] == "2026-11-10T09:00:00Z"

    at(datetime(2026, 11, 10, 9, 5, tzinfo=UTC))
    tick(runtime)
    at(datetime(2026, 11, 11, 9, 5, tzinfo=UTC))  # the next day's run: the same absence is not reached again
    tick(runtime)

    assert len(campaign_vouchers(world, regular)) == 1
    assert campaign_vouchers(world, newcomer) == campaign_vouchers(world, returning) == []
    assert message_for(reply["campaignId"], regular.member_id, "absence-from-2026-10-11") is not None
    assert [(r["occasion"], r["targeted"]) for r in runs(world, reply["campaignId"])] == [
        ("2026-11-11", 0), ("2026-11-10", 1)]


def test_welcome_follows_the_first_visit_after_days_and_skips_who_never_came(world, runtime, at):
    at(datetime(2026, 11, 2, 11, tzinfo=UTC))
    visited, never = world.enroll(), world.enroll()
    assert world.staff_scan(visited, amount=1_000, receipt_id="w-1").status == 200
    reply = create(world, birthday_campaign(name="Welcome", type="welcome", trigger={"afterDays": 3},
                                            offer={"bonusPoints": 15})).json
    assert reply["nextRunAt"] == "2026-11-03T09:00:00Z"

    for day in (3, 4, 5, 6):  # daily runs; the join day plus three is 5 November
        at(datetime(2026, 11, day, 9, 5, tzinfo=UTC))
        tick(runtime)

    assert [e["kind"] for e in world.profile(visited)["ledger"]].count("campaign_bonus") == 1
    assert "campaign_bonus" not in [e["kind"] for e in world.profile(never)["ledger"]]
    assert [r["targeted"] for r in runs(world, reply["campaignId"])] == [0, 1, 0, 0]


def test_a_broadcast_reaches_its_segment_once_at_its_local_start(world, runtime, at):
    at(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    members = [world.enroll(email=f"fan{n}@example.com") for n in range(2)]
    for n, member in enumerate(members):
        assert world.staff_scan(member, amount=5_000, receipt_id=f"big-{n}").status == 200
    segment = world.call("POST", f"/v1/merchants/{world.merchant_id}/segments",
                         {"name": "big-spenders", "match": "all",
                          "conditions": [{"field": "totalSpend", "op": "gte", "value": 5_000}]}, world.owner)
    assert segment.status == 201, segment.raw
    bystander = world.enroll()
    reply = create(world, birthday_campaign(name="Winter menu", type="broadcast", sendAt=None,
                                            trigger={"segment": "big-spenders", "startAt": "2026-11-03T18:30"}))
    assert reply.status == 201, reply.raw
    assert reply.json["nextRunAt"] == "2026-11-03T17:30:00Z"  # 18:30 in Warsaw, winter time

    at(datetime(2026, 11, 3, 17, 35, tzinfo=UTC))
    tick(runtime)
    at(datetime(2026, 11, 4, 17, 35, tzinfo=UTC))
    tick(runtime)  # a broadcast runs once

    for member in members:
        assert len(campaign_vouchers(world, member)) == 1
    assert campaign_vouchers(world, bystander) == []
    [run] = runs(world, reply.json["campaignId"])
    assert (run["targeted"], run["offersIssued"]) == (2, 2)
