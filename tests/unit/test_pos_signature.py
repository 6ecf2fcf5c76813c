"""The Bywalec-Signature header: parsing, the MAC over the raw body, the 300-second window."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from loyalty.domain import pos_signature
from loyalty.domain.errors import InvalidSignature

SECRET = b"bw_whsec_test"
BODY = b'{"type":"refund","amount":100}'
NOW = 1_795_000_000


def _mac(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def test_the_contracts_mac_over_the_raw_body_is_accepted():
    pos_signature.verify(SECRET, f"t={NOW},v1={_mac(SECRET, NOW, BODY)}", BODY, NOW)
    pos_signature.verify(SECRET, f" t={NOW} , v1={_mac(SECRET, NOW, BODY).upper()} ", BODY, NOW)


def test_a_second_v1_value_lets_a_till_rotate_its_secret():
    header = f"t={NOW},v1={_mac(b'old', NOW, BODY)},v1={_mac(SECRET, NOW, BODY)}"
    pos_signature.verify(SECRET, header, BODY, NOW)


@pytest.mark.parametrize("at", [NOW - 300, NOW + 300])
def test_300_seconds_either_way_is_still_accepted(at):
    pos_signature.verify(SECRET, pos_signature.header(SECRET, at, BODY), BODY, NOW)


@pytest.mark.parametrize("header", [
    None, "", "garbage", f"t={NOW}", f"v1={_mac(SECRET, NOW, BODY)}", f"t=soon,v1={_mac(SECRET, NOW, BODY)}",
    f"t=-{NOW},v1={_mac(SECRET, NOW, BODY)}", f"t={NOW},v1=", f"t={NOW},v0={_mac(SECRET, NOW, BODY)}",
    f"t={NOW},v1={_mac(SECRET, NOW, BODY)}" + ",x=1" * 300,
])
def test_a_missing_or_malformed_header_is_refused(header):
    with pytest.raises(InvalidSignature):
        pos_signature.verify(SECRET, header, BODY, NOW)


@pytest.mark.parametrize(("secret", "signed_at", "signed_body", "sent_body"), [
    (b"another secret", NOW, BODY, BODY),
    (SECRET, NOW, BODY, BODY + b" "),                                   # the body changed after signing
    (SECRET, NOW, b'{"amount":100,"type":"refund"}', BODY),             # same JSON, other bytes
    (SECRET, NOW - 301, BODY, BODY),                                    # stale
    (SECRET, NOW + 301, BODY, BODY),                                    # from the future
])
def test_a_wrong_mac_or_a_time_outside_the_window_is_refused(secret, signed_at, signed_body, sent_body):
    with pytest.raises(InvalidSignature):
        pos_signature.verify(SECRET, f"t={signed_at},v1={_mac(secret, signed_at, signed_body)}", sent_body, NOW)


def test_the_time_is_part_of_what_is_signed():
    moved = f"t={NOW + 1},v1={_mac(SECRET, NOW, BODY)}"
    with pytest.raises(InvalidSignature):
        pos_signature.verify(SECRET, moved, BODY, NOW)
