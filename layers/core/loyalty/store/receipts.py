"""A counted receipt's guard item, read back for refunds; the refunds are kept on the same item.

The scan that counted the receipt left the sale's facts in the guard's ``receipt`` map (saleAmount,
reversiblePoints, earnedMonth, scanId, locationId, memberId). Refunds add ``refundedAmount``,
``reversedPoints`` and ``refunds: {refundId: {amount, pointsReversed, balance}}`` to that map, each
refund conditioned on the totals it was computed from, so two refunds of one receipt never both
count against the same remainder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import DoesNotExist

from loyalty.store import keys, replies
from loyalty.store.models import GuardItem
from loyalty.store.transaction import ConditionalUpdate

TAG = "receipt_refund"


@dataclass(frozen=True)
class Refund:
    amount: int
    points_reversed: int
    balance: int  # the member's balance right after this refund


@dataclass(frozen=True)
class Receipt:
    merchant_id: str
    receipt_id: str
    member_id: str
    location_id: str | None
    scan_id: str | None
    sale_amount: int
    reversible_points: int
    earned_month: str | None
    refunded_amount: int = 0
    reversed_points: int = 0
    refunds: dict[str, Refund] = field(default_factory=dict)
    has_refunds: bool = False  # the map already holds refund totals (the first refund creates them)


def _to_receipt(merchant_id: str, receipt_id: str, item: GuardItem) -> Receipt | None:
    facts: dict[str, Any] = item.receipt.as_dict() if item.receipt else {}
    if not facts:
        return None  # counted before receipts kept their sale: nothing to reverse against
    refunds = {refund_id: Refund(int(data["amount"]), int(data["pointsReversed"]), int(data["balance"]))
               for refund_id, data in (facts.get("refunds") or {}).items()}
    return Receipt(
        merchant_id=merchant_id, receipt_id=receipt_id, member_id=facts.get("memberId") or item.owner_id,
        location_id=facts.get("locationId"), scan_id=facts.get("scanId") or item.ref,
        sale_amount=int(facts.get("saleAmount") or 0), reversible_points=int(facts.get("reversiblePoints") or 0),
        earned_month=facts.get("earnedMonth"), refunded_amount=int(facts.get("refundedAmount") or 0),
        reversed_points=int(facts.get("reversedPoints") or 0), refunds=refunds,
        has_refunds="refundedAmount" in facts)


def get_receipt(merchant_id: str, receipt_id: str,
                record_id: str | None = None) -> tuple[Receipt | None, replies.StoredReply | None]:
    """The receipt as counted and refunded so far (None when the merchant counted no such receipt); with
    ``record_id``, an exactly-once request's kept reply comes in the same round trip."""
    key = keys.receipt_guard(merchant_id, receipt_id)
    if record_id is None:
        try:
            item, stored = GuardItem.get(*key, consistent_read=True), None
        except DoesNotExist:
            item, stored = None, None
    else:
        item, stored = replies.batch_get_with_reply(key, record_id)
    receipt = _to_receipt(merchant_id, receipt_id, item) if isinstance(item, GuardItem) else None
    return receipt, stored


def refund_update(receipt: Receipt, refund_id: str, refund: Refund) -> ConditionalUpdate:
    """The receipt's new refund totals and this refund, applied only while the totals are still those read."""
    receipt_map = GuardItem.receipt
    entry = {"amount": refund.amount, "pointsReversed": refund.points_reversed, "balance": refund.balance}
    actions = [receipt_map["refundedAmount"].set(receipt.refunded_amount + refund.amount),
               receipt_map["reversedPoints"].set(receipt.reversed_points + refund.points_reversed)]
    if receipt.has_refunds:
        actions.append(receipt_map["refunds"][refund_id].set(entry))
        condition = ((receipt_map["refundedAmount"] == receipt.refunded_amount)
                     & (receipt_map["reversedPoints"] == receipt.reversed_points)
                     & receipt_map["refunds"][refund_id].does_not_exist())
    else:
        actions.append(receipt_map["refunds"].set({refund_id: entry}))
        condition = receipt_map["refundedAmount"].does_not_exist() & receipt_map["saleAmount"].exists()
    return ConditionalUpdate(GuardItem(*keys.receipt_guard(receipt.merchant_id, receipt.receipt_id)), actions, TAG,
                             condition)
