"""Segments: named groups of a merchant's members, evaluated on what the roster index projects.

Pure rules: every function takes ``now`` and the merchant's timezone; days are the merchant's calendar days.

Built-ins (the contract's definitions, and how they are read from one member's snapshot):
- ``new``: first visit within the last 30 days.
- ``regulars``: 3+ visits within the last 90 days. Exact: the member keeps the days of its last three counted
  visits (``recent_visits``), so "the third most recent visit is within 90 days" is the rule. Members whose
  visits predate that list count only their last visit until they visit again.
- ``vip``: the top 5 % by total spend, at least one member (the ``ceil(5 %)`` highest spenders, ties at the
  threshold included; members who never spent are never vip). Spend is the lifetime total, not the last
  12 months: the member item keeps no per-month spend. A count of vip (``Tally``) finds the threshold in a
  bounded histogram of spends, so it includes every member of the threshold's bucket: approximate within
  one bucket (spends within about 9 % of the threshold); the list of vip members is exact.
- ``at_risk``: 3+ visits ever, absent for at least 21 and less than 90 days, and longer than twice the member's
  own average gap between visits ((last visit - first visit) / (visits - 1)).
- ``lapsed``: no visit for 90+ days, including members who joined 90+ days ago and never visited.
- ``birthday_this_month``: the birthday's month is the current month.

When the program has tiers, ``vip`` is the members holding the top tier instead (exact, counted as they come).

Custom segments: ``{name, match: all|any, conditions: [{field, op, value}]}``; ``tier`` matches the id of the
tier a member holds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from loyalty.domain.calendar import birthday_month_day, local_day
from loyalty.domain.model import MemberSnapshot

NEW, REGULARS, VIP, AT_RISK, LAPSED, BIRTHDAY_THIS_MONTH = (
    "new", "regulars", "vip", "at_risk", "lapsed", "birthday_this_month")
BUILT_IN = {
    NEW: "First visit in the last 30 days.",
    REGULARS: "3 or more visits in the last 90 days.",
    VIP: "Top 5 % by total spend (at least one member).",
    AT_RISK: "3+ visits, now absent 21 to 89 days and over twice their usual gap between visits.",
    LAPSED: "No visit for 90 days or more.",
    BIRTHDAY_THIS_MONTH: "Birthday this month.",
}
RECENT_VISITS_KEPT = 3  # enough to tell "3+ visits in 90 days" exactly
NEW_DAYS, REGULAR_DAYS, REGULAR_VISITS = 30, 90, 3
AT_RISK_MIN_VISITS, AT_RISK_MIN_DAYS, LAPSED_DAYS = 3, 21, 90
VIP_SHARE = 0.05

NUMBER_FIELDS = ("visitCount", "totalSpend", "daysSinceLastVisit", "daysSinceJoined", "points", "birthdayMonth")
TEXT_FIELDS = ("tier", "locationId", "favouriteCategory")
FIELDS = NUMBER_FIELDS + TEXT_FIELDS
OPS = ("eq", "gte", "lte", "in")
MATCHES = ("all", "any")
MAX_CONDITIONS = 10
MAX_IN_VALUES = 50
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any  # int | str, or a tuple of them for "in"


@dataclass(frozen=True)
class Segment:
    name: str
    description: str
    match: str = "all"
    conditions: tuple[Condition, ...] = ()

    @property
    def built_in(self) -> bool:
        return self.name in BUILT_IN


def built_in_segments() -> list[Segment]:
    return [Segment(name, description) for name, description in BUILT_IN.items()]


# --- validation -------------------------------------------------------------------------------------

def problems(name: str, match: str, conditions: list[dict[str, Any]]) -> list[dict[str, str]]:
    """What is wrong with a custom segment, as field-level details (empty when it is valid)."""
    found = []
    if not NAME_PATTERN.fullmatch(name):
        found.append({"field": "name", "message": "Use 1-40 lowercase letters, digits, '-' or '_'."})
    elif name in BUILT_IN:
        found.append({"field": "name", "message": f"'{name}' is a built-in segment."})
    if match not in MATCHES:
        found.append({"field": "match", "message": "Use 'all' or 'any'."})
    if not conditions:
        found.append({"field": "conditions", "message": "Give at least one condition."})
    if len(conditions) > MAX_CONDITIONS:
        found.append({"field": "conditions", "message": f"At most {MAX_CONDITIONS} conditions."})
    for index, condition in enumerate(conditions[:MAX_CONDITIONS]):
        found += _condition_problems(f"conditions[{index}]", condition)
    return found


def _condition_problems(where: str, condition: dict[str, Any]) -> list[dict[str, str]]:
    field, op, value = condition.get("field"), condition.get("op"), condition.get("value")
    if field not in FIELDS:
        return [{"field": f"{where}.field", "message": f"Unknown field. Use one of: {', '.join(FIELDS)}."}]
    if op not in OPS:
        return [{"field": f"{where}.op", "message": f"Unknown op. Use one of: {', '.join(OPS)}."}]
    if op in ("gte", "lte") and field not in NUMBER_FIELDS:
        return [{"field": f"{where}.op", "message": f"'{field}' is compared with 'eq' or 'in'."}]
    values = value if op == "in" else [value]
    if op == "in" and (not isinstance(value, list) or not value or len(value) > MAX_IN_VALUES):
        return [{"field": f"{where}.value", "message": f"'in' takes a list of 1 to {MAX_IN_VALUES} values."}]
    for single in values:
        message = _value_problem(field, single)
        if message:
            return [{"field": f"{where}.value", "message": message}]
    return []


def _value_problem(field: str, value: Any) -> str | None:
    if field in NUMBER_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"'{field}' takes a whole number of 0 or more."
        if field == "birthdayMonth" and not 1 <= value <= 12:
            return "'birthdayMonth' is a month, 1 to 12."
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        return f"'{field}' takes a text of 1 to 64 characters."
    return None


def condition_of(data: dict[str, Any]) -> Condition:
    value = data["value"]
    return Condition(data["field"], data["op"], tuple(value) if isinstance(value, list) else value)


def custom_segment(name: str, match: str, conditions: Iterable[Condition]) -> Segment:
    """A custom segment, described by its conditions ("visitCount gte 3 and locationId in [...]")."""
    conditions = tuple(conditions)
    joiner = " and " if match == "all" else " or "
    description = joiner.join(f"{c.field} {c.op} {list(c.value) if isinstance(c.value, tuple) else c.value}"
                              for c in conditions)
    return Segment(name, description, match, conditions)


# --- evaluation -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Context:
    """What evaluating segments needs besides one member: the day, and the vip threshold of the whole roster."""

    today: date
    vip_threshold: int | None = None  # total spend a vip has at least; None while nobody has spent
    vip_tier: str | None = None  # with tiers: the top tier's id, which is what makes a member vip

    @classmethod
    def at(cls, now: datetime, timezone: str, spends: Iterable[int] = (), vip_tier: str | None = None) -> Context:
        return cls(local_day(now, timezone), vip_threshold(spends), vip_tier)


def vip_threshold(spends: Iterable[int]) -> int | None:
    """The total spend at the top 5 % mark (at least the top spender); None while nobody has spent."""
    ordered = sorted(spends, reverse=True)
    if not ordered or ordered[0] <= 0:
        return None
    return ordered[max(1, math.ceil(len(ordered) * VIP_SHARE)) - 1]


# --- counting ---------------------------------------------------------------------------------------

# Spends fall into log-scale buckets, SPEND_BUCKETS_PER_DOUBLING to each doubling (each about 9 % wide), so a
# histogram of any number of members holds a few hundred buckets at most (a spend of 10^12 is bucket 319).
# Below about a dozen minor units every whole spend has a bucket of its own.
SPEND_BUCKETS_PER_DOUBLING = 8


def spend_bucket(spend: int) -> int:
    """The histogram bucket of a positive spend; larger spends never fall into a lower bucket."""
    return math.floor(math.log2(spend) * SPEND_BUCKETS_PER_DOUBLING)


def vip_count(spend_histogram: dict[int, int], members: int) -> int:
    """How many members are vip, from the count of members per spend bucket (members who never spent are in
    no bucket) and the number of members counted: every member in the bucket of the ``ceil(5 %)``-th highest
    spend and above, or every spender when fewer spent."""
    wanted = max(1, math.ceil(members * VIP_SHARE))
    found = 0
    for bucket in sorted(spend_histogram, reverse=True):
        found += spend_histogram[bucket]
        if found >= wanted:
            break
    return found


@dataclass
class Tally:
    """A count of segments in progress, member by member: what a walk through the roster has found so far.

    The vip segment is counted at the end from the spend histogram (``vip_count``); every other segment is
    counted as its members come. Rules are evaluated on the day in ``context``, fixed for the whole walk."""

    counts: dict[str, int]
    members: int = 0
    spend_histogram: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, segments: Iterable[Segment], vip_tier: str | None = None) -> Tally:
        return cls(counts={segment.name: 0 for segment in segments if not needs_vip_threshold(segment, vip_tier)})

    def add(self, member: MemberSnapshot, segments: Iterable[Segment], timezone: str, context: Context) -> None:
        self.members += 1
        spend = member.total_spend or 0
        if spend > 0:
            bucket = spend_bucket(spend)
            self.spend_histogram[bucket] = self.spend_histogram.get(bucket, 0) + 1
        for segment in segments:
            if segment.name in self.counts and matches(segment, member, timezone, context):
                self.counts[segment.name] += 1

    def result(self) -> dict[str, int]:
        """The count of each segment counted, vip included (every walk counts the built-ins): counted member by
        member when it is a tier, else from the spend histogram."""
        return {VIP: vip_count(self.spend_histogram, self.members), **self.counts}


def needs_vip_threshold(segment: Segment, vip_tier: str | None = None) -> bool:
    """vip by spend needs the whole roster's spends first; vip by tier does not."""
    return segment.name == VIP and vip_tier is None


