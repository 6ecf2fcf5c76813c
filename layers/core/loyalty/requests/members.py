"""Request body of joining the program."""

from __future__ import annotations

from datetime import date

from pydantic import Field, StrictBool, field_validator

from loyalty.requests.common import Body


class Consent(Body):
    sms: StrictBool = False
    email: StrictBool = False


class MemberSearch(Body):
    """Staff look a member up by a contact kept out of URLs (and so out of access logs)."""

    phone: str | None = Field(default=None, max_length=32, examples=["+48600100200"])
    email: str | None = Field(default=None, max_length=254)


class Enroll(Body):
    phone: str | None = Field(default=None, max_length=32, examples=["+48600100200"])
    email: str | None = Field(default=None, max_length=254)
    name: str | None = Field(default=None, max_length=80)
    birthday: date | None = None
    consent: Consent = Field(default_factory=Consent)
    referral_code: str | None = Field(default=None, max_length=20)
    # Sent by the card page: a random id it keeps per browser (stored only as a keyed hash), and whether this
    # browser held a card here before. Signals that a referral is the referrer again.
    device_id: str | None = Field(default=None, min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    card_on_device: StrictBool = False

    @field_validator("birthday")
    @classmethod
    def _past(cls, value: date | None) -> date | None:
        if value is not None and not (date(1900, 1, 1) <= value <= date.today()):
            raise ValueError("Birthday must be a past date.")
        return value
