"""Request body of a scan (member or staff mode)."""

from __future__ import annotations

from pydantic import Field

from loyalty.api.schemas.common import Body


class SaleItem(Body):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=1000)
    amount: int = Field(ge=0, le=100_000_000, description="Line total in minor units")


class Scan(Body):
    """Member mode: ``counterCode`` with X-Member-Token. Staff mode: a member, ``locationId`` and the bill."""

    counter_code: str | None = Field(default=None, max_length=300)
    member_token: str | None = Field(default=None, max_length=200)
    member_id: str | None = Field(default=None, max_length=64)
    location_id: str | None = Field(default=None, max_length=64)
    amount: int | None = Field(default=None, ge=0, le=100_000_000, description="Bill in minor units")
    items: list[SaleItem] = Field(default_factory=list, max_length=200)
    receipt_id: str | None = Field(default=None, min_length=1, max_length=100)
