"""A member who lost her card asks for its link: the same 202 for anyone, a message only to a member's own
contact, and a one-time code that opens the card on a new phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from loyalty.domain import card_link
from loyalty.server_keys import signing_key
from loyalty.services import outbox as outbox_service
from loyalty.store import members as member_store
from loyalty.store import outbox

from tests.support.world import new_address, new_phone


@pytest.fixture
def sent(monkeypatch):
    """The outbox messages the route handed to the sender's queue."""
    dispatched: list[str] = []
    monkeypatch.setattr(outbox_service, "dispatch", lambda ids, **_: dispatched.extend(ids) or len(ids))
    return dispatched


def _ask(world, body, source_ip=None):
    return world.call("POST", f"/v1/merchants/{world.merchant_id}/card-link", body,
                      source_ip=source_ip or new_address())


def _open(world, code):
    return world.call("POST", f"/v1/merchants/{world.merchant_id}/card-link/open", {"code": code},
                      source_ip=new_address())


def _code_in(message_id: str, channel: str) -> str:
    body = outbox.get(message_id).message.contents[channel].body
    return body.split("#card=")[1].split()[0]


def test_a_member_gets_a_link_by_sms_that_opens_her_card_once(world, sent):
    member = world.enroll()
    reply = _ask(world, {"phone": member.phone})
    assert reply.status == 202
    assert len(sent) == 1
    delivery = outbox.get(sent[0])
    assert delivery.message.purpose == "transactional"
    assert delivery.message.member_id == member.member_id
    assert list(delivery.message.contents) == ["sms"]
    assert f"/v1/m/{world.merchant_id}#card=" in delivery.message.contents["sms"].body

    opened = _open(world, _code_in(sent[0], "sms"))
    assert opened.status == 201
    assert opened.json["memberId"] == member.member_id
    assert world.call("GET", "/v1/me", headers={"X-Member-Token": opened.json["memberToken"]}).status == 200
    assert world.call("GET", "/v1/me", headers=member.headers).status == 401  # the lost card stops working
    assert _open(world, _code_in(sent[0], "sms")).status == 404  # once


def test_an_email_link_goes_by_email_in_the_members_language(world, sent):
    member = world.enroll(email="zgubiona@example.com", language="pl")
    assert _ask(world, {"email": "Zgubiona@Example.com"}).status == 202
    content = outbox.get(sent[0]).message.contents["email"]
    assert content.subject and "karta" in content.subject
    assert "otwórz" in content.body and member.member_id not in content.body.split("#card=")[0]


def test_the_reply_is_the_same_for_strangers_and_no_message_is_written(world, sent):
    member = world.enroll()
    for_member = _ask(world, {"phone": member.phone})
    for_stranger = _ask(world, {"phone": new_phone()})
    # a member's phone asked for by email, or an email no one has: nothing is sent either
    by_other_contact = _ask(world, {"email": "nobody.here@example.com"})
    assert for_member.status == for_stranger.status == by_other_contact.status == 202
    assert for_member.json == for_stranger.json == by_other_contact.json
    assert len(sent) == 1


def test_asking_again_and_again_for_one_contact_is_limited_member_or_not(world, sent):
    member = world.enroll()
    for phone in (member.phone, new_phone()):
        replies = [_ask(world, {"phone": phone}).status for _ in range(4)]
        assert replies == [202, 202, 202, 429]
    assert len(sent) == 3


def test_one_address_asking_for_many_contacts_is_limited(world, sent):
    address = new_address()
    statuses = [_ask(world, {"phone": new_phone()}, source_ip=address).status for _ in range(11)]
    assert statuses[:10] == [202] * 10 and statuses[10] == 429


@pytest.mark.parametrize("body", [{}, {"phone": "+48600100200", "email": "a@example.com"}, {"phone": "12"},
                                  {"email": "not an email"}])
def test_a_request_needs_exactly_one_valid_contact(world, sent, body):
    reply = _ask(world, body)
    assert reply.status == 422
    assert not sent


def test_an_expired_forged_or_other_merchants_code_opens_nothing(world, other_world):
    member = world.enroll()
    token_hash = member_store.get_member(member.member_id).token_hash
    now = datetime.now(UTC)
    expired = card_link.code_for(signing_key(), world.merchant_id, member.member_id, token_hash,
                                 now - card_link.LIFETIME - timedelta(seconds=1))
    elsewhere = card_link.code_for(signing_key(), other_world.merchant_id, member.member_id, token_hash, now)
    genuine = card_link.code_for(signing_key(), world.merchant_id, member.member_id, token_hash, now)
    for code in (expired, elsewhere, genuine[:-2] + "AA", "mem_x.1.abc", "nonsense"):
        assert _open(world, code).status == 404, code
    assert _open(other_world, genuine).status == 404
    assert world.call("GET", "/v1/me", headers=member.headers).status == 200
    assert _open(world, genuine).status == 201


def test_staff_reissuing_the_card_voids_a_link_sent_before(world, sent):
    member = world.enroll()
    _ask(world, {"phone": member.phone})
    world.call("POST", f"/v1/merchants/{world.merchant_id}/members/{member.member_id}/card", None, world.staff)
    assert _open(world, _code_in(sent[0], "sms")).status == 404
