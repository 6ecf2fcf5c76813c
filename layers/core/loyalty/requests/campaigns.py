"""Request bodies of creating and editing campaigns; the rules that need the program are in domain/campaigns.py."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from loyalty.requests.common import Body

CampaignType = Literal["birthday", "anniversary", "welcome", "winback", "expiring_points", "broadcast"]
Channel = Literal["email", "sms"]


class MessageText(Body):
    subject: str | None = Field(default=None, max_length=200)
    body: str = Field(min_length=1, max_length=5_000)


class CampaignOffer(Body):
    """A reward voucher valid for some days, or bonus points."""

    reward_id: str | None = Field(default=None, min_length=1, max_length=40)
    validity_days: int | None = Field(default=None, ge=1, le=365)
    bonus_points: int | None = Field(default=None, ge=1, le=100_000)


class CreateCampaign(Body):
    name: str = Field(min_length=1, max_length=80)
    type: CampaignType
    trigger: dict[str, Any] = Field(default_factory=dict, examples=[{"daysBefore": 7}])
    offer: CampaignOffer | None = None
    channels: list[Channel] = Field(min_length=1, max_length=2)
    message: dict[Channel, MessageText]
    send_at: str | None = Field(default=None, max_length=5, examples=["10:00"])
    status: Literal["active", "paused"] = "active"


class EditCampaign(Body):
    """Any of a campaign's fields; ``status`` pauses or resumes it."""

    name: str | None = Field(default=None, min_length=1, max_length=80)
    trigger: dict[str, Any] | None = None
    offer: CampaignOffer | None = None
    channels: list[Channel] | None = Field(default=None, min_length=1, max_length=2)
    message: dict[Channel, MessageText] | None = None
    send_at: str | None = Field(default=None, max_length=5)
    status: Literal["active", "paused"] | None = None
