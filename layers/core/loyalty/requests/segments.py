"""Request body of a custom segment; which fields, ops and values fit together is checked by domain/segments.py."""

from __future__ import annotations

from pydantic import Field, StrictInt

from loyalty.requests.common import Body

Value = StrictInt | str


class SegmentCondition(Body):
    field: str = Field(max_length=40, description="visitCount, totalSpend, daysSinceLastVisit, daysSinceJoined, "
                                                  "points, tier, birthdayMonth, locationId or favouriteCategory")
    op: str = Field(max_length=10, description="eq, gte, lte or in")
    value: Value | list[Value] = Field(description="A number or a text; a list for 'in'")


class CreateSegment(Body):
    name: str = Field(min_length=1, max_length=40, description="Lowercase letters, digits, '-' or '_'")
    match: str = Field(default="all", max_length=10, description="all: every condition holds; any: one does")
    conditions: list[SegmentCondition] = Field(max_length=50)
