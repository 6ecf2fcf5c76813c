"""Program rules: a member scan under every rule, a member item after a year of visits, POS sales and refunds,
and the hourly upkeep job (points expiry and tier downgrades).

A shop opens through the API with the whole program (`rules_program`): three tier levels (the top one with
an upgrade reward), three promotions of which one is active now, item points, points expiry and a surprise
on every 10th visit. Its members are bulk-loaded (loader.py) with what the rules leave on a member item: the
points earned per month of the tier window, the tier they reach, point batches by earning month, and the
upkeep index (GSI5) entry, all computed by the services' own `MemberPlan` at the member's last visit and
stored with `store.members._to_item`, as a commit would leave them. The last members of each load are due:
half with points past their expiry, half with a tier whose grace ended.

- member scans as phones send them (`X-Member-Token`, counter code, `Idempotency-Key`), warm, at each
  population: round trips and write units (the table's, and the index writes apart);
- one member driven through 52 weekly sales with the services' clock moved a week at a time (claims,
  surprises, a tier change, points expiring: the upkeep job runs before every visit), its item sized after
  each week (DynamoDB's item size rules, infra/dynamodb_meter.py);
- POS sales and refunds with a POS key, signed as a till signs them, warm;
- the upkeep job at each population with the same members due: items read per member changed, requests.
"""

from __future__ import annotations

import json
import random
import secrets
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.bench.driver import Driver, Operation, Sample, bearer
from infra.bench.loader import Member, bulk_load
from infra.bench.scenario import People, World, create_world, enroll, member_scan, new_key, scan_body

POPULATIONS = (1_000, 20_000)
DUE_EXPIRING, DUE_GRACE = 50, 50
SCAN_ROUND_TRIPS, POS_ROUND_TRIPS = 2, 3
WRITE_UNITS_LIMIT = 8  # write units of the items one warm member scan writes to the table (plain-write
# units; TransactWriteItems bills twice; index writes reported apart)
SAME_WITHIN = 0.10  # write units per scan at both populations
WEEKS = 52
ITEM_SIZE_LIMIT = 40 * 1024
GROWTH_LIMIT = 0.10  # of the item at week 52: what the last 26 weeks may add
YEAR_EXPIRY_MONTHS = 6  # the year's shop: points expire within the year (the populations' shop keeps 12)
CLAIM_EVERY_WEEKS = 4
UPKEEP_READS_PER_CHANGE = 1.1
# Items the upkeep job may read beyond its members: the merchant (program) once, and an entry that lagged behind
# its member read again, allowed once per index shard.
UPKEEP_CONSTANT_READS = 16
SALE_ITEMS = [{"sku": "latte", "category": "coffee", "quantity": 2, "amount": 2400},
              {"sku": "croissant", "category": "pastry", "quantity": 1, "amount": 1150}]
SALE_AMOUNT = 3550


def rules_program(today: datetime, expiry_months: int = 12) -> dict:
    """The demo program with every rule; of its promotions only ``active-now`` applies at ``today``."""
    from infra.seed import DEMO_PROGRAM

    def day(offset: int) -> str:
        return (today + timedelta(days=offset)).date().isoformat()

    return {
        **DEMO_PROGRAM,
        "points": {**DEMO_PROGRAM["points"],
                   "perItem": [{"sku": "latte", "points": 5}, {"category": "pastry", "points": 2}]},
        "rewards": [*DEMO_PROGRAM["rewards"], {"id": "free-cake", "name": "Free cake"}],
        "tiers": {"windowMonths": 12, "graceDays": 30, "levels": [
            {"id": "bronze", "name": "Bronze", "threshold": 150, "multiplier": 1.1, "perks": ["Birthday coffee"]},
            {"id": "silver", "name": "Silver", "threshold": 500, "multiplier": 1.25, "perks": ["Free oat milk"]},
            {"id": "gold", "name": "Gold", "threshold": 1500, "multiplier": 1.5, "perks": ["Early access"],
             "upgradeRewardId": "free-cake"}]},
        "promotions": [
            {"id": "summer-triple", "name": "Triple points in summer", "multiplier": 3,
             "startDate": day(-200), "endDate": day(-100)},
            {"id": "active-now", "name": "Double points this year", "multiplier": 2,
             "startDate": day(-7), "endDate": day(400), "limitPerMemberPerDay": 1},
            {"id": "quiet-tuesday", "name": "Double points on Tuesday afternoons", "multiplier": 2, "days": ["tue"],
             "from": "14:00", "to": "17:00", "startDate": day(500), "endDate": day(600)}],
        "expiry": {"afterMonths": expiry_months},
        "surprise": {"rewardId": "free-cake", "everyNthVisit": 10, "maxPerDay": 50},
    }


