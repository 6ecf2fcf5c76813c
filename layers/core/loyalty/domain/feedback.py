"""Feedback on a visit and the NPS question: when they may be given, and the owner's note on a low rating.

Pure rules: the member, the visit and ``now`` are passed in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from loyalty.domain.messages import EMAIL, TRANSACTIONAL, Content, Message
from loyalty.domain.model import LedgerEntry, Member, Merchant

FEEDBACK_WINDOW = timedelta(hours=48)  # a visit can be rated this long after it
NPS_INTERVAL = timedelta(days=90)  # a member is asked "how likely are you to recommend us?" at most this often
LOW_RATING = 2  # a rating this low or lower reaches the owner at once
MAX_COMMENT_LENGTH = 1000
RATINGS = range(1, 6)


@dataclass(frozen=True, kw_only=True)
class Feedback:
    """A member's rating of one counted visit (``scan_id``), with an optional comment and NPS answer."""

    merchant_id: str
    member_id: str
    scan_id: str
    location_id: str | None
    rating: int
    nps: int | None
    comment: str | None
    created_at: datetime


def is_counted_visit(entry: LedgerEntry) -> bool:
    """A scan that counted as a visit (not a purchase inside the cooldown, which has no visit line)."""
    return entry.kind == "scan" and any(line.kind == "visit" for line in entry.lines)


def window_open(visit_at: datetime, now: datetime) -> bool:
    return now - visit_at <= FEEDBACK_WINDOW


def nps_answered_recently(member: Member, now: datetime) -> bool:
    answered = member.nps_answered_at
    return answered is not None and now - answered < NPS_INTERVAL


def nps_cutoff(now: datetime) -> datetime:
    """An NPS answer given at or before this instant no longer stops a new one."""
    return now - NPS_INTERVAL


def nps_due(member: Member, now: datetime) -> bool:
    """The card asks the NPS question with the feedback on a visit it can still rate, at most every 90 days."""
    recent_visit = member.last_visit_at is not None and window_open(member.last_visit_at, now)
    return recent_visit and not nps_answered_recently(member, now)


def next_nps_at(member: Member) -> datetime | None:
    return member.nps_answered_at + NPS_INTERVAL if member.nps_answered_at else None


def needs_owner_note(feedback: Feedback) -> bool:
    return feedback.rating <= LOW_RATING


def owner_note_id(member_id: str, scan_id: str) -> str:
    """One note per rated visit, whatever retries: the id is derived from the visit."""
    digest = hashlib.sha256(f"feedback-note|{member_id}|{scan_id}".encode()).hexdigest()[:32]
    return f"msg_{digest}"


def first_name(member: Member) -> str:
    words = (member.name or "").split()
    return words[0] if words else "a member"


def owner_note(feedback: Feedback, member: Member, merchant: Merchant, notify_email: str) -> Message:
    """The private email to the owner about a low rating: who (first name only), where, when, what she said.

    Operational, not marketing: it goes to the owner's own address, needs no member consent and counts toward
    no member's frequency cap."""
    location = merchant.locations.get(feedback.location_id or "")
    timezone = location.timezone if location else merchant.timezone
    local = feedback.created_at.astimezone(ZoneInfo(timezone))
    where = location.name if location else merchant.name
    who = first_name(member)
    stars = "★" * feedback.rating + "☆" * (len(RATINGS) - feedback.rating)
    lines = [
        f"{who[0].upper() + who[1:]} rated a visit to {where} {feedback.rating} out of 5 ({stars}).",
        "",
        f"Rating: {feedback.rating}/5",
        f"Comment: {feedback.comment}" if feedback.comment else "Comment: (none)",
        f"Member: {who} ({feedback.member_id})",
        f"Location: {where}",
        f"Time: {local:%Y-%m-%d %H:%M} ({timezone})",
        "",
        "Only you see this: reach out and make it right before it becomes a public review.",
    ]
    subject = f"{merchant.name}: a {feedback.rating}/5 rating from {who} at {where}"
    return Message(message_id=owner_note_id(feedback.member_id, feedback.scan_id), merchant_id=merchant.merchant_id,
                   member_id=feedback.member_id, purpose=TRANSACTIONAL, to=notify_email,
                   contents={EMAIL: Content(subject=subject, body="\n".join(lines))},
                   created_at=feedback.created_at)
