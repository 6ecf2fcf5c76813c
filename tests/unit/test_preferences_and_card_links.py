"""Pure rules of preferences and card links: birthdays, languages, consent changes, one-time codes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from loyalty.domain import card_link
from loyalty.domain.preferences import consent_changes, normalise_birthday, normalise_language

TODAY = date(2026, 11, 23)
KEY = b"unit-test-key"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("given", "stored"), [("05-31", "05-31"), ("02-29", "02-29"), ("1990-05-31", "1990-05-31"),
                                                ("2024-02-29", "2024-02-29"), (" 12-01 ", "12-01"),
                                                ("1900-01-01", "1900-01-01"), ("2026-11-23", "2026-11-23")])
def test_a_birthday_is_kept_with_or_without_its_year(given, stored):
    assert normalise_birthday(given, TODAY) == stored


@pytest.mark.parametrize("given", ["02-30", "2023-02-29", "13-01", "00-10", "5-31", "31.05.1990", "1899-12-31",
                                   "2026-11-24", "", "0531", "1990-5-31"])
def test_a_birthday_that_is_not_a_day_is_refused(given):
    with pytest.raises(ValueError):
        normalise_birthday(given, TODAY)


def test_languages_are_pl_and_en():
    assert [normalise_language(value) for value in ("pl", "EN", " en ")] == ["pl", "en", "en"]
    with pytest.raises(ValueError):
        normalise_language("de")


def test_only_real_consent_changes_count():
    current = {"sms": True, "email": False}
    assert consent_changes(current, {"sms": True, "email": None}) == {}
    assert consent_changes(current, {"sms": False, "email": True}) == {"sms": False, "email": True}
    assert consent_changes(current, {"fax": True}) == {}


def test_a_card_link_code_opens_one_card_of_one_merchant_until_it_expires():
    code = card_link.code_for(KEY, "mch_a", "mem_1", "hash-1", NOW)
    assert card_link.member_of(code) == "mem_1"
    assert card_link.is_valid(KEY, code, "mch_a", "hash-1", NOW + card_link.LIFETIME - timedelta(seconds=1))
    assert not card_link.is_valid(KEY, code, "mch_a", "hash-1", NOW + card_link.LIFETIME)
    assert not card_link.is_valid(KEY, code, "mch_b", "hash-1", NOW)  # another merchant
    assert not card_link.is_valid(KEY, code, "mch_a", "hash-2", NOW)  # the card token changed: used or reissued
    assert not card_link.is_valid(b"other-key", code, "mch_a", "hash-1", NOW)
    member, expires, signature = code.split(".")
    assert not card_link.is_valid(KEY, f"{member}.{int(expires, 16) + 3600:x}.{signature}", "mch_a", "hash-1", NOW)
    assert not card_link.is_valid(KEY, f"mem_2.{expires}.{signature}", "mch_a", "hash-1", NOW)


@pytest.mark.parametrize("code", ["", "nonsense", "mem_1.zz.sig", "x.1.sig", "mem_1.1", "mem_ü.1.sig", "a" * 500])
def test_a_malformed_card_link_code_is_refused(code):
    assert not card_link.is_valid(KEY, code, "mch_a", "hash-1", NOW)
