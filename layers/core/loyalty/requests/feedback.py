"""Request body of a member's feedback on a visit."""

from __future__ import annotations

from pydantic import Field, StrictInt, field_validator

from loyalty.domain.feedback import MAX_COMMENT_LENGTH
from loyalty.requests.common import Body


class GiveFeedback(Body):
    scan_id: str = Field(min_length=1, max_length=64, description="scanId of the visit, from the scan's reply")
    rating: StrictInt = Field(ge=1, le=5, description="1 (bad) to 5 (great)")
    comment: str | None = Field(default=None, max_length=MAX_COMMENT_LENGTH)
    nps: StrictInt | None = Field(default=None, ge=0, le=10,
                                  description="How likely to recommend us, 0 to 10; at most once every 90 days")

    @field_validator("comment")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None
