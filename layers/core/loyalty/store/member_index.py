"""Reading a merchant's members through the member indexes: Query only, never Scan.

Each index is per merchant and spread over ``keys.MEMBER_INDEX_SHARDS`` partitions; a read queries every shard
for the day (or range of days) it wants, so it costs what matches, not what the merchant has. The indexes are
eventually consistent: a member who joined or visited a moment ago may show a moment later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from loyalty.domain.model import MemberSnapshot
from loyalty.store import keys
from loyalty.store.members import favourites_from_list, with_index_keys
from loyalty.store.models import MemberItem
from loyalty.store.transaction import ConditionFailed, Transaction

_DAY_END = "#~"  # sorts after every "<day>#<memberId>" of that day


def _contact(item: MemberItem) -> dict:
    return {
        "member_id": item.member_id, "merchant_id": item.merchant_id, "name": item.name, "phone": item.phone,
        "email": item.email, "consent_sms": bool(item.consent_sms), "consent_email": bool(item.consent_email),
        "language": item.language, "birthday": item.birthday, "favourites": favourites_from_list(item.favourites),
        "first_visit_at": item.first_visit_at, "created_at": item.created_at,
    }


def _contact_snapshot(item: MemberItem) -> MemberSnapshot:
    return MemberSnapshot(**_contact(item))


def _roster_snapshot(item: MemberItem) -> MemberSnapshot:
    return MemberSnapshot(
        **_contact(item), visit_count=int(item.visit_count or 0), total_spend=int(item.total_spend or 0),
        balance=int(item.balance or 0), last_visit_at=item.last_visit_at, last_location_id=item.last_location_id,
        favourite_categories=tuple(item.favourite_categories or ()), recent_visits=tuple(item.recent_visits or ()),
        tier=item.tier_id)


def _each_shard(query: Callable[[int], Iterator[MemberItem]],
                snapshot: Callable[[MemberItem], MemberSnapshot]) -> Iterator[MemberSnapshot]:
    for shard in range(keys.MEMBER_INDEX_SHARDS):
        for item in query(shard):
            yield snapshot(item)


def birthdays_on(merchant_id: str, month_day: str) -> Iterator[MemberSnapshot]:
    """Members whose birthday is on ``MM-DD`` (a 29 February birthday is only ever ``02-29``: the caller decides
    when to ask for it in other years)."""
    return _each_shard(lambda shard: MemberItem.birthdays.query(
        keys.birthdays_partition(merchant_id, shard), MemberItem.gsi2sk.startswith(f"{month_day}#")),
        _contact_snapshot)


def last_visit_on(merchant_id: str, day: date) -> Iterator[MemberSnapshot]:
    """Members whose last visit was on this merchant-local day."""
    return last_visit_between(merchant_id, day, day)


def last_visit_between(merchant_id: str, first: date, last: date) -> Iterator[MemberSnapshot]:
    """Members whose last visit was on a merchant-local day from ``first`` to ``last``, both included."""
    return _each_shard(lambda shard: MemberItem.roster.query(
        keys.roster_partition(merchant_id, shard),
        MemberItem.gsi3sk.between(f"{first.isoformat()}#", f"{last.isoformat()}{_DAY_END}")),
        _roster_snapshot)


def joined_on(merchant_id: str, day: date) -> Iterator[MemberSnapshot]:
    """Members who joined on this merchant-local day."""
    return _each_shard(lambda shard: MemberItem.joined.query(
        keys.joined_partition(merchant_id, shard), MemberItem.gsi4sk.startswith(f"{day.isoformat()}#")),
        _contact_snapshot)


ROSTER_PAGE_SIZE = 250  # members per Query of a whole-roster walk: each reply is parsed in a fraction of a second


def roster(merchant_id: str) -> Iterator[MemberSnapshot]:
    """Every member of the merchant, with what segments evaluate; shard by shard, oldest last visit first and
    members who never visited last."""
    return _each_shard(lambda shard: MemberItem.roster.query(keys.roster_partition(merchant_id, shard),
                                                             page_size=ROSTER_PAGE_SIZE),
                       _roster_snapshot)


@dataclass(frozen=True)
class RosterPosition:
    """Where a walk through the roster stands: a shard, and the sort key of the last member read in it."""

    shard: int
    after: str | None = None


def roster_from(merchant_id: str, start: RosterPosition | None = None,
                page_size: int | None = None) -> Iterator[tuple[RosterPosition, MemberSnapshot]]:
    """The roster like ``roster``, resumable: each member comes with its position, and a walk started at a
    position goes on right after that member. ``page_size`` bounds each Query (when only a page is wanted)."""
    first = start.shard if start else 0
    for shard in range(first, keys.MEMBER_INDEX_SHARDS):
        partition = keys.roster_partition(merchant_id, shard)
        resume = None
        if start and shard == start.shard and start.after:
            member_pk, member_sk = keys.member(start.after.rpartition("#")[2])
            resume = {"GSI3PK": {"S": partition}, "GSI3SK": {"S": start.after},
                      "PK": {"S": member_pk}, "SK": {"S": member_sk}}
        for item in MemberItem.roster.query(partition, last_evaluated_key=resume, page_size=page_size):
            yield RosterPosition(shard, item.gsi3sk), _roster_snapshot(item)


def add_missing_index_keys(timezone_of: Callable[[str], str | None]) -> int:
    """One-off migration for members written before the member indexes existed: each member item without a
    roster key gets its birthday, roster and joined keys, derived from its own fields (``timezone_of`` gives
    a merchant's timezone). The only Scan in the code base, for an operator to run once; never on a request
    path. A member that gained its keys meanwhile (a visit) is left as it is. Returns how many were keyed."""
    keyed = 0
    # Erased members are out of the indexes on purpose: they stay out.
    for item in MemberItem.scan(MemberItem.gsi3pk.does_not_exist() & MemberItem.erased_at.does_not_exist()):
        timezone = timezone_of(item.merchant_id)
        if timezone is None:
            continue
        with_index_keys(item, timezone)
        names = ("gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk", "gsi4pk", "gsi4sk")
        actions = [getattr(MemberItem, name).set(getattr(item, name)) for name in names if getattr(item, name)]
        try:
            Transaction().update(MemberItem(item.pk, item.sk), actions, "member",
                                 condition=MemberItem.pk.exists() & MemberItem.gsi3pk.does_not_exist()).commit()
        except ConditionFailed:
            continue
        keyed += 1
    return keyed


__all__ = ["RosterPosition", "add_missing_index_keys", "birthdays_on", "joined_on", "last_visit_between",
           "last_visit_on", "roster", "roster_from"]
