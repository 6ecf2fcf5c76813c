"""One-time card links: a short-lived code, sent to a member's own contact, that opens her card again (pure).

The code is signed for one member, one merchant and the member's current card token (its stored hash), and
carries its expiry. Opening it issues a new token, which changes that hash: the same code never works twice,
and a code is void as soon as staff reissue the card. It holds only an opaque member id, never a contact.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from loyalty.domain.tokens import derive_key

LIFETIME = timedelta(minutes=30)
_SIG_BYTES = 16  # 128-bit truncated HMAC-SHA256
_MAX_CODE_CHARS = 120


def _signature(key: bytes, merchant_id: str, member_id: str, expires: int, token_hash: str) -> str:
    message = f"{member_id}|{expires}|{token_hash}".encode()
    digest = hmac.new(derive_key(key, "card-link", merchant_id), message, hashlib.sha256).digest()[:_SIG_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def code_for(key: bytes, merchant_id: str, member_id: str, token_hash: str, now: datetime) -> str:
    expires = int((now + LIFETIME).timestamp())
    return f"{member_id}.{expires:x}.{_signature(key, merchant_id, member_id, expires, token_hash)}"


def member_of(code: str) -> str | None:
    """The member a well-formed code names (not yet verified), else None."""
    parts = code.split(".") if isinstance(code, str) and code.isascii() and len(code) <= _MAX_CODE_CHARS else []
    return parts[0] if len(parts) == 3 and parts[0].startswith("mem_") else None


def is_valid(key: bytes, code: str, merchant_id: str, token_hash: str, now: datetime) -> bool:
    """Genuine, for this merchant and the member's current token, and not expired."""
    member_id = member_of(code)
    if member_id is None:
        return False
    _, expires_hex, signature = code.split(".")
    try:
        expires = int(expires_hex, 16)
    except ValueError:
        return False
    expected = _signature(key, merchant_id, member_id, expires, token_hash)
    return hmac.compare_digest(expected, signature) and now.timestamp() < expires