def matches(segment: Segment, member: MemberSnapshot, timezone: str, context: Context) -> bool:
    if segment.built_in:
        return _BUILT_IN_RULES[segment.name](member, timezone, context)
    results = (_holds(condition, member, timezone, context.today) for condition in segment.conditions)
    return all(results) if segment.match == "all" else any(results)


def _day(at: datetime | None, timezone: str) -> date | None:
    return local_day(at, timezone) if at else None


def _days_since(at: datetime | None, timezone: str, today: date) -> int | None:
    day = _day(at, timezone)
    return (today - day).days if day else None


def _is_new(member: MemberSnapshot, timezone: str, context: Context) -> bool:
    days = _days_since(member.first_visit_at, timezone, context.today)
    return days is not None and days < NEW_DAYS


def _is_regular(member: MemberSnapshot, timezone: str, context: Context) -> bool:
    since = (context.today - timedelta(days=REGULAR_DAYS - 1)).isoformat()
    days = member.recent_visits or ((_day(member.last_visit_at, timezone).isoformat(),) if member.last_visit_at
                                    else ())
    return sum(day >= since for day in days) >= REGULAR_VISITS


def _is_vip(member: MemberSnapshot, timezone: str, context: Context) -> bool:
    if context.vip_tier is not None:
        return member.tier == context.vip_tier
    spend = member.total_spend or 0
    return context.vip_threshold is not None and spend > 0 and spend >= context.vip_threshold


