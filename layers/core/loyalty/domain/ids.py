"""Opaque identifiers and short human-typeable codes."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime, timedelta

# Crockford's alphabet: no I, L, O, U, so codes read aloud or typed survive.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TYPO_FIXES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_id(prefix: str, nbytes: int = 10) -> str:
    """A random id like ``mem_k3v9...`` (80 bits by default)."""
    raw = base64.b32encode(secrets.token_bytes(nbytes)).decode().rstrip("=").lower()
    return f"{prefix}_{raw}"


_TIMED_BYTES = 6  # milliseconds since the epoch, big-endian: enough until the year 10889
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def new_timed_id(prefix: str, at: datetime, nbytes: int = 10) -> str:
    """A random id that also tells when it was made (``time_of``), so the record it names can be found by
    its time without an index: ``scn_`` + 26 characters (48 bits of time, 80 random)."""
    millis = int(at.timestamp() * 1000).to_bytes(_TIMED_BYTES, "big")
    raw = base64.b32encode(millis + secrets.token_bytes(nbytes)).decode().rstrip("=").lower()
    return f"{prefix}_{raw}"


def time_of(identifier: str, nbytes: int = 10) -> datetime | None:
    """When a ``new_timed_id`` was made; None for any other id (an older random one, or not an id at all)."""
    _, _, raw = identifier.partition("_")
    if len(raw) != _encoded_length(_TIMED_BYTES + nbytes):
        return None
    try:
        data = base64.b32decode(raw.upper() + "=" * (-len(raw) % 8))
        return _EPOCH + timedelta(milliseconds=int.from_bytes(data[:_TIMED_BYTES], "big"))
    except (ValueError, OverflowError):
        return None


def _encoded_length(nbytes: int) -> int:
    return -(-nbytes * 8 // 5)  # base32 without padding


def new_short_code(length: int) -> str:
    return "".join(secrets.choice(_CROCKFORD) for _ in range(length))


def new_referral_code() -> str:
    """8 characters, 40 bits: easy to share, and guard items keep it unique per merchant."""
    return new_short_code(8)


def new_reward_code() -> str:
    """10 characters (50 bits) shown as ``XXXXX-XXXXX`` at the counter."""
    code = new_short_code(10)
    return f"{code[:5]}-{code[5:]}"


def normalize_code(raw: str) -> str:
    """Upper-case, drop separators, fix the usual look-alike typos; returns the canonical form."""
    cleaned = "".join(ch for ch in raw.upper() if ch.isalnum()).translate(_TYPO_FIXES)
    if len(cleaned) == 10:
        return f"{cleaned[:5]}-{cleaned[5:]}"
    return cleaned
