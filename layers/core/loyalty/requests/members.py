"""Request bodies of joining the program, looking members up and a member changing her preferences."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field, StrictBool

from loyalty.domain.preferences import normalise_birthday, normalise_language
from loyalty.requests.common import Body

# Stored as given once checked: "YYYY-MM-DD", or "MM-DD" for a member who keeps her year to herself.
Birthday = Annotated[str, Field(max_length=10, examples=["1990-05-31", "05-31"]),
                     AfterValidator(lambda value: normalise_birthday(value, date.today()))]
Language = Annotated[str, Field(max_length=5, examples=["pl", "en"]), AfterValidator(normalise_language)]


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
    birthday: Birthday | None = None
    language: Language | None = None
    consent: Consent = Field(default_factory=Consent)
    referral_code: str | None = Field(default=None, max_length=20)
    # Sent by the card page: a random id it keeps per browser (stored only as a keyed hash), and whether this
    # browser held a card here before. Signals that a referral is the referrer again.
    device_id: str | None = Field(default=None, min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    card_on_device: StrictBool = False


class ConsentChoice(Body):
    """Consent per channel; a channel left out keeps its consent."""

    sms: StrictBool | None = None
    email: StrictBool | None = None


class PreferencesChange(Body):
    """The member's own preferences; a field left out is unchanged, ``null`` clears it."""

    name: str | None = Field(default=None, max_length=80)
    phone: str | None = Field(default=None, max_length=32, examples=["+48600100200"])
    email: str | None = Field(default=None, max_length=254)
    birthday: Birthday | None = None
    language: Language | None = None
    consent: ConsentChoice | None = None


class CardLinkRequest(Body):
    """A member who lost her card asks for its link, by the phone or the email she joined with."""

    phone: str | None = Field(default=None, max_length=32, examples=["+48600100200"])
    email: str | None = Field(default=None, max_length=254)


class CardLinkOpening(Body):
    """The one-time code of a card link, as the card page read it from the link."""

    code: str = Field(min_length=1, max_length=120)
