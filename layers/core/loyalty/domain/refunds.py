"""Refunds reverse a sale's non-visit points in proportion to the money refunded (pure).

The reversal is computed on the running total, not per refund: after refunds totalling R of a sale of S
that earned P reversible points, exactly floor(P * R / S) have been reversed, whatever the split. Rounding
each refund on its own would drift (three refunds of a third would reverse less than P).
"""

from __future__ import annotations

from loyalty.domain.errors import RefundTooLarge, ValidationFailed

MAX_REFUNDS_PER_RECEIPT = 100  # the refunds live on the receipt's guard item, which must stay small


def points_to_reverse(reversible_points: int, sale_amount: int, refunded_before: int, reversed_before: int,
                      refund_amount: int) -> int:
    """The points this refund reverses: floor(P * (R_before + r) / S) - reversed_before.

    Refuses an amount of zero or less, or more than what remains of the sale (S - R_before)."""
    if refund_amount <= 0:
        raise ValidationFailed.field("amount", "A refund is a positive amount in minor units.")
    remaining = sale_amount - refunded_before
    if refund_amount > remaining:
        raise RefundTooLarge(f"Only {max(0, remaining)} of this sale remains to refund.",
                             details=[{"field": "amount", "remaining": max(0, remaining),
                                       "message": "More than what remains of the sale."}])
    if sale_amount <= 0 or reversible_points <= 0:
        return 0
    return reversible_points * (refunded_before + refund_amount) // sale_amount - reversed_before
