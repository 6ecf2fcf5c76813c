"""Counter codes at the till, member tokens and API keys: signed, rotating, stored only as hashes."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from loyalty.domain.errors import CounterCodeExpired, InvalidCounterCode, InvalidMemberToken
from loyalty.domain.tokens import (
    derive_key,
    hash_secret,
    issue_counter_code,
    member_token_matches,
    new_api_key,
    new_member_token,
    parse_member_token,
    verify_counter_code,
)

KEY = b"unit-test-master-key"
WINDOW = 60
T0 = 1_800_000_000.0  # a moment inside window 30_000_000
MERCHANT_A = "mch_aaaaaaaaaaaaaaaa"
MERCHANT_B = "mch_bbbbbbbbbbbbbbbb"
LOCATION_1 = "loc_1111111111111111"
LOCATION_2 = "loc_2222222222222222"


def issue(at: float = T0, merchant: str = MERCHANT_A, location: str = LOCATION_1, key: bytes = KEY):
    return issue_counter_code(key, merchant, location, at, WINDOW)


def swap_part(code: str, index: int, value: str) -> str:
    parts = code.split(".")
    parts[index] = value
    return ".".join(parts)


# --- counter codes: issuing --------------------------------------------------------------------------

def test_a_counter_code_names_its_merchant_location_and_window():
    code = issue()

    assert (code.merchant_id, code.location_id, code.window) == (MERCHANT_A, LOCATION_1, int(T0 // WINDOW))
    merchant, location, window_hex, signature = code.code.split(".")
    assert (merchant, location, int(window_hex, 16)) == (MERCHANT_A, LOCATION_1, code.window)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", signature)  # 128 bits, URL-safe, no padding


def test_a_counter_code_is_valid_for_its_whole_window():
    code = issue()

    assert code.valid_from(WINDOW) == code.window * WINDOW <= T0
    assert code.valid_until(WINDOW) == code.valid_from(WINDOW) + WINDOW > T0


def test_the_code_is_the_same_for_the_whole_window_and_changes_with_the_next():
    start = (T0 // WINDOW) * WINDOW

    assert issue(start).code == issue(start + WINDOW - 0.001).code
    assert issue(start + WINDOW).code != issue(start).code


def test_each_location_gets_its_own_code():
    assert issue(location=LOCATION_1).code.split(".")[3] != issue(location=LOCATION_2).code.split(".")[3]


# --- counter codes: verifying --------------------------------------------------------------------------

def test_a_fresh_counter_code_is_accepted():
    code = issue()

    verified = verify_counter_code(KEY, code.code, T0, WINDOW)

    assert verified == code


def test_a_counter_code_from_the_previous_window_is_still_accepted():
    code = issue()

    assert verify_counter_code(KEY, code.code, T0 + WINDOW, WINDOW).location_id == LOCATION_1


def test_a_counter_code_from_two_windows_ago_is_expired():
    code = issue()

    with pytest.raises(CounterCodeExpired) as caught:
        verify_counter_code(KEY, code.code, T0 + 2 * WINDOW, WINDOW)
    assert caught.value.code == "counter_code_expired"


def test_a_counter_code_from_yesterday_is_expired_not_invalid():
    with pytest.raises(CounterCodeExpired):
        verify_counter_code(KEY, issue().code, T0 + 86_400, WINDOW)


def test_a_counter_code_from_a_future_window_is_rejected():
    with pytest.raises(InvalidCounterCode):
        verify_counter_code(KEY, issue(T0 + WINDOW).code, T0, WINDOW)


def test_the_grace_ends_exactly_at_the_start_of_the_second_window_after():
    code = issue()
    second_window_after = (code.window + 2) * WINDOW

    verify_counter_code(KEY, code.code, second_window_after - 0.001, WINDOW)
    with pytest.raises(CounterCodeExpired):
        verify_counter_code(KEY, code.code, second_window_after, WINDOW)


def test_surrounding_whitespace_from_a_copy_paste_is_tolerated():
    code = issue()

    assert verify_counter_code(KEY, f"  {code.code}\n", T0, WINDOW).code == code.code


def test_a_counter_code_whose_location_id_was_swapped_is_rejected_as_invalid():
    forged = swap_part(issue(location=LOCATION_1).code, 1, LOCATION_2)

    with pytest.raises(InvalidCounterCode) as caught:
        verify_counter_code(KEY, forged, T0, WINDOW)
    assert caught.value.code == "invalid_counter_code"


def test_a_code_signed_for_merchant_a_fails_verification_under_merchant_bs_id():
    forged = swap_part(issue(merchant=MERCHANT_A).code, 0, MERCHANT_B)

    with pytest.raises(InvalidCounterCode):
        verify_counter_code(KEY, forged, T0, WINDOW)


def test_an_expired_code_cannot_be_refreshed_by_rewriting_its_window():
    old = issue(T0 - 10 * WINDOW)
    refreshed = swap_part(old.code, 2, f"{old.window + 10:x}")

    with pytest.raises(InvalidCounterCode):
        verify_counter_code(KEY, refreshed, T0, WINDOW)


def test_a_code_signed_with_another_master_key_is_rejected():
    with pytest.raises(InvalidCounterCode):
        verify_counter_code(KEY, issue(key=b"someone-elses-key").code, T0, WINDOW)


def test_a_tampered_signature_is_rejected():
    code = issue().code
    last = code[-1]
    tampered = code[:-1] + ("A" if last != "A" else "B")

    with pytest.raises(InvalidCounterCode):
        verify_counter_code(KEY, tampered, T0, WINDOW)


@pytest.mark.parametrize("garbage", [
    "",
    "   ",
    "hello",
    "a.b.c",
    "a.b.c.d.e",
    f"{MERCHANT_A}.{LOCATION_1}..sig",
    f"{MERCHANT_A}.{LOCATION_1}.zz.sig",
    f"{MERCHANT_A}.{LOCATION_1}.1c9c380.",
    "https://loyalty.test/v1/m/mch_x?code=abc",
])
def test_malformed_counter_codes_are_invalid(garbage):
    with pytest.raises(InvalidCounterCode):
        verify_counter_code(KEY, garbage, T0, WINDOW)


@pytest.mark.parametrize("not_text", [None, 123, b"bytes.are.not.codes"])
def test_a_counter_code_that_is_not_text_is_invalid(not_text):
    with pytest.raises(InvalidCounterCode):
        verify_counter_code(KEY, not_text, T0, WINDOW)


@pytest.mark.parametrize("suffix", ["é", "\u2603", "\ud800"])
def test_a_counter_code_with_non_ascii_characters_is_invalid_not_a_crash(suffix):
    code = issue().code

    with pytest.raises(InvalidCounterCode):
        verify_counter_code(KEY, code[:-1] + suffix, T0, WINDOW)
    with pytest.raises(InvalidCounterCode):
        verify_counter_code(KEY, swap_part(code, 1, LOCATION_1 + suffix), T0, WINDOW)


@given(
    issued_at=st.floats(min_value=0, max_value=4e9, allow_nan=False),
    windows_later=st.integers(min_value=-5, max_value=5),
    window_seconds=st.sampled_from([30, 60, 300]),
)
def test_counter_codes_verify_only_inside_the_current_and_previous_window(issued_at, windows_later, window_seconds):
    code = issue_counter_code(KEY, MERCHANT_A, LOCATION_1, issued_at, window_seconds)
    now = (code.window + windows_later) * window_seconds + window_seconds / 2

    if windows_later in (0, 1):
        assert verify_counter_code(KEY, code.code, now, window_seconds) == code
    elif windows_later > 1:
        with pytest.raises(CounterCodeExpired):
            verify_counter_code(KEY, code.code, now, window_seconds)
    else:
        with pytest.raises(InvalidCounterCode):
            verify_counter_code(KEY, code.code, now, window_seconds)


@given(part=st.sampled_from([0, 1, 3]), position=st.integers(min_value=0),
       replacement=st.characters(min_codepoint=33, max_codepoint=126))
def test_changing_any_character_of_the_ids_or_signature_makes_a_counter_code_unusable(part, position, replacement):
    parts = issue().code.split(".")
    position %= len(parts[part])
    assume(parts[part][position] != replacement)
    parts[part] = parts[part][:position] + replacement + parts[part][position + 1:]
    altered = ".".join(parts)

    with pytest.raises((InvalidCounterCode, CounterCodeExpired)):
        verify_counter_code(KEY, altered, T0, WINDOW)


@given(st.integers(min_value=0, max_value=2**40))
def test_any_other_window_number_breaks_the_signature(window):
    code = issue()
    assume(window != code.window)

    with pytest.raises(InvalidCounterCode):
        verify_counter_code(KEY, swap_part(code.code, 2, f"{window:x}"), window * WINDOW, WINDOW)


# --- keys and hashes ------------------------------------------------------------------------------------

def test_each_merchant_and_purpose_gets_its_own_key():
    keys = {
        derive_key(KEY, "counter", MERCHANT_A),
        derive_key(KEY, "counter", MERCHANT_B),
        derive_key(KEY, "webhook", MERCHANT_A),
        derive_key(b"another-master", "counter", MERCHANT_A),
    }

    assert len(keys) == 4
    assert derive_key(KEY, "counter", MERCHANT_A) == derive_key(KEY, "counter", MERCHANT_A)
    assert all(len(key) == 32 for key in keys)


def test_secrets_are_stored_as_a_stable_sha256_hex_digest():
    digest = hash_secret("s3cret")

    assert digest == hash_secret("s3cret")
    assert digest != hash_secret("s3cret ")
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert "s3cret" not in digest


# --- member tokens --------------------------------------------------------------------------------------

def test_a_new_member_token_carries_the_member_id_and_is_stored_only_as_a_hash():
    token = new_member_token("mem_abc123")

    member_id, secret = parse_member_token(token.value)
    assert member_id == "mem_abc123"
    assert len(secret) >= 24  # 144 bits of randomness, URL-safe base64
    assert token.hash == hash_secret(secret)
    assert secret not in token.hash
    assert member_token_matches(secret, token.hash)


def test_two_member_tokens_are_never_the_same():
    first, second = new_member_token("mem_abc123"), new_member_token("mem_abc123")

    assert first.value != second.value
    assert first.hash != second.hash


def test_a_members_secret_does_not_match_another_members_hash():
    mine, theirs = new_member_token("mem_mine"), new_member_token("mem_theirs")
    _, my_secret = parse_member_token(mine.value)

    assert not member_token_matches(my_secret, theirs.hash)


def test_a_member_without_a_stored_hash_matches_nothing():
    assert not member_token_matches("a-secret-of-sufficient-length", None)


def test_a_pasted_token_with_surrounding_whitespace_still_parses():
    token = new_member_token("mem_abc123")

    assert parse_member_token(f" {token.value}\n") == parse_member_token(token.value)


@pytest.mark.parametrize("bad", [
    "",
    "mem_abc123",                                   # no secret
    "mem_abc123.short",                             # secret under 16 characters
    "usr_abc123.abcdefghijklmnopqrstuvwx",          # not a member id
    "mem_abc.def.abcdefghijklmnopqrstuvwx",         # two dots
    "mem_abc123." + "x" * 200,                      # longer than 200 characters
    "mem_abc123.abcdefghijklmnopqrstuvwé",          # non-ASCII
    "mem_abc123.abcdefghijklmnopqrstuv\ud800",      # a lone surrogate from a JSON body
    None,
    42,
])
def test_malformed_member_tokens_are_invalid(bad):
    with pytest.raises(InvalidMemberToken) as caught:
        parse_member_token(bad)
    assert caught.value.code == "invalid_member_token"


# --- API keys ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("role", "prefix"), [("owner", "bw_owner_"), ("staff", "bw_staff_")])
def test_api_keys_show_their_role_and_are_stored_only_as_a_hash(role, prefix):
    key = new_api_key(role)

    assert key.value.startswith(prefix)
    assert len(key.value) - len(prefix) >= 32  # 192 bits, URL-safe base64
    assert key.hash == hash_secret(key.value)
    assert key.value not in key.hash


def test_api_keys_are_never_reused():
    assert len({new_api_key("staff").value for _ in range(50)}) == 50
