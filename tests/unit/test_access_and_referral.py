"""Who may do what (another merchant's things look missing), and who a referral may reward."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from loyalty.domain.access import (
    ADMIN,
    MEMBER,
    OWNER,
    PUBLIC,
    STAFF,
    Caller,
    require_admin,
    require_location,
    require_member,
    require_merchant,
)
from loyalty.domain.errors import Forbidden, NotFound, Unauthorized
from loyalty.domain.model import Member
from loyalty.domain.program import Program, default_program
from loyalty.domain.referral import referral_month, referral_refusal

MERCHANT = "mch_cafe"
OTHER_MERCHANT = "mch_salon"
LOCATION = "loc_old_town"
OTHER_LOCATION = "loc_station"

PUBLIC_CALLER = Caller(PUBLIC)
ADMIN_CALLER = Caller(ADMIN)
MEMBER_CALLER = Caller(MEMBER, member_token="mem_anna.secretsecretsecret")
OWNER_CALLER = Caller(OWNER, merchant_id=MERCHANT, api_key_id="key_owner")
STAFF_CALLER = Caller(STAFF, merchant_id=MERCHANT, location_ids=(LOCATION,), api_key_id="key_staff")
OTHER_OWNER = Caller(OWNER, merchant_id=OTHER_MERCHANT, api_key_id="key_other")


# --- require_merchant ----------------------------------------------------------------------------------

def test_the_owner_may_act_on_its_own_merchant():
    require_merchant(OWNER_CALLER, MERCHANT, OWNER)
    require_merchant(OWNER_CALLER, MERCHANT, OWNER, STAFF)


def test_staff_may_act_where_staff_is_allowed():
    require_merchant(STAFF_CALLER, MERCHANT, OWNER, STAFF)


@pytest.mark.parametrize(("caller", "error", "code"), [
    (PUBLIC_CALLER, Unauthorized, "unauthorized"),   # 401: no credentials
    (ADMIN_CALLER, Forbidden, "forbidden"),          # 403: the admin token does not run a café
    (MEMBER_CALLER, Forbidden, "forbidden"),         # 403: a member card is not a staff key
    (OTHER_OWNER, NotFound, "not_found"),            # 404: another merchant's things look missing
    (STAFF_CALLER, Forbidden, "forbidden"),          # 403: right merchant, wrong role (owner-only route)
])
def test_who_is_refused_on_an_owner_only_merchant_route(caller, error, code):
    with pytest.raises(error) as caught:
        require_merchant(caller, MERCHANT, OWNER)
    assert type(caught.value) is error
    assert caught.value.code == code


def test_another_merchants_staff_also_sees_not_found():
    other_staff = Caller(STAFF, merchant_id=OTHER_MERCHANT, location_ids=(LOCATION,))

    with pytest.raises(NotFound):
        require_merchant(other_staff, MERCHANT, OWNER, STAFF)


def test_another_merchant_gets_not_found_even_where_its_role_would_be_refused():
    # Owner-only route, another merchant's staff key: 404, so the route does not reveal the merchant exists.
    other_staff = Caller(STAFF, merchant_id=OTHER_MERCHANT)

    with pytest.raises(NotFound):
        require_merchant(other_staff, MERCHANT, OWNER)


def test_a_key_without_a_merchant_sees_not_found():
    with pytest.raises(NotFound):
        require_merchant(Caller(OWNER), MERCHANT, OWNER)


# --- require_location ------------------------------------------------------------------------------------

def test_staff_may_work_at_its_own_locations():
    require_location(STAFF_CALLER, LOCATION)


def test_staff_outside_its_locations_is_forbidden():
    with pytest.raises(Forbidden) as caught:
        require_location(STAFF_CALLER, OTHER_LOCATION)
    assert "location" in caught.value.message


def test_staff_with_no_locations_may_work_nowhere():
    with pytest.raises(Forbidden):
        require_location(Caller(STAFF, merchant_id=MERCHANT), LOCATION)


def test_the_owner_may_work_at_every_location():
    require_location(OWNER_CALLER, LOCATION)
    require_location(OWNER_CALLER, OTHER_LOCATION)


# --- require_admin ----------------------------------------------------------------------------------------

def test_the_admin_may_create_merchants():
    require_admin(ADMIN_CALLER)


@pytest.mark.parametrize(("caller", "error"), [
    (PUBLIC_CALLER, Unauthorized),
    (OWNER_CALLER, Forbidden),
    (STAFF_CALLER, Forbidden),
    (MEMBER_CALLER, Forbidden),
])
def test_only_the_admin_may_do_admin_things(caller, error):
    with pytest.raises(error):
        require_admin(caller)


# --- require_member ---------------------------------------------------------------------------------------

def test_a_member_call_yields_its_token():
    assert require_member(MEMBER_CALLER) == "mem_anna.secretsecretsecret"


@pytest.mark.parametrize("caller", [PUBLIC_CALLER, Caller(MEMBER)])
def test_member_routes_need_a_member_card(caller):
    with pytest.raises(Unauthorized) as caught:
        require_member(caller)
    assert "X-Member-Token" in caught.value.message


@pytest.mark.parametrize("caller", [OWNER_CALLER, STAFF_CALLER, ADMIN_CALLER])
def test_known_api_keys_are_refused_on_member_routes(caller):
    with pytest.raises(Forbidden) as caught:
        require_member(caller)
    assert "X-Member-Token" in caught.value.message


# --- Caller -------------------------------------------------------------------------------------------------

def test_a_callers_identity_scopes_idempotency_keys():
    assert OWNER_CALLER.identity == "key:key_owner"
    assert STAFF_CALLER.identity == "key:key_staff"
    # A hash of the whole token: never the secret itself, and a forged token is someone else.
    assert MEMBER_CALLER.identity.startswith("member:")
    assert "secret" not in MEMBER_CALLER.identity
    assert Caller(MEMBER, member_token="mem_anna.forgedforgedforged").identity != MEMBER_CALLER.identity
    assert PUBLIC_CALLER.identity == "public"
    assert ADMIN_CALLER.identity == "admin"


def test_owners_and_staff_are_the_merchants_people():
    assert OWNER_CALLER.is_merchant_staff
    assert STAFF_CALLER.is_merchant_staff
    assert not MEMBER_CALLER.is_merchant_staff
    assert not ADMIN_CALLER.is_merchant_staff
    assert not PUBLIC_CALLER.is_merchant_staff


# --- referral_refusal ----------------------------------------------------------------------------------------

REFERRER = Member("mem_anna", MERCHANT, "hash", phone="+48600100200", email="anna@example.com")


def test_a_friend_with_another_phone_may_be_rewarded():
    assert referral_refusal(default_program(), REFERRER, "+48600999888", None, rewarded_this_month=0) is None


def test_a_friend_with_another_email_may_be_rewarded():
    assert referral_refusal(default_program(), REFERRER, None, "bartek@example.com", rewarded_this_month=3) is None


def test_a_program_without_referral_rewards_rewards_nobody():
    no_referrals = Program.model_validate({"points": {"perVisit": 10}})

    assert referral_refusal(no_referrals, REFERRER, "+48600999888", None, 0) == "This program has no referral rewards."


def test_referring_yourself_by_phone_earns_nothing():
    assert referral_refusal(default_program(), REFERRER, "+48600100200", None, 0) == "You cannot refer yourself."


def test_referring_yourself_by_email_earns_nothing():
    assert referral_refusal(default_program(), REFERRER, None, "anna@example.com", 0) == "You cannot refer yourself."


def test_self_referral_is_caught_on_either_identity():
    assert referral_refusal(default_program(), REFERRER, "+48600999888", "anna@example.com", 0) == \
        "You cannot refer yourself."


def test_a_referrer_without_a_phone_is_not_matched_by_a_friend_without_one():
    email_only = Member("mem_cezary", MERCHANT, "hash", email="cezary@example.com")

    assert referral_refusal(default_program(), email_only, None, "dorota@example.com", 0) is None


def test_the_10th_referral_this_month_is_still_rewarded_the_11th_is_not():
    assert referral_refusal(default_program(), REFERRER, "+48600999888", None, rewarded_this_month=9) is None
    assert referral_refusal(default_program(), REFERRER, "+48600999888", None, rewarded_this_month=10) == \
        "Your friend has reached this month's referral limit."


def test_a_cap_of_zero_rewards_no_referrals():
    capped = Program.model_validate({"points": {}, "referral": {"maxRewardedPerReferrerPerMonth": 0}})

    assert referral_refusal(capped, REFERRER, "+48600999888", None, 0) is not None


# --- referral_month --------------------------------------------------------------------------------------------

def test_the_referral_month_follows_the_merchants_calendar_not_utc():
    late_on_31_january_utc = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)  # already 1 February in Warsaw

    assert referral_month(late_on_31_january_utc, "UTC") == "2026-01"
    assert referral_month(late_on_31_january_utc, "Europe/Warsaw") == "2026-02"


def test_a_west_coast_cafe_is_still_in_last_month_after_midnight_utc():
    assert referral_month(datetime(2026, 3, 1, 3, 0, tzinfo=UTC), "America/Los_Angeles") == "2026-02"


def test_the_year_turns_in_the_merchants_timezone():
    assert referral_month(datetime(2026, 12, 31, 23, 15, tzinfo=UTC), "Europe/Warsaw") == "2027-01"
