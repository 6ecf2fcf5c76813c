"""Request bodies of POS events: a sale or a refund, told apart by ``type``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StrictInt, model_validator

from loyalty.requests.common import Body
from loyalty.requests.scans import MAX_BILL, SaleItem

_ID = {"min_length": 1, "max_length": 100}


class PosMember(Body):
    """Who bought: exactly one of the member's card token (the QR), member id, or phone (E.164)."""

    member_token: str | None = Field(default=None, max_length=200)
    member_id: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32, examples=["+48600100200"])

    @model_validator(mode="after")
    def _exactly_one(self) -> PosMember:
        if sum(value is not None for value in (self.member_token, self.member_id, self.phone)) != 1:
            raise ValueError("Give exactly one of memberToken, memberId or phone.")
        return self


class SaleEvent(Body):
    """A sale at the till: counted like a staff scan with the receipt; the event id makes a resend a no-op."""

    type: Literal["sale"]
    event_id: str = Field(**_ID, description="The till's unique id of this event: a resend is answered as the first")
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When the sale happened at the till (informational: it counts when received)")
    location_id: str = Field(min_length=1, max_length=64)
    receipt_id: str = Field(**_ID)
    member: PosMember
    amount: StrictInt | None = Field(default=None, ge=0, le=MAX_BILL, description="Bill in minor units")
    items: list[SaleItem] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _bill_is_bounded(self) -> SaleEvent:
        if sum(item.amount for item in self.items) > MAX_BILL:
            raise ValueError(f"The items add up to more than {MAX_BILL} minor units.")
        return self


class RefundEvent(Body):
    """Money given back on a counted receipt: reverses its share of the receipt's non-visit points."""

    type: Literal["refund"]
    event_id: str = Field(**_ID, description="The till's unique id of this event: a resend is answered as the first")
    receipt_id: str = Field(**_ID)
    refund_id: str = Field(**_ID, description="The same refund id again is answered as the first, never reversed twice")
    amount: StrictInt = Field(gt=0, le=MAX_BILL, description="Refunded money in minor units")


PosEvent = Annotated[SaleEvent | RefundEvent, Field(discriminator="type")]

__all__ = ["PosEvent", "PosMember", "RefundEvent", "SaleEvent"]
