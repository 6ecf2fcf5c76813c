"""Sealed replies open only with the same server key, the same credential and the same Idempotency-Key."""

from __future__ import annotations

import pytest
from loyalty.domain.sealing import payload_hash, reply_key, seal, unseal

MASTER = b"server-signing-key"
REPLY = b'{"body": {"memberToken": "mem_abc.secret-secret-secret"}, "status": 201}'


def test_a_sealed_reply_opens_with_the_same_request_material():
    key = reply_key(MASTER, "bw_owner_key", "idem-1")
    sealed = seal(key, REPLY, "record-1")
    assert b"secret" not in sealed.encode() and "mem_abc" not in sealed
    assert unseal(reply_key(MASTER, "bw_owner_key", "idem-1"), sealed, "record-1") == REPLY


@pytest.mark.parametrize(("master", "credential", "idempotency_key", "record_id"), [
    (b"another-server", "bw_owner_key", "idem-1", "record-1"),
    (MASTER, "bw_owner_other", "idem-1", "record-1"),   # another caller
    (MASTER, "", "idem-1", "record-1"),                 # no credential at all
    (MASTER, "bw_owner_key", "idem-2", "record-1"),     # another Idempotency-Key
    (MASTER, "bw_owner_key", "idem-1", "record-2"),     # the sealed text moved to another record
])
def test_anything_else_cannot_open_it(master, credential, idempotency_key, record_id):
    sealed = seal(reply_key(MASTER, "bw_owner_key", "idem-1"), REPLY, "record-1")
    with pytest.raises(ValueError):
        unseal(reply_key(master, credential, idempotency_key), sealed, record_id)


def test_each_seal_is_fresh_and_the_payload_hash_is_keyed():
    key = reply_key(MASTER, "", "a-random-uuid-key")
    assert seal(key, REPLY, "r") != seal(key, REPLY, "r")
    body = {"phone": "+48600100200", "consent": {"sms": True}}
    assert payload_hash(key, body) == payload_hash(key, {"consent": {"sms": True}, "phone": "+48600100200"})
    assert payload_hash(key, body) != payload_hash(key, {**body, "phone": "+48600100201"})
    assert payload_hash(key, body) != payload_hash(reply_key(MASTER, "", "another-uuid-key"), body)


def test_a_kept_reply_is_compressed_and_a_reply_kept_before_compression_still_opens():
    import json

    from loyalty.services.exactly_once import ExactlyOnce

    once = ExactlyOnce("record-1", "hash", reply_key(MASTER, "bw_staff_key", "idem-1"))
    body = {"lines": [{"kind": "visit", "label": "Visit", "points": 10}] * 20, "balance": 200}
    compressed = once.seal(200, body)
    plain = seal(once.key, json.dumps({"status": 200, "body": body}, sort_keys=True).encode(), "record-1")
    assert len(compressed) < len(plain) / 3
    assert once.open(compressed) == once.open(plain) == (200, body)
