"""A new card QR for a member who lost the old one: the old token stops working at once."""

from __future__ import annotations

from loyalty import telemetry
from loyalty.domain import tokens
from loyalty.domain.access import OWNER, STAFF, Caller, require_merchant
from loyalty.replies.members import NewCard
from loyalty.services.members import load_for_merchant
from loyalty.store import members as store


def reissue_card(caller: Caller, merchant_id: str, member_id: str) -> NewCard:
    """Only the new token's hash is kept; the revision bump makes in-flight writes planned with the old one retry
    (and then fail the token check)."""
    require_merchant(caller, merchant_id, OWNER, STAFF)
    member = load_for_merchant(merchant_id, member_id=member_id)
    token = tokens.new_member_token(member.member_id)
    store.commit([store.MemberUpdate(member.member_id, set={"token_hash": token.hash}, tag="card")])
    telemetry.count("CardsReissued")
    return NewCard(member_id=member.member_id, member_token=token.value)
