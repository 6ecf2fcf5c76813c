"""Segments: the owner's list with live counts, custom segments, a segment's members page by page, and the
members of a segment for a broadcast.

Every read walks the roster index (Query per shard, never Scan) and evaluates the pure rules of
domain/segments.py on what it projects; nothing is stored per member for segments.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from loyalty import telemetry
from loyalty.domain import segments as rules
from loyalty.domain.access import OWNER, Caller, require_merchant
from loyalty.domain.errors import NotFound, SegmentExists, ValidationFailed
from loyalty.domain.model import MemberSnapshot, Merchant
from loyalty.replies.segments import SegmentCreated, SegmentList, SegmentMember, SegmentMembers, SegmentSummary
from loyalty.services import clock
from loyalty.services.merchants import load_merchant
from loyalty.store import keys, member_index
from loyalty.store import segments as store
from loyalty.store.transaction import ConditionFailed

if TYPE_CHECKING:  # the request models are built by the function that parses them, not at every import
    from loyalty.requests.segments import CreateSegment

MAX_CUSTOM_SEGMENTS = 50
PAGE_QUERY_SIZE = 250  # members read per Query while filling one page


def list_segments(caller: Caller, merchant_id: str) -> SegmentList:
    require_merchant(caller, merchant_id, OWNER)
    merchant = load_merchant(merchant_id)
    segments = rules.built_in_segments() + store.segments_of(merchant_id)
    counts = count_members(merchant, segments, clock.now())
    return SegmentList(segments=[SegmentSummary(name=s.name, description=s.description, count=counts[s.name])
                                 for s in segments])


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
    return SegmentCreated.of(segment, count_members(merchant, [segment], now)[segment.name])


def members_page(caller: Caller, merchant_id: str, name: str, limit: int, cursor: str | None) -> SegmentMembers:
    require_merchant(caller, merchant_id, OWNER)
    merchant = load_merchant(merchant_id)
    segment = _segment(merchant_id, name)
    start = _read_cursor(cursor) if cursor else None
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


def count_members(merchant: Merchant, segments: Iterable[rules.Segment], now: datetime) -> dict[str, int]:
    """Each segment's count, from one walk through the roster (vip from the spends collected on the way)."""
    segments = list(segments)
    others = [segment for segment in segments if not rules.needs_vip_threshold(segment)]
    counts = dict.fromkeys((segment.name for segment in segments), 0)
    context = rules.Context.at(now, merchant.timezone)
    spends: list[int] = []
    for member in member_index.roster(merchant.merchant_id):
        spends.append(member.total_spend or 0)
        for segment in others:
            if rules.matches(segment, member, merchant.timezone, context):
                counts[segment.name] += 1
    threshold = rules.vip_threshold(spends)
    if rules.VIP in counts and threshold is not None:
        counts[rules.VIP] = sum(1 for spend in spends if spend > 0 and spend >= threshold)
    return counts


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
    spends = ((m.total_spend or 0) for m in member_index.roster(merchant.merchant_id)) \
        if rules.needs_vip_threshold(segment) else ()
    return rules.Context.at(now, merchant.timezone, spends)


# The cursor names a shard and a position in it, never a merchant: the merchant comes from the path, so a
# cursor cannot reach into another merchant's roster.
def _write_cursor(position: member_index.RosterPosition) -> str:
    raw = json.dumps([position.shard, position.after], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_cursor(cursor: str) -> member_index.RosterPosition:
    try:
        shard, after = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not (isinstance(shard, int) and 0 <= shard < keys.MEMBER_INDEX_SHARDS and isinstance(after, str)
                and "#" in after):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error):
        raise ValidationFailed.field("cursor", "Not a cursor from this list: start again without it.") from None
    return member_index.RosterPosition(shard, after)