# --- loading members as the rules leave them ---------------------------------------------------------

@dataclass
class RuleShape:
    """Gives each bulk-loaded member its tier, point batches and upkeep entry (loader.Shape). Members numbered
    from ``due_from`` are due now: ``due_expiring`` with points past their expiry, then ``due_grace`` whose
    tier grace has ended; every other member's next upkeep instant is after ``now`` (checked)."""

    merchant: Any  # domain Merchant, with the rules program
    now: datetime
    due_from: int
    due_expiring: int = DUE_EXPIRING
    due_grace: int = DUE_GRACE
    rng: random.Random = field(default_factory=lambda: random.Random(23))
    due_ids: list[str] = field(default_factory=list)  # the members made due, in load order

    def __call__(self, item: Any, number: int) -> tuple[Any, bool]:
        from loyalty.domain import tiers
        from loyalty.domain.calendar import add_months, local_month, month_totals
        from loyalty.services.member_plan import MemberPlan
        from loyalty.store import keys
        from loyalty.store import members as store

        member = store._to_member(item)
        timezone, rng = self.merchant.timezone, self.rng
        due = self.due_from <= number < self.due_from + self.due_expiring + self.due_grace
        if due and number < self.due_from + self.due_expiring:
            # Last visit 14 months ago, too few points for a tier: the points earned then expired last month.
            at = self.now - timedelta(days=430 + rng.randint(0, 20))
            month = local_month(at, timezone)
            earned, batches, balance = {month: 80}, {month: 80}, 80
        elif due:
            # Silver on points earned a year before the last visit (3 months ago): the window lost them, the
            # grace ended since.
            at = self.now - timedelta(days=100 + rng.randint(0, 10))
            month = local_month(at, timezone)
            earned, batches, balance = {add_months(month, -11): 600, month: 40}, {month: 40}, 40
        elif member.visit_count:
            at = member.last_visit_at
            month = local_month(at, timezone)
            earned = {add_months(month, -k): rng.randint(20, 260) for k in range(rng.randint(1, 11))}
            batches, left = {}, member.balance
            for earned_month in sorted(earned, reverse=True):  # the oldest points were spent first
                if left > 0:
                    batches[earned_month] = min(left, earned[earned_month])
                    left -= batches[earned_month]
            balance = member.balance
        else:
            return item, True
        state = tiers.evaluate(self.merchant.program.tiers, tiers.TierState(None, month_totals(earned)), at,
                               timezone).state
        member = replace(
            member, balance=balance, lifetime_points=max(member.lifetime_points, sum(earned.values())),
            visit_count=max(1, member.visit_count), last_visit_at=at,
            first_visit_at=min(member.first_visit_at or at, at), created_at=min(member.created_at or at, at),
            point_batches=batches, tier_id=state.level_id, tier_earned=state.earned_map(),
            tier_qualified_until=state.qualified_until, tier_rewarded=state.rewarded)
        plan = MemberPlan(member, at, self.merchant)  # what the member's last write left, as a commit stores it
        plan.finish_rules()
        upkeep_due = plan.update.upkeep_due
        if (upkeep_due is not None and upkeep_due <= self.now) != due:
            raise RuntimeError(f"member {number} would be {'not ' if due else ''}due ({upkeep_due})")
        if due:
            self.due_ids.append(member.member_id)
        loaded = store._to_item(plan.member)  # the loader adds the member index keys
        if upkeep_due is not None:  # as the store's MemberUpdate sets them
            loaded.gsi5pk, loaded.gsi5sk = keys.upkeep_index(member.member_id, store._iso(upkeep_due))
        return loaded, not due


