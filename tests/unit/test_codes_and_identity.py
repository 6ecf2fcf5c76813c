"""Ids, short codes people read aloud or type, and the phone numbers and emails members join with."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loyalty.domain.errors import ValidationFailed
from loyalty.domain.identity import normalize_email, normalize_phone
from loyalty.domain.ids import new_id, new_referral_code, new_reward_code, new_short_code, normalize_code

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REWARD_CODE = re.compile(rf"[{CROCKFORD}]{{5}}-[{CROCKFORD}]{{5}}")
REFERRAL_CODE = re.compile(rf"[{CROCKFORD}]{{8}}")


# --- ids ------------------------------------------------------------------------------------------------

def test_an_id_is_its_prefix_and_80_random_bits_in_lower_case_base32():
    member_id = new_id("mem")

    assert re.fullmatch(r"mem_[a-z2-7]{16}", member_id)


def test_more_bytes_make_a_longer_id():
    assert re.fullmatch(r"scn_[a-z2-7]{32}", new_id("scn", nbytes=20))


def test_ids_do_not_repeat():
    assert len({new_id("mem") for _ in range(500)}) == 500


def test_ids_never_contain_the_dot_that_separates_token_parts():
    assert all("." not in new_id(prefix) for prefix in ("mch", "loc", "mem") for _ in range(50))


# --- short codes -------------------------------------------------------------------------------------------

def test_a_referral_code_is_8_crockford_characters():
    for _ in range(200):
        assert REFERRAL_CODE.fullmatch(new_referral_code())


def test_a_reward_code_reads_as_xxxxx_dash_xxxxx():
    for _ in range(200):
        assert REWARD_CODE.fullmatch(new_reward_code())


def test_short_codes_never_use_the_confusable_letters_i_l_o_u():
    letters = "".join(new_short_code(50) for _ in range(100))

    assert not set(letters) & set("ILOU")
    assert set(letters) <= set(CROCKFORD)


def test_short_codes_have_the_requested_length():
    assert [len(new_short_code(n)) for n in (1, 5, 8, 13)] == [1, 5, 8, 13]


def test_reward_codes_do_not_repeat():
    assert len({new_reward_code() for _ in range(500)}) == 500


# --- normalize_code ------------------------------------------------------------------------------------------

def test_a_reward_code_typed_in_lower_case_without_the_dash_is_found():
    assert normalize_code("abcde fghjk") == "ABCDE-FGHJK"
    assert normalize_code("abcdefghjk") == "ABCDE-FGHJK"


@pytest.mark.parametrize(("typed", "canonical"), [
    ("O0O0O-00000", "00000-00000"),   # letter O is zero
    ("I1L1i-l1111", "11111-11111"),   # letters I and L are one
    ("oil12", "01112"),
])
def test_look_alike_letters_are_read_as_the_digits_they_resemble(typed, canonical):
    assert normalize_code(typed) == canonical


def test_separators_and_spaces_anywhere_are_ignored():
    assert normalize_code(" ab.cd-e  fg_hj/k ") == "ABCDE-FGHJK"


def test_a_referral_code_keeps_its_8_characters_without_a_dash():
    assert normalize_code("k3v9-pq2z") == "K3V9PQ2Z"


def test_nothing_to_normalize_gives_an_empty_code():
    assert normalize_code(" - ") == ""


def test_every_issued_code_is_already_in_its_normal_form():
    for _ in range(200):
        reward, referral = new_reward_code(), new_referral_code()
        assert normalize_code(reward) == reward
        assert normalize_code(referral) == referral


@given(st.text(alphabet=CROCKFORD, min_size=10, max_size=10),
       st.lists(st.sampled_from([" ", "-", "  ", "."]), max_size=3))
def test_a_reward_code_survives_lower_case_and_stray_separators(raw, separators):
    canonical = f"{raw[:5]}-{raw[5:]}"
    typed = raw.lower()
    for i, sep in enumerate(separators):
        typed = typed[: i * 3] + sep + typed[i * 3:]

    assert normalize_code(typed) == canonical


@given(st.text())
def test_normalize_code_is_idempotent(raw):
    once = normalize_code(raw)

    assert normalize_code(once) == once


@given(st.text(alphabet=CROCKFORD + "oilOIL -abcdefghjkmnpqrstvwxyz", max_size=20))
def test_normalized_codes_use_only_the_crockford_alphabet_and_the_dash(raw):
    assert set(normalize_code(raw)) <= set(CROCKFORD + "-")


# --- phone numbers -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", [
    "+48 600 100 200",
    "+48600100200",
    "+48-600-100-200",
    "+48 (600) 100 200",
    " +48 600 100 200 ",
])
def test_a_polish_mobile_number_is_stored_in_e164_however_it_was_typed(typed):
    assert normalize_phone(typed) == "+48600100200"


def test_numbers_from_other_countries_keep_their_country_code():
    assert normalize_phone("+1 650-253-0000") == "+16502530000"
    assert normalize_phone("+49 30 901820") == "+4930901820"


def test_a_number_without_its_country_code_is_refused_with_a_hint():
    with pytest.raises(ValidationFailed) as caught:
        normalize_phone("600 100 200")

    assert caught.value.details == [
        {"field": "phone", "message": "Enter the number with its country code, like +48 600 100 200."},
    ]
    assert caught.value.code == "validation_error"


@pytest.mark.parametrize("typed", ["+48 123", "+48 600 100 200 300", "+999 600 100 200"])
def test_an_impossible_number_is_refused(typed):
    with pytest.raises(ValidationFailed) as caught:
        normalize_phone(typed)

    assert caught.value.details[0]["field"] == "phone"


@pytest.mark.parametrize("typed", ["", "call me", "+48 six hundred"])
def test_text_that_is_not_a_number_is_refused(typed):
    with pytest.raises(ValidationFailed):
        normalize_phone(typed)


def test_the_same_number_typed_two_ways_is_the_same_identity():
    assert normalize_phone("+48 600-100-200") == normalize_phone("+48600100200")


# --- email ----------------------------------------------------------------------------------------------------

def test_an_email_is_stored_in_lower_case():
    assert normalize_email("Anna.Kowalska@Example.COM") == "anna.kowalska@example.com"


def test_the_same_email_typed_in_different_case_is_the_same_identity():
    assert normalize_email("ANNA@kawiarnia.pl") == normalize_email("anna@Kawiarnia.PL")


def test_plus_addressing_is_kept():
    assert normalize_email("anna+kawa@example.com") == "anna+kawa@example.com"


@pytest.mark.parametrize("typed", [
    "", "anna", "anna@", "@example.com", "anna@@example.com", "anna kowalska@example.com",
])
def test_something_that_is_not_an_email_is_refused(typed):
    with pytest.raises(ValidationFailed) as caught:
        normalize_email(typed)

    assert caught.value.details[0]["field"] == "email"
    assert caught.value.details[0]["message"]
