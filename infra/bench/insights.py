"""Insights: what a 90-day insights request reads, at two populations.

For each population (1,000 and 20,000 members by default) a shop is opened through the API and half a year of
history is counted into its rollups: each member joins on one of its days and visits a few times at either
location, some with a bill. The history is made of the stream records the enrolment and the scan write (the
store's own serialization of member items and ledger entries, with the scan's visit facts), in time order; the
consumer's own code reads them (``store.insights.fact_of``) and counts them (``domain.insights.Tally``), and
the rollup items are written with the consumer's write (``store.insights.add_counts``), each once: counting
20,000 members' records one batch at a time through the handler takes too long on a shared machine. How fast
the handler itself counts (batches of 100 records, a marker per record) is measured on a third shop.
Then the owner asks for the last 90 days (`GET .../insights`) `REQUESTS` times while the meter records every
DynamoDB request and the items it returned.

Verdict: the same DynamoDB requests and the same items read at both populations (O(days), not O(members)).
The member scan's round trips (at most 2) are measured by the user paths (scenario.py), which count the
scan's ledger entry with the facts the rollups need.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.bench.driver import Driver, bearer
from infra.bench.scenario import create_world
from infra.bench.stats import percentile

POPULATIONS = (1_000, 20_000)
HISTORY_DAYS = 180
RANGE_DAYS = 90
REQUESTS = 5
BATCH = 100  # records per consumer invocation (the template's BatchSize)
VISITS_PER_MEMBER = (1, 4)
THROUGHPUT_MEMBERS, THROUGHPUT_RECORDS = 300, 1_000  # the handler's own pace, measured on a shop of its own


def _records(merchant_id: str, locations: list[str], population: int, end: datetime,
             seed: int = 7) -> list[dict[str, Any]]:
    """Stream records of half a year of joins and visits, in time order (DynamoDB JSON, as the stream carries them)."""
    from loyalty.domain import ids, insights
    from loyalty.domain.model import LedgerEntry, LedgerLine, Member
    from loyalty.store import members as store

    rng = random.Random(seed)
    start = end - timedelta(days=HISTORY_DAYS)
    writes: list[tuple[datetime, dict[str, Any]]] = []
    members: list[tuple[Member, list[tuple[datetime, str]]]] = []
    for _ in range(population):
        joined = start + timedelta(seconds=rng.randrange(HISTORY_DAYS * 86_400))
        member = Member(member_id=ids.new_id("mem"), merchant_id=merchant_id, token_hash="0" * 64,
                        created_at=joined)
        writes.append((joined, store.with_index_keys(store._to_item(member), "Europe/Warsaw").serialize()))
        visits, at = [], joined
        for _ in range(rng.randint(*VISITS_PER_MEMBER)):
            at += timedelta(days=rng.expovariate(1 / 20), hours=rng.random())
            if at < end:
                visits.append((at, rng.choice(locations)))
        members.append((member, visits))
    # A café has visitors every day at each of its places: both shops' rollups then cover the same days.
    members.sort(key=lambda pair: pair[0].created_at)
    for day in range(1, HISTORY_DAYS):
        noon = start + timedelta(days=day, hours=12 - start.hour)
        joined_by = [pair for pair in members if pair[0].created_at < noon]
        for location in locations:
            if joined_by and noon < end:
                rng.choice(joined_by)[1].append((noon, location))
    for member, visits in members:
        for at, location in sorted(visits):
            amount = rng.choice([None, rng.randrange(800, 6_000)])
            entry = LedgerEntry(ids.new_id("led"), member.member_id, merchant_id, at, "scan", 10, 1,
                                (LedgerLine("visit", 10, 1, "Visit"),), ids.new_id("scn"), location,
                                amount, insights.visit_facts(member, at))
            writes.append((at, store._ledger_item(entry).serialize()))
            member.visit_count += 1
            member.first_visit_at = member.first_visit_at or at
            member.last_visit_at = at
    writes.sort(key=lambda write: write[0])
    return [{"eventID": uuid.uuid4().hex, "eventName": "INSERT", "eventSource": "aws:dynamodb",
             "dynamodb": {"ApproximateCreationDateTime": int(at.timestamp()), "NewImage": image,
                          "SequenceNumber": str(n), "StreamViewType": "NEW_AND_OLD_IMAGES"}}
            for n, (at, image) in enumerate(writes)]


def _roll_up(driver: Driver, records: list[dict[str, Any]]) -> float:
    """Through the consumer's handler, as Lambda delivers the stream; returns the seconds it took."""
    started = time.perf_counter()
    for n in range(0, len(records), BATCH):
        result = driver.api.runtime.invoke("InsightsRollupFunction", {"Records": records[n:n + BATCH]})
        if result.get("batchItemFailures"):
            raise RuntimeError(f"the consumer failed records: {result}")
    return time.perf_counter() - started


