"""Signed counter codes, member tokens and API keys (pure: keys are passed in, time is passed in)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from loyalty.domain.errors import CounterCodeExpired, InvalidCounterCode, InvalidMemberToken

_COUNTER_SIG_BYTES = 16  # 128-bit truncated HMAC-SHA256


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def derive_key(master_key: bytes, purpose: str, merchant_id: str) -> bytes:
    """One key per merchant and purpose, so a leak of one merchant's codes tells nothing of another's."""
    return hmac.new(master_key, f"{purpose}:{merchant_id}".encode(), hashlib.sha256).digest()


def keyed_digest(master_key: bytes, purpose: str, merchant_id: str, value: str) -> str:
    """A value kept only as a keyed hash (client addresses, device ids): an unkeyed hash of an IPv4 address
    is reversed by trying all 2**32 of them."""
    return hmac.new(derive_key(master_key, purpose, merchant_id), value.encode(), hashlib.sha256).hexdigest()[:32]


def hash_secret(secret: str) -> str:
    """Secrets (API keys, member tokens) are stored only as this hash."""
    return hashlib.sha256(secret.encode()).hexdigest()


# --- Counter codes: the QR at the till, rotating every window ---------------------------------------

@dataclass(frozen=True)
class CounterCode:
    merchant_id: str
    location_id: str
    window: int
    code: str

    def valid_from(self, window_seconds: int) -> int:
        return self.window * window_seconds

    def valid_until(self, window_seconds: int) -> int:
        return (self.window + 1) * window_seconds


def _counter_signature(key: bytes, merchant_id: str, location_id: str, window: int) -> str:
    msg = f"{merchant_id}|{location_id}|{window}".encode()
    return _b64(hmac.new(key, msg, hashlib.sha256).digest()[:_COUNTER_SIG_BYTES])


def issue_counter_code(master_key: bytes, merchant_id: str, location_id: str, now: float,
                       window_seconds: int) -> CounterCode:
    window = int(now // window_seconds)
    sig = _counter_signature(derive_key(master_key, "counter", merchant_id), merchant_id, location_id, window)
    return CounterCode(merchant_id, location_id, window, f"{merchant_id}.{location_id}.{window:x}.{sig}")


def verify_counter_code(master_key: bytes, code: str, now: float, window_seconds: int) -> CounterCode:
    """Accept the current window and the previous one (grace); older codes are expired.

    Raises InvalidCounterCode for anything forged, tampered or malformed, CounterCodeExpired for
    a genuine code that is too old.
    """
    # Genuine codes are ASCII; anything else is malformed (and would make compare_digest raise TypeError).
    parts = code.strip().split(".") if isinstance(code, str) and code.isascii() else []
    if len(parts) != 4 or not all(parts):
        raise InvalidCounterCode()
    merchant_id, location_id, window_hex, sig = parts
    try:
        window = int(window_hex, 16)
    except ValueError as exc:
        raise InvalidCounterCode() from exc
    if window_hex != f"{window:x}":  # one spelling per code, so a code is a code
        raise InvalidCounterCode()
    expected = _counter_signature(derive_key(master_key, "counter", merchant_id), merchant_id, location_id, window)
    if not hmac.compare_digest(expected, sig):
        raise InvalidCounterCode()
    current = int(now // window_seconds)
    if window > current:
        raise InvalidCounterCode()
    if window < current - 1:
        raise CounterCodeExpired()
    return CounterCode(merchant_id, location_id, window, code.strip())


# --- Member tokens: the value inside a member's personal card QR -------------------------------------

@dataclass(frozen=True)
class NewSecret:
    value: str  # shown once, to the holder
    hash: str   # what the store keeps


def new_member_token(member_id: str) -> NewSecret:
    secret = secrets.token_urlsafe(18)  # 144 bits
    return NewSecret(f"{member_id}.{secret}", hash_secret(secret))


def parse_member_token(token: str) -> tuple[str, str]:
    """Split a token into (member id, secret); raises InvalidMemberToken when malformed."""
    if not isinstance(token, str) or not token.isascii() or token.count(".") != 1:
        raise InvalidMemberToken()
    member_id, secret = token.strip().split(".")
    if not member_id.startswith("mem_") or len(secret) < 16 or len(token) > 200:
        raise InvalidMemberToken()
    return member_id, secret


def member_token_matches(secret: str, stored_hash: str | None) -> bool:
    return stored_hash is not None and hmac.compare_digest(hash_secret(secret), stored_hash)


# --- API keys ---------------------------------------------------------------------------------------

_KEY_PREFIXES = {"owner": "bw_owner", "staff": "bw_staff", "pos": "bw_pos"}


def new_api_key(role: str) -> NewSecret:
    prefix = _KEY_PREFIXES[role]
    key = f"{prefix}_{secrets.token_urlsafe(24)}"  # 192 bits
    return NewSecret(key, hash_secret(key))


def new_signing_secret() -> str:
    """A POS key's HMAC secret (256 bits): the till signs each event with it."""
    return f"bw_whsec_{secrets.token_urlsafe(32)}"
