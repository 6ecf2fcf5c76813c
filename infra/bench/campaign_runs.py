"""Campaign runs: what a daily birthday run and a win-back run read, and how fast a run queues messages.

For each population (1,000 and 20,000 members by default) a shop is opened through the API and its
members are bulk-loaded with their member-index keys (birthday, last-visit day, join day), exactly
`matches` of them matching each campaign: a birthday a week after the run's local day, and a last
visit `absentDays` before it with enough visits. A birthday campaign (10:00) and a win-back campaign
(10:01, so the birthday run's messages are not yet due for the outbox sweep) are created through the
API; the local clock then moves past each send time and the tick (the campaigns function's scheduled
event) is invoked once per campaign while the meter records every
DynamoDB request and the items each returned. The figures: items read per matching member (at most
1.1 plus a constant), the same DynamoDB requests at both populations, and messages queued per second
(one transaction per member: guard, voucher, outbox message, run counters), projected to a birthday
run of a merchant with 1,000,000 members (about 2,740 birthdays a day).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from infra.bench.driver import Driver, bearer
from infra.bench.loader import BatchWriter
from infra.bench.scenario import create_world

POPULATIONS = (1_000, 20_000)
MATCHES = 50
READS_PER_MATCH_LIMIT = 1.1
# Items read whatever the audience: the due-campaign index entries, the campaign, the merchant.
CONSTANT_READS = 10
MILLION_BIRTHDAY_MATCHES = 2_740  # 1,000,000 / 365
ABSENT_DAYS, MIN_VISITS, DAYS_BEFORE = 30, 2, 7


def _campaign(kind: str, send_at: str) -> dict:
    trigger = {"daysBefore": DAYS_BEFORE} if kind == "birthday" else {"absentDays": ABSENT_DAYS,
                                                                      "minVisits": MIN_VISITS}
    return {"name": f"Bench {kind}", "type": kind, "trigger": trigger, "sendAt": send_at,
            "offer": {"rewardId": "free-coffee", "validityDays": 14}, "channels": ["sms"],
            "message": {"sms": {"body": "{merchant}: {reward} for you, {name}. {cardLink}"}}}


def _load(meter: Any, merchant_id: str, timezone: str, count: int, matches: int, run_day: date,
          seed: int = 11) -> None:
    """``count`` members with their index keys; ``matches`` of them have a birthday ``DAYS_BEFORE`` after
    ``run_day`` and as many last visited ``ABSENT_DAYS`` before it (with ``MIN_VISITS`` visits or more)."""
    from loyalty.domain import ids
    from loyalty.settings import get_settings
    from loyalty.store import keys
    from loyalty.store.models import MemberItem

    rng = random.Random(seed)
    tz = ZoneInfo(timezone)
    birthday_day = run_day + timedelta(days=DAYS_BEFORE)
    absent_day = run_day - timedelta(days=ABSENT_DAYS)
    other_birthdays = [d for d in (date(2028, 1, 1) + timedelta(days=n) for n in range(366))
                       if d.strftime("%m-%d") != birthday_day.strftime("%m-%d")]
    with meter.internal() as client, BatchWriter(client, get_settings().table_name) as writer:
        for i in range(count):
            member_id = ids.new_id("mem")
            birthday = birthday_day if i < matches else rng.choice(other_birthdays)
            if matches <= i < 2 * matches:
                last_day, visits = absent_day, rng.randint(MIN_VISITS, 30)
            else:
                last_day = run_day - timedelta(days=rng.choice([n for n in range(1, 400) if n != ABSENT_DAYS]))
                visits = rng.randint(1, 30)
            joined = last_day - timedelta(days=rng.randint(0, 300))
            last_visit = datetime(last_day.year, last_day.month, last_day.day, 12, tzinfo=tz).astimezone(UTC)
            item = MemberItem(
                *keys.member(member_id), member_id=member_id, merchant_id=merchant_id, token_hash="0" * 64,
                phone=f"+48602{i:06d}", name=f"Gość {i}", consent_sms=True, birthday=f"1990-{birthday:%m-%d}",
                visit_count=visits, first_visit_at=last_visit - timedelta(days=(last_day - joined).days),
                last_visit_at=last_visit, created_at=last_visit - timedelta(days=(last_day - joined).days))
            item.gsi2pk, item.gsi2sk = keys.birthday_index(merchant_id, member_id, f"{birthday:%m-%d}")
            item.gsi3pk, item.gsi3sk = keys.roster_index(merchant_id, member_id, last_day.isoformat())
            item.gsi4pk, item.gsi4sk = keys.joined_index(merchant_id, member_id, joined.isoformat())
            writer.put(item.serialize())


def metered_tick(driver: Driver, meter: Any) -> dict[str, Any]:
    from loyalty.store.merchants import clear_caches

    clear_caches()  # every measured run reads the merchant once, however long the load before it took
    with meter.capture() as captured:
        started = time.perf_counter()
        result = driver.api.runtime.invoke("CampaignsFunction", {})
        seconds = time.perf_counter() - started - captured.overhead_seconds
    requests = Counter(call.operation for call in captured.calls)
    return {"result": result, "seconds": seconds, "requests": dict(sorted(requests.items())),
            "request_count": sum(requests.values()), "items_read": sum(call.items_read for call in captured.calls),
            "roster_pages": sum(1 for call in captured.calls if ".GSI3 " in call.shape),
            "failed_calls": [call.shape for call in captured.calls if call.error]}


def measure_campaign_runs(driver: Driver, meter: Any, admin_token: str, log: Callable[[str], None],
                          populations: tuple[int, ...] = POPULATIONS, matches: int = MATCHES) -> dict[str, Any]:
    runs = []
    clock = driver.api.runtime.clock
    for population in populations:
        clock.set_offset(0)
        world = create_world(driver, admin_token, name=f"Kawiarnia {population}")
        owner = bearer(world.owner_key)
        path = f"/v1/merchants/{world.merchant_id}/campaigns"
        birthday = driver.expect(201, "POST", path, _campaign("birthday", "10:00"), owner)
        winback = driver.expect(201, "POST", path, _campaign("winback", "10:01"), owner)
        birthday_at = datetime.fromisoformat(birthday["nextRunAt"].replace("Z", "+00:00"))
        winback_at = datetime.fromisoformat(winback["nextRunAt"].replace("Z", "+00:00"))
        timezone = "Europe/Warsaw"  # the bench's shop (infra/seed.py)
        run_day = birthday_at.astimezone(ZoneInfo(timezone)).date()
        log(f"campaign runs: {population:,} members, {matches} matching each campaign")
        _load(driver.meter, world.merchant_id, timezone, population, matches, run_day)
        figures = {"members": population, "matches": matches}
        for name, at in (("birthday", birthday_at), ("winback", winback_at)):
            clock.set_offset((at + timedelta(seconds=30)).timestamp() - time.time())
            figures[name] = metered_tick(driver, meter)
        clock.set_offset(0)
        runs.append(figures)
    return {"runs": runs, "matches": matches, "reads_per_match_limit": READS_PER_MATCH_LIMIT,
            "constant_reads": CONSTANT_READS, "million_birthday_matches": MILLION_BIRTHDAY_MATCHES}
