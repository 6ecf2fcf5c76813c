"""Feedback on visits: written once per visit with the NPS answer's date and the owner's note, and the owner's
newest-first list (per rating partitions of GSI1, items read back page by page)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from loyalty.domain.feedback import Feedback
from loyalty.domain.messages import Message
from loyalty.store import keys, outbox, replies
from loyalty.store.models import FeedbackItem, MemberItem
from loyalty.store.transaction import Transaction

FEEDBACK_TAG = "feedback"  # the visit was rated before
NPS_TAG = "nps"  # the member answered the NPS question less than 90 days ago (or is gone)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _to_item(feedback: Feedback) -> FeedbackItem:
    item = FeedbackItem(
        *keys.feedback(feedback.member_id, feedback.scan_id), merchant_id=feedback.merchant_id,
        member_id=feedback.member_id, scan_id=feedback.scan_id, location_id=feedback.location_id,
        rating=feedback.rating, nps=feedback.nps, comment=feedback.comment, created_at=feedback.created_at)
    item.gsi1pk, item.gsi1sk = keys.feedback_index(feedback.merchant_id, feedback.rating, _iso(feedback.created_at),
                                                   feedback.scan_id)
    return item


def _to_feedback(item: FeedbackItem) -> Feedback:
    return Feedback(merchant_id=item.merchant_id, member_id=item.member_id, scan_id=item.scan_id,
                    location_id=item.location_id, rating=int(item.rating),
                    nps=int(item.nps) if item.nps is not None else None, comment=item.comment,
                    created_at=item.created_at)


def add(feedback: Feedback, *, nps_answered_before: datetime | None = None, note: Message | None = None,
        reply: replies.StoredReply | None = None) -> None:
    """The feedback, once per visit; with an NPS answer, its date on the member, on condition that the previous
    one was given at or before ``nps_answered_before``; the owner's note and the request's reply: all or nothing.

    ConditionFailed names FEEDBACK_TAG (rated before), NPS_TAG (answered too recently) or the reply's tag."""
    txn = Transaction().put(_to_item(feedback), FEEDBACK_TAG, condition=FeedbackItem.pk.does_not_exist())
    if feedback.nps is not None:
        if nps_answered_before is None:
            raise ValueError("an NPS answer needs the instant the previous one must predate")
        answered = MemberItem.nps_answered_at
        txn.update(MemberItem(*keys.member(feedback.member_id)), [answered.set(feedback.created_at)], NPS_TAG,
                   condition=MemberItem.pk.exists() & (answered.does_not_exist() | (answered <= nps_answered_before)))
    if note is not None:
        outbox.add_to(txn, note)
    if reply is not None:
        txn.put(replies.to_item(reply), replies.TAG, condition=replies.put_condition(reply))
    txn.commit()


@dataclass(frozen=True)
class FeedbackPage:
    feedback: list[Feedback]
    resume_before: str | None  # the index position the next page starts below; None when this was the last


def newest(merchant_id: str, ratings: Sequence[int], *, limit: int, before: str | None = None) -> FeedbackPage:
    """A page of the merchant's feedback with one of ``ratings``, newest first, below the position ``before``.

    One Query per rating (keys only, ``limit`` + 1 each, so a full page knows whether more follow), merged by
    time; then the page's items in one BatchGetItem."""
    found: list[tuple[str, str, str]] = []
    for rating in ratings:
        condition = FeedbackItem.gsi1sk < before if before else None
        entries = FeedbackItem.gsi1.query(keys.feedback_partition(merchant_id, rating), condition,
                                          scan_index_forward=False, limit=limit + 1)
        found += [(entry.gsi1sk, entry.pk, entry.sk) for entry in entries]
    found.sort(reverse=True)
    page = found[:limit]
    item_keys = [(pk, sk) for _, pk, sk in page]
    items = {(item.pk, item.sk): item for item in FeedbackItem.batch_get(item_keys)} if item_keys else {}
    feedback = [_to_feedback(items[key]) for key in item_keys if key in items]
    return FeedbackPage(feedback, page[-1][0] if len(found) > limit else None)
