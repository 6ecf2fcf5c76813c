"""Request body of a scan (member or staff mode)."""

from __future__ import annotations

from pydantic import Field, StrictInt, model_validator

from loyalty.requests.common import Body

MAX_BILL = 100_000_000  # minor units: one million in a two-decimal currency


class SaleItem(Body):
    sku: str = Field(min_length=1, max_length=64)
    category: str | None = Field(default=None, min_length=1, max_length=64,
                                 description="The item's category (counts toward the member's favourites)")
    quantity: StrictInt = Field(default=1, ge=1, le=1000)
    amount: StrictInt = Field(ge=0, le=MAX_BILL, description="Line total in minor units")


class Scan(Body):
    """Member mode: ``counterCode`` with X-Member-Token. Staff mode: a member, ``locationId`` and the bill."""

    counter_code: str | None = Field(default=None, max_length=300)
    member_token: str | None = Field(default=None, max_length=200)
    member_id: str | None = Field(default=None, max_length=64)
    location_id: str | None = Field(default=None, max_length=64)
    amount: StrictInt | None = Field(default=None, ge=0, le=MAX_BILL, description="Bill in minor units")
    items: list[SaleItem] = Field(default_factory=list, max_length=200)
    receipt_id: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _bill_is_bounded(self) -> Scan:
        if sum(item.amount for item in self.items) > MAX_BILL:
            raise ValueError(f"The items add up to more than {MAX_BILL} minor units.")
        return self
