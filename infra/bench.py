"""Benchmark: DynamoDB round trips, capacity and handler time per operation, and cold imports.

`python -m infra.bench [--members N] [--large N] [--ops N] [--json PATH]` (what `make bench` runs)
drives members through the real handlers in this process (LocalApi, API Gateway v2 events built
from template.yaml) against the embedded moto DynamoDB, and prints per operation (enroll, member
scan, staff scan, claim, redeem): DynamoDB requests by API name, items written, write and read
capacity units computed from item sizes (see infra/dynamodb_meter.py), and p50/p95 handler time.
It then times the cold import of each handler module in fresh processes next to
`import boto3; boto3.client("dynamodb")`, checks the project's figures, prints PASS or FAIL for
each and writes everything as JSON. A benchmark is not a test: it exits 0 whatever the verdicts.

How requests are driven:
- every request is made WITHOUT an Idempotency-Key, except the "+ Idempotency-Key" rows (a member scan
  and a claim with a fresh key, as the web card sends them) and the retry rows (the same request again
  with its key, answered from the kept reply); warm-up requests of every kind run first and are not
  measured; informational rows (no verdict) show member and staff scans right after the program and
  API-key caches expired (emptied first);
- "warm" means the request did not re-read the cached merchant or API key. All handlers share one
  process here, so they share those caches; on Lambda each function's containers keep their own;
- each measured scan uses a member that has not scanned yet, so no scan meets the cooldown;
- the member-scan measurement runs at two populations: `--members` enrolled through the enroll
  handler, then, after the table is bulk-loaded with realistic member items (member item with
  visit history and closed vouchers, plus its phone and referral-code guards, written with
  BatchWriteItem) up to `--large` members, again on members enrolled through the handler.
- handler time is the wall time of LocalApi.handle minus the meter's own size reads; it includes
  a local HTTP round trip to moto per DynamoDB request, so compare it between operations and runs,
  not with DynamoDB on AWS. moto's TransactWriteItems deep-copies the whole table (its cost grows with
  the table); infra/moto_patches.py removes that in this process unless --stock-moto is given.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra.template import ROOT, ensure_table, functions, load_template

DEFAULT_MEMBERS = 1_000
DEFAULT_LARGE = 20_000
DEFAULT_OPS = 200
DEFAULT_IMPORT_RUNS = 5
REGION = "eu-central-1"
TABLE_NAME = "bywalec-bench"
IMPORT_RATIO_LIMIT = 1.5
ROUND_TRIP_LIMITS = {"member scan": 2, "staff scan": 3, "redeem": 2, "keyed": 2, "keyed retry": 1}
STAFF_SCAN_AMOUNT = 15_000  # 150.00 PLN: enough points for the 100-point reward
REWARD_ID = "free-coffee"
COUNTER_CODE_MAX_AGE = 20.0  # seconds; codes are valid for one window (60 s) plus one window of grace
# Reads that only happen when a per-container cache (merchant and program, API keys) is cold or expired. An API
# key is re-read every few seconds, together with its merchant, or with the write that stamps its lastUsedAt.
CACHE_READS = ("GetItem MERCHANT#*/MERCHANT", "GetItem APIKEY#*/APIKEY", "UpdateItem APIKEY#*/APIKEY",
               "TransactGetItems[APIKEY#*/APIKEY, MERCHANT#*/MERCHANT]")


# --- the request side -------------------------------------------------------------------------------

@dataclass
class Reply:
    status: int
    body: Any


@dataclass
class Sample:
    status: int
    ms: float
    calls: list  # dynamodb_meter.Call
    server: Counter

    @property
    def round_trips(self) -> int:
        return len(self.calls)

    @property
    def cache_refill(self) -> bool:
        return any(call.shape.startswith(CACHE_READS) for call in self.calls)


@dataclass
class Operation:
    name: str
    group: str          # the figure it belongs to: "enroll", "member scan", ...
    note: str = ""
    samples: list[Sample] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class Driver:
    """Requests through LocalApi.handle, measured or not; every DynamoDB call is counted either way."""

    def __init__(self, api: Any, meter: Any, server: Any) -> None:
        self.api, self.meter, self.server = api, meter, server
        self.requests = 0

    def send(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
        from infra.local.http_api import json_request

        request = json_request(method, path, body, headers)
        # Every request from its own phone: customers do not share one address (which would be rate limited).
        self.requests += 1
        request.source_ip = f"10.{self.requests >> 16 & 255}.{self.requests >> 8 & 255}.{self.requests & 255}"
        response = self.api.handle(request)
        try:
            parsed = json.loads(response.body) if response.body else None
        except ValueError:
            parsed = response.body.decode("utf-8", "replace")
        return Reply(response.status, parsed)

    def expect(self, status: int, method: str, path: str, body: Any = None,
               headers: dict[str, str] | None = None) -> Any:
        reply = self.send(method, path, body, headers)
        if reply.status != status:
            raise RuntimeError(f"{method} {path}: expected {status}, got {reply.status}: {reply.body}")
        return reply.body

    def measure(self, op: Operation, status: int, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None) -> Reply:
        server_before = self.server.snapshot() if self.server else Counter()
        with self.meter.capture() as captured:
            started = time.perf_counter()
            reply = self.send(method, path, body, headers)
            elapsed = time.perf_counter() - started
        server_delta = (self.server.snapshot() - server_before) if self.server else Counter()
        op.samples.append(Sample(reply.status, (elapsed - captured.overhead_seconds) * 1000, captured.calls,
                                 server_delta))
        if reply.status != status:
            op.failures.append(f"{method} {path} -> {reply.status}: {json.dumps(reply.body)[:300]}")
        return reply


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Member:
    member_id: str
    token: str


@dataclass
class World:
    merchant_id: str
    owner_key: str
    staff_key: str
    locations: list[str]
    code: str = ""
    code_at: float = 0.0

    def counter_code(self, driver: Driver) -> str:
        if time.monotonic() - self.code_at > COUNTER_CODE_MAX_AGE:
            path = f"/v1/merchants/{self.merchant_id}/locations/{self.locations[0]}/counter-code"
            self.code = driver.expect(200, "GET", path, headers=bearer(self.owner_key))["code"]
            self.code_at = time.monotonic()
        return self.code


def create_world(driver: Driver, admin_token: str) -> World:
    from infra.seed import open_shop

    def call(method: str, path: str, body: Any, token: str | None) -> dict:
        return driver.expect(201, method, path, body, bearer(token) if token else None)

    shop = open_shop(call, admin_token, name="Kawiarnia Bench")
    return World(shop.merchant_id, shop.owner_key, shop.staff_key, shop.locations)


class Members:
    """Phone numbers and enrolment bodies; every number is a valid, unique Polish mobile."""

    def __init__(self) -> None:
        self.count = 0

    def body(self) -> dict:
        self.count += 1
        return {"phone": f"+48600{self.count:06d}", "name": f"Gość {self.count}",
                "consent": {"sms": self.count % 2 == 0, "email": False}}


# --- scenario ---------------------------------------------------------------------------------------

def enroll(driver: Driver, world: World, people: Members, op: Operation | None = None) -> Member | None:
    path = f"/v1/merchants/{world.merchant_id}/members"
    if op is None:
        body = driver.expect(201, "POST", path, people.body())
    else:
        reply = driver.measure(op, 201, "POST", path, people.body())
        if reply.status != 201:
            return None
        body = reply.body
    return Member(body["memberId"], body["memberToken"])


def member_scan(driver: Driver, world: World, member: Member, op: Operation | None = None,
                idempotency_key: str | None = None) -> Reply:
    headers = {"X-Member-Token": member.token}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    body = {"counterCode": world.counter_code(driver)}
    if op is None:
        return Reply(200, driver.expect(200, "POST", "/v1/scans", body, headers))
    return driver.measure(op, 200, "POST", "/v1/scans", body, headers)


def staff_scan(driver: Driver, world: World, member: Member, op: Operation | None = None) -> Reply:
    body = {"memberToken": member.token, "locationId": world.locations[0], "amount": STAFF_SCAN_AMOUNT}
    if op is None:
        return Reply(200, driver.expect(200, "POST", "/v1/scans", body, bearer(world.staff_key)))
    return driver.measure(op, 200, "POST", "/v1/scans", body, bearer(world.staff_key))


def claim(driver: Driver, member: Member, op: Operation | None = None,
          idempotency_key: str | None = None) -> str | None:
    headers = {"X-Member-Token": member.token}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    if op is None:
        return driver.expect(201, "POST", "/v1/me/rewards", {"rewardId": REWARD_ID}, headers)["code"]
    reply = driver.measure(op, 201, "POST", "/v1/me/rewards", {"rewardId": REWARD_ID}, headers)
    return reply.body["code"] if reply.status == 201 else None


def redeem(driver: Driver, world: World, code: str, op: Operation | None = None) -> Reply:
    if op is None:
        return Reply(200, driver.expect(200, "POST", "/v1/redemptions", {"code": code}, bearer(world.staff_key)))
    return driver.measure(op, 200, "POST", "/v1/redemptions", {"code": code}, bearer(world.staff_key))


def bulk_load(meter: Any, merchant_id: str, count: int, sample_size: int, seed: int = 7) -> list[Member]:
    """`count` realistic members written straight to the table; returns tokens for `sample_size` of them.

    Each member is what enrolment and a visit history leave behind: the member item (balance, stamps,
    visits, spend, consent, referral code, up to 10 closed vouchers, as the store keeps them) and its
    phone and referral-code guard items. Ledger entries are not written: no measured path reads them.
    """
    from loyalty.domain import ids, tokens
    from loyalty.domain.model import VOUCHER_REDEEMED, Voucher
    from loyalty.settings import get_settings
    from loyalty.store import keys
    from loyalty.store.members import voucher_to_map
    from loyalty.store.models import GuardItem, MemberItem

    rng = random.Random(seed)
    now = datetime.now(UTC)
    table = get_settings().table_name
    sample: list[Member] = []
    batch: list[dict] = []

    def flush(client: Any) -> None:
        pending = {table: batch[:]}
        batch.clear()
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    with meter.internal() as client:
        for i in range(count):
            member_id = ids.new_id("mem")
            token = tokens.new_member_token(member_id)
            visits = 0 if rng.random() < 0.1 else rng.randint(1, 40)
            created = now - timedelta(days=rng.randint(30, 720))
            first = created + timedelta(hours=rng.randint(0, 48)) if visits else None
            last = now - timedelta(days=rng.randint(1, 29), minutes=rng.randint(0, 1440)) if visits else None
            redeemed = min(10, visits // 5)
            spend_count = sum(rng.random() < 0.7 for _ in range(visits))
            total_spend = sum(rng.randint(900, 6500) for _ in range(spend_count))
            lifetime = visits * 10 + total_spend // 100 + (20 if visits else 0)
            vouchers = {}
            for _ in range(redeemed):
                issued = (first or created) + timedelta(days=rng.randint(0, 25))
                voucher = Voucher(ids.new_id("rwd"), REWARD_ID, "Free coffee", ids.new_reward_code(),
                                  VOUCHER_REDEEMED, 0, issued, issued + timedelta(days=30), "stamps",
                                  closed_at=issued + timedelta(days=2), redemption_id=ids.new_id("rdm"))
                vouchers[voucher.issued_reward_id] = voucher_to_map(voucher)
            phone = f"+48601{i:06d}"
            referral_code = ids.new_referral_code()
            member = MemberItem(
                *keys.member(member_id), member_id=member_id, merchant_id=merchant_id, token_hash=token.hash,
                rev=visits + redeemed, phone=phone, name=f"Gość {i}", consent_sms=rng.random() < 0.6,
                consent_email=False, balance=max(0, lifetime - 100 * rng.randint(0, lifetime // 100)),
                lifetime_points=lifetime, stamps=visits % 5, visit_count=visits, total_spend=total_spend,
                spend_count=spend_count, first_visit_at=first, last_visit_at=last, referral_code=referral_code,
                created_at=created)
            member.vouchers = vouchers
            guards = [GuardItem(*keys.phone_guard(merchant_id, phone), owner_id=member_id, merchant_id=merchant_id),
                      GuardItem(*keys.referral_code_guard(merchant_id, referral_code), owner_id=member_id,
                                merchant_id=merchant_id)]
            for item in (member, *guards):
                batch.append({"PutRequest": {"Item": item.serialize()}})
                if len(batch) == 25:
                    flush(client)
            if len(sample) < sample_size and visits:
                sample.append(Member(member_id, token.value))
        if batch:
            flush(client)
    return sample


# --- figures ----------------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(op: Operation) -> dict[str, Any]:
    samples = op.samples
    n = len(samples) or 1
    warm = [s for s in samples if not s.cache_refill]
    by_api: Counter[str] = Counter()
    shapes: Counter[str] = Counter()
    for sample in samples:
        for call in sample.calls:
            by_api[call.operation] += 1
            shapes[call.shape] += 1
    total = {name: sum(getattr(c, name) for s in samples for c in s.calls)
             for name in ("items_written", "wcu", "index_wcu", "rcu")}
    mismatched = sum(1 for s in samples if sum(s.server.values()) != s.round_trips)
    notes = sorted({c.size_note for s in samples for c in s.calls if c.size_note})
    times = [s.ms for s in samples]
    return {
        "name": op.name, "group": op.group, "note": op.note, "requests": len(samples),
        "failures": len(op.failures), "failure_examples": op.failures[:3],
        "round_trips": {
            "mean": sum(s.round_trips for s in samples) / n,
            "max": max((s.round_trips for s in samples), default=0),
            "warm_requests": len(warm),
            "warm_max": max((s.round_trips for s in warm), default=0),
            "warm_values": sorted({s.round_trips for s in warm}),
            "warm_transact_writes": sorted({sum(c.operation == "TransactWriteItems" for c in s.calls) for s in warm}),
            "cache_refill_requests": len(samples) - len(warm),
        },
        "requests_by_api_per_request": {api: count / n for api, count in sorted(by_api.items())},
        "call_shapes_per_request": {shape: count / n for shape, count in shapes.most_common()},
        "per_request": {name: value / n for name, value in total.items()},
        "totals": total,
        "handler_ms": {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95),
                       "mean": statistics.fmean(times) if times else float("nan"),
                       "max": max(times, default=float("nan"))},
        "server_cross_check_mismatches": mismatched,
        "size_notes": notes,
    }


def figures(summaries: list[dict], totals: Counter, server_totals: Counter | None, imports: dict | None,
            populations: dict[str, int]) -> list[dict]:
    results = []

    def verdict(name: str, ok: bool | None, detail: str) -> None:
        results.append({"figure": name, "verdict": "PASS" if ok else ("n/a" if ok is None else "FAIL"),
                        "detail": detail})

    for summary in summaries:
        limit = ROUND_TRIP_LIMITS.get(summary["group"])
        if limit is None or summary["note"] == "informational":
            continue
        rt = summary["round_trips"]
        ok = rt["warm_requests"] > 0 and rt["warm_max"] <= limit and not summary["failures"]
        detail = (f"warm round trips {'/'.join(map(str, rt['warm_values'])) or '-'} (max {rt['warm_max']}) over "
                  f"{rt['warm_requests']} warm requests; limit {limit}")
        if summary["group"] == "member scan":
            single = rt["warm_transact_writes"] == [1]
            ok = ok and single
            detail += f"; TransactWriteItems per warm request: {'/'.join(map(str, rt['warm_transact_writes']))}"
        if summary["failures"]:
            detail += f"; {summary['failures']} requests failed"
        verdict(f"{summary['name']}: at most {limit} round trips warm", ok, detail)

    scans = totals.get("Scan", 0)
    server_scans = server_totals.get("Scan", 0) if server_totals is not None else None
    verdict("no Scan on any request path", scans == 0 and not server_scans,
            f"Scan requests during the whole run: {scans} seen by the client hook"
            + (f", {server_scans} by the server" if server_scans is not None else ""))

    scan_rows = [s for s in summaries if s["group"] == "member scan" and s["note"] == "population"]
    if len(scan_rows) == 2:
        small, large = scan_rows
        a, b = small["round_trips"], large["round_trips"]
        same = a["warm_values"] == b["warm_values"] and abs(a["mean"] - b["mean"]) < 0.05
        verdict(f"same round trips per member scan at {populations['small']:,} and {populations['large']:,} members",
                same, f"{populations['small']:,}: warm {a['warm_values']} (mean of all {a['mean']:.2f}); "
                      f"{populations['large']:,}: warm {b['warm_values']} (mean of all {b['mean']:.2f})")
    else:
        verdict("same round trips per member scan at two populations", None, "large population skipped (--large 0)")

    if imports and imports.get("baseline_ms"):
        for name, entry in imports["handlers"].items():
            if entry.get("error"):
                verdict(f"cold import {name} <= {IMPORT_RATIO_LIMIT}x boto3 client", False, entry["error"])
                continue
            verdict(f"cold import {name} <= {IMPORT_RATIO_LIMIT}x boto3 client", entry["ratio"] <= IMPORT_RATIO_LIMIT,
                    f"{entry['median_ms']:.0f} ms vs {imports['baseline_ms']:.0f} ms = {entry['ratio']:.2f}x")
    return results


# --- cold imports -----------------------------------------------------------------------------------

# Both snippets print: seconds of the import, seconds of it spent in garbage collection, full (oldest
# generation) collections among them.
_GC_CLOCK = (
    "import gc, time\n"
    "gc_spent = [0.0, 0, 0.0]\n"
    "def gc_clock(phase, info):\n"
    "    if phase == 'start':\n"
    "        gc_spent[2] = time.perf_counter()\n"
    "    else:\n"
    "        gc_spent[0] += time.perf_counter() - gc_spent[2]\n"
    "        gc_spent[1] += info['generation'] == 2\n"
    "gc.callbacks.append(gc_clock)\n"
)
_REPORT = "print(time.perf_counter() - started, gc_spent[0], gc_spent[1])\n"
_HANDLER_IMPORT = (
    _GC_CLOCK
    + "import importlib.util, sys\n"
    "started = time.perf_counter()\n"
    "spec = importlib.util.spec_from_file_location('handler_under_test', sys.argv[1])\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "sys.modules[spec.name] = module\n"
    "spec.loader.exec_module(module)\n"
    + _REPORT
)
_BOTO3_IMPORT = (
    _GC_CLOCK
    + "started = time.perf_counter()\n"
    "import boto3\n"
    "boto3.client('dynamodb')\n"
    + _REPORT
)


def _import_env(code_dir: Path | None) -> dict[str, str]:
    paths = [str(ROOT / "layers" / "core")] + ([str(code_dir)] if code_dir else [])
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT") if key in os.environ}
    env.update({
        "PYTHONPATH": os.pathsep.join(paths), "TABLE_NAME": TABLE_NAME, "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "LOYALTY_SIGNING_KEY": "bench-signing-key", "LOYALTY_ADMIN_TOKEN": "bench-admin-token",
        "PUBLIC_BASE_URL": "http://bench.invalid", "POWERTOOLS_SERVICE_NAME": "bywalec",
        "POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true",
    })
    return env


@dataclass
class ImportRun:
    ms: float = 0.0
    gc_ms: float = 0.0
    full_collections: int = 0
    stderr: str = ""


def _run_import(snippet: str, args: list[str], env: dict[str, str], importtime: bool = False) -> ImportRun:
    """Run the snippet in a fresh interpreter and read what it printed."""
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", snippet, *args]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")
    lines = done.stdout.strip().splitlines()
    if not lines:
        return ImportRun(stderr=done.stderr)
    seconds, gc_seconds, full_collections = lines[-1].split()
    return ImportRun(float(seconds) * 1000, float(gc_seconds) * 1000, int(full_collections), done.stderr)


def _import_rows(stderr: str) -> list[tuple[str, int]]:
    """(module, self microseconds) from `python -X importtime` output."""
    rows = []
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s+(\S+)", line)
        if match:
            rows.append((match.group(2), int(match.group(1))))
    return rows


def _package_times(snippet: str, args: list[str], env: dict[str, str], startup: set[str],
                   runs: int = 3) -> dict[str, float]:
    """Median over `runs` of the import time (ms of own module code, under -X importtime) per top-level package,
    leaving out what the interpreter imports at start-up."""
    samples: list[Counter[str]] = []
    for _ in range(runs):
        packages: Counter[str] = Counter()
        for module, self_us in _import_rows(_run_import(snippet, args, env, importtime=True).stderr):
            if module not in startup:
                packages[module.split(".")[0]] += self_us / 1000
        samples.append(packages)
    names = set().union(*samples)
    return {name: statistics.median(sample.get(name, 0.0) for sample in samples) for name in names}


def _largest(times: dict[str, float], baseline: dict[str, float] | None = None, top: int = 8) -> list[dict]:
    """The packages that cost most, or with a baseline, that cost most beyond it."""
    excess = {name: ms - (baseline or {}).get(name, 0.0) for name, ms in times.items()}
    ranked = sorted(excess.items(), key=lambda pair: pair[1], reverse=True)[:top]
    return [{"package": name, "ms": round(ms, 1)} for name, ms in ranked if ms > 0.5]


def measure_imports(runs: int, log: Any) -> dict[str, Any]:
    template = load_template()
    targets = {}
    for logical_id, spec in sorted(functions(template).items()):
        module_path = spec.handler.rpartition(".")[0]
        code_dir = (ROOT / spec.code_uri).resolve()
        targets[logical_id] = (code_dir / (module_path.replace(".", "/") + ".py"), code_dir)
    baseline_env = _import_env(None)
    times: dict[str, list[ImportRun]] = {"boto3": []}
    errors: dict[str, str] = {}
    # One unmeasured round first, so every run finds the same bytecode caches (as `make build` ships them).
    for round_number in range(runs + 1):
        order = ["boto3", *targets]
        for name in order:
            try:
                if name == "boto3":
                    run = _run_import(_BOTO3_IMPORT, [], baseline_env)
                else:
                    path, code_dir = targets[name]
                    run = _run_import(_HANDLER_IMPORT, [str(path)], _import_env(code_dir))
            except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
                errors[name] = str(exc)
                continue
            if round_number:
                times.setdefault(name, []).append(run)
        log(f"  import round {round_number}/{runs} done" + (" (warm-up, not counted)" if not round_number else ""))
    if "boto3" in errors or not times["boto3"]:
        return {"error": f"boto3 baseline failed: {errors.get('boto3')}", "runs": runs}
    def figures_of(runs_of: list[ImportRun]) -> dict[str, Any]:
        return {"median_ms": statistics.median(r.ms for r in runs_of), "runs_ms": [round(r.ms, 1) for r in runs_of],
                "gc_median_ms": statistics.median(r.gc_ms for r in runs_of),
                "gc_full_collections": statistics.median(r.full_collections for r in runs_of)}

    base = figures_of(times["boto3"])
    baseline = base["median_ms"]
    result: dict[str, Any] = {"runs": runs, "baseline": 'import boto3; boto3.client("dynamodb")',
                              "baseline_ms": baseline, "baseline_runs_ms": base["runs_ms"],
                              "baseline_gc_median_ms": base["gc_median_ms"],
                              "baseline_gc_full_collections": base["gc_full_collections"], "handlers": {}}
    startup: set[str] | None = None
    baseline_packages: dict[str, float] = {}
    for name, (path, code_dir) in targets.items():
        relative = path.relative_to(ROOT).as_posix()
        if name in errors and not times.get(name):
            result["handlers"][name] = {"file": relative, "error": errors[name]}
            continue
        entry = {"file": relative, **figures_of(times[name])}
        entry["ratio"] = entry["median_ms"] / baseline
        if entry["ratio"] > IMPORT_RATIO_LIMIT:
            # Where the time goes, for whoever has to bring it down: packages by import time beyond the baseline's.
            if startup is None:
                startup = {module for module, _ in _import_rows(_run_import("pass", [], baseline_env, True).stderr)}
                baseline_packages = _package_times(_BOTO3_IMPORT, [], baseline_env, startup)
                result["baseline_largest_imports_ms"] = _largest(baseline_packages)
            packages = _package_times(_HANDLER_IMPORT, [str(path)], _import_env(code_dir), startup)
            entry["largest_imports_beyond_baseline_ms"] = _largest(packages, baseline_packages)
        result["handlers"][name] = entry
    return result


# --- report -----------------------------------------------------------------------------------------

def _fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def print_report(summaries: list[dict], verdicts: list[dict], population: dict, imports: dict | None,
                 totals: Counter, server_totals: Counter | None, settings: dict) -> None:
    out = print
    out("")
    out("Bywalec bench: handlers in-process (LocalApi) against the embedded DynamoDB (moto"
        + (", stock" if settings["stock_moto"] else ", transaction backup patched") + ")")
    out(f"Population: {population['note']}")
    out("Requests without Idempotency-Key unless noted; capacity from item sizes (see infra/dynamodb_meter.py):")
    out("  writes 1 WCU/KB of the larger of the item before and after, x2 in transactions; index writes apart;")
    out("  reads 1 RCU/4KB consistent, 0.5 eventual; written items sized by uncounted consistent reads of each")
    out("  written key right before and after the request (their time is taken out of the handler time).")
    out("")
    header = (f"{'operation':<34}{'n':>5}  {'round trips':>11} {'warm max':>8} {'refills':>7}  {'items':>5} "
              f"{'WCU':>6} {'idx WCU':>7} {'RCU':>5}  {'p50 ms':>7} {'p95 ms':>7}")
    out(header)
    out("-" * len(header))
    for s in summaries:
        rt, per = s["round_trips"], s["per_request"]
        warm_max = rt["warm_max"] if rt["warm_requests"] else "-"
        out(f"{s['name']:<34}{s['requests']:>5}  {_fmt(rt['mean']):>11} {warm_max:>8} "
            f"{rt['cache_refill_requests']:>7}  {_fmt(per['items_written']):>5} {_fmt(per['wcu']):>6} "
            f"{_fmt(per['index_wcu']):>7} {_fmt(per['rcu']):>5}  {_fmt(s['handler_ms']['p50'], 1):>7} "
            f"{_fmt(s['handler_ms']['p95'], 1):>7}")
    out("(per request; round trips = DynamoDB requests; refills = requests that re-read the cached merchant or key)")
    out("")
    out("DynamoDB requests by API name, and what they were (mean per request):")
    for s in summaries:
        apis = "  ".join(f"{api} {_fmt(v)}" for api, v in s["requests_by_api_per_request"].items())
        out(f"  {s['name']}: {apis}")
        for shape, v in s["call_shapes_per_request"].items():
            out(f"      {_fmt(v)}  {shape}")
        for note in s["size_notes"]:
            out(f"      note: {note}")
        for failure in s["failure_examples"]:
            out(f"      FAILED REQUEST: {failure}")
        if s["server_cross_check_mismatches"]:
            out(f"      WARNING: the server saw a different number of requests than the client hook in "
                f"{s['server_cross_check_mismatches']} requests")
    out("")
    all_apis = ", ".join(f"{api} {count}" for api, count in sorted(totals.items()))
    out(f"All DynamoDB requests of the run through the handlers (setup included): {all_apis}")
    if server_totals is not None:
        agree = server_totals == totals
        out("  the embedded server counted " + ("the same." if agree else
            "differently: " + ", ".join(f"{a} {c}" for a, c in sorted(server_totals.items()))))
    if imports:
        out("")
        if imports.get("error"):
            out(f"Cold imports: {imports['error']}")
        else:
            out(f"Cold imports (fresh `python -c` per run, median of {imports['runs']}, bytecode cached):")
            out(f"  {'':<44} {'import':>10} {'ratio':>6}  {'of which GC (full collections)':>30}")
            out(f"  {imports['baseline']:<44} {imports['baseline_ms']:>7.0f} ms  1.00x  "
                f"{imports['baseline_gc_median_ms']:>8.0f} ms ({imports['baseline_gc_full_collections']:g})")
            if imports.get("baseline_largest_imports_ms"):
                heavy = ", ".join(f"{h['package']} {h['ms']:.0f}" for h in imports["baseline_largest_imports_ms"])
                out(f"      by package (ms of own module code, median of 3 under -X importtime): {heavy}")
            for entry in imports["handlers"].values():
                if entry.get("error"):
                    out(f"  {entry['file']:<44} failed: {entry['error']}")
                    continue
                out(f"  {entry['file']:<44} {entry['median_ms']:>7.0f} ms  {entry['ratio']:.2f}x  "
                    f"{entry['gc_median_ms']:>8.0f} ms ({entry['gc_full_collections']:g})")
                if entry.get("largest_imports_beyond_baseline_ms"):
                    beyond = entry["largest_imports_beyond_baseline_ms"]
                    heavy = ", ".join(f"{h['package']} +{h['ms']:.0f}" for h in beyond)
                    out(f"      beyond the baseline, by package (ms, same method): {heavy}")
            if any(e.get("largest_imports_beyond_baseline_ms") for e in imports["handlers"].values()):
                out("  (-X importtime charges a garbage collection to whichever module is being imported when it")
                out("  runs, so a package in these lists may be carrying a full collection; see 'of which GC')")
    out("")
    out("Figures:")
    for v in verdicts:
        out(f"  {v['verdict']:<5} {v['figure']}: {v['detail']}")
    out("")


# --- main -------------------------------------------------------------------------------------------

def configure_environment(endpoint: str) -> dict[str, str]:
    env = {
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench", "TABLE_NAME": TABLE_NAME, "LOYALTY_ADMIN_TOKEN": secrets.token_urlsafe(24),
        "LOYALTY_SIGNING_KEY": secrets.token_urlsafe(32), "PUBLIC_BASE_URL": "http://bench.invalid",
        "POWERTOOLS_SERVICE_NAME": "bywalec", "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
    }
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "CACHE_TTL_SECONDS"):
        os.environ.pop(name, None)
    os.environ.update(env)
    return env


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=DEFAULT_MEMBERS,
                        help="members enrolled through the handler (the first population); default %(default)s")
    parser.add_argument("--large", type=int, default=DEFAULT_LARGE,
                        help="second population for the member-scan measurement, reached by bulk-loading "
                             "member items; 0 skips it; default %(default)s")
    parser.add_argument("--ops", type=int, default=DEFAULT_OPS, help="measured requests per operation; "
                        "default %(default)s")
    parser.add_argument("--import-runs", type=int, default=DEFAULT_IMPORT_RUNS,
                        help="fresh processes per module for the cold-import times (0 skips); default %(default)s")
    parser.add_argument("--json", type=Path, default=ROOT / "bench-results.json",
                        help="where to write the figures (default: bench-results.json at the repository root)")
    parser.add_argument("--stock-moto", action="store_true",
                        help="keep moto's whole-table copy per transaction (handler times then grow with the table)")
    args = parser.parse_args(argv)
    informational = max(1, args.ops // 4)
    needed = 2 + 3 * args.ops + 3 * informational
    if args.ops < 1:
        parser.error("--ops must be at least 1")
    if args.members < needed:
        parser.error(f"--members must be at least {needed} for --ops {args.ops} (fresh members for every measured "
                     "scan, claim and redemption)")
    if args.large and args.large <= args.members:
        parser.error("--large must exceed --members (or be 0)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    from infra.dynamodb_meter import Meter, ServerCounter
    from infra.local.dynamodb import EmbeddedDynamoDB

    dynamodb = EmbeddedDynamoDB(host="127.0.0.1", table_sized_transactions=args.stock_moto)
    endpoint = dynamodb.start()
    server = None
    inner = getattr(dynamodb, "_server", None)
    if inner is not None and getattr(inner, "app", None) is not None:
        server = inner.app = ServerCounter(inner.app)
    env = configure_environment(endpoint)
    imports: dict | None = None
    try:
        import boto3

        def new_client() -> Any:
            return boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)

        template = load_template()
        ensure_table(new_client(), TABLE_NAME, template)
        server_start = server.snapshot() if server else Counter()
        meter = Meter(new_client)
        meter.install()

        from infra.local.http_api import HttpApi as LocalApi

        api = LocalApi(template=template, root=ROOT, region=REGION)  # handlers in this process, one at a time
        driver = Driver(api, meter, server)
        people = Members()
        ops, informational = args.ops, max(1, args.ops // 4)
        enrolled_op = Operation("enroll", "enroll")
        small_scan = Operation(f"member scan ({args.members:,} members)", "member scan", "population")
        staff_op = Operation("staff scan", "staff scan")
        claim_op = Operation("claim", "claim")
        redeem_op = Operation("redeem by code", "redeem")
        keyed_op = Operation("member scan + Idempotency-Key", "keyed")
        keyed_retry = Operation("member scan retry, same key", "keyed retry")
        keyed_claim = Operation("claim + Idempotency-Key", "keyed")
        keyed_claim_retry = Operation("claim retry, same key", "keyed retry")
        expired_scan = Operation("member scan, caches expired", "member scan", "informational")
        expired_staff = Operation("staff scan, caches expired", "staff scan", "informational")
        operations = [enrolled_op, small_scan, staff_op, claim_op, redeem_op, keyed_op, keyed_retry, keyed_claim,
                      keyed_claim_retry, expired_scan, expired_staff]

        log("setting up a merchant and warming every handler up")
        world = create_world(driver, env["LOYALTY_ADMIN_TOKEN"])
        warm = [enroll(driver, world, people) for _ in range(2)]
        member_scan(driver, world, warm[0])
        member_scan(driver, world, warm[1], idempotency_key=secrets.token_hex(8))
        staff_scan(driver, world, warm[0])
        staff_scan(driver, world, warm[1])
        redeem(driver, world, claim(driver, warm[0]))
        claim(driver, warm[1], idempotency_key=secrets.token_hex(8))

        log(f"enrolling {args.members - 2:,} members through the enroll handler ({ops} measured)")
        fresh = [enroll(driver, world, people, enrolled_op) for _ in range(ops)]
        fresh = [m for m in fresh if m is not None]
        while people.count < args.members:
            fresh.append(enroll(driver, world, people))
        # Reserved now, scanned after the bulk load: same kind of member, bigger table.
        reserved = fresh[-ops:] if args.large else []
        fresh = fresh[:len(fresh) - len(reserved)]

        log(f"member scans at {args.members:,} members")
        for member in fresh[:ops]:
            member_scan(driver, world, member, small_scan)
        log("staff scans, claims, redemptions")
        spenders = fresh[ops:2 * ops]
        for member in spenders:
            staff_scan(driver, world, member, staff_op)
        codes = [claim(driver, member, claim_op) for member in spenders]
        for code in codes:
            if code:
                redeem(driver, world, code, redeem_op)
        for member in fresh[2 * ops:2 * ops + informational]:
            key = secrets.token_hex(12)
            member_scan(driver, world, member, keyed_op, idempotency_key=key)
            member_scan(driver, world, member, keyed_retry, idempotency_key=key)
            staff_scan(driver, world, member)
            key = secrets.token_hex(12)
            claim(driver, member, keyed_claim, idempotency_key=key)
            claim(driver, member, keyed_claim_retry, idempotency_key=key)
        # What a container pays once per cache TTL: the merchant (program) and API key caches emptied first.
        from loyalty.store.merchants import clear_caches

        expiring = fresh[2 * ops + informational:2 * ops + 3 * informational]
        for member in expiring[:informational]:
            world.counter_code(driver)
            clear_caches()
            member_scan(driver, world, member, expired_scan)
        for member in expiring[informational:]:
            clear_caches()
            staff_scan(driver, world, member, expired_staff)

        population = {"small": args.members, "large": args.large or None}
        note = f"{args.members:,} members enrolled through the enroll handler"
        if args.large:
            bulk = args.large - args.members
            log(f"bulk-loading {bulk:,} member items (plus phone and referral-code guards) with BatchWriteItem")
            sampled = bulk_load(meter, world.merchant_id, bulk, informational)
            large_scan = Operation(f"member scan ({args.large:,} members)", "member scan", "population")
            bulk_scan = Operation(f"member scan ({args.large:,}, bulk members)", "member scan", "informational")
            operations.insert(2, large_scan)
            operations.insert(3, bulk_scan)
            log(f"member scans at {args.large:,} members")
            for member in reserved:
                member_scan(driver, world, member, large_scan)
            for member in sampled:
                member_scan(driver, world, member, bulk_scan)
            note += (f"; then {bulk:,} more bulk-loaded straight into the table (member item with visit history and "
                     f"up to 10 closed vouchers, phone and referral-code guard items; no ledger entries), so the "
                     f"table holds {args.large:,} members of one merchant. The {args.large:,}-member scans use "
                     f"{len(reserved)} handler-enrolled members kept unscanned until then (first visits, like the "
                     f"{args.members:,}-member row); the 'bulk members' row scans {len(sampled)} bulk-loaded members "
                     f"with a visit history (repeat visits)")
        population["note"] = note
        summaries = [summarize(op) for op in operations]
        totals = Counter(meter.totals)
        server_totals = (server.snapshot() - server_start) if server else None
        meter.uninstall()
        close = getattr(api, "close", None)
        if close:
            close()
    finally:
        dynamodb.stop()

    if args.import_runs > 0:
        log(f"cold imports: {args.import_runs} fresh processes per module")
        imports = measure_imports(args.import_runs, log)
    verdicts = figures(summaries, totals, server_totals, imports, population)
    settings = {"members": args.members, "large": args.large, "ops": args.ops, "import_runs": args.import_runs,
                "stock_moto": args.stock_moto, "python": sys.version.split()[0],
                "cache_ttl_seconds": float(os.environ.get("CACHE_TTL_SECONDS") or 30)}
    print_report(summaries, verdicts, population, imports, totals, server_totals, settings)
    results = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": settings,
        "population": population,
        "method": {
            "round_trips": "DynamoDB requests per HTTP request, counted by a wrapper of botocore's "
                           "BaseClient._make_api_call and cross-checked by counting requests at the embedded server",
            "warm": "a request that did not re-read the cached merchant (program) or API key; in this process "
                    "all handlers share those caches (on Lambda each function's containers have their own)",
            "item_size": "sum of attribute name lengths and value sizes (numbers: significant digits / 2 + 1; "
                         "lists and maps: 3 + 1 per element)",
            "write_capacity": "1 WCU per started KB of the larger of the item before and after (strongly consistent "
                              "reads of every written key right before and after the request, not counted), "
                              "x2 in TransactWriteItems; index writes reported separately at 1 WCU per KB",
            "read_capacity": "1 RCU per started 4 KB strongly consistent, 0.5 eventually consistent, x2 in "
                             "transactions, from the sizes of the items returned",
            "handler_time": "wall time of LocalApi.handle minus the meter's own reads; includes local HTTP round "
                            "trips to moto",
            "cold_import": "time to import the handler module by file path in a fresh python process, median of "
                           "the runs, next to `import boto3; boto3.client('dynamodb')` in the same run",
        },
        "operations": summaries,
        "requests_by_api_whole_run": dict(totals),
        "server_requests_by_api_whole_run": dict(server_totals) if server_totals is not None else None,
        "imports": imports,
        "figures": verdicts,
        "elapsed_seconds": round(time.monotonic() - started, 1),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    shown = args.json.resolve()
    shown = shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown
    log(f"figures written to {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
