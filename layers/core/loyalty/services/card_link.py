"""A member who lost her card asks for its link; the link's one-time code opens her card on a new phone.

The request always gets the same 202, whether or not the phone or email has a card here, and is rate limited
per client address, per merchant and per contact. Only when the contact is a member's own does it write a
transactional message (outbox, then the sender), to that contact and no other. The message carries a link with
a one-time code in its fragment (never sent to a server, so never in an access log); the card page exchanges the
code for a new card token. Nothing changes on the card until then: a stranger asking for someone's link cannot
switch her card off, only send her a message she can ignore.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loyalty import telemetry
from loyalty.domain import card_link, ids, tokens
from loyalty.domain.access import Caller
from loyalty.domain.errors import ConcurrentUpdate, NotFound, ValidationFailed
from loyalty.domain.identity import normalize_email, normalize_phone
from loyalty.domain.messages import EMAIL, SMS, TRANSACTIONAL, Content, Message
from loyalty.domain.model import Member, Merchant
from loyalty.replies.members import CardLinkAccepted, NewCard
from loyalty.server_keys import signing_key
from loyalty.services import clock, limits, outbox
from loyalty.services.member_plan import with_member_retries
from loyalty.services.merchants import load_merchant
from loyalty.store import keys
from loyalty.store import members as store
from loyalty.store.transaction import ConditionFailed, TransientConflict

if TYPE_CHECKING:
    from loyalty.requests.members import CardLinkOpening, CardLinkRequest

_EXPIRED = "This link has expired or was already used. Ask for a new one on the card page."
_MINUTES = int(card_link.LIFETIME.total_seconds() // 60)
_WORDS = {
    "en": {"subject": "Your {merchant} loyalty card",
           "body": "{merchant}: open your loyalty card here: {link}\nThe link works once, for {minutes} minutes. "
                   "If you did not ask for it, ignore this message."},
    "pl": {"subject": "Twoja karta lojalnościowa {merchant}",
           "body": "{merchant}: otwórz swoją kartę lojalnościową: {link}\nLink działa raz, przez {minutes} minut. "
                   "Jeśli nie prosisz o niego, zignoruj tę wiadomość."},
}


def request_card_link(caller: Caller, merchant_id: str, request: CardLinkRequest) -> CardLinkAccepted:
    merchant = load_merchant(merchant_id)
    channel, contact = _contact(request)
    now = clock.now()
    member = _member_with(merchant_id, channel, contact)
    message = _message(merchant, member, channel, now) if member else None
    quota = limits.quota(limits.CARD_LINK, merchant_id, caller.source_ip, now, contact=contact)
    for _ in range(4):
        try:
            store.count_with_message(quota.counters, message)
            break
        except ConditionFailed as lost:
            refused = quota.refusal(lost, now)
            if refused:
                telemetry.count("CardLinksRateLimited")
                raise refused from lost
            raise
        except TransientConflict:
            continue  # another request added to the same counter shard at the same moment
    else:
        raise ConcurrentUpdate()
    if message:
        outbox.dispatch([message.message_id])
        telemetry.count("CardLinksSent")
    return CardLinkAccepted()


def open_card_link(merchant_id: str, request: CardLinkOpening) -> NewCard:
    """A new card token for the member the code was made for; the code, and the old token, stop working."""
    member_id = card_link.member_of(request.code)
    if member_id is None:
        raise NotFound(_EXPIRED)

    def build(member: Member) -> NewCard:
        if member.merchant_id != merchant_id or not card_link.is_valid(
                signing_key(), request.code, merchant_id, member.token_hash, clock.now()):
            raise NotFound(_EXPIRED)
        token = tokens.new_member_token(member.member_id)
        store.commit([store.MemberUpdate(member.member_id, expected_rev=member.rev,
                                         set={"token_hash": token.hash})])
        telemetry.count("CardLinksOpened")
        return NewCard(member_id=member.member_id, member_token=token.value)

    return with_member_retries(lambda: _existing(member_id), build)


def _contact(request: CardLinkRequest) -> tuple[str, str]:
    if bool(request.phone) == bool(request.email):
        message = "Enter either the phone number or the email you joined with."
        raise ValidationFailed(message, details=[{"field": "phone", "message": message},
                                                 {"field": "email", "message": message}])
    return (SMS, normalize_phone(request.phone)) if request.phone else (EMAIL, normalize_email(request.email))


def _member_with(merchant_id: str, channel: str, contact: str) -> Member | None:
    """The member whose own contact this is (the guard says who holds it; the member item must still have it)."""
    key = keys.phone_guard(merchant_id, contact) if channel == SMS else keys.email_guard(merchant_id, contact)
    guard = store.get_guard(key)
    member = store.get_member(guard.owner_id) if guard else None
    on_file = member and (member.phone if channel == SMS else member.email)
    return member if member and member.merchant_id == merchant_id and on_file == contact else None


def _message(merchant: Merchant, member: Member, channel: str, now) -> Message:
    code = card_link.code_for(signing_key(), merchant.merchant_id, member.member_id, member.token_hash, now)
    words = _WORDS.get(member.language or "", _WORDS["en"])
    values = {"merchant": merchant.name, "link": f"{outbox.card_link(merchant.merchant_id)}#card={code}",
              "minutes": _MINUTES}
    content = Content(subject=words["subject"].format(**values) if channel == EMAIL else None,
                      body=words["body"].format(**values))
    return Message(message_id=ids.new_id("msg"), merchant_id=merchant.merchant_id, member_id=member.member_id,
                   purpose=TRANSACTIONAL, contents={channel: content}, created_at=now)


def _existing(member_id: str) -> Member:
    member = store.get_member(member_id)
    if member is None:
        raise NotFound(_EXPIRED)
    return member