def _count_at_once(records: list[dict[str, Any]], timezone: str) -> None:
    """The consumer's reading and counting of every record, then each rollup item written once."""
    from loyalty.domain.insights import Tally
    from loyalty.store import insights as store

    tally = Tally()
    for record in records:
        fact = store.fact_of(record)
        if fact is not None:
            tally.count(fact.fact, timezone)
    for key, counts in tally.items().items():
        names = sorted(counts)  # months of counts make items of hundreds of attributes: added a part at a time
        for n in range(0, len(names), store.MAX_UPDATE_ATTRIBUTES):
            part = {name: counts[name] for name in names[n:n + store.MAX_UPDATE_ATTRIBUTES]}
            store.add_counts([], {key: part}, datetime.now(UTC))


def measure_insights(driver: Driver, meter: Any, admin_token: str, log: Callable[[str], None],
                     populations: tuple[int, ...] = POPULATIONS) -> dict[str, Any]:
    from loyalty.store.merchants import clear_caches

    runs = []
    end = datetime.now(UTC)
    last = (end - timedelta(days=1)).astimezone(UTC).date()  # yesterday: a whole day
    first = last - timedelta(days=RANGE_DAYS - 1)
    for population in populations:
        world = create_world(driver, admin_token, name=f"Kawiarnia insights {population}")
        records = _records(world.merchant_id, world.locations, population, end)
        log(f"insights: {population:,} members, {len(records):,} stream records counted")
        with meter.internal():
            _count_at_once(records, "Europe/Warsaw")  # the bench's shop (infra/seed.py)
        path = f"/v1/merchants/{world.merchant_id}/insights?from={first}&to={last}"
        samples = []
        for _ in range(REQUESTS):
            clear_caches()  # every request reads the merchant: the same work each time
            with meter.capture() as captured:
                started = time.perf_counter()
                reply = driver.send("GET", path, None, bearer(world.owner_key))
                ms = (time.perf_counter() - started - captured.overhead_seconds) * 1000
            if reply.status != 200:
                raise RuntimeError(f"insights answered {reply.status}: {reply.body}")
            samples.append((ms, Counter(call.operation for call in captured.calls),
                            sum(call.items_read for call in captured.calls)))
        requests = samples[-1][1]
        runs.append({
            "members": population, "stream_records": len(records),
            "requests": dict(sorted(requests.items())), "request_count": sum(requests.values()),
            "items_read": samples[-1][2], "p50_ms": round(percentile([s[0] for s in samples], 0.5), 1),
            "visits_in_range": reply.body["visits"]["count"],
            "same_every_time": all(s[1] == requests and s[2] == samples[-1][2] for s in samples),
        })
    shop = create_world(driver, admin_token, name="Kawiarnia insights consumer")
    sample = _records(shop.merchant_id, shop.locations, THROUGHPUT_MEMBERS, end)[:THROUGHPUT_RECORDS]
    with meter.internal():
        seconds = _roll_up(driver, sample)
    log(f"insights: the consumer's handler counted {len(sample):,} records in {seconds:.1f} s")
    return {"runs": runs, "range_days": RANGE_DAYS, "history_days": HISTORY_DAYS, "from": str(first), "to": str(last),
            "handler_records": len(sample), "handler_records_per_second": round(len(sample) / seconds, 1)}


def verdicts(figures: dict[str, Any] | None) -> list[dict[str, str]]:
    """PASS when every population's request sends the same requests and reads the same items."""
    from infra.bench.report import verdict

    if not figures or not figures["runs"]:
        return [verdict("insights request reads O(days), not O(members)", None, "not measured (--insights-members 0)")]
    runs = figures["runs"]
    same = (len({(r["request_count"], r["items_read"]) for r in runs}) == 1 and len(runs) > 1
            and len({tuple(sorted(r["requests"].items())) for r in runs}) == 1
            and all(r["same_every_time"] for r in runs))
    text = "; ".join(f"{r['members']:,} members: {r['request_count']} requests "
                     f"({', '.join(f'{n} {op}' for op, n in r['requests'].items())}), {r['items_read']} items read, "
                     f"p50 {r['p50_ms']} ms, {r['visits_in_range']:,} visits in range" for r in runs)
    return [verdict("insights request reads O(days), not O(members)", same,
                    f"{figures['range_days']}-day range: {text}; the stream consumer's handler counts "
                    f"{figures['handler_records_per_second']} records/s (batches of {BATCH})")]