def load_members(driver: Driver, merchant_id: str, count: int, number_from: int, sample_size: int,
                 seed: int) -> list[Member]:
    """``count`` more members of the rules shop, the last DUE_EXPIRING + DUE_GRACE of them due now."""
    from loyalty.store.merchants import get_merchant

    with driver.meter.internal():
        merchant = get_merchant(merchant_id, fresh=True)
    shape = RuleShape(merchant, datetime.now(UTC), number_from + count - DUE_EXPIRING - DUE_GRACE,
                      rng=random.Random(seed))
    return bulk_load(driver.meter, merchant_id, count, sample_size, seed=seed, shape=shape, number_from=number_from)


# --- member scans and POS events ---------------------------------------------------------------------

def scan_figures(op: Operation, members: int, item_sizes: list[int] | None = None) -> dict[str, Any]:
    """Round trips and write units of an operation's warm requests (the cached merchant and key not re-read), the
    table's units by kind of item (mean per request), and the median size of the members' items afterwards."""
    warm = [s for s in op.samples if not s.cache_refill]
    by_item: Counter[str] = Counter()
    for sample in warm:
        for call in sample.calls:
            for label, units in call.units_by_item:
                by_item[label] += units

    def per_request(samples: list[Sample], name: str) -> list[float]:
        return [sum(getattr(call, name) for call in s.calls) for s in samples]

    wcu, index_wcu = per_request(warm, "wcu"), per_request(warm, "index_wcu")
    # What the items written cost as plain writes (1 unit per started KB of each item): the figure the limit is
    # on. TransactWriteItems bills twice that, shown beside it.
    item_wcu = [sum(call.wcu / 2 if call.operation == "TransactWriteItems" else call.wcu for call in s.calls)
                for s in warm]
    return {"name": op.name, "members": members, "requests": len(op.samples), "warm_requests": len(warm),
            "round_trips": sorted({s.round_trips for s in warm}),
            "round_trips_mean": statistics.fmean(s.round_trips for s in warm) if warm else 0.0,
            "wcu_median": statistics.median(wcu) if wcu else 0.0, "wcu_mean": statistics.fmean(wcu) if wcu else 0.0,
            "wcu_max": max(wcu, default=0.0),
            "item_wcu_median": statistics.median(item_wcu) if item_wcu else 0.0,
            "item_wcu_max": max(item_wcu, default=0.0),
            "index_wcu_median": statistics.median(index_wcu) if index_wcu else 0.0,
            "index_wcu_max": max(index_wcu, default=0.0),
            "items_written_mean": statistics.fmean(per_request(warm, "items_written")) if warm else 0.0,
            "wcu_by_item": {label: units / len(warm) for label, units in by_item.most_common()},
            "member_item_bytes_median": statistics.median(item_sizes) if item_sizes else None,
            "failures": op.failures[:3]}