def _is_at_risk(member: MemberSnapshot, timezone: str, context: Context) -> bool:
    visits = member.visit_count or 0
    absent = _days_since(member.last_visit_at, timezone, context.today)
    if visits < AT_RISK_MIN_VISITS or absent is None or not AT_RISK_MIN_DAYS <= absent < LAPSED_DAYS:
        return False
    first = _day(member.first_visit_at, timezone) or _day(member.last_visit_at, timezone)
    average_gap = (_day(member.last_visit_at, timezone) - first).days / (visits - 1)
    return absent > 2 * average_gap


def _is_lapsed(member: MemberSnapshot, timezone: str, context: Context) -> bool:
    absent = _days_since(member.last_visit_at or member.created_at, timezone, context.today)
    return absent is not None and absent >= LAPSED_DAYS


def _has_birthday_this_month(member: MemberSnapshot, timezone: str, context: Context) -> bool:
    month_day = birthday_month_day(member.birthday)
    return month_day is not None and int(month_day[:2]) == context.today.month


_BUILT_IN_RULES = {
    NEW: _is_new, REGULARS: _is_regular, VIP: _is_vip, AT_RISK: _is_at_risk, LAPSED: _is_lapsed,
    BIRTHDAY_THIS_MONTH: _has_birthday_this_month,
}


def _field_value(field: str, member: MemberSnapshot, timezone: str, today: date) -> Any:
    """The member's value of a condition's field; None when the member has none (then nothing matches)."""
    if field == "visitCount":
        return member.visit_count or 0
    if field == "totalSpend":
        return member.total_spend or 0
    if field == "points":
        return member.balance or 0
    if field == "daysSinceLastVisit":
        return _days_since(member.last_visit_at, timezone, today)
    if field == "daysSinceJoined":
        return _days_since(member.created_at, timezone, today)
    if field == "birthdayMonth":
        month_day = birthday_month_day(member.birthday)
        return int(month_day[:2]) if month_day else None
    if field == "locationId":
        return member.last_location_id
    if field == "favouriteCategory":
        return member.favourite_categories  # several: the condition holds when any of them does
    if field == "tier":
        return member.tier
    raise ValueError(f"unknown field {field}")


def _holds(condition: Condition, member: MemberSnapshot, timezone: str, today: date) -> bool:
    value = _field_value(condition.field, member, timezone, today)
    candidates = value if isinstance(value, tuple) else (value,)
    wanted = condition.value if condition.op == "in" else (condition.value,)
    for candidate in candidates:
        if candidate is None:
            continue
        if condition.op == "gte" and candidate >= condition.value:
            return True
        if condition.op == "lte" and candidate <= condition.value:
            return True
        if condition.op in ("eq", "in") and candidate in wanted:
            return True
    return False
