"""Feedback on visits: the member's receipt of hers, and the owner's list."""

from __future__ import annotations

from loyalty.domain.feedback import Feedback
from loyalty.replies.base import Instant, Reply


class FeedbackView(Reply):
    """One rated visit."""

    scan_id: str
    member_id: str
    location_id: str | None
    rating: int
    nps: int | None
    comment: str | None
    created_at: Instant

    @classmethod
    def of(cls, feedback: Feedback) -> FeedbackView:
        return cls(scan_id=feedback.scan_id, member_id=feedback.member_id, location_id=feedback.location_id,
                   rating=feedback.rating, nps=feedback.nps, comment=feedback.comment,
                   created_at=feedback.created_at)


class FeedbackList(Reply):
    """The merchant's feedback, newest first."""

    feedback: list[FeedbackView]
    next_cursor: str | None
