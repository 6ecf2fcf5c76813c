"""POS events: a till reports sales (counted like a staff scan) and refunds (reversing the sale's points).

The request was signed with the POS key's secret (checked while it was screened, api/auth.py). Each event
is done once per merchant and event id: a resend gets the first reply, read with the member or the receipt
in the same round trip, and nothing is written twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loyalty import telemetry
from loyalty.domain.access import POS, Caller, require_location, require_merchant
from loyalty.domain.awards import format_money
from loyalty.domain.errors import NotFound, ValidationFailed
from loyalty.domain.model import LedgerLine, Member, Merchant
from loyalty.domain.refunds import MAX_REFUNDS_PER_RECEIPT, points_to_reverse
from loyalty.replies.base import Reply
from loyalty.replies.pos import RefundResult
from loyalty.services import clock
from loyalty.services.exactly_once import ExactlyOnce
from loyalty.services.member_plan import MemberPlan, with_member_retries
from loyalty.services.members import load_for_merchant, member_id_by_phone
from loyalty.services.merchants import load_merchant, location_of
from loyalty.services.scan import sale_scan
from loyalty.store import receipts
from loyalty.store.transaction import ConditionFailed

if TYPE_CHECKING:  # the request models are built by the function that parses them, not at every import
    from loyalty.requests.pos import RefundEvent, SaleEvent

ROUTE = "POST /v1/merchants/{merchantId}/pos/events"


def event_once(merchant_id: str, event_id: str, body: object) -> ExactlyOnce:
    """The event's exactly-once identity: scoped to the merchant, so two merchants' event ids never meet."""
    return ExactlyOnce.for_event(f"pos:{merchant_id}", ROUTE, event_id, body)


def _pos_merchant(caller: Caller, merchant_id: str) -> Merchant:
    require_merchant(caller, merchant_id, POS)
    return load_merchant(merchant_id)


def record_sale(caller: Caller, merchant_id: str, event: SaleEvent, once: ExactlyOnce | None) -> Reply:
    """The staff scan's reply; the POS key's locations scope the sale's location."""
    merchant = _pos_merchant(caller, merchant_id)
    if location_of(merchant, event.location_id) is None:
        raise NotFound("No such location.")
    require_location(caller, event.location_id)
    who = event.member
    member_id = member_id_by_phone(merchant_id, who.phone) if who.phone else who.member_id

    def load() -> Member:
        return load_for_merchant(merchant_id, member_token=who.member_token, member_id=member_id, once=once)

    reply = sale_scan(merchant, load, event.location_id, amount=event.amount, items=event.items,
                      receipt_id=event.receipt_id, once=once)
    telemetry.count("PosSales")
    return reply


class _Known(Exception):
    """This refund id was recorded before: its reply is on the receipt."""

    def __init__(self, reply: RefundResult) -> None:
        super().__init__("refund recorded before")
        self.reply = reply


def record_refund(caller: Caller, merchant_id: str, event: RefundEvent, once: ExactlyOnce | None) -> RefundResult:
    """Reverse the receipt's share of non-visit points; the member change, its ledger entry and the receipt's
    refund totals in one transaction, conditioned on the member and on the totals the share was computed from.

    Round trips: the receipt (with the event's kept reply), the member, the transaction."""
    merchant = _pos_merchant(caller, merchant_id)
    read: dict[str, receipts.Receipt] = {}

    def load() -> Member:
        record_id = once.record_id if once is not None and not once.checked else None
        receipt, stored = receipts.get_receipt(merchant_id, event.receipt_id, record_id)
        if once is not None and record_id is not None:
            once.found(stored)
            once.raise_if_answered()
        if receipt is None:
            raise NotFound("No such receipt.",
                           details=[{"field": "receiptId", "message": "No sale was counted with this receipt."}])
        if receipt.location_id:
            require_location(caller, receipt.location_id)
        known = receipt.refunds.get(event.refund_id)
        if known is not None:
            raise _Known(RefundResult(refund_id=event.refund_id, points_reversed=known.points_reversed,
                                      balance=known.balance))
        if len(receipt.refunds) >= MAX_REFUNDS_PER_RECEIPT:
            raise ValidationFailed.field("receiptId", f"A receipt takes at most {MAX_REFUNDS_PER_RECEIPT} refunds.")
        read["receipt"] = receipt
        return load_for_merchant(merchant_id, member_id=receipt.member_id)

    def build(member: Member) -> RefundResult:
        receipt = read["receipt"]
        points = points_to_reverse(receipt.reversible_points, receipt.sale_amount, receipt.refunded_amount,
                                   receipt.reversed_points, event.amount)
        now = clock.now()
        plan = MemberPlan(member, now, merchant)
        plan.settle_due()
        label = f"Refund {format_money(event.amount, merchant.currency)}"
        plan.record("refund", [LedgerLine("refund", -points, 0, label)], ref=event.refund_id,
                    location_id=receipt.location_id, spend=-event.amount)
        plan.reverse_earned(points, receipt.earned_month)  # the tier counts points earned net of refunds
        reply = RefundResult(refund_id=event.refund_id, points_reversed=points, balance=plan.member.balance)
        plan.other_items.append(receipts.refund_update(
            receipt, event.refund_id, receipts.Refund(event.amount, points, plan.member.balance)))
        plan.commit(once.record(reply.wire(), now) if once else None)
        telemetry.count("PosRefunds")
        telemetry.count("PointsReversed", points)
        return reply

    def on_conflict(lost: ConditionFailed) -> None:
        if receipts.TAG in lost.failed:
            return  # another refund of this receipt landed first: read its totals and compute again
        raise lost

    try:
        return with_member_retries(load, build, on_conflict)
    except _Known as known:
        return known.reply
