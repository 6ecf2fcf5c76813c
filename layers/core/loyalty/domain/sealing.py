"""Sealed replies: a reply kept for an Idempotency-Key is encrypted, so no secret it holds rests in the table.

Replies of joins and key creations hold member tokens and API keys. Each is sealed with AES-GCM under a
key derived from the server's signing key AND what only the same request carries again: the caller's own
credential (API key, admin token, member token; nothing for the public) and the Idempotency-Key itself
(public callers must use a random one of 16+ characters). Neither is stored, so the database alone
cannot open a record, and another caller cannot either. The record's id is bound in as associated data,
so a sealed reply cannot be moved to another record.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

_NONCE_BYTES = 12


def reply_key(master_key: bytes, credential: str, idempotency_key: str) -> bytes:
    material = json.dumps(["idempotency-reply", credential, idempotency_key]).encode()
    return hmac.new(master_key, material, hashlib.sha256).digest()


def payload_hash(key: bytes, payload: object) -> str:
    """Tells "same body" from "another body" without storing anything derived from the body alone."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()


def seal(key: bytes, plaintext: bytes, record_id: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # deferred: only requests with a key seal

    nonce = secrets.token_bytes(_NONCE_BYTES)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, record_id.encode())).decode()


def unseal(key: bytes, sealed: str, record_id: str) -> bytes:
    """Raises ValueError when the key or the record does not match (cryptography's InvalidTag is not one)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = base64.b64decode(sealed)
    try:
        return AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], record_id.encode())
    except InvalidTag as exc:
        raise ValueError("the sealed reply does not open with this key") from exc


def signing_secret_key(master_key: bytes, api_key: str) -> bytes:
    """Seals a POS key's signing secret at rest: derived from the server's key AND the POS key itself, which is
    stored only hashed, so neither the table nor the server's key alone opens it."""
    return hmac.new(master_key, json.dumps(["pos-signing-secret", api_key]).encode(), hashlib.sha256).digest()
