"""A member's preferences: birthday and language at joining, reading and changing them, the consent log, and
contacts that stay unique when a member changes hers."""

from __future__ import annotations

import pytest

from tests.support.world import new_address, new_phone

PREFS = "/v1/me/preferences"


def _join(world, body, headers=None):
    return world.call("POST", f"/v1/merchants/{world.merchant_id}/members", body, headers,
                      source_ip=new_address())


@pytest.mark.parametrize(("given", "stored"), [("1990-05-31", "1990-05-31"), ("05-31", "05-31"),
                                                ("02-29", "02-29"), ("2000-02-29", "2000-02-29")])
def test_join_keeps_the_birthday_with_or_without_its_year(world, given, stored):
    joined = _join(world, {"phone": new_phone(), "birthday": given, "language": "pl"})
    assert joined.status == 201, joined.raw
    prefs = world.call("GET", PREFS, headers={"X-Member-Token": joined.json["memberToken"]}).json
    assert (prefs["birthday"], prefs["language"]) == (stored, "pl")


@pytest.mark.parametrize(("field", "value"), [("birthday", "02-30"), ("birthday", "2001-02-29"),
                                               ("birthday", "13-01"), ("birthday", "31.05.1990"),
                                               ("birthday", "2999-01-01"), ("language", "de")])
def test_join_refuses_a_birthday_or_language_that_is_not_one_and_creates_nobody(world, field, value):
    phone = new_phone()
    refused = _join(world, {"phone": phone, field: value})
    assert refused.status == 422
    assert refused.json["error"]["details"][0]["field"] == field
    search = world.call("POST", f"/v1/merchants/{world.merchant_id}/members/search", {"phone": phone},
                        world.owner)
    assert search.status == 404


def test_consent_given_at_the_join_form_opens_the_log(world):
    member = world.enroll(consent={"sms": True, "email": False})
    prefs = world.call("GET", PREFS, headers=member.headers).json
    assert prefs["consent"] == {"sms": True, "email": False}
    assert [(e["channel"], e["granted"], e["source"]) for e in prefs["consentLog"]] == [("sms", True, "join_form")]


def test_staff_enrolment_is_logged_as_staff(world):
    joined = world.call("POST", f"/v1/merchants/{world.merchant_id}/members",
                        {"phone": new_phone(), "consent": {"email": True}, "email": "staff.join@example.com"},
                        world.staff)
    prefs = world.call("GET", PREFS, headers={"X-Member-Token": joined.json["memberToken"]}).json
    assert [(e["channel"], e["source"]) for e in prefs["consentLog"]] == [("email", "staff")]


def test_member_withdraws_sms_consent_and_the_log_shows_it_newest_first(world):
    member = world.enroll()
    changed = world.call("PATCH", PREFS, {"consent": {"sms": False, "email": True}, "birthday": "12-24",
                                          "language": "en", "name": "Ala"}, member.headers)
    assert changed.status == 200, changed.raw
    assert changed.json["consent"] == {"sms": False, "email": True}
    assert (changed.json["birthday"], changed.json["language"], changed.json["name"]) == ("12-24", "en", "Ala")
    log = [(e["channel"], e["granted"], e["source"]) for e in changed.json["consentLog"]]
    assert log[-1] == ("sms", True, "join_form")
    assert sorted(log[:2]) == [("email", True, "member"), ("sms", False, "member")]
    assert world.call("GET", PREFS, headers=member.headers).json == changed.json


def test_asking_for_the_consent_already_given_logs_nothing(world):
    member = world.enroll()
    again = world.call("PATCH", PREFS, {"consent": {"sms": True}}, member.headers)
    assert again.status == 200
    assert len(again.json["consentLog"]) == 1


def test_fields_left_out_are_unchanged_and_null_clears(world):
    member = world.enroll(name="Ola", birthday="1990-01-02")
    world.call("PATCH", PREFS, {"language": "pl"}, member.headers)
    prefs = world.call("PATCH", PREFS, {"birthday": None}, member.headers).json
    assert (prefs["name"], prefs["birthday"], prefs["language"]) == ("Ola", None, "pl")


def test_a_new_phone_moves_the_card_and_frees_the_old_one(world):
    member = world.enroll()
    new = new_phone()
    moved = world.call("PATCH", PREFS, {"phone": new}, member.headers)
    assert moved.status == 200 and moved.json["phone"] == new
    search = f"/v1/merchants/{world.merchant_id}/members/search"
    assert world.call("POST", search, {"phone": new}, world.owner).json["memberId"] == member.member_id
    assert world.call("POST", search, {"phone": member.phone}, world.owner).status == 404
    assert _join(world, {"phone": member.phone}).status == 201  # the old number is free for someone else


def test_a_phone_of_another_member_is_a_conflict_and_changes_nothing(world):
    first, second = world.enroll(), world.enroll()
    refused = world.call("PATCH", PREFS, {"phone": first.phone, "language": "en", "consent": {"sms": False}},
                         second.headers)
    assert refused.status == 409
    assert refused.json["error"]["code"] == "already_member"
    prefs = world.call("GET", PREFS, headers=second.headers).json
    assert (prefs["phone"], prefs["language"], prefs["consent"]["sms"]) == (second.phone, None, True)
    assert len(prefs["consentLog"]) == 1
    search = f"/v1/merchants/{world.merchant_id}/members/search"
    assert world.call("POST", search, {"phone": second.phone}, world.owner).json["memberId"] == second.member_id


def test_a_member_cannot_drop_her_last_contact(world):
    member = world.enroll()
    refused = world.call("PATCH", PREFS, {"phone": None}, member.headers)
    assert refused.status == 422
    assert world.call("GET", PREFS, headers=member.headers).json["phone"] == member.phone


def test_preferences_need_the_members_own_token(world):
    assert world.call("GET", PREFS).status == 401
    assert world.call("GET", PREFS, headers=world.staff).status == 403
    assert world.call("PATCH", PREFS, {"language": "pl"}, {"X-Member-Token": "mem_x.forgedforgedforged"}).status == 401


def test_a_changed_birthday_moves_the_member_in_the_birthday_index(world):
    from loyalty.store import member_index

    member = world.enroll(birthday="1990-03-01")
    world.call("PATCH", PREFS, {"birthday": "02-29"}, member.headers)
    assert member.member_id in {m.member_id for m in member_index.birthdays_on(world.merchant_id, "02-29")}
    assert member.member_id not in {m.member_id for m in member_index.birthdays_on(world.merchant_id, "03-01")}
    world.call("PATCH", PREFS, {"birthday": None}, member.headers)
    assert member.member_id not in {m.member_id for m in member_index.birthdays_on(world.merchant_id, "02-29")}


def test_preferences_are_one_query_whatever_the_ledger_and_the_log_hold(world, meter):
    member = world.enroll()
    for receipt in range(3):
        assert world.staff_scan(member, amount=1500, receipt_id=f"pref-{receipt}").status == 200
    for turn in range(24):
        world.call("PATCH", PREFS, {"consent": {"sms": turn % 2 == 1}}, member.headers)
    with meter.capture() as captured:
        reply = world.call("GET", PREFS, headers=member.headers)
    assert [call.operation for call in captured.calls] == ["Query"]
    log = reply.json["consentLog"]
    assert len(log) == 20  # the newest 20 of 25 changes
    assert (log[0]["granted"], log[0]["source"]) == (True, "member")  # the last change first
    assert [entry["at"] for entry in log] == sorted((entry["at"] for entry in log), reverse=True)
