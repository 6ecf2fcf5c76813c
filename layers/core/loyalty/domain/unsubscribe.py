"""Unsubscribe links: a token signed for one member and channel (pure)."""

from __future__ import annotations

import base64
import hashlib
import hmac


class InvalidToken(Exception):
    """Not a token this server signed."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _signature(merchant_id: str, member_id: str, channel: str, key: bytes) -> str:
    message = f"unsubscribe|{merchant_id}|{member_id}|{channel}".encode()
    return _b64(hmac.new(key, message, hashlib.sha256).digest()[:16])


def token_for(merchant_id: str, member_id: str, channel: str, key: bytes) -> str:
    return f"{merchant_id}.{member_id}.{channel}.{_signature(merchant_id, member_id, channel, key)}"


def read(token: str, key: bytes) -> tuple[str, str, str]:
    parts = token.split(".") if isinstance(token, str) and token.isascii() else []
    if len(parts) != 4 or not all(parts):
        raise InvalidToken()
    merchant_id, member_id, channel, signature = parts
    if not hmac.compare_digest(signature, _signature(merchant_id, member_id, channel, key)):
        raise InvalidToken()
    return merchant_id, member_id, channel
