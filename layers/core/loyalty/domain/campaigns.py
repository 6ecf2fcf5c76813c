"""Campaigns: their rules, when they run, whom a run is for (its occasions) and how a message reads.

Pure: every function takes the times it needs; the services run the audience queries it describes.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from loyalty.domain.program import Program

BIRTHDAY = "birthday"
ANNIVERSARY = "anniversary"
WELCOME = "welcome"
WINBACK = "winback"
EXPIRING_POINTS = "expiring_points"
BROADCAST = "broadcast"
TYPES = (BIRTHDAY, ANNIVERSARY, WELCOME, WINBACK, EXPIRING_POINTS, BROADCAST)

ACTIVE = "active"
PAUSED = "paused"
FINISHED = "finished"  # a broadcast after its one run

CHANNELS = ("email", "sms")
PLACEHOLDERS = ("name", "merchant", "reward", "points", "expiresAt", "cardLink", "unsubscribeLink", "favourite")
SMS_MAX_CHARS = 612  # four concatenated GSM-7 segments of 153 characters
NEUTRAL_FAVOURITE = "favourite"
# A run after an outage covers the local days it missed, up to this many (a month of birthdays).
MAX_CATCH_UP_DAYS = 31
# Anniversaries look this many years back (each year is one query of the join-day index per shard).
ANNIVERSARY_YEARS = 10

_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_LOCAL_MINUTE = re.compile(r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d$")
# Trigger fields per type and their bounds; None as the default means required.
_TRIGGERS: dict[str, dict[str, tuple[int | None, int, int]]] = {
    BIRTHDAY: {"daysBefore": (0, 0, 60)},
    ANNIVERSARY: {},
    WELCOME: {"afterDays": (None, 0, 365)},
    WINBACK: {"absentDays": (None, 1, 730), "minVisits": (1, 1, 10_000)},
    EXPIRING_POINTS: {"daysBefore": (None, 1, 90)},
}


@dataclass(frozen=True, kw_only=True)
class Offer:
    reward_id: str | None = None
    validity_days: int | None = None
    bonus_points: int | None = None


@dataclass(frozen=True, kw_only=True)
class Wording:
    subject: str | None
    body: str


@dataclass(frozen=True, kw_only=True)
class Campaign:
    campaign_id: str
    merchant_id: str
    name: str
    type: str
    trigger: dict[str, Any]
    offer: Offer | None
    channels: tuple[str, ...]
    message: dict[str, Wording]
    send_at: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    next_run_at: datetime | None = None
    last_run_day: date | None = None  # the local day the last complete run covered up to


@dataclass(frozen=True, kw_only=True)
class Run:
    """One run of a campaign and its figures (the outbox's sender adds the outcomes)."""

    run_id: str
    occasion: str
    started_at: datetime
    finished_at: datetime | None
    counters: dict[str, int]


@dataclass(frozen=True, kw_only=True)
class Recipient:
    """What rendering needs to know of a member (from the index snapshot, never a second read)."""

    name: str | None
    favourite: str | None


# --- validation ---------------------------------------------------------------------------------

def problems(campaign: Campaign, program: Program) -> list[dict[str, str]]:
    """Every field that is wrong, as ``{field, message}``; empty when the campaign may be saved."""
    found: list[dict[str, str]] = []

    def bad(field_name: str, message: str) -> None:
        found.append({"field": field_name, "message": message})

    _check_trigger(campaign, bad)
    if campaign.type == BROADCAST:
        if campaign.send_at is not None:
            bad("sendAt", "A broadcast runs once at trigger.startAt and has no sendAt.")
    elif campaign.send_at is None or not _HH_MM.match(campaign.send_at):
        bad("sendAt", "Use a local time as HH:MM, such as 10:00.")
    if len(set(campaign.channels)) != len(campaign.channels):
        bad("channels", "List each channel once.")
    for channel in campaign.channels:
        wording = campaign.message.get(channel)
        if wording is None:
            bad(f"message.{channel}", f"Give the {channel} message: {channel} is in channels.")
            continue
    for channel, wording in campaign.message.items():
        for part, text in (("subject", wording.subject), ("body", wording.body)):
            for name in _placeholders(text or ""):
                if name not in PLACEHOLDERS:
                    bad(f"message.{channel}.{part}",
                        f"Unknown placeholder {{{name}}}; use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}.")
        if channel == "email" and not wording.subject:
            bad("message.email.subject", "An email needs a subject.")
        if channel == "sms" and len(wording.body) > SMS_MAX_CHARS:
            bad("message.sms.body", f"An SMS body is at most {SMS_MAX_CHARS} characters (it has {len(wording.body)}).")
    offer = campaign.offer
    if offer is not None:
        if offer.reward_id is not None:
            if program.reward(offer.reward_id) is None:
                bad("offer.rewardId", f"No reward '{offer.reward_id}' in this merchant's program.")
            if offer.validity_days is None:
                bad("offer.validityDays", "Say how many days the voucher is valid.")
            if offer.bonus_points is not None:
                bad("offer", "Offer a reward or bonus points, not both.")
        elif offer.bonus_points is None:
            bad("offer", "Give {rewardId, validityDays}, {bonusPoints} or null.")
    return found


def _check_trigger(campaign: Campaign, bad) -> None:
    trigger = campaign.trigger
    if campaign.type == BROADCAST:
        allowed = {"segment", "startAt"}
        segment, start = trigger.get("segment"), trigger.get("startAt")
        if not isinstance(segment, str) or not segment:
            bad("trigger.segment", "Name the segment to send to.")
        if not isinstance(start, str) or not _LOCAL_MINUTE.match(start) or _parse_local_minute(start) is None:
            bad("trigger.startAt", "Use a local date and time as YYYY-MM-DDTHH:MM.")
    else:
        spec = _TRIGGERS[campaign.type]
        allowed = set(spec)
        for name, (default, low, high) in spec.items():
            value = trigger.get(name, default)
            if value is None:
                bad(f"trigger.{name}", "This field is required.")
            elif type(value) is not int or not low <= value <= high:
                bad(f"trigger.{name}", f"Use a whole number from {low} to {high}.")
    for name in set(trigger) - allowed:
        bad(f"trigger.{name}", f"Unknown field for a {campaign.type} campaign.")


def normalized_trigger(campaign_type: str, trigger: dict[str, Any]) -> dict[str, Any]:
    """The trigger with its defaults filled in (valid input only)."""
    if campaign_type == BROADCAST:
        return dict(trigger)
    return {name: trigger.get(name, default) for name, (default, _, _) in _TRIGGERS[campaign_type].items()}


def _placeholders(text: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError:  # an unmatched brace
        return ["{"]


def _parse_local_minute(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M")
    except ValueError:
        return None


# --- when it runs -------------------------------------------------------------------------------

def at_local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time. A time the clocks skip runs at the first valid time after it
    (02:30 on the spring-forward night is 03:00); a time that occurs twice runs at its first occurrence."""
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    # In the gap: the first instant whose wall time is not before the requested one, within the gap.
    earliest = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    candidate = min(earliest, first)
    while candidate.astimezone(tz).replace(tzinfo=None) < wall:
        candidate += timedelta(minutes=1)
    return candidate


def next_run_at(campaign: Campaign, timezone: str, after: datetime) -> datetime | None:
    """The next scheduled run strictly after ``after``; None when a broadcast has had its run, or when paused."""
    if campaign.status != ACTIVE:
        return None
    tz = ZoneInfo(timezone)
    if campaign.type == BROADCAST:
        local = _parse_local_minute(campaign.trigger["startAt"])
        if local is None or campaign.last_run_day is not None:
            return None
        return at_local(local.date(), local.time(), tz)  # overdue broadcasts run at the next tick
    hours, minutes = (int(part) for part in (campaign.send_at or "00:00").split(":"))
    day = after.astimezone(tz).date()
    for offset in range(3):
        candidate = at_local(day + timedelta(days=offset), time(hours, minutes), tz)
        if candidate > after:
            return candidate
    raise AssertionError("a local time recurs within three days")


def message_id_for(campaign_id: str, member_id: str, occasion: str) -> str:
    """The same campaign, member and occasion always make the same message: the outbox keeps it once."""
    digest = hashlib.sha256(json.dumps([campaign_id, member_id, occasion]).encode()).hexdigest()
    return f"msg_{digest[:32]}"


def local_day(instant: datetime, timezone: str) -> date:
    return instant.astimezone(ZoneInfo(timezone)).date()


def run_id_for(scheduled_at: datetime) -> str:
    """Deterministic per campaign and scheduled time: a repeated tick continues the same run."""
    return scheduled_at.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def days_to_cover(last_run_day: date | None, day: date) -> list[date]:
    """The local days a run covers: those since the previous run, so a missed day is not lost."""
    if last_run_day is None or last_run_day >= day:
        return [day]
    first = max(last_run_day + timedelta(days=1), day - timedelta(days=MAX_CATCH_UP_DAYS - 1))
    return [first + timedelta(days=n) for n in range((day - first).days + 1)]


# --- whom it is for ------------------------------------------------------------------------------

@dataclass(frozen=True)
class AudienceQuery:
    """One read of a member index and the occasion every member it finds is targeted for.

    ``index``: "birthdays" (``key`` MM-DD), "joined" (``key`` a date), "last_visit_between" (``key`` and
    ``until`` dates), "segment" (``key`` a segment name), "expiring_points" (``key`` a date; nothing
    indexes expiring points yet, so it finds nobody until points can expire)."""

    index: str
    key: str | date
    occasion: str
    until: date | None = None
    min_visits: int = 0
    needs_first_visit: bool = False


def audience(campaign: Campaign, days: list[date]) -> list[AudienceQuery]:
    """The index reads of a run covering ``days`` (local days), each with its occasion."""
    trigger = campaign.trigger
    queries: list[AudienceQuery] = []
    if campaign.type == BROADCAST:
        return [AudienceQuery("segment", trigger["segment"], "broadcast")]
    if campaign.type == WINBACK:
        # The absence that began on a given last visit: last visits exactly absentDays before each covered day.
        absent = timedelta(days=trigger["absentDays"])
        return [AudienceQuery("last_visit_between", days[0] - absent, WINBACK_OCCASION,
                              until=days[-1] - absent, min_visits=trigger.get("minVisits") or 1)]
    for day in days:
        if campaign.type == BIRTHDAY:
            birthday = day + timedelta(days=trigger.get("daysBefore") or 0)
            for month_day in birthday_keys(birthday):
                queries.append(AudienceQuery("birthdays", month_day, f"{birthday.year}"))
        elif campaign.type == ANNIVERSARY:
            for years in range(1, ANNIVERSARY_YEARS + 1):
                for joined in anniversary_join_days(day, years):
                    queries.append(AudienceQuery("joined", joined, f"{day.year}"))
        elif campaign.type == WELCOME:
            queries.append(AudienceQuery("joined", day - timedelta(days=trigger["afterDays"]), "welcome",
                                         needs_first_visit=True))
        elif campaign.type == EXPIRING_POINTS:
            expiring = day + timedelta(days=trigger["daysBefore"])
            queries.append(AudienceQuery("expiring_points", expiring, expiring.isoformat()))
    return queries


WINBACK_OCCASION = "absence"  # made per member from the last visit that began the absence (occasion_of)


def occasion_of(query: AudienceQuery, last_visit_day: date | None) -> str:
    if query.occasion == WINBACK_OCCASION:
        return f"absence-from-{last_visit_day.isoformat() if last_visit_day else 'never'}"
    return query.occasion


def birthday_keys(day: date) -> list[str]:
    """The birthdays celebrated on ``day``: 29 February is celebrated on 28 February in other years."""
    keys = [day.strftime("%m-%d")]
    if (day.month, day.day) == (2, 28) and not _is_leap(day.year):
        keys.append("02-29")
    return keys


def anniversary_join_days(day: date, years: int) -> list[date]:
    """Join days whose ``years``-th anniversary falls on ``day`` (29 February joins on 28 February)."""
    year = day.year - years
    found = []
    try:
        found.append(day.replace(year=year))
    except ValueError:  # day is 29 February; that year had none
        return []
    if (day.month, day.day) == (2, 28) and not _is_leap(day.year) and _is_leap(year):
        found.append(date(year, 2, 29))
    return found


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# --- what it says --------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Rendering:
    merchant_name: str
    reward_name: str | None
    points: int | None
    expires_at: datetime | None
    timezone: str
    card_link: str
    extra: dict[str, str] = field(default_factory=dict)


def render(text: str, recipient: Recipient, rendering: Rendering) -> str:
    """Fill the placeholders; ``{unsubscribeLink}`` stays for the sender, which knows the channel it uses."""
    expires = (rendering.expires_at.astimezone(ZoneInfo(rendering.timezone)).strftime("%Y-%m-%d")
               if rendering.expires_at else "")
    values = {
        "name": recipient.name or "",
        "merchant": rendering.merchant_name,
        "reward": rendering.reward_name or "",
        "points": "" if rendering.points is None else str(rendering.points),
        "expiresAt": expires,
        "cardLink": rendering.card_link,
        "unsubscribeLink": "{unsubscribeLink}",
        "favourite": recipient.favourite or NEUTRAL_FAVOURITE,
    }
    return text.format_map(values)

