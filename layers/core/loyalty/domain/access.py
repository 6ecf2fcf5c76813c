"""Who is calling, and what each role may touch. Another merchant's things look like missing things."""

from __future__ import annotations

from dataclasses import dataclass, field

from loyalty.domain.errors import Forbidden, NotFound, Unauthorized
from loyalty.domain.model import Member
from loyalty.domain.tokens import hash_secret

ADMIN = "admin"
OWNER = "owner"
STAFF = "staff"
POS = "pos"  # a till system: reports sales and refunds, nothing else
MEMBER = "member"
PUBLIC = "public"


@dataclass(frozen=True)
class Caller:
    role: str
    merchant_id: str | None = None
    location_ids: tuple[str, ...] = ()
    api_key_id: str | None = None
    member_token: str | None = field(default=None, repr=False)
    # The credential as presented (API key, admin token, member token): it seals replies kept for an
    # Idempotency-Key, so that only the same caller can open them. Never stored, never logged.
    credential: str = field(default="", repr=False, compare=False)
    # A POS key's signing secret, sealed as stored (opened only to check a request's signature).
    sealed_signing_secret: str | None = field(default=None, repr=False, compare=False)
    # A member caller's own member, read once while the request was screened.
    member: Member | None = field(default=None, repr=False, compare=False)
    source_ip: str | None = field(default=None, repr=False)  # as API Gateway saw it: for rate limits, never stored

    @property
    def identity(self) -> str:
        """Who this is, for scoping idempotency keys to one caller."""
        if self.api_key_id:
            return f"key:{self.api_key_id}"
        if self.member_token:
            # The whole token, hashed: a replay is only ever served to the holder of the same token.
            return f"member:{hash_secret(self.member_token)[:32]}"
        return self.role

    @property
    def is_merchant_staff(self) -> bool:
        return self.role in (OWNER, STAFF)


def require_admin(caller: Caller) -> None:
    if caller.role == PUBLIC:
        raise Unauthorized()
    if caller.role != ADMIN:
        raise Forbidden("Only the platform administrator may do this.")


def require_merchant(caller: Caller, merchant_id: str, *roles: str) -> None:
    """The caller must be one of ``roles`` of this merchant; another merchant's key gets 404."""
    if caller.role == PUBLIC:
        raise Unauthorized()
    if caller.role == ADMIN:
        raise Forbidden("The administrator token manages merchants; use the merchant's own key.")
    if caller.role == MEMBER:
        raise Forbidden("A member card cannot do this.")
    if caller.merchant_id != merchant_id:
        raise NotFound()
    if caller.role not in roles:
        raise Forbidden("This key's role may not do this.")


def require_location(caller: Caller, location_id: str) -> None:
    if caller.role in (STAFF, POS) and location_id not in caller.location_ids:
        raise Forbidden(f"This {caller.role} key is not valid at this location.")


def require_member(caller: Caller) -> str:
    if caller.role in (ADMIN, OWNER, STAFF):
        raise Forbidden("This is a member's own card route: use the member's X-Member-Token, not an API key.")
    if caller.role != MEMBER or not caller.member_token:
        raise Unauthorized("Show your card: the X-Member-Token header is missing.")
    return caller.member_token