@dataclass
class Till:
    """A POS key of the shop, signing events as a till does (Bywalec-Signature over the raw body)."""

    world: World
    api_key: str
    secret: str

    def send(self, driver: Driver, event: dict, op: Operation | None = None) -> Any:
        from loyalty.domain import pos_signature

        body = json.dumps(event, separators=(",", ":")).encode()
        at = int(driver.api.runtime.clock.now().timestamp())
        headers = {**bearer(self.api_key), "Bywalec-Signature": pos_signature.header(self.secret.encode(), at, body)}
        path = f"/v1/merchants/{self.world.merchant_id}/pos/events"
        if op is None:
            return driver.expect(200, "POST", path, body, headers)
        return driver.measure(op, 200, "POST", path, body, headers).body

    def sale(self, driver: Driver, member: Member, op: Operation | None = None) -> str:
        receipt_id = f"rcp-{secrets.token_hex(8)}"
        self.send(driver, {"type": "sale", "eventId": f"evt-{secrets.token_hex(8)}",
                           "locationId": self.world.locations[0], "receiptId": receipt_id,
                           "member": {"memberId": member.member_id}, "amount": SALE_AMOUNT, "items": SALE_ITEMS}, op)
        return receipt_id

    def refund(self, driver: Driver, receipt_id: str, op: Operation | None = None) -> None:
        self.send(driver, {"type": "refund", "eventId": f"evt-{secrets.token_hex(8)}", "receiptId": receipt_id,
                           "refundId": f"rfd-{secrets.token_hex(8)}", "amount": SALE_AMOUNT // 2}, op)


def open_till(driver: Driver, world: World) -> Till:
    path = f"/v1/merchants/{world.merchant_id}/api-keys"
    key = driver.expect(201, "POST", path, {"role": "pos", "locationIds": [world.locations[0]]},
                        bearer(world.owner_key))
    return Till(world, key["apiKey"], key["signingSecret"])


def measure_scans(driver: Driver, world: World, members: list[Member], population: int) -> tuple[Operation, list[int]]:
    """The scans, and the size of each member's item after its scan."""
    op = Operation(f"member scan, every rule ({population:,} members)", "rules scan", "population",
                   limit=SCAN_ROUND_TRIPS)
    sizes = []
    for member in members:
        body = scan_body(driver, world)
        member_scan(driver, world, member, op, idempotency_key=new_key(), body=body)
        sizes.append(member_item_size(driver, member.member_id))
    return op, sizes


# --- the upkeep job ----------------------------------------------------------------------------------

def metered_upkeep(driver: Driver, meter: Any) -> dict[str, Any]:
    from loyalty.store.merchants import clear_caches

    clear_caches()  # each run reads the merchant once, however long the load before it took
    with meter.capture() as captured:
        started = time.perf_counter()
        try:
            result = driver.api.runtime.invoke("MemberUpkeepFunction", {})
        except Exception as exc:  # e.g. a read timeout: moto's index Query reads the whole table
            result = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        seconds = time.perf_counter() - started - captured.overhead_seconds
    requests = Counter(call.operation for call in captured.calls)
    return {"result": result, "seconds": seconds, "requests": dict(sorted(requests.items())),
            "request_count": sum(requests.values()), "items_read": sum(call.items_read for call in captured.calls),
            "failed_calls": [call.shape for call in captured.calls if call.error]}


# --- a year of weekly visits -------------------------------------------------------------------------

def member_item_size(driver: Driver, member_id: str) -> int:
    from loyalty.settings import get_settings
    from loyalty.store import keys

    from infra.dynamodb_meter import item_size

    pk, sk = keys.member(member_id)
    with driver.meter.internal() as client:
        item = client.get_item(TableName=get_settings().table_name, Key={"PK": {"S": pk}, "SK": {"S": sk}},
                               ConsistentRead=True).get("Item")
    return item_size(item)


def year_of_visits(driver: Driver, admin_token: str, log: Callable[[str], None], weeks: int = WEEKS) -> dict:
    """One member's weekly sale for ``weeks`` weeks: a claim (redeemed at once) every CLAIM_EVERY_WEEKS weeks,
    vouchers the visits issue (surprise, tier upgrade) redeemed the next week, the upkeep job run before each
    visit (points expire there). The member item is sized after every week."""
    clock = driver.api.runtime.clock
    clock.set_offset(0)
    world = create_world(driver, admin_token, name="Kawiarnia Rok",
                         program=rules_program(clock.now(), YEAR_EXPIRY_MONTHS))
    member = enroll(driver, world, People())
    staff, phone = bearer(world.staff_key), {"X-Member-Token": member.token}
    counts: Counter[str] = Counter()
    sizes, tiers, failures, to_redeem = [], [], [], []
    log(f"a year of weekly visits: one member, {weeks} weeks")
    try:
        for week in range(1, weeks + 1):
            clock.set_offset(week * 7 * 86_400)
            upkeep = driver.api.runtime.invoke("MemberUpkeepFunction", {})
            counts["points expired"] += upkeep["pointsExpired"]
            counts["tier downgrades"] += upkeep["tiersChanged"]
            for code in to_redeem:
                driver.expect(200, "POST", "/v1/redemptions", {"code": code}, staff)
            to_redeem.clear()
            sale = {"memberToken": member.token, "locationId": world.locations[0], "amount": SALE_AMOUNT,
                    "items": SALE_ITEMS}
            reply = driver.send("POST", "/v1/scans", sale, staff)
            if reply.status != 200:
                failures.append(f"week {week}: scan -> {reply.status}: {json.dumps(reply.body)[:200]}")
                continue
            body = reply.body
            kinds = Counter(line["kind"] for line in body["awarded"]["lines"])
            counts["surprises"] += kinds["surprise"]
            counts["promotion bonuses"] += kinds["promotion"]
            if body.get("tierChanged"):
                counts["tier changes"] += 1
                tiers.append(f"week {week}: {body['tierChanged']['from']} -> {body['tierChanged']['to']}")
            to_redeem += [voucher["code"] for voucher in body["rewardsIssued"]]
            if week % CLAIM_EVERY_WEEKS == 0 and body["balance"] >= 100:
                claimed = driver.send("POST", "/v1/me/rewards", {"rewardId": "free-coffee"}, phone)
                if claimed.status == 201:
                    counts["claims"] += 1
                    to_redeem.append(claimed.body["code"])
                else:
                    failures.append(f"week {week}: claim -> {claimed.status}: {json.dumps(claimed.body)[:200]}")
            sizes.append(member_item_size(driver, member.member_id))
    finally:
        clock.set_offset(0)
    half = weeks // 2
    return {"weeks": weeks, "sizes": sizes, "size_half": sizes[half - 1] if len(sizes) >= half else None,
            "size_end": sizes[-1] if sizes else None, "counts": dict(counts), "tier_changes": tiers,
            "failures": failures, "limit_bytes": ITEM_SIZE_LIMIT, "growth_limit": GROWTH_LIMIT,
            "expiry_months": YEAR_EXPIRY_MONTHS}


# --- all of it ---------------------------------------------------------------------------------------

@dataclass
class RulesResult:
    operations: list[Operation]  # rows for the main table (member scans, POS sales and refunds)
    figures: dict[str, Any]


def measure_rules(driver: Driver, meter: Any, admin_token: str, ops: int, log: Callable[[str], None],
                  populations: tuple[int, ...] = POPULATIONS, weeks: int = WEEKS) -> RulesResult:
    year = year_of_visits(driver, admin_token, log, weeks) if weeks else None
    clock = driver.api.runtime.clock
    clock.set_offset(0)
    world = create_world(driver, admin_token, name="Kawiarnia Reguły", program=rules_program(clock.now()))
    till = open_till(driver, world)
    operations: list[Operation] = []
    scans, upkeeps = [], []
    sale_op = Operation("POS sale (signed event, 2 items)", "pos", limit=POS_ROUND_TRIPS)
    refund_op = Operation("POS refund (half of a sale)", "pos", limit=POS_ROUND_TRIPS)
    loaded = 0
    for number, population in enumerate(populations):
        extra = 2 * ops + 4 if number == 0 else ops
        log(f"program rules: bulk-loading {population - loaded:,} members with tiers and point batches "
            f"({DUE_EXPIRING} with points expiring and {DUE_GRACE} with a tier grace ending, due now)")
        sample = load_members(driver, world.merchant_id, population - loaded, loaded, extra, seed=31 + number)
        loaded = population
        if len(sample) < extra:
            raise RuntimeError(f"only {len(sample)} members to sample, {extra} needed")
        if number == 0:
            log("program rules: warming up the scan, the POS sale and refund")
            warm, sample = sample[:4], sample[4:]
            member_scan(driver, world, warm[0], idempotency_key=new_key())
            member_scan(driver, world, warm[1], idempotency_key=new_key())
            till.refund(driver, till.sale(driver, warm[2]))
            till.refund(driver, till.sale(driver, warm[3]))
            log(f"program rules: {ops} POS sales and refunds")
            for member in sample[ops:2 * ops]:
                till.refund(driver, till.sale(driver, member, sale_op), refund_op)
        log(f"program rules: {ops} member scans at {population:,} members")
        op, sizes = measure_scans(driver, world, sample[:ops], population)
        operations.append(op)
        scans.append(scan_figures(op, population, sizes))
        log(f"program rules: the upkeep job at {population:,} members")
        upkeeps.append({"members": population, "due": DUE_EXPIRING + DUE_GRACE, "due_expiring": DUE_EXPIRING,
                        "due_grace": DUE_GRACE, **metered_upkeep(driver, meter)})
    operations += [sale_op, refund_op]
    figures = {"scans": scans, "round_trip_limit": SCAN_ROUND_TRIPS, "wcu_limit": WRITE_UNITS_LIMIT,
               "same_within": SAME_WITHIN, "year": year,
               "pos": [scan_figures(sale_op, populations[0]), scan_figures(refund_op, populations[0])],
               "upkeep": {"runs": upkeeps, "reads_per_change_limit": UPKEEP_READS_PER_CHANGE,
                          "constant_reads": UPKEEP_CONSTANT_READS}}
    return RulesResult(operations, figures)
