"""Segments: the list with counts, a custom segment as stored, and a page of a segment's members."""

from __future__ import annotations

from loyalty.domain.model import MemberSnapshot
from loyalty.domain.segments import Segment
from loyalty.replies.base import Instant, Reply


class SegmentSummary(Reply):
    name: str
    description: str
    count: int | None  # None until a recount that includes the segment finishes


class SegmentList(Reply):
    """Counts as of countedAt (null until the first count finishes). Stored counts are answered for up to an
    hour, then counted again; counting is true while a count is under way, and a count not known yet (a large
    business's first, or a new segment's) is null. vip's count includes everyone whose total spend is in the
    same bucket (about 9 % wide) as the top 5 % mark, so it is approximate."""

    segments: list[SegmentSummary]
    counted_at: Instant | None
    counting: bool


class SegmentConditionView(Reply):
    field: str
    op: str
    value: int | str | list[int | str]


class SegmentCreated(Reply):
    name: str
    description: str
    match: str
    conditions: list[SegmentConditionView]
    count: int | None  # None while the merchant's members take longer to count than a request may

    @classmethod
    def of(cls, segment: Segment, count: int | None) -> SegmentCreated:
        return cls(name=segment.name, description=segment.description, match=segment.match, count=count,
                   conditions=[SegmentConditionView(field=c.field, op=c.op,
                                                    value=list(c.value) if isinstance(c.value, tuple) else c.value)
                               for c in segment.conditions])


class SegmentMember(Reply):
    member_id: str
    name: str | None
    visit_count: int
    last_visit_at: Instant | None
    total_spend: int

    @classmethod
    def of(cls, member: MemberSnapshot) -> SegmentMember:
        return cls(member_id=member.member_id, name=member.name, visit_count=member.visit_count or 0,
                   last_visit_at=member.last_visit_at, total_spend=member.total_spend or 0)


class SegmentMembers(Reply):
    members: list[SegmentMember]
    next_cursor: str | None
