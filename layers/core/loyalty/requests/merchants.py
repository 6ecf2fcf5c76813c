"""Request bodies of merchant administration."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictInt, field_validator

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
    """A staff key (scans, redemptions, member look-ups) or a POS key (signed sales and refunds only)."""

    role: Literal["staff", "pos"]
    location_ids: list[str] = Field(min_length=1, max_length=50)


_CLOCK_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"
_ONE_LINE = r"^[^\x00-\x1f\x7f]+$"  # a display name goes into an email header: no line breaks


def _email_address(value: str | None) -> str | None:
    if value is None:
        return None
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc


class QuietHoursWindow(Body):
    """Local times (the merchant's timezone); from after to spans midnight; equal times mean none."""

    from_: str = Field(default="20:00", alias="from", pattern=_CLOCK_TIME, examples=["20:00"])
    to: str = Field(default="09:00", pattern=_CLOCK_TIME, examples=["09:00"])


class UpdateMessagingSettings(Body):
    """The whole settings: a field left out takes its default."""

    sender_name: str | None = Field(default=None, min_length=1, max_length=60, pattern=_ONE_LINE,
                                    description="Shown as the emails' sender; the merchant's name when null.")
    reply_to: str | None = Field(default=None, max_length=254, examples=["hello@cafe.example"])
    notify_email: str | None = Field(default=None, max_length=254, description="Where the owner's alerts go.")
    max_per_member_per_7_days: StrictInt = Field(default=2, ge=1, le=50)
    quiet_hours: QuietHoursWindow = Field(default_factory=QuietHoursWindow)

    _emails = field_validator("reply_to", "notify_email")(_email_address)
