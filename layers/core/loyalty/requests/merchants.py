"""Request bodies of merchant administration."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from loyalty.domain.program import Program
from loyalty.requests.common import Body, timezone_name


class CreateMerchant(Body):
    name: str = Field(min_length=1, max_length=100)
    timezone: str = Field(examples=["Europe/Warsaw"])
    currency: str = Field(pattern=r"^[A-Za-z]{3}$", examples=["PLN"])
    program: Program | None = None

    _tz = field_validator("timezone")(timezone_name)


class CreateLocation(Body):
    name: str = Field(min_length=1, max_length=100)
    timezone: str | None = None

    _tz = field_validator("timezone")(timezone_name)


class CreateApiKey(Body):
    role: Literal["staff"]
    location_ids: list[str] = Field(min_length=1, max_length=50)
