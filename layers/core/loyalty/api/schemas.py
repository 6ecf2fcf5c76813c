"""Request bodies: what each route accepts. Unknown fields are refused, so typos do not pass silently."""

from __future__ import annotations

from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from loyalty.domain.program import Program


class Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              str_strip_whitespace=True)


def _timezone(value: str | None) -> str | None:
    if value is None:
        return None
    if value not in _timezones():
        raise ValueError("Use an IANA timezone such as Europe/Warsaw.")
    ZoneInfo(value)
    return value


_TZ_CACHE: set[str] = set()


def _timezones() -> set[str]:
    if not _TZ_CACHE:
        _TZ_CACHE.update(available_timezones())
    return _TZ_CACHE


class CreateMerchant(Body):
    name: str = Field(min_length=1, max_length=100)
    timezone: str = Field(examples=["Europe/Warsaw"])
    currency: str = Field(pattern=r"^[A-Za-z]{3}$", examples=["PLN"])
    program: Program | None = None

    _tz = field_validator("timezone")(_timezone)


class CreateLocation(Body):
    name: str = Field(min_length=1, max_length=100)
    timezone: str | None = None

    _tz = field_validator("timezone")(_timezone)


class CreateApiKey(Body):
    role: Literal["staff"]
    location_ids: list[str] = Field(min_length=1, max_length=50)


class Consent(Body):
    sms: bool = False
    email: bool = False


class Enroll(Body):
    phone: str | None = Field(default=None, max_length=32, examples=["+48600100200"])
    email: str | None = Field(default=None, max_length=254)
    name: str | None = Field(default=None, max_length=80)
    birthday: date | None = None
    consent: Consent = Field(default_factory=Consent)
    referral_code: str | None = Field(default=None, max_length=20)

    @field_validator("birthday")
    @classmethod
    def _past(cls, value: date | None) -> date | None:
        if value is not None and not (date(1900, 1, 1) <= value <= date.today()):
            raise ValueError("Birthday must be a past date.")
        return value


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


class Claim(Body):
    reward_id: str = Field(min_length=1, max_length=40)


class Redeem(Body):
    code: str | None = Field(default=None, max_length=20)
    member_token: str | None = Field(default=None, max_length=200)
    member_id: str | None = Field(default=None, max_length=64)
    reward_id: str | None = Field(default=None, max_length=40)
    location_id: str | None = Field(default=None, max_length=64)
