"""Unsubscribe tokens: one member, one channel, signed with the server's key (pure: the key is passed in).

A token is ``base64url(merchant|member|channel)`` and a truncated HMAC of it under a per-merchant key.
It holds only opaque ids, never a phone or an email, and does not expire: an old email's link keeps working.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from loyalty.domain.errors import InvalidToken
from loyalty.domain.messages import CHANNELS
from loyalty.domain.tokens import derive_key

__all__ = ["InvalidToken", "read", "token_for"]

_SIG_BYTES = 16  # 128-bit truncated HMAC-SHA256
_MAX_TOKEN_CHARS = 300


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, merchant_id: str, payload: bytes) -> bytes:
    return hmac.new(derive_key(key, "unsubscribe", merchant_id), payload, hashlib.sha256).digest()[:_SIG_BYTES]


def token_for(merchant_id: str, member_id: str, channel: str, key: bytes) -> str:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if "|" in merchant_id or "|" in member_id:
        raise ValueError("ids may not contain '|'")
    payload = f"{merchant_id}|{member_id}|{channel}".encode()
    return f"{_b64(payload)}.{_b64(_signature(key, merchant_id, payload))}"


def read(token: str, key: bytes) -> tuple[str, str, str]:
    """(merchant_id, member_id, channel) of a genuine token; InvalidToken for anything forged or malformed."""
    if not isinstance(token, str) or not token.isascii() or len(token) > _MAX_TOKEN_CHARS or token.count(".") != 1:
        raise InvalidToken()
    encoded_payload, encoded_sig = token.split(".")
    try:
        payload, sig = _unb64(encoded_payload), _unb64(encoded_sig)
        merchant_id, member_id, channel = payload.decode().split("|")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidToken() from exc
    if channel not in CHANNELS or not merchant_id or not member_id:
        raise InvalidToken()
    if not hmac.compare_digest(_signature(key, merchant_id, payload), sig):
        raise InvalidToken()
    return merchant_id, member_id, channel
