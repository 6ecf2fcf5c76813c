"""Finding members: by their card token, or for staff by token or id within the staff's merchant."""

from __future__ import annotations

from loyalty.domain.errors import InvalidMemberToken, NotFound
from loyalty.domain.model import LedgerEntry, Member
from loyalty.domain.tokens import member_token_matches, parse_member_token
from loyalty.store import members as store


def load_by_token(token: str) -> Member:
    member_id, secret = parse_member_token(token)
    return _holder_of(secret, store.get_member(member_id))


def load_with_history_by_token(token: str, history: int) -> tuple[Member, list[LedgerEntry]]:
    """The member and its newest ledger entries, consistent with each other (one read)."""
    member_id, secret = parse_member_token(token)
    member, entries = store.member_with_history(member_id, history)
    return _holder_of(secret, member), entries


def _holder_of(secret: str, member: Member | None) -> Member:
    if member is None or not member_token_matches(secret, member.token_hash):
        raise InvalidMemberToken()
    return member


def load_for_merchant(merchant_id: str, *, member_token: str | None = None, member_id: str | None = None) -> Member:
    """Staff and owners: the member must belong to their merchant; otherwise it does not exist."""
    if member_token:
        member = load_by_token(member_token)
    else:
        member = store.get_member(member_id or "")
        if member is None:
            raise NotFound("No such member.")
    if member.merchant_id != merchant_id:
        raise NotFound("No such member.")
    return member
