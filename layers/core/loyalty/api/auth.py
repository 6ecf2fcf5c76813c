"""Who is calling: the admin token, a merchant API key (a POS key with its signature), a member card token, or
nobody."""

from __future__ import annotations

import hmac
from dataclasses import replace

from loyalty.domain import pos_signature, sealing
from loyalty.domain.access import ADMIN, MEMBER, PUBLIC, Caller
from loyalty.domain.errors import InvalidSignature, Unauthorized
from loyalty.domain.tokens import hash_secret, parse_member_token
from loyalty.server_keys import admin_token, signing_key
from loyalty.services import clock
from loyalty.services.exactly_once import ExactlyOnce
from loyalty.services.members import load_by_token
from loyalty.store import merchants as store

SIGNATURE_HEADER = "bywalec-signature"


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
        return Caller(key.role, key.merchant_id, key.location_ids, key.api_key_id, credential=secret,
                      sealed_signing_secret=key.sealed_signing_secret)
    member_token = (headers.get("x-member-token") or "").strip()
    if member_token:
        parse_member_token(member_token)  # a malformed token is refused without a read
        return Caller(MEMBER, member_token=member_token, credential=member_token, source_ip=source_ip)
    return Caller(PUBLIC, source_ip=source_ip)


def verify_signature(caller: Caller, headers: dict[str, str], raw_body: bytes) -> None:
    """A POS key's request must carry its Bywalec-Signature over the raw body (InvalidSignature otherwise)."""
    if not caller.sealed_signing_secret or not caller.api_key_id:
        raise InvalidSignature()
    key = sealing.signing_secret_key(signing_key(), caller.credential)
    try:
        secret = sealing.unseal(key, caller.sealed_signing_secret, caller.api_key_id)
    except ValueError as exc:  # sealed under another server key: the key must be replaced
        raise InvalidSignature("This POS key's signing secret cannot be used any more; create a new key.") from exc
    pos_signature.verify(secret, headers.get(SIGNATURE_HEADER), raw_body, clock.now().timestamp())


def authenticate_member(caller: Caller, once: ExactlyOnce | None) -> Caller:
    """A forged or unknown member token is 401 before any route runs. The member read here is handed to
    the route's service, so checking costs no extra round trip; with an Idempotency-Key the request's
    record comes in the same read."""
    return replace(caller, member=load_by_token(caller.member_token or "", once))
