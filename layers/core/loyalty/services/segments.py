"""Segments: the owner's list with counts, custom segments, a segment's members page by page, and the
members of a segment for a broadcast.

Every read walks the roster index (Query per shard, never Scan) and evaluates the pure rules of
domain/segments.py on what it projects; nothing is stored per member for segments.

Counts are stored per merchant (store/segment_counts.py) and answered while fresh. A stale answer is refreshed
by a recount: a walk through the roster that the request runs for a short time budget and, when that is not
enough, leaves resumable for the campaign tick to continue, so a merchant of any size gets its counts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from loyalty import telemetry
from loyalty.domain import cursors
from loyalty.domain import segments as rules
from loyalty.domain.access import OWNER, Caller, require_merchant
from loyalty.domain.errors import NotFound, SegmentExists, ValidationFailed
from loyalty.domain.model import MemberSnapshot, Merchant
from loyalty.replies.segments import SegmentCreated, SegmentList, SegmentMember, SegmentMembers, SegmentSummary
from loyalty.services import clock
from loyalty.services.merchants import load_merchant
from loyalty.settings import get_settings
from loyalty.store import keys, member_index
from loyalty.store import segment_counts as counts_store
from loyalty.store import segments as store
from loyalty.store.transaction import ConditionFailed

if TYPE_CHECKING:  # the request models are built by the function that parses them, not at every import
    from loyalty.requests.segments import CreateSegment

_log = logging.getLogger(__name__)
MAX_CUSTOM_SEGMENTS = 50
PAGE_QUERY_SIZE = 250  # members read per Query while filling one page
# A long recount saves its progress this often, so a walker that loses its write to another (an owner's
# request and the tick on the same merchant) loses at most this much work.
RECOUNT_CHECKPOINT_MEMBERS = 5000


def list_segments(caller: Caller, merchant_id: str) -> SegmentList:
    require_merchant(caller, merchant_id, OWNER)
    merchant = load_merchant(merchant_id)
    segments = rules.built_in_segments() + store.segments_of(merchant_id)
    stored = _current_counts(merchant, segments, clock.now())
    return SegmentList(segments=[SegmentSummary(name=s.name, description=s.description,
                                                count=stored.counts.get(s.name)) for s in segments],
                       counted_at=stored.counted_at, counting=stored.recount is not None)


def create_segment(caller: Caller, merchant_id: str, request: CreateSegment) -> SegmentCreated:
    require_merchant(caller, merchant_id, OWNER)
    merchant = load_merchant(merchant_id)
    conditions = [condition.model_dump() for condition in request.conditions]
    problems = rules.problems(request.name, request.match, conditions)
    if problems:
        raise ValidationFailed("This segment cannot be saved.", details=problems)
    existing = store.segments_of(merchant_id)
    if any(segment.name == request.name for segment in existing):
        raise SegmentExists(details=[{"field": "name", "message": "A segment of this name exists."}])
    if len(existing) >= MAX_CUSTOM_SEGMENTS:
        raise ValidationFailed.field("name", f"A business keeps at most {MAX_CUSTOM_SEGMENTS} custom segments.")
    now = clock.now()
    segment = rules.custom_segment(request.name, request.match, (rules.condition_of(c) for c in conditions))
    try:
        store.add_segment(merchant_id, segment, now)
    except ConditionFailed:
        raise SegmentExists(details=[{"field": "name", "message": "A segment of this name exists."}]) from None
    telemetry.count("SegmentsCreated")
    # The stored counts lack the new segment, so they are recounted now (within the request's budget)
    stored = _current_counts(merchant, [*rules.built_in_segments(), *existing, segment], now)
    return SegmentCreated.of(segment, stored.counts.get(segment.name))


def members_page(caller: Caller, merchant_id: str, name: str, limit: int, cursor: str | None) -> SegmentMembers:
    require_merchant(caller, merchant_id, OWNER)
    merchant = load_merchant(merchant_id)
    segment = _segment(merchant_id, name)
    start = cursors.read(cursor, _position) if cursor else None
    now = clock.now()
    context = _context(merchant, segment, now)
    page: list[SegmentMember] = []
    resume_at = None  # a full page may have more after it; the cursor resumes right after its last member
    for position, member in member_index.roster_from(merchant_id, start, page_size=PAGE_QUERY_SIZE):
        if rules.matches(segment, member, merchant.timezone, context):
            page.append(SegmentMember.of(member))
            if len(page) == limit:
                resume_at = position
                break
    return SegmentMembers(members=page, next_cursor=_write_cursor(resume_at) if resume_at else None)


def segment_members(merchant: Merchant, segment: str, now: datetime) -> Iterator[MemberSnapshot]:
    """The members of a built-in or custom segment, as the roster index shows them at ``now``."""
    chosen = _segment(merchant.merchant_id, segment)
    context = _context(merchant, chosen, now)
    return (member for member in member_index.roster(merchant.merchant_id)
            if rules.matches(chosen, member, merchant.timezone, context))


def continue_recounts(time_left: Callable[[], bool]) -> dict:
    """The scheduled part of counting: continues every recount under way while ``time_left()`` holds.
    A recount that does not finish keeps its place, so the next tick goes on from there."""
    result = {"recounts": 0, "recountsFinished": 0, "recountsFailed": 0, "complete": True}
    for shard in range(keys.RECOUNT_SHARDS):
        for merchant_id in counts_store.recounts_under_way(shard):
            if not time_left():
                result["complete"] = False
                return result
            result["recounts"] += 1
            try:
                merchant = load_merchant(merchant_id)
                segments = rules.built_in_segments() + store.segments_of(merchant_id)
                stored = _recount(merchant, segments, counts_store.get(merchant_id), clock.now(), time_left)
            except Exception:  # one merchant's failure must not hold back every other merchant's count
                _log.exception("segment recount failed", extra={"merchantId": merchant_id})
                result["recountsFailed"] += 1
                result["complete"] = False
                continue
            finished = stored.recount is None
            result["recountsFinished"] += int(finished)
            result["complete"] &= finished
    return result


def _current_counts(merchant: Merchant, segments: list[rules.Segment],
                    now: datetime) -> counts_store.SegmentCounts:
    """The stored counts while they are fresh; otherwise a recount for the request's time budget: its counts
    when it finishes, the last stored ones (with the recount under way) when it does not."""
    settings = get_settings()
    stored = counts_store.get(merchant.merchant_id)
    fresh = (stored.recount is None and stored.counted_at is not None
             and now - stored.counted_at <= timedelta(seconds=settings.segment_counts_max_age_seconds)
             and all(segment.name in stored.counts for segment in segments))
    if fresh:
        return stored
    deadline = time.monotonic() + settings.segment_count_budget_seconds
    return _recount(merchant, segments, stored, now, lambda: time.monotonic() < deadline)


def _recount(merchant: Merchant, segments: list[rules.Segment], stored: counts_store.SegmentCounts,
             now: datetime, time_left: Callable[[], bool]) -> counts_store.SegmentCounts:
    """Starts a recount (or continues the one under way) and walks the roster while ``time_left()``; returns
    the counts as stored after the walk. A segment created after the recount started waits for the next one."""
    recount = stored.recount or counts_store.Recount(
        started_at=now, segments=tuple(s.name for s in segments), tally=rules.Tally.of(segments, _vip_tier(merchant)))
    counted = [segment for segment in segments if segment.name in recount.segments]
    context = rules.Context.at(recount.started_at, merchant.timezone, vip_tier=_vip_tier(merchant))
    since_checkpoint = 0
    walk = member_index.roster_from(merchant.merchant_id, recount.position,
                                    page_size=member_index.ROSTER_PAGE_SIZE)
    for position, member in walk:
        recount.tally.add(member, counted, merchant.timezone, context)
        recount.position = position
        since_checkpoint += 1
        if not time_left():
            return _saved(stored, recount)
        if since_checkpoint >= RECOUNT_CHECKPOINT_MEMBERS:
            stored = _saved(stored, recount)
            if stored.recount is not recount:
                return stored  # another walker saved meanwhile: its progress stands, this one stops
            since_checkpoint = 0
    finished = counts_store.SegmentCounts(stored.merchant_id, recount.tally.result(), clock.now(), None,
                                          stored.version)
    return _saved(stored, finished)


def _saved(stored: counts_store.SegmentCounts,
           change: counts_store.Recount | counts_store.SegmentCounts) -> counts_store.SegmentCounts:
    """Saves a recount's progress (a Recount) or its finished counts (SegmentCounts) over ``stored``; when
    another walker saved meanwhile, what it stored."""
    updated = change if isinstance(change, counts_store.SegmentCounts) else counts_store.SegmentCounts(
        stored.merchant_id, stored.counts, stored.counted_at, change, stored.version)
    try:
        return counts_store.save(updated)
    except ConditionFailed:
        return counts_store.get(stored.merchant_id)


def segment_exists(merchant_id: str, name: str) -> bool:
    try:
        _segment(merchant_id, name)
    except NotFound:
        return False
    return True


def _segment(merchant_id: str, name: str) -> rules.Segment:
    if name in rules.BUILT_IN:
        return rules.Segment(name, rules.BUILT_IN[name])
    segment = store.get_segment(merchant_id, name)
    if segment is None:
        raise NotFound("No such segment.")
    return segment


def _context(merchant: Merchant, segment: rules.Segment, now: datetime) -> rules.Context:
    """Evaluating vip needs the whole roster's spends first: one more walk, for that segment only."""
    vip_tier = _vip_tier(merchant)
    spends = ((m.total_spend or 0) for m in member_index.roster(merchant.merchant_id)) \
        if rules.needs_vip_threshold(segment, vip_tier) else ()
    return rules.Context.at(now, merchant.timezone, spends, vip_tier)


def _vip_tier(merchant: Merchant) -> str | None:
    """With tiers, vip means the top tier."""
    tiers = merchant.program.tiers
    return tiers.levels[-1].id if tiers else None


def _write_cursor(position: member_index.RosterPosition) -> str:
    return cursors.write([position.shard, position.after])


def _position(decoded: object) -> member_index.RosterPosition:
    """A shard and a position in it."""
    shard, after = decoded  # type: ignore[misc]
    if not (isinstance(shard, int) and 0 <= shard < keys.MEMBER_INDEX_SHARDS and isinstance(after, str)
            and "#" in after):
        raise ValueError(decoded)
    return member_index.RosterPosition(shard, after)
