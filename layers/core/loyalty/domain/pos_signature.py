"""The Bywalec-Signature header of POS events (pure: the secret and the time are passed in).

``t=<unix seconds>,v1=<hex HMAC-SHA256(signing secret, "<t>.<raw body>")>``. The MAC covers the body's bytes
exactly as sent (re-serialised JSON would differ in spacing and key order) and the time, so a captured
event cannot be replayed after the tolerance; within it, the event id makes a replay a no-op.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from loyalty.domain.errors import InvalidSignature

TOLERANCE_SECONDS = 300
_MAX_HEADER = 1024


@dataclass(frozen=True)
class Signature:
    timestamp: int
    macs: tuple[str, ...]  # every v1 value given (a till rotating secrets may send two)


def parse(header: str | None) -> Signature:
    if not header or len(header) > _MAX_HEADER:
        raise InvalidSignature("Sign the event: the Bywalec-Signature header is missing.")
    timestamp: int | None = None
    macs = []
    for part in header.split(","):
        name, separator, value = part.strip().partition("=")
        if not separator:
            raise InvalidSignature("Bywalec-Signature must read t=<unix seconds>,v1=<hex HMAC-SHA256>.")
        if name == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            macs.append(value.lower())
    if timestamp is None or not macs:
        raise InvalidSignature("Bywalec-Signature must read t=<unix seconds>,v1=<hex HMAC-SHA256>.")
    return Signature(timestamp, tuple(macs))


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The v1 MAC of ``body`` at ``timestamp`` (what a till computes; the server compares with it)."""
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def header(secret: bytes, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(secret: bytes, header_value: str | None, body: bytes, now: float,
           tolerance: int = TOLERANCE_SECONDS) -> None:
    """Raises InvalidSignature unless one v1 MAC matches (compared in constant time) and ``t`` is within
    ``tolerance`` seconds of ``now``, either way."""
    signature = parse(header_value)
    if abs(now - signature.timestamp) > tolerance:
        raise InvalidSignature(f"The signature's time is more than {tolerance} s away from now: "
                               "check the till's clock.")
    expected = sign(secret, signature.timestamp, body).encode()
    # Every candidate is compared (no early exit), so timing does not tell which one matched.
    matched = [hmac.compare_digest(expected, mac.encode()) for mac in signature.macs]
    if not any(matched):
        raise InvalidSignature("The signature does not match the body.")
