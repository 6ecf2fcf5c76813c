"""Request bodies of claiming and redeeming rewards."""

from __future__ import annotations

from pydantic import Field

from loyalty.requests.common import Body


class Claim(Body):
    reward_id: str = Field(min_length=1, max_length=40)


class Redeem(Body):
    code: str | None = Field(default=None, max_length=20)
    member_token: str | None = Field(default=None, max_length=200)
    member_id: str | None = Field(default=None, max_length=64)
    reward_id: str | None = Field(default=None, max_length=40)
    location_id: str | None = Field(default=None, max_length=64)
