"""Insights: the owner's figures for a date range, read from the rollups; and the stream consumer that keeps
the rollups (each stream record counted once, each rollup item written once per batch)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from loyalty import telemetry
from loyalty.domain import insights as rules
from loyalty.domain.access import OWNER, Caller, require_merchant
from loyalty.domain.calendar import local_day
from loyalty.domain.errors import NotFound, ValidationFailed
from loyalty.domain.model import Merchant
from loyalty.replies.insights import Insights
from loyalty.services import clock
from loyalty.services.merchants import load_merchant, location_of
from loyalty.store import campaigns as campaign_store
from loyalty.store import insights as store
from loyalty.store.transaction import TransientConflict

_log = logging.getLogger(__name__)
CONFLICT_ATTEMPTS = 5


def _day(field: str, value: str | None, default: date) -> date:
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed.field(field, "Use a date as YYYY-MM-DD.") from None


def report(caller: Caller, merchant_id: str, first: str | None, last: str | None,
           location_id: str | None) -> Insights:
    """Figures of ``[first, last]`` (local days, both included; by default the 30 days up to today)."""
    require_merchant(caller, merchant_id, OWNER)
    merchant = load_merchant(merchant_id)
    today = local_day(clock.now(), merchant.timezone)
    end = _day("to", last, today)
    start = _day("from", first, end - timedelta(days=29))
    if start > end:
        raise ValidationFailed("The range starts after it ends.",
                               details=[{"field": "from", "message": "Must be on or before 'to'."}])
    if (end - start).days + 1 > rules.MAX_RANGE_DAYS:
        raise ValidationFailed.field("to", f"A range covers at most {rules.MAX_RANGE_DAYS} days (two years).")
    if location_id is not None and location_of(merchant, location_id) is None:
        raise NotFound("No such location.")
    window = rules.read_window(start, end)
    days = store.days(merchant_id, None, *window)
    locations = {loc: store.days(merchant_id, loc, start, end) for loc in sorted(merchant.locations)}
    scope_days = locations[location_id] if location_id else days
    figures = rules.figures(first=start, last=end, days=days, months=store.months(merchant_id, f"{end:%Y-%m}"),
                            scope_days=scope_days, locations=locations,
                            campaigns=_campaigns(merchant, start, end, days))
    return Insights.of(figures, first=start.isoformat(), last=end.isoformat(), location_id=location_id,
                       currency=merchant.currency,
                       liability=rules.liability(figures.points_outstanding, merchant.program))


def _campaigns(merchant: Merchant, start: date, end: date, days: rules.Days) -> list[tuple[rules.Campaign, int]]:
    """Each campaign's runs scheduled in the range, and the visits its offers were followed by."""
    zone = ZoneInfo(merchant.timezone)
    since = datetime.combine(start, time(), zone)
    until = datetime.combine(end + timedelta(days=1), time(), zone)
    found = []
    for campaign in campaign_store.list_for(merchant.merchant_id):
        runs = store.campaign_runs_between(merchant.merchant_id, campaign.campaign_id, since, until)
        found.append((rules.Campaign(campaign.campaign_id, campaign.name, runs.sent, runs.redeemed),
                      rules.campaign_visits(days, start, end, campaign.campaign_id)))
    return found


# --- the stream consumer ------------------------------------------------------------------------------

def roll_up(facts: Sequence[store.StreamFact]) -> int:
    """Count a batch of stream facts into the rollups; returns how many records were counted now (records counted
    before, by an earlier delivery of the batch, are skipped). Each transaction holds as many records as fit,
    their markers and each rollup item they touch once."""
    timezones: dict[str, str | None] = {}
    pending = []
    for stream_fact in facts:
        merchant_id = rules.fact_merchant(stream_fact.fact)
        if merchant_id not in timezones:
            try:
                timezones[merchant_id] = load_merchant(merchant_id).timezone
            except NotFound:
                timezones[merchant_id] = None
        zone = timezones[merchant_id]
        if zone is None:
            continue
        single = rules.Tally()
        single.count(stream_fact.fact, zone)
        if single.items():
            pending.append((stream_fact, zone, single.items()))
    counted = 0
    while pending:
        chunk: list = []
        touched: dict = {}  # rollup item -> the counts the chunk adds to it
        for entry in pending:
            more = {key: names | set(entry[2].get(key, ())) for key, names in touched.items()}
            more.update({key: set(names) for key, names in entry[2].items() if key not in touched})
            if chunk and (len(chunk) + 1 + len(more) > store.MAX_TRANSACTION_ITEMS
                          or any(len(names) > store.MAX_UPDATE_ATTRIBUTES for names in more.values())):
                break
            chunk.append(entry)
            touched = more
        counted += _commit(chunk)
        pending = pending[len(chunk):]
    telemetry.count("InsightsRecordsCounted", counted)
    return counted


def _commit(chunk: list) -> int:
    for _ in range(CONFLICT_ATTEMPTS):
        if not chunk:
            return 0
        tally: dict = defaultdict(lambda: defaultdict(int))
        for _fact, _zone, counts in chunk:
            for key, values in counts.items():
                for name, value in values.items():
                    tally[key][name] += value
        try:
            store.add_counts([fact.event_id for fact, _, _ in chunk],
                             {key: {n: v for n, v in values.items() if v} for key, values in tally.items()},
                             clock.now())
            return len(chunk)
        except store.AlreadyCounted as seen:
            _log.info("skipping %d stream records counted before", len(seen.event_ids))
            chunk = [entry for entry in chunk if entry[0].event_id not in seen.event_ids]
        except TransientConflict:
            continue
    raise TransientConflict()
