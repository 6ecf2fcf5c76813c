"""Feedback on a visit: a member rates one of her counted visits once, within 48 hours, with the NPS answer at
most every 90 days; a low rating reaches the owner privately at once (outbox, then the sender). The owner lists
her feedback newest first."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from loyalty import telemetry
from loyalty.domain import cursors, ids
from loyalty.domain import feedback as rules
from loyalty.domain.access import OWNER, Caller, require_merchant
from loyalty.domain.errors import (
    FeedbackAlreadyGiven,
    FeedbackWindowClosed,
    NpsNotDue,
    VisitNotFound,
)
from loyalty.domain.model import LedgerEntry, Member
from loyalty.replies.feedback import FeedbackList, FeedbackView
from loyalty.services import clock, outbox
from loyalty.services.exactly_once import ExactlyOnce
from loyalty.services.members import own_member
from loyalty.services.merchants import load_merchant
from loyalty.store import feedback as store
from loyalty.store import members as member_store
from loyalty.store import messaging as messaging_store
from loyalty.store.transaction import ConditionFailed

if TYPE_CHECKING:  # the request models are built by the function that parses them, not at every import
    from loyalty.requests.feedback import GiveFeedback

# A scan's ledger entries are written a few milliseconds after the instant its id carries (see ids.new_timed_id).
_ENTRY_SPREAD = timedelta(seconds=1)
PAGE_SIZE = 50


def give_feedback(caller: Caller, request: GiveFeedback, once: ExactlyOnce | None = None) -> FeedbackView:
    """With ``once`` (an Idempotency-Key) the reply is kept in the feedback's own transaction."""
    member = own_member(caller)()
    now = clock.now()
    visit = _visit(member, request.scan_id, now)
    if visit is None or not rules.is_counted_visit(visit):
        raise VisitNotFound(details=[{"field": "scanId", "message": "Not a visit of yours."}])
    if not rules.window_open(visit.at, now):
        raise FeedbackWindowClosed(details=[{"field": "scanId", "message": "Rate a visit within 48 hours."}])
    merchant = load_merchant(member.merchant_id)
    feedback = rules.Feedback(merchant_id=merchant.merchant_id, member_id=member.member_id, scan_id=request.scan_id,
                              location_id=visit.location_id, rating=request.rating, nps=request.nps,
                              comment=request.comment, created_at=now)
    note = None
    if rules.needs_owner_note(feedback):
        # Read fresh: an address the owner has just saved is used at once (low ratings are rare).
        notify_email = messaging_store.get(merchant.merchant_id, fresh=True).notify_email
        note = rules.owner_note(feedback, member, merchant, notify_email) if notify_email else None
    reply = FeedbackView.of(feedback)
    # The NPS rule is the transaction's condition, not checked here first: a visit rated before is 409
    # feedback_already_given whatever its nps says.
    try:
        store.add(feedback, nps_answered_before=rules.nps_cutoff(now), note=note,
                  reply=once.record(reply.wire(), now) if once else None)
    except ConditionFailed as lost:
        if store.FEEDBACK_TAG in lost.failed:
            raise FeedbackAlreadyGiven(details=[{"field": "scanId", "message": "Rated before."}]) from None
        if store.NPS_TAG in lost.failed:
            raise _nps_not_due(member_store.get_member(member.member_id) or member) from None
        raise
    telemetry.count("FeedbackGiven")
    if note is not None:
        outbox.dispatch([note.message_id])  # a lost dispatch is swept up later: the note is in the outbox
        telemetry.count("LowRatingNotes")
    return reply


def _visit(member: Member, scan_id: str, now: datetime) -> LedgerEntry | None:
    """The member's own scan entry: found by the instant its id carries, or, for an id from before ids carried
    one, among the entries of the last 48 hours (older ones could not be rated anyway)."""
    made = ids.time_of(scan_id)
    if made is None:
        return member_store.ledger_entry_with_ref(member.member_id, "scan", scan_id, now - rules.FEEDBACK_WINDOW,
                                                  now)
    return member_store.ledger_entry_with_ref(member.member_id, "scan", scan_id, made, made + _ENTRY_SPREAD)


def _nps_not_due(member: Member) -> NpsNotDue:
    again = rules.next_nps_at(member)
    when = f" It can be answered again from {again:%Y-%m-%d}." if again else ""
    return NpsNotDue(f"{NpsNotDue.default_message}{when} Send the rating without nps.",
                     details=[{"field": "nps", "message": "Answered less than 90 days ago."}])


def feedback_list(caller: Caller, merchant_id: str, rating: int | None, cursor: str | None,
                  limit: int = PAGE_SIZE) -> FeedbackList:
    require_merchant(caller, merchant_id, OWNER)
    ratings = [rating] if rating is not None else list(rules.RATINGS)
    page = store.newest(merchant_id, ratings, limit=limit, before=cursors.read(cursor, _position) if cursor else None)
    return FeedbackList(feedback=[FeedbackView.of(item) for item in page.feedback],
                        next_cursor=cursors.write({"before": page.resume_before}) if page.resume_before else None)


# A position in time (and a scan id).
_POSITION = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#[a-z]+_[a-z0-9]+$")


def _position(decoded: object) -> str:
    position = decoded["before"]  # type: ignore[index]
    if not (isinstance(position, str) and _POSITION.match(position)):
        raise ValueError(position)
    return position
