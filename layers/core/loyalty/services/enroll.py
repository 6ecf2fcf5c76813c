"""Joining the program, and staff looking members up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from loyalty import telemetry
from loyalty.domain import ids, tokens
from loyalty.domain.access import OWNER, PUBLIC, STAFF, Caller, require_merchant
from loyalty.domain.errors import AlreadyMember, ConcurrentUpdate, InvalidReferral, NotFound, ValidationFailed
from loyalty.domain.identity import normalize_email, normalize_phone
from loyalty.domain.model import Member, Merchant
from loyalty.domain.referral import NOT_REWARDED, PENDING, referral_month, referral_refusal, suspicions
from loyalty.replies.cards import Card
from loyalty.replies.members import ExistingMember, Joined, MemberProfile, MemberSummary, ReferralNote
from loyalty.server_keys import signing_key
from loyalty.services import clock, limits, preferences
from loyalty.services.members import load_for_merchant
from loyalty.services.merchants import load_merchant
from loyalty.store import keys
from loyalty.store import members as store
from loyalty.store.transaction import ConditionFailed, TransientConflict

if TYPE_CHECKING:  # the request models are built by the function that parses them, not at every import
    from loyalty.requests.members import Enroll, MemberSearch


@dataclass(frozen=True)
class EnrollResult:
    status: int
    body: Joined | ExistingMember


def enroll(caller: Caller, merchant_id: str, request: Enroll) -> EnrollResult:
    if caller.is_merchant_staff:
        require_merchant(caller, merchant_id, OWNER, STAFF)
    merchant = load_merchant(merchant_id)
    phone = normalize_phone(request.phone) if request.phone else None
    email = normalize_email(request.email) if request.email else None
    if not phone and not email:
        raise ValidationFailed("Enter a phone number or an email address.", details=[
            {"field": "phone", "message": "A phone number or an email address is required."},
            {"field": "email", "message": "A phone number or an email address is required."}])

    existing = _existing_member_id(merchant_id, phone, email)
    if existing:
        return _existing_member_reply(caller, merchant, existing)

    device_hash = tokens.keyed_digest(signing_key(), "device", merchant_id, request.device_id) \
        if request.device_id else None
    referrer_id, referral_note, suspicious = _referral(merchant, request, phone, email, device_hash)
    now = clock.now()
    # Only anonymous joins are limited: staff enrol at the till, with a key.
    quota = limits.quota(limits.JOIN, merchant_id, caller.source_ip, now) if caller.role == PUBLIC else None
    for _ in range(4):
        member_id = ids.new_id("mem")
        token = tokens.new_member_token(member_id)
        member = Member(
            member_id=member_id, merchant_id=merchant_id, token_hash=token.hash, phone=phone, email=email,
            name=request.name, birthday=request.birthday, language=request.language,
            consent_sms=request.consent.sms, consent_email=request.consent.email,
            referral_code=ids.new_referral_code(), created_at=now,
            referred_by=referrer_id if referral_note is None else None,
            referral_status=PENDING if referrer_id and referral_note is None else None,
            device_hash=device_hash, referral_reasons=suspicious if referral_note is None else (),
        )
        guards = [store.Guard(keys.referral_code_guard(merchant_id, member.referral_code), member_id, merchant_id,
                              tag="referral_code")]
        if phone:
            guards.append(store.Guard(keys.phone_guard(merchant_id, phone), member_id, merchant_id, tag="phone"))
        if email:
            guards.append(store.Guard(keys.email_guard(merchant_id, email), member_id, merchant_id, tag="email"))
        try:
            consent_log = preferences.consent_given_at_join(member, now, staff=caller.is_merchant_staff)
            store.create_member(member, guards, referrer_id=member.referred_by,
                                counters=quota.counters if quota else (), consent_log=consent_log,
                                timezone=merchant.timezone)
        except ConditionFailed as lost:
            if lost.failed & {"phone", "email"}:  # joined at the same moment from another phone
                existing = _existing_member_id(merchant_id, phone, email)
                if existing:
                    return _existing_member_reply(caller, merchant, existing)
            refused = quota.refusal(lost, now) if quota else None
            if refused:
                telemetry.count("JoinsRateLimited")
                raise refused from lost
            continue  # a code collided: new codes, try again
        except TransientConflict:
            continue  # another join added to the same counter shard at the same moment: try again
        telemetry.count("MembersEnrolled")
        referral = None
        if request.referral_code:
            referral = ReferralNote(status=member.referral_status or NOT_REWARDED, message=referral_note
                                    or "Your friend's invite is noted: you both get a reward on your first visit.")
        return EnrollResult(201, Joined(member_id=member_id, member_token=token.value,
                                        card=Card.of(merchant, member, [], clock.now()), referral=referral))
    raise ConcurrentUpdate()


def _existing_member_id(merchant_id: str, phone: str | None, email: str | None) -> str | None:
    for key in ([keys.phone_guard(merchant_id, phone)] if phone else []) + (
            [keys.email_guard(merchant_id, email)] if email else []):
        guard = store.get_guard(key)
        if guard:
            return guard.owner_id
    return None


def _existing_member_reply(caller: Caller, merchant: Merchant, member_id: str) -> EnrollResult:
    """The public gets no token for an existing identity; the merchant's staff get the member."""
    if not caller.is_merchant_staff:
        raise AlreadyMember()
    member = load_for_merchant(merchant.merchant_id, member_id=member_id)
    return EnrollResult(200, ExistingMember(member_id=member.member_id, member=MemberSummary.of(member),
                                            card=Card.of(merchant, member, [], clock.now())))


