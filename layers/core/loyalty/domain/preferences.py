"""A member's preferences: birthday, language and consent per channel, and the log of consent changes (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

SMS = "sms"
EMAIL = "email"
CHANNELS = (SMS, EMAIL)
LANGUAGES = ("pl", "en")

# Where a consent change came from, as the consent log records it.
JOIN_FORM = "join_form"          # the public join form
STAFF = "staff"                  # staff or the owner enrolled the member or changed it
MEMBER = "member"                # the member, on the card's preferences screen
UNSUBSCRIBE_LINK = "unsubscribe_link"
IMPORT = "import"                # reserved for imported members
SOURCES = (JOIN_FORM, STAFF, MEMBER, UNSUBSCRIBE_LINK, IMPORT)

_BIRTHDAY = re.compile(r"^(?:(\d{4})-)?(\d{2})-(\d{2})$")
_LEAP_YEAR = 2000  # a birthday without a year is checked against a leap year, so 29 February is allowed


def normalise_birthday(value: str, today: date) -> str:
    """``MM-DD`` or ``YYYY-MM-DD`` as given, checked: a real day of the year (29 February too), and with a year,
    a real date between 1900 and today. Raises ValueError with a sentence a person understands."""
    match = _BIRTHDAY.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError("Use MM-DD or YYYY-MM-DD, for example 05-31 or 1990-05-31.")
    year, month, day = match.groups()
    try:
        born = date(int(year or _LEAP_YEAR), int(month), int(day))
    except ValueError:
        raise ValueError("This day does not exist.") from None
    if year is None:
        return f"{month}-{day}"
    if not date(1900, 1, 1) <= born <= today:
        raise ValueError("Birthday must be a past date.")
    return born.isoformat()


def normalise_language(value: str) -> str:
    language = value.strip().lower() if isinstance(value, str) else ""
    if language not in LANGUAGES:
        raise ValueError(f"Use one of: {', '.join(LANGUAGES)}.")
    return language


@dataclass(frozen=True, kw_only=True)
class ConsentChange:
    """One entry of a member's consent log: a channel's consent given or withdrawn."""

    change_id: str
    member_id: str
    merchant_id: str
    channel: str
    granted: bool
    at: datetime
    source: str


def consent_changes(current: dict[str, bool], wanted: dict[str, bool | None]) -> dict[str, bool]:
    """The channels whose consent really changes (channel -> new value): asking for the state a channel is
    already in changes nothing and logs nothing, so a repeated unsubscribe is a no-op."""
    return {channel: bool(value) for channel, value in wanted.items()
            if channel in CHANNELS and value is not None and bool(value) != bool(current.get(channel))}
