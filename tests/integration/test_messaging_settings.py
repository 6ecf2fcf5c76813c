"""The owner's messaging settings: defaults until saved, validated, and the owner's alone."""

from __future__ import annotations

import pytest

DEFAULTS = {"senderName": None, "replyTo": None, "notifyEmail": None, "maxPerMemberPer7Days": 2,
            "quietHours": {"from": "20:00", "to": "09:00"}}


def path(world) -> str:
    return f"/v1/merchants/{world.merchant_id}/messaging"


def test_a_merchant_that_never_saved_settings_gets_the_defaults(world):
    reply = world.call("GET", path(world), headers=world.owner)
    assert (reply.status, reply.json) == (200, DEFAULTS)


def test_saved_settings_read_back_and_fields_left_out_take_their_defaults(world):
    saved = {"senderName": "Café Aroma", "replyTo": "Hello@Cafe.example", "notifyEmail": "owner@cafe.example",
             "maxPerMemberPer7Days": 5, "quietHours": {"from": "21:30", "to": "08:00"}}
    reply = world.call("PUT", path(world), saved, world.owner)
    assert reply.status == 200, reply.raw
    assert reply.json == {**saved, "replyTo": "Hello@cafe.example"}  # the domain part is normalised
    assert world.call("GET", path(world), headers=world.owner).json == reply.json

    reply = world.call("PUT", path(world), {"maxPerMemberPer7Days": 1}, world.owner)
    assert reply.json == {**DEFAULTS, "maxPerMemberPer7Days": 1}
    assert world.call("GET", path(world), headers=world.owner).json == reply.json


@pytest.mark.parametrize(("body", "field"), [
    ({"maxPerMemberPer7Days": 0}, "maxPerMemberPer7Days"),
    ({"maxPerMemberPer7Days": 51}, "maxPerMemberPer7Days"),
    ({"maxPerMemberPer7Days": "3"}, "maxPerMemberPer7Days"),
    ({"quietHours": {"from": "24:00", "to": "09:00"}}, "quietHours.from"),
    ({"quietHours": {"from": "20:00", "to": "9:00"}}, "quietHours.to"),
    ({"quietHours": {"from": "20:00", "until": "09:00"}}, "quietHours.until"),
    ({"replyTo": "not an address"}, "replyTo"),
    ({"notifyEmail": "owner@"}, "notifyEmail"),
    ({"senderName": "Café\r\nBcc: everyone@example.com"}, "senderName"),
    ({"senderName": ""}, "senderName"),
    ({"frequency": 2}, "frequency"),
])
def test_invalid_settings_are_refused_field_by_field_and_nothing_is_saved(world, body, field):
    world.call("PUT", path(world), {"maxPerMemberPer7Days": 4}, world.owner)
    reply = world.call("PUT", path(world), body, world.owner)
    assert (reply.status, reply.error_code) == (422, "validation_error"), reply.raw
    assert field in [detail["field"] for detail in reply.json["error"]["details"]]
    assert world.call("GET", path(world), headers=world.owner).json["maxPerMemberPer7Days"] == 4


def test_only_the_owner_reads_or_changes_them(world, other_world):
    assert world.call("GET", path(world), headers=world.staff).status == 403
    assert world.call("PUT", path(world), {}, world.staff).status == 403
    assert world.call("GET", path(world), headers=other_world.owner).status == 404
    assert world.call("PUT", path(world), {}, other_world.owner).status == 404
    assert world.call("GET", path(world)).status == 401
