"""Replies of merchant administration: merchants, locations, API keys, counter codes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from loyalty.domain.model import ApiKey as ApiKeyRecord
from loyalty.domain.model import Location as LocationRecord
from loyalty.domain.program import Program
from loyalty.replies.base import Instant, Reply

if TYPE_CHECKING:
    from loyalty.domain.sending import MessagingSettings as MessagingSettingsRecord


class MerchantCreated(Reply):
    """A new merchant and its owner key, shown this once."""

    merchant_id: str
    name: str
    timezone: str
    currency: str
    api_key: str
    program: Program


class Location(Reply):
    location_id: str
    name: str
    timezone: str

    @classmethod
    def of(cls, location: LocationRecord) -> Location:
        return cls(location_id=location.location_id, name=location.name, timezone=location.timezone)


class LocationList(Reply):
    locations: list[Location]


class StaffKey(Reply):
    """A new staff key, shown this once."""

    api_key_id: str
    api_key: str
    role: Literal["staff"]
    location_ids: list[str]


class OwnerKey(Reply):
    """A new owner key, shown this once; the previous one no longer works."""

    api_key_id: str
    api_key: str
    role: Literal["owner"]


class ApiKeyInfo(Reply):
    """A key as its merchant sees it: never the key itself nor its hash."""

    api_key_id: str
    role: str
    location_ids: list[str]
    created_at: Instant | None
    last_used_at: Instant | None

    @classmethod
    def of(cls, key: ApiKeyRecord) -> ApiKeyInfo:
        return cls(api_key_id=key.api_key_id, role=key.role, location_ids=list(key.location_ids),
                   created_at=key.created_at, last_used_at=key.last_used_at)


class ApiKeyList(Reply):
    api_keys: list[ApiKeyInfo]


class CounterCode(Reply):
    code: str
    url: str
    location_id: str
    valid_from: Instant
    # The previous window is still accepted, so a code shown until validUntil works one window longer.
    valid_until: Instant
    refresh_after_seconds: int


class QuietHours(Reply):
    from_: str = Field(alias="from")
    to: str


class MessagingSettings(Reply):
    sender_name: str | None
    reply_to: str | None
    notify_email: str | None
    max_per_member_per_7_days: int
    quiet_hours: QuietHours

    @classmethod
    def of(cls, settings: MessagingSettingsRecord) -> MessagingSettings:
        return cls(sender_name=settings.sender_name, reply_to=settings.reply_to, notify_email=settings.notify_email,
                   max_per_member_per_7_days=settings.max_per_member_per_7_days,
                   quiet_hours=QuietHours(from_=settings.quiet_hours_from, to=settings.quiet_hours_to))
