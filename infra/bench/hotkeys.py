"""Hot keys: the item written most often when a chain of many locations takes member scans at a given rate.

DynamoDB serves about 1,000 writes per second per partition, and far fewer to a single item under
contention; an item that every scan of a large merchant writes (a merchant-wide counter, say) caps the
whole chain. The figure comes from a scaled run, not from 100 scans a second in real time: a chain of
`locations` locations (added to the merchant item in one write, members bulk-loaded) takes `scans`
member scans, round-robin over the locations, each by a different member who last visited days ago,
sent as phones send them (with an Idempotency-Key). The meter records every item each scan writes
(transaction items, idempotency records, anything), and an item written `w` times in `scans` scans is
written `w / scans * rate` times a second when the chain takes `rate` scans a second. Items of one
member are an upper bound here: each member scans once, so their share is 1 / scans, while a real
chain spreads its scans over far more members. The report names an item by its key's kind (values
masked), never by its key.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from infra.bench.driver import Driver
from infra.bench.loader import add_locations, bulk_load
from infra.bench.scenario import create_world, idempotent, new_key, scan_body

CHAIN_LOCATIONS = 500
CHAIN_SCANS_PER_SECOND = 100
HOTTEST_ITEM_LIMIT = 10.0  # writes per second to any one item
# Bulk-loaded members include some that never visited; load enough to have `scans` who have.
_LOAD_FACTOR = 1.25


def measure_hot_keys(driver: Driver, meter: Any, admin_token: str, scans: int, log: Callable[[str], None],
                     locations: int = CHAIN_LOCATIONS, rate: int = CHAIN_SCANS_PER_SECOND) -> dict[str, Any]:
    log(f"hot keys: a chain of {locations} locations, {scans:,} member scans round-robin over them")
    world = create_world(driver, admin_token, name="Sieć Bench")
    world.locations += add_locations(meter, world.merchant_id, max(0, locations - len(world.locations)))
    members = bulk_load(meter, world.merchant_id, int(scans * _LOAD_FACTOR) + 10, scans)
    writes: Counter[str] = Counter()
    kind_of: dict[str, str] = {}
    failures: list[str] = []
    for number, member in enumerate(members):
        body = scan_body(driver, world, world.locations[number % len(world.locations)])
        headers = idempotent({"X-Member-Token": member.token}, new_key())
        with meter.capture() as captured:
            reply = driver.send("POST", "/v1/scans", body, headers)
        if reply.status != 200:
            failures.append(f"POST /v1/scans -> {reply.status}: {str(reply.body)[:200]}")
        for call in captured.calls:
            for item, kind in call.written:
                writes[item] += 1
                kind_of[item] = kind
    return hot_key_figures(writes, kind_of, len(members), len(world.locations), rate, failures)


def hot_key_figures(writes: Counter[str], kind_of: dict[str, str], scans: int, locations: int, rate: int,
                    failures: list[str]) -> dict[str, Any]:
    """The hottest item and, per kind of key, its hottest item, as writes per second at `rate` scans a second."""
    def per_second(count: int) -> float:
        return count / scans * rate if scans else 0.0

    by_kind: dict[str, dict[str, Any]] = {}
    for item, count in writes.items():
        kind = kind_of[item]
        entry = by_kind.setdefault(kind, {"kind": kind, "items": 0, "writes": 0, "hottest_writes": 0})
        entry["items"] += 1
        entry["writes"] += count
        entry["hottest_writes"] = max(entry["hottest_writes"], count)
    kinds = sorted(by_kind.values(), key=lambda entry: entry["hottest_writes"], reverse=True)
    for entry in kinds:
        entry["hottest_writes_per_second"] = round(per_second(entry["hottest_writes"]), 3)
    hottest = kinds[0] if kinds else None
    return {
        "scans": scans, "locations": locations, "scans_per_second": rate, "failures": len(failures),
        "failure_examples": failures[:3], "items_written": len(writes), "writes": sum(writes.values()),
        "hottest_kind": hottest["kind"] if hottest else None,
        "hottest_writes": hottest["hottest_writes"] if hottest else 0,
        "hottest_writes_per_second": hottest["hottest_writes_per_second"] if hottest else 0.0,
        "limit_writes_per_second": HOTTEST_ITEM_LIMIT,
        "kinds": kinds,
    }
