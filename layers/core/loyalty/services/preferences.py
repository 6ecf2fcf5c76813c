"""A member's preferences: contact details, birthday, language and consent, with the log of consent changes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from loyalty import telemetry
from loyalty.domain import ids
from loyalty.domain.access import Caller, require_member
from loyalty.domain.errors import AlreadyMember, ValidationFailed
from loyalty.domain.identity import normalize_email, normalize_phone
from loyalty.domain.model import Member
from loyalty.domain.preferences import CHANNELS, EMAIL, JOIN_FORM, MEMBER, SMS, STAFF, ConsentChange, consent_changes
from loyalty.replies.members import Preferences
from loyalty.services import clock
from loyalty.services.member_plan import with_member_retries
from loyalty.services.members import load_with_consent_log_by_token, own_member
from loyalty.store import keys
from loyalty.store import members as store

if TYPE_CHECKING:
    from loyalty.requests.members import PreferencesChange

CONSENT_LOG_LENGTH = 20  # the newest changes shown; older ones stay stored (and in an export)
_CONSENT_ATTRIBUTE = {SMS: "consent_sms", EMAIL: "consent_email"}
_IDENTITY_GUARD = {"phone": keys.phone_guard, "email": keys.email_guard}


def consents(member: Member) -> dict[str, bool]:
    return {channel: bool(getattr(member, attribute)) for channel, attribute in _CONSENT_ATTRIBUTE.items()}


def log_entries(member: Member, changes: dict[str, bool], at: datetime, source: str) -> list[ConsentChange]:
    return [ConsentChange(change_id=ids.new_id("con"), member_id=member.member_id, merchant_id=member.merchant_id,
                          channel=channel, granted=granted, at=at, source=source)
            for channel, granted in changes.items()]


def consent_given_at_join(member: Member, at: datetime, *, staff: bool) -> list[ConsentChange]:
    """The consent a new member gave, as the first entries of her log (withheld consent is the default)."""
    given = {channel: True for channel, granted in consents(member).items() if granted}
    return log_entries(member, given, at, STAFF if staff else JOIN_FORM)


def consent_update(member: Member, wanted: dict[str, bool | None], at: datetime,
                   source: str) -> tuple[store.MemberUpdate, list[ConsentChange]]:
    """The member change and its log entries for a consent request; nothing when nothing changes."""
    changes = consent_changes(consents(member), wanted)
    update = store.preferences_update(member, **{_CONSENT_ATTRIBUTE[channel]: granted
                                                 for channel, granted in changes.items()})
    return update, log_entries(member, changes, at, source)


def preferences(caller: Caller) -> Preferences:
    member, log = load_with_consent_log_by_token(require_member(caller), CONSENT_LOG_LENGTH)
    return Preferences.of(member, log)


def change_preferences(caller: Caller, request: PreferencesChange) -> Preferences:
    """Apply the fields the member sent. A new phone or email claims its guard in the same transaction that
    releases the old one, so two members can never hold one contact; a contact held by another member is 409."""
    given = request.model_fields_set
    identities = _new_identities(request, given)

    def build(member: Member) -> None:
        now = clock.now()
        wanted = request.consent.model_dump() if "consent" in given and request.consent else {}
        update, log = consent_update(member, {c: wanted.get(c) for c in CHANNELS}, now, MEMBER)
        update.set.update({name: getattr(request, name) for name in ("name", "birthday", "language")
                           if name in given and getattr(request, name) != getattr(member, name)})
        claimed, released = [], []
        for name, value in identities.items():
            if value == getattr(member, name):
                continue
            update.set[name] = value
            if value is not None:
                claimed.append(store.Guard(_IDENTITY_GUARD[name](member.merchant_id, value), member.member_id,
                                           member.merchant_id, tag=name))
            if getattr(member, name) is not None:
                released.append(store.Guard(_IDENTITY_GUARD[name](member.merchant_id, getattr(member, name)),
                                            member.member_id, member.merchant_id, tag=name))
        remaining = {name: update.set.get(name, getattr(member, name)) for name in ("phone", "email")}
        if not any(remaining.values()):
            raise ValidationFailed("Keep a phone number or an email address, so your card can be found again.",
                                   details=[{"field": name, "message": "A phone number or an email address is "
                                             "required."} for name in ("phone", "email")])
        if update.set:
            store.change_profile(update, log, guards=claimed, released_guards=released)
            telemetry.count("ConsentChanged", len(log))

    with_member_retries(own_member(caller), build, on_conflict=_refuse_taken_identity)
    return preferences(caller)


def _new_identities(request: PreferencesChange, given: set[str]) -> dict[str, Any]:
    identities = {}
    if "phone" in given:
        identities["phone"] = normalize_phone(request.phone) if request.phone else None
    if "email" in given:
        identities["email"] = normalize_email(request.email) if request.email else None
    return identities


def _refuse_taken_identity(lost: store.ConditionFailed) -> None:
    if lost.failed & {"phone", "email"}:
        raise AlreadyMember("This phone number or email already has a card here.",
                            details=[{"field": name, "message": "Already used by another card here."}
                                     for name in sorted(lost.failed & {"phone", "email"})]) from lost
    raise lost
