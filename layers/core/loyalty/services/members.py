"""Finding members: by their card token, or for staff by token or id within the staff's merchant."""

from __future__ import annotations

from collections.abc import Callable

from loyalty.domain.access import Caller, require_member
from loyalty.domain.errors import InvalidMemberToken, NotFound
from loyalty.domain.identity import normalize_phone
from loyalty.domain.model import LedgerEntry, Member
from loyalty.domain.preferences import ConsentChange
from loyalty.domain.tokens import member_token_matches, parse_member_token
from loyalty.services.exactly_once import ExactlyOnce
from loyalty.store import keys
from loyalty.store import members as store
from loyalty.store import privacy as privacy_store


def _read_member(member_id: str, once: ExactlyOnce | None) -> Member | None:
    """The member; with an Idempotency-Key not yet looked up, its record comes in the same round trip."""
    if once is None or once.checked:
        return store.get_member(member_id)
    member, stored = store.get_member_with_reply(member_id, once.record_id)
    once.found(stored)
    return member


def load_by_token(token: str, once: ExactlyOnce | None = None) -> Member:
    member_id, secret = parse_member_token(token)
    return _holder_of(secret, _read_member(member_id, once))


def load_with_history_by_token(token: str, history: int) -> tuple[Member, list[LedgerEntry]]:
    """The member and its newest ledger entries, consistent with each other (one read)."""
    member_id, secret = parse_member_token(token)
    member, entries = store.member_with_history(member_id, history)
    return _holder_of(secret, member), entries


def load_with_consent_log_by_token(token: str, log_length: int) -> tuple[Member, list[ConsentChange]]:
    """The member and its newest consent changes (one read)."""
    member_id, secret = parse_member_token(token)
    member, log = store.member_with_consent_log(member_id, log_length)
    return _holder_of(secret, member), log


def records_by_token(token: str) -> privacy_store.MemberRecords:
    """Everything under the member's partition (an export or an erase), read page by page."""
    member_id, secret = parse_member_token(token)
    records = privacy_store.member_records(member_id)
    _holder_of(secret, records.member)
    return records


def _holder_of(secret: str, member: Member | None) -> Member:
    if member is None or not member_token_matches(secret, member.token_hash):
        raise InvalidMemberToken()
    return member


def own_member(caller: Caller) -> Callable[[], Member]:
    """Loads a member caller's own member: first the one read while the request was screened, then a
    fresh read each time (a retry after a lost race must see the current state)."""
    token = require_member(caller)
    screened = [caller.member] if caller.member is not None else []
    return lambda: screened.pop() if screened else load_by_token(token)


def load_for_merchant(merchant_id: str, *, member_token: str | None = None, member_id: str | None = None,
                      once: ExactlyOnce | None = None) -> Member:
    """Staff and owners: the member must belong to their merchant; otherwise it does not exist."""
    if member_token:
        member = load_by_token(member_token, once)
    else:
        member = _read_member(member_id or "", once)
        if member is None:
            raise NotFound("No such member.")
    if member.merchant_id != merchant_id or member.erased_at is not None:  # an erased member is no one's
        raise NotFound("No such member.")
    if once is not None:
        once.raise_if_answered()
    return member


def member_id_by_phone(merchant_id: str, phone: str) -> str:
    """The merchant's member who joined with this phone (normalised as enrolment does), through its identity guard."""
    guard = store.get_guard(keys.phone_guard(merchant_id, normalize_phone(phone)))
    if guard is None or guard.merchant_id != merchant_id:
        raise NotFound("No member with this phone number.")
    return guard.owner_id