def _referral(merchant: Merchant, request: Enroll, phone: str | None, email: str | None,
              device_hash: str | None) -> tuple[str | None, str | None, tuple[str, ...]]:
    """(referrer id, why it will not be rewarded or None, why it will be held for review).

    Unknown codes are a typo worth reporting."""
    code = request.referral_code
    if not code:
        return None, None, ()
    guard = store.get_guard(keys.referral_code_guard(merchant.merchant_id, code.strip().upper()))
    if guard is None:
        raise InvalidReferral("This referral code is not valid here. Check it, or leave it empty.",
                              details=[{"field": "referralCode", "message": "Unknown referral code."}])
    referrer = store.get_member(guard.owner_id)
    if referrer is None:
        raise InvalidReferral(details=[{"field": "referralCode", "message": "Unknown referral code."}])
    month = referral_month(clock.now(), merchant.timezone)
    rewarded = store.referral_count(keys.referral_counter(referrer.member_id, month))
    return (referrer.member_id, referral_refusal(merchant.program, referrer, phone, email, rewarded),
            suspicions(referrer, email, device_hash, request.card_on_device))


def search(caller: Caller, merchant_id: str, request: MemberSearch) -> MemberSummary:
    """The member with this phone (else this email), or 404."""
    require_merchant(caller, merchant_id, OWNER, STAFF)
    phone, email = request.phone, request.email
    if not phone and not email:
        message = "A phone number or an email address is required."
        raise ValidationFailed("Look a member up by phone or by email.",
                               details=[{"field": "phone", "message": message}, {"field": "email", "message": message}])
    member_id = _existing_member_id(merchant_id, normalize_phone(phone) if phone else None,
                                    normalize_email(email) if email else None)
    if member_id is None:
        raise NotFound("No member with this phone number or email address.")
    return MemberSummary.of(load_for_merchant(merchant_id, member_id=member_id))


def profile(caller: Caller, merchant_id: str, member_id: str) -> MemberProfile:
    require_merchant(caller, merchant_id, OWNER, STAFF)
    member = load_for_merchant(merchant_id, member_id=member_id)
    return MemberProfile.of(member, store.recent_ledger(member.member_id, limit=50))
