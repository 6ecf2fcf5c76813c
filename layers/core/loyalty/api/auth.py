"""Who is calling: the admin token, a merchant API key, a member card token, or nobody."""

from __future__ import annotations

import hmac

from loyalty.domain.access import ADMIN, MEMBER, PUBLIC, Caller
from loyalty.domain.errors import Unauthorized
from loyalty.domain.tokens import hash_secret
from loyalty.secrets import admin_token
from loyalty.store import merchants as store


def resolve_caller(headers: dict[str, str], source_ip: str | None = None) -> Caller:
    authorization = (headers.get("authorization") or "").strip()
    if authorization:
        scheme, _, secret = authorization.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret or len(secret) > 200:
            raise Unauthorized("Use 'Authorization: Bearer <api key>'.")
        expected_admin = admin_token()
        if expected_admin and hmac.compare_digest(secret.encode(), expected_admin.encode()):
            return Caller(ADMIN, api_key_id="admin")
        key = store.get_api_key(hash_secret(secret))
        if key is None:
            raise Unauthorized("Unknown API key.")
        return Caller(key.role, key.merchant_id, key.location_ids, key.api_key_id)
    member_token = (headers.get("x-member-token") or "").strip()
    if member_token:
        return Caller(MEMBER, member_token=member_token, source_ip=source_ip)
    return Caller(PUBLIC, source_ip=source_ip)
