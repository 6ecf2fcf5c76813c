"""Who is calling: the admin token, a merchant API key, a member card token, or nobody."""

from __future__ import annotations

import hmac
from dataclasses import replace

from loyalty.domain.access import ADMIN, MEMBER, PUBLIC, Caller
from loyalty.domain.errors import Unauthorized
from loyalty.domain.tokens import hash_secret, parse_member_token
from loyalty.server_keys import admin_token
from loyalty.services.exactly_once import ExactlyOnce
from loyalty.services.members import load_by_token
from loyalty.store import merchants as store


def resolve_caller(headers: dict[str, str], source_ip: str | None = None) -> Caller:
    """Bearer credentials are checked here; a member token is only checked for shape (see authenticate_member)."""
    authorization = (headers.get("authorization") or "").strip()
    if authorization:
        scheme, _, secret = authorization.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret or len(secret) > 200:
            raise Unauthorized("Use 'Authorization: Bearer <api key>'.")
        expected_admin = admin_token()
        if expected_admin and hmac.compare_digest(secret.encode(), expected_admin.encode()):
            return Caller(ADMIN, api_key_id="admin", credential=secret)
        key = store.get_api_key(hash_secret(secret))
        if key is None:
            raise Unauthorized("Unknown API key.")
        return Caller(key.role, key.merchant_id, key.location_ids, key.api_key_id, credential=secret)
    member_token = (headers.get("x-member-token") or "").strip()
    if member_token:
        parse_member_token(member_token)  # a malformed token is refused without a read
        return Caller(MEMBER, member_token=member_token, credential=member_token, source_ip=source_ip)
    return Caller(PUBLIC, source_ip=source_ip)


def authenticate_member(caller: Caller, once: ExactlyOnce | None) -> Caller:
    """A forged or unknown member token is 401 before any route runs. The member read here is handed to
    the route's service, so checking costs no extra round trip; with an Idempotency-Key the request's
    record comes in the same read."""
    return replace(caller, member=load_by_token(caller.member_token or "", once))
