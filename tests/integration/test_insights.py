"""Insights against the ledger: a world of known scans (spend, two locations, days and hours), claims, a
redemption, a cancel, a POS refund, a points expiry, a referral and feedback; the stream records moto wrote are
counted through the consumer's handler, and every figure of the route agrees with what the ledger, the member
items and the feedback items say. A replayed (or bisected) batch changes nothing."""

from __future__ import annotations

import os
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import boto3
import pytest

from tests.support.pos import open_till
from tests.support.world import DEFAULT_TEST_PROGRAM, create_world, member_headers

WARSAW = ZoneInfo("Europe/Warsaw")
# What each reward costs the café: a coffee 6.00 for 100 points (6 per point), a cake 4.50 for 30 (15 per point).
PROGRAM = {**DEFAULT_TEST_PROGRAM, "expiry": {"afterMonths": 1},
           "rewards": [{"id": "free-coffee", "name": "Free coffee", "pointsCost": 100, "costMinor": 600},
                       {"id": "cake", "name": "Slice of cake", "pointsCost": 30, "costMinor": 450}]}


def utc(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00")


@pytest.fixture
def stream(runtime):
    """The table's stream from now on, delivered to the consumer's handler like Lambda's event source mapping."""
    from infra.local.streams import LocalStreams
    from infra.template import TABLE_LOGICAL_ID

    reader = LocalStreams(runtime.template, runtime, os.environ["AWS_REGION"],
                          {TABLE_LOGICAL_ID: os.environ["TABLE_NAME"]},
                          endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"], starting_position="LATEST")
    reader.create()
    return reader


def _rollups(merchant_id: str) -> dict:
    """Every rollup item of the business, by sort key."""
    client = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    items = client.query(TableName=os.environ["TABLE_NAME"], KeyConditionExpression="PK = :pk",
                         ExpressionAttributeValues={":pk": {"S": f"MERCHANT#{merchant_id}#INSIGHTS#ALL"}})["Items"]
    return {item["SK"]["S"]: item for item in items}


@pytest.fixture
def cafe(handlers, at, stream):
    """Five members over three months at two locations; returns the world and what was done."""
    world = create_world(handlers, program=PROGRAM)
    owner, staff = world.owner, world.staff
    loc0, loc1 = world.locations
    till = open_till(world)

    def join(day: str, **extra):
        at(utc(day, 8))
        return world.enroll(**extra)

    def staff_scan(member, day: str, hour: int, location: str, amount: int | None = None):
        at(utc(day, hour))
        body = {"memberId": member.member_id, "locationId": location}
        if amount:
            body["amount"] = amount
        reply = world.call("POST", "/v1/scans", body, owner if location != loc0 else staff)
        assert reply.status == 200, reply.raw
        return reply.json

    def member_scan(member, day: str, hour: int, location_index: int):
        at(utc(day, hour))
        reply = world.scan(member, location_index=location_index)
        assert reply.status == 200, reply.raw

    def sale(member, day: str, hour: int, amount: int, receipt: str):
        now = utc(day, hour)
        at(now)
        reply = till.send({"type": "sale", "eventId": f"e-{receipt}", "locationId": loc0, "receiptId": receipt,
                           "member": {"memberId": member.member_id}, "amount": amount}, at=now.timestamp())
        assert reply.status == 200, reply.raw

    a, b, c = join("2026-09-01"), join("2026-09-01"), join("2026-09-01")
    e = join("2026-09-01")  # never visits: lapsed 90 days later
    d = join("2026-09-02", referralCode=a.card["referralCode"])

    staff_scan(a, "2026-09-01", 7, loc0, amount=2_000)
    member_scan(a, "2026-09-03", 15, 1)
    staff_scan(a, "2026-09-05", 10, loc0)
    sale(b, "2026-09-02", 12, 5_000, "rcp-b1")
    member_scan(b, "2026-09-10", 17, 1)
    staff_scan(c, "2026-09-01", 9, loc0, amount=800)
    staff_scan(c, "2026-09-08", 9, loc0)
    staff_scan(c, "2026-09-15", 18, loc1)
    staff_scan(d, "2026-09-04", 11, loc0, amount=1_500)

    at(utc("2026-09-15", 19))
    claimed = world.call("POST", "/v1/me/rewards", {"rewardId": "cake"}, member_headers(c.token))
    assert claimed.status == 201, claimed.raw
    assert world.call("DELETE", f"/v1/me/rewards/{claimed.json['issuedRewardId']}", None,
                      member_headers(c.token)).status == 200

    staff_scan(a, "2026-10-20", 6, loc0, amount=1_000)  # 08:00 local
    at(utc("2026-10-20", 7))
    kept = world.call("POST", "/v1/me/rewards", {"rewardId": "cake"}, member_headers(a.token))
    assert kept.status == 201, kept.raw
    at(utc("2026-10-21", 9))
    assert world.call("POST", "/v1/redemptions", {"code": kept.json["code"]}, staff).status == 200
    at(utc("2026-10-22", 9))
    locked = world.call("POST", "/v1/me/rewards", {"rewardId": "cake"}, member_headers(b.token))
    assert locked.status == 201, locked.raw

    now = utc("2026-11-05", 10)  # B's September points expired at the end of October: settled by the refund
    at(now)
    refund = till.send({"type": "refund", "eventId": "e-refund", "receiptId": "rcp-b1", "refundId": "rf-1",
                        "amount": 2_000}, at=now.timestamp())
    assert refund.status == 200, refund.raw

    feedback = [(a, "2026-09-03T13:30:00Z", loc1, 5, 10), (b, "2026-09-10T15:30:00Z", loc1, 2, 3),
                (a, "2026-10-20T06:30:00Z", loc0, 4, None), (c, "2026-09-15T18:10:00Z", loc1, 1, 6)]
    _write_feedback(world.merchant_id, feedback)
    return world, [a, b, c, d, e], feedback


def _write_feedback(merchant_id: str, feedback) -> None:
    """Feedback items as the feedback routes write them (one per rated visit, under the member's partition)."""
    client = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    for n, (member, created, location, rating, nps) in enumerate(feedback):
        item = {"PK": {"S": f"MEMBER#{member.member_id}"}, "SK": {"S": f"FEEDBACK#scn_test{n}"},
                "kind": {"S": "feedback"}, "merchant_id": {"S": merchant_id}, "member_id": {"S": member.member_id},
                "scan_id": {"S": f"scn_test{n}"}, "location_id": {"S": location}, "rating": {"N": str(rating)},
                "nps": {"N": str(nps)} if nps is not None else {"NULL": True}, "comment": {"NULL": True},
                "created_at": {"S": created}}
        client.put_item(TableName=os.environ["TABLE_NAME"], Item=item)


def _local(at: datetime) -> datetime:
    return at.astimezone(WARSAW)


class Ledger:
    """The oracle: every figure computed the long way, from every member's ledger and item."""

    def __init__(self, members) -> None:
        from loyalty.store import members as store

        self.members = {m.member_id: store.get_member(m.member_id) for m in members}
        self.entries = {m.member_id: store.full_ledger(m.member_id) for m in members}

    def visits(self, location: str | None = None):
        return [(member_id, entry) for member_id, entries in self.entries.items() for entry in entries
                if entry.kind == "scan" and any(line.kind == "visit" for line in entry.lines)
                and (location is None or entry.location_id == location)]

    def visitors(self, first: date, last: date) -> set[str]:
        return {member_id for member_id, entry in self.visits() if first <= _local(entry.at).date() <= last}

    def snapshot(self, member_id: str, last: date):
        from loyalty.domain.model import MemberSnapshot

        days = sorted(entry.at for mid, entry in self.visits() if mid == member_id and _local(entry.at).date() <= last)
        member = self.members[member_id]
        return MemberSnapshot(member_id=member_id, merchant_id=member.merchant_id, visit_count=len(days),
                              first_visit_at=days[0] if days else None, last_visit_at=days[-1] if days else None,
                              created_at=member.created_at)

    def points(self, kind: str) -> int:
        return sum(entry.points for entries in self.entries.values() for entry in entries if entry.kind == kind)


def _insights(world, **query) -> dict:
    from loyalty.store.merchants import clear_caches

    clear_caches()  # as in a fresh container: the route reads the key and the merchant itself
    params = "&".join(f"{name}={value}" for name, value in query.items())
    reply = world.call("GET", f"/v1/merchants/{world.merchant_id}/insights?{params}", headers=world.owner)
    assert reply.status == 200, reply.raw
    return reply.json


def test_every_figure_agrees_with_the_ledger(cafe, stream, at):
    from loyalty.domain import segments

    world, members, feedback = cafe
    stream.drain()
    at(utc("2026-12-16", 12))
    ledger = Ledger(members)
    first, last = date(2026, 9, 1), date(2026, 12, 15)
    got = _insights(world, **{"from": first.isoformat(), "to": last.isoformat()})
    visits = ledger.visits()
    in_range = [(m, e) for m, e in visits if first <= _local(e.at).date() <= last]

    assert got["members"]["total"] == len(members) and got["members"]["new"] == len(members)
    assert got["members"]["active30"] == len(ledger.visitors(last - timedelta(days=29), last)) == 0
    assert got["members"]["active90"] == len(ledger.visitors(last - timedelta(days=89), last)) == 1  # A in October
    assert got["visits"]["count"] == len(in_range) == 10
    visitors = ledger.visitors(first, last)
    assert got["visits"]["perMember"] == round(len(in_range) / len(visitors), 2)
    assert got["visits"]["byWeekday"] == [Counter(_local(e.at).weekday() for _, e in in_range)[n] for n in range(7)]
    assert got["visits"]["byHour"] == [Counter(_local(e.at).hour for _, e in in_range)[n] for n in range(24)]
    scans = [e for entries in ledger.entries.values() for e in entries if e.kind in ("scan", "refund") and e.spend]
    assert got["spend"]["total"] == sum(e.spend for e in scans) == 2_000 + 5_000 + 800 + 1_500 + 1_000 - 2_000
    assert got["spend"]["averageBasket"] == round(got["spend"]["total"] / sum(1 for e in scans if e.spend > 0))
    assert got["retention"]["returningRate"] == 0.0  # everyone's first visit was in the range

    today = segments.Context(today=last)
    by_rule = {name: sum(segments.matches(segments.Segment(name, ""), ledger.snapshot(member_id, last),
                                          "Europe/Warsaw", today) for member_id in ledger.members)
               for name in (segments.AT_RISK, segments.LAPSED)}
    assert got["churn"] == {"atRisk": by_rule[segments.AT_RISK], "lapsed": by_rule[segments.LAPSED]}
    assert got["churn"] == {"atRisk": 1, "lapsed": 4}  # A is away since 20 October; B, C, D and E (never came)

    september = {m for m, e in visits if _local(e.at).month == 9}
    october = {m for m, e in visits if _local(e.at).month == 10}
    retained = [round(len(october & september) / len(september), 4), 0.0, 0.0]  # October, November, December
    assert got["retention"]["cohorts"] == [{"month": "2026-09", "size": len(september), "retained": retained}]

    issued = sum(ledger.points(kind) for kind in ("scan", "referral", "campaign_bonus", "import"))
    redeemed_points = sum(v.points_locked for m in ledger.members.values() for v in m.vouchers.values()
                          if v.status == "redeemed")
    open_points = sum(v.points_locked for m in ledger.members.values() for v in m.open_vouchers())
    points = got["points"]
    assert points["issued"] == issued
    assert points["outstanding"] == sum(m.balance for m in ledger.members.values())
    assert points["liability"] == points["outstanding"] * 6 > 0  # at the coffee's cost per point, the cheapest
    assert points["expired"] == -ledger.points("expiry") > 0
    assert points["refunded"] == -ledger.points("refund") > 0
    assert points["redeemed"] == redeemed_points == 30
    assert points["locked"] == open_points == 30
    assert points["issued"] == (points["redeemed"] + points["expired"] + points["locked"] + points["outstanding"]
                                + points["refunded"])

    vouchers = [v for m in ledger.members.values() for v in m.vouchers.values()]
    assert got["rewards"]["issued"] == len(vouchers) == 3
    assert got["rewards"]["redeemed"] == sum(v.status == "redeemed" for v in vouchers) == 1
    assert got["rewards"]["redemptionRate"] == round(1 / 3, 4)
    assert got["referrals"] == {"joined": 1, "rewarded": int(ledger.members[members[3].member_id].referral_status
                                                             == "rewarded")}
    assert got["referrals"]["rewarded"] == 1

    ratings = [rating for *_, rating, _ in feedback]
    answers = [nps for *_, nps in feedback if nps is not None]
    assert got["feedback"] == {
        "averageRating": round(sum(ratings) / len(ratings), 2), "responses": len(ratings),
        "nps": round(100 * (sum(n >= 9 for n in answers) - sum(n <= 6 for n in answers)) / len(answers))}
    assert got["clv"]["average"] > 0

    loc0, loc1 = world.locations
    assert got["byLocation"] == [
        {"locationId": loc, "visits": len(ledger.visits(loc)),
         "spend": sum(e.spend for e in scans if e.location_id == loc)} for loc in sorted((loc0, loc1))]

    here = _insights(world, **{"from": first.isoformat(), "to": last.isoformat(), "locationId": loc1})
    assert here["visits"]["count"] == len(ledger.visits(loc1)) == 3
    assert here["spend"]["total"] == 0
    assert here["feedback"]["responses"] == 3  # the ratings of visits at that location
    assert here["members"] == got["members"] and here["points"] == got["points"]  # the business's, not the place's

    october_on = _insights(world, **{"from": "2026-10-01", "to": "2026-12-15"})
    assert october_on["visits"]["count"] == 1
    assert october_on["retention"]["returningRate"] == 1.0  # A had visited before October
    assert october_on["members"]["new"] == 0 and october_on["members"]["total"] == len(members)
    mid = _insights(world, **{"from": "2026-09-01", "to": "2026-10-10"})
    assert mid["churn"]["atRisk"] == sum(segments.matches(
        segments.Segment(segments.AT_RISK, ""), ledger.snapshot(member_id, date(2026, 10, 10)), "Europe/Warsaw",
        segments.Context(today=date(2026, 10, 10))) for member_id in ledger.members) == 2  # A and C: 3 visits, gone
    assert mid["members"]["active30"] == len(ledger.visitors(date(2026, 9, 11), date(2026, 10, 10)))


def test_a_replayed_or_bisected_batch_changes_nothing(cafe, stream, runtime):
    world, _, _ = cafe
    stream.drain()
    before = _rollups(world.merchant_id)
    assert before
    records = list(stream.delivered)
    from loyalty.store.merchants import clear_caches

    clear_caches()  # a fresh container: the consumer reads the merchant's timezone itself
    runtime.invoke("InsightsRollupFunction", {"Records": records})
    half = len(records) // 2
    runtime.invoke("InsightsRollupFunction", {"Records": records[half:]})
    runtime.invoke("InsightsRollupFunction", {"Records": records[:half]})
    assert _rollups(world.merchant_id) == before


def test_a_record_the_consumer_cannot_read_is_reported_for_a_retry(world, stream, runtime, at):
    at(utc("2026-09-01", 9))
    member = world.enroll()
    stream.drain()
    count = sum(1 for sk in _rollups(world.merchant_id) if sk.startswith("DAY#"))
    broken = {"eventID": "broken-1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
              "dynamodb": {"SequenceNumber": "1", "Keys": {}, "NewImage": {"kind": {"S": "ledger"}}}}
    result = runtime.invoke("InsightsRollupFunction", {"Records": [broken]})
    assert result == {"batchItemFailures": [{"itemIdentifier": "1"}]}
    assert member and count == 1


def test_a_batch_with_more_counts_for_one_day_than_one_update_takes_is_split_and_counted_whole(world):
    from loyalty.domain import insights as rules
    from loyalty.services.insights import roll_up
    from loyalty.store import insights as store

    day = utc("2026-09-30", 10)
    facts = [store.StreamFact(f"evt-split-{n}", rules.LedgerFacts(
        world.merchant_id, "scan", day, 10, world.locations[0], None,
        {"n": 2, "first": (day - timedelta(days=n)).isoformat(), "prev": (day - timedelta(days=n)).isoformat()}))
        for n in range(1, 2 * store.MAX_UPDATE_ATTRIBUTES)]
    assert roll_up(facts) == len(facts)
    assert roll_up(facts) == 0  # the same records again: counted before
    counts = store.days(world.merchant_id, None, day.date(), day.date())[day.date()]
    assert counts["visits"] == len(facts)
    assert all(counts[f"g_{n}"] == 1 for n in range(1, 2 * store.MAX_UPDATE_ATTRIBUTES))
