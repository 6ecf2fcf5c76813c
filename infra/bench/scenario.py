"""The paths users take, driven through the handlers: a shop opens, members join, scan, claim and redeem.

`run_paths` is the measured part of the bench: it enrols members through the enroll handler, then
measures each operation on members that have not done it yet (so no scan meets the cooldown), warm
(every kind of request ran once, unmeasured, first). Requests are sent as their clients send them:
the member scan and the claim with and without the `Idempotency-Key` header the web card puts on every
POST, the replay of a scan with the same key, staff scans and redemptions with the staff key.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra.bench.driver import Driver, Operation, Reply, bearer
from infra.bench.loader import REWARD_ID, Member, bulk_load

STAFF_SCAN_AMOUNT = 15_000  # 150.00 PLN: enough points for the 100-point reward
COUNTER_CODE_MAX_AGE = 20.0  # seconds; codes are valid for one window (60 s) plus one window of grace


@dataclass
class World:
    """A merchant as the bench drives it: its keys, its locations and their current counter codes."""

    merchant_id: str
    owner_key: str
    staff_key: str
    locations: list[str]
    codes: dict[str, tuple[str, float]] = field(default_factory=dict)  # location -> (code, fetched at)

    def counter_code(self, driver: Driver, location_id: str | None = None) -> str:
        location_id = location_id or self.locations[0]
        code, fetched_at = self.codes.get(location_id, ("", 0.0))
        if time.monotonic() - fetched_at > COUNTER_CODE_MAX_AGE:
            path = f"/v1/merchants/{self.merchant_id}/locations/{location_id}/counter-code"
            code = driver.expect(200, "GET", path, headers=bearer(self.owner_key))["code"]
            self.codes[location_id] = (code, time.monotonic())
        return code


def create_world(driver: Driver, admin_token: str, name: str = "Kawiarnia Bench", program: dict | None = None) -> World:
    """A shop opened through the API: merchant, two locations, a staff key; the demo program unless told."""
    from infra.seed import open_shop

    def call(method: str, path: str, body: Any, token: str | None) -> dict:
        return driver.expect(201, method, path, body, bearer(token) if token else None)

    shop = open_shop(call, admin_token, name=name, program=program)
    return World(shop.merchant_id, shop.owner_key, shop.staff_key, list(shop.locations))


class People:
    """Phone numbers and enrolment bodies; every number is a valid, unique Polish mobile."""

    def __init__(self) -> None:
        self.count = 0

    def body(self) -> dict:
        self.count += 1
        return {"phone": f"+48600{self.count:06d}", "name": f"Gość {self.count}",
                "consent": {"sms": self.count % 2 == 0, "email": False}}


def _send(driver: Driver, op: Operation | None, status: int, method: str, path: str, body: Any,
          headers: dict[str, str]) -> Reply:
    """Measured into `op`, or, without one, a set-up request that must succeed."""
    if op is None:
        return Reply(status, driver.expect(status, method, path, body, headers))
    return driver.measure(op, status, method, path, body, headers)


def idempotent(headers: dict[str, str], key: str | None) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key} if key else headers


def enroll(driver: Driver, world: World, people: People, op: Operation | None = None) -> Member | None:
    reply = _send(driver, op, 201, "POST", f"/v1/merchants/{world.merchant_id}/members", people.body(), {})
    return Member(reply.body["memberId"], reply.body["memberToken"]) if reply.status == 201 else None


def scan_body(driver: Driver, world: World, location_id: str | None = None) -> dict:
    return {"counterCode": world.counter_code(driver, location_id)}


def member_scan(driver: Driver, world: World, member: Member, op: Operation | None = None,
                idempotency_key: str | None = None, body: dict | None = None) -> Reply:
    """The scan a phone sends at the counter; `body` again with the same key is a replay."""
    headers = idempotent({"X-Member-Token": member.token}, idempotency_key)
    return _send(driver, op, 200, "POST", "/v1/scans", body or scan_body(driver, world), headers)


def staff_scan(driver: Driver, world: World, member: Member, op: Operation | None = None) -> Reply:
    body = {"memberToken": member.token, "locationId": world.locations[0], "amount": STAFF_SCAN_AMOUNT}
    return _send(driver, op, 200, "POST", "/v1/scans", body, bearer(world.staff_key))


def claim(driver: Driver, member: Member, op: Operation | None = None,
          idempotency_key: str | None = None) -> str | None:
    headers = idempotent({"X-Member-Token": member.token}, idempotency_key)
    reply = _send(driver, op, 201, "POST", "/v1/me/rewards", {"rewardId": REWARD_ID}, headers)
    return reply.body["code"] if reply.status == 201 else None


def redeem(driver: Driver, world: World, code: str, op: Operation | None = None) -> Reply:
    return _send(driver, op, 200, "POST", "/v1/redemptions", {"code": code}, bearer(world.staff_key))


def staff_sale(driver: Driver, world: World, member: Member, op: Operation | None = None) -> Reply:
    """A till sending the receipt's lines: the items count toward the member's favourites."""
    items = [{"sku": "latte", "category": "coffee", "quantity": 2, "amount": 2400},
             {"sku": "croissant", "category": "pastry", "amount": 1150},
             {"sku": "cheesecake", "category": "cake", "amount": 1650}]
    body = {"memberToken": member.token, "locationId": world.locations[0], "items": items}
    return _send(driver, op, 200, "POST", "/v1/scans", body, bearer(world.staff_key))


def segment_counts(driver: Driver, world: World, op: Operation | None = None) -> Reply:
    """The owner's segment list: the stored counts while fresh, else a recount within the request's budget."""
    return _send(driver, op, 200, "GET", f"/v1/merchants/{world.merchant_id}/segments", None,
                 bearer(world.owner_key))


def new_key() -> str:
    return secrets.token_hex(12)


def members_needed(ops: int, large: int) -> int:
    """Members `run_paths` enrols: three to warm up, then fresh ones for every measured scan, claim and expiry."""
    return 3 + 5 * ops + 3 * informational_count(ops) + (ops if large else 0)


def informational_count(ops: int) -> int:
    return max(1, ops // 4)


SEGMENT_COUNTS_STALE_SECONDS = 2 * 3600  # older than SEGMENT_COUNTS_MAX_AGE_SECONDS's default
RECOUNT_TICKS = 10  # a recount that needs more ticks than this fails its verdict
SEGMENT_COUNT_REQUESTS = 3  # after the recount: the stored counts, a few to show the spread

@dataclass
class PathsResult:
    operations: list[Operation]
    population: dict[str, Any]
    segment_recounts: list[dict[str, Any]] = field(default_factory=list)


def segment_recount(driver: Driver, meter: Any, world: World, members: int) -> dict[str, Any]:
    """A whole recount of the merchant's segment counts as it really runs: the owner's request starts it and
    walks the roster for its time budget, then campaign ticks walk the rest (each keeps its place for the next;
    at most ``RECOUNT_TICKS`` here). All of it is measured together."""
    from infra.bench.campaign_runs import metered_tick

    with meter.capture() as captured:
        started = time.perf_counter()
        asked = segment_counts(driver, world)
        request_seconds = time.perf_counter() - started - captured.overhead_seconds
    requests = Counter(call.operation for call in captured.calls)
    roster_pages = sum(1 for call in captured.calls if ".GSI3 " in call.shape)
    items_read = sum(call.items_read for call in captured.calls)
    failed_calls = [call.shape for call in captured.calls if call.error]
    finished = asked.body["counting"] is False  # a small merchant's recount finishes within the request
    ticks, tick_seconds = 0, 0.0
    while not finished and ticks < RECOUNT_TICKS:
        tick = metered_tick(driver, meter)
        ticks, tick_seconds = ticks + 1, tick_seconds + tick["seconds"]
        requests.update(tick["requests"])
        roster_pages += tick["roster_pages"]
        items_read += tick["items_read"]
        failed_calls += tick["failed_calls"]
        finished = tick["result"].get("segments", {}).get("recountsFinished") == 1
    return {"members": members, "request_seconds": request_seconds, "ticks": ticks, "tick_seconds": tick_seconds,
            "requests": dict(sorted(requests.items())), "roster_pages": roster_pages, "items_read": items_read,
            "finished": finished, "failed_calls": failed_calls}


def run_paths(driver: Driver, meter: Any, admin_token: str, members: int, large: int, ops: int,
              log: Callable[[str], None]) -> PathsResult:
    informational = informational_count(ops)
    people = People()
    enroll_op = Operation("enroll", "enroll")
    small_scan = Operation(f"member scan ({members:,} members)", "member scan", "population", limit=2)
    keyed_scan = Operation("member scan as phones send it (Idempotency-Key)", "member scan", limit=2)
    replay = Operation("replay of the same scan (same key and body)", "replay", limit=3)
    staff_op = Operation("staff scan", "staff scan", limit=3)
    claim_op = Operation("claim", "claim")
    keyed_claim = Operation("claim with an Idempotency-Key", "claim", limit=2)
    redeem_op = Operation("redeem by code", "redeem", limit=2)
    expired_scan = Operation("member scan, caches expired", "member scan", "informational")
    expired_staff = Operation("staff scan, caches expired", "staff scan", "informational")
    sale_op = Operation("staff scan with 3 sale items (favourites)", "staff scan", limit=3)
    small_counts = Operation(f"segment counts, stored ({members:,} members)", "segment counts", "population")
    operations = [enroll_op, small_scan, keyed_scan, replay, staff_op, sale_op, claim_op, keyed_claim, redeem_op,
                  expired_scan, expired_staff, small_counts]

    log("setting up a merchant and warming every handler up")
    world = create_world(driver, admin_token)
    warm = [enroll(driver, world, people) for _ in range(3)]
    member_scan(driver, world, warm[0])
    body, key = scan_body(driver, world), new_key()
    member_scan(driver, world, warm[1], idempotency_key=key, body=body)
    member_scan(driver, world, warm[1], idempotency_key=key, body=body)
    staff_scan(driver, world, warm[0])
    staff_scan(driver, world, warm[2])
    staff_sale(driver, world, warm[2])
    segment_counts(driver, world)
    redeem(driver, world, claim(driver, warm[0]))
    claim(driver, warm[2], idempotency_key=new_key())

    log(f"enrolling {members - len(warm):,} members through the enroll handler ({ops} measured)")
    fresh = [enroll(driver, world, people, enroll_op) for _ in range(ops)]
    fresh = [m for m in fresh if m is not None]
    while people.count < members:
        fresh.append(enroll(driver, world, people))
    # Reserved now, scanned after the bulk load: same kind of member, bigger table.
    reserved = fresh[-ops:] if large else []
    fresh = fresh[:len(fresh) - len(reserved)]

    def take(count: int) -> list[Member]:
        taken = fresh[:count]
        del fresh[:count]
        return taken

    log(f"member scans at {members:,} members, without and with an Idempotency-Key, and replays")
    for member in take(ops):
        member_scan(driver, world, member, small_scan)
    for number, member in enumerate(take(ops)):
        body, key = scan_body(driver, world), new_key()
        member_scan(driver, world, member, keyed_scan, idempotency_key=key, body=body)
        if number < informational:
            member_scan(driver, world, member, replay, idempotency_key=key, body=body)

    log("staff scans, claims without and with an Idempotency-Key, redemptions")
    spenders = take(2 * ops)
    for member in spenders:
        staff_scan(driver, world, member, staff_op)
    codes = [claim(driver, member, claim_op) for member in spenders[:ops]]
    for member in spenders[ops:]:
        claim(driver, member, keyed_claim, idempotency_key=new_key())
    for code in codes:
        if code:
            redeem(driver, world, code, redeem_op)
    for member in take(informational):
        staff_sale(driver, world, member, sale_op)

    # What a container pays once per cache TTL: the merchant (program) and API key caches emptied first.
    from loyalty.store.merchants import clear_caches

    for member in take(informational):
        world.counter_code(driver)
        clear_caches()
        member_scan(driver, world, member, expired_scan)
    for member in take(informational):
        clear_caches()
        staff_scan(driver, world, member, expired_staff)

    log(f"segment counts at {members:,} members: a recount, then the stored counts")
    clock = driver.api.runtime.clock
    clock.set_offset(SEGMENT_COUNTS_STALE_SECONDS)  # the counts stored at warm-up have aged: a request recounts
    recounts = [segment_recount(driver, meter, world, members)]
    for _ in range(SEGMENT_COUNT_REQUESTS):
        segment_counts(driver, world, small_counts)
    clock.set_offset(0)

    population: dict[str, Any] = {"small": members, "large": large or None}
    note = f"{members:,} members enrolled through the enroll handler"
    if large:
        bulk = large - members
        log(f"bulk-loading {bulk:,} member items (plus phone and referral-code guards) with BatchWriteItem")
        sampled = bulk_load(meter, world.merchant_id, bulk, informational)
        large_scan = Operation(f"member scan ({large:,} members)", "member scan", "population", limit=2)
        bulk_scan = Operation(f"member scan ({large:,}, bulk members)", "member scan", "informational")
        large_counts = Operation(f"segment counts, stored ({large:,} members)", "segment counts", "population")
        operations[2:2] = [large_scan, bulk_scan]
        operations.append(large_counts)
        log(f"member scans at {large:,} members")
        for member in reserved:
            member_scan(driver, world, member, large_scan)
        for member in sampled:
            member_scan(driver, world, member, bulk_scan)
        log(f"segment counts at {large:,} members: a recount, then the stored counts")
        clock.set_offset(2 * SEGMENT_COUNTS_STALE_SECONDS)  # aged again since the first recount
        recounts.append(segment_recount(driver, meter, world, large))
        for _ in range(SEGMENT_COUNT_REQUESTS):
            segment_counts(driver, world, large_counts)
        clock.set_offset(0)
        note += (f"; then {bulk:,} more bulk-loaded straight into the table (member item with visit history and "
                 f"up to 10 closed vouchers, phone and referral-code guard items; no ledger entries), so the "
                 f"table holds {large:,} members of one merchant. The {large:,}-member scans use "
                 f"{len(reserved)} handler-enrolled members kept unscanned until then (first visits, like the "
                 f"{members:,}-member row); the 'bulk members' row scans {len(sampled)} bulk-loaded members "
                 f"with a visit history (repeat visits)")
    population["note"] = note
    return PathsResult(operations, population, recounts)
