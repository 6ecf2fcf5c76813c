"""Unsubscribing from a message's link: an HTML page with one button, no login; RFC 8058 one-click posts."""

from __future__ import annotations

from loyalty.domain import unsubscribe
from loyalty.server_keys import signing_key

ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}


def _link(world, member, channel: str) -> str:
    return f"/v1/u/{unsubscribe.token_for(world.merchant_id, member.member_id, channel, signing_key())}"


def _prefs(world, member) -> dict:
    return world.call("GET", "/v1/me/preferences", headers=member.headers).json


def test_the_page_names_the_merchant_and_channel_and_changes_nothing(other_world):
    world = other_world  # "Salon Elegance"
    member = world.enroll(consent={"sms": True, "email": False})
    page = world.call("GET", _link(world, member, "sms"))
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Salon Elegance" in page.text and "text message" in page.text
    assert '<form method="post">' in page.text and "Unsubscribe</button>" in page.text
    assert _prefs(world, member)["consent"]["sms"] is True


def test_one_click_post_unsubscribes_that_channel_once_and_logs_it(world):
    member = world.enroll(email="one.click@example.com", consent={"sms": True, "email": True})
    link = _link(world, member, "email")
    first = world.call("POST", link, b"List-Unsubscribe=One-Click", ONE_CLICK)
    assert first.status == 200 and "You are unsubscribed" in first.text
    again = world.call("POST", link, b"List-Unsubscribe=One-Click", ONE_CLICK)
    assert again.status == 200 and "You are unsubscribed" in again.text
    prefs = _prefs(world, member)
    assert prefs["consent"] == {"sms": True, "email": False}
    entries = [(e["channel"], e["granted"], e["source"]) for e in prefs["consentLog"]]
    assert entries.count(("email", False, "unsubscribe_link")) == 1
    assert "You are unsubscribed" in world.call("GET", link).text  # the page now says so, with no button
    assert "<form" not in world.call("GET", link).text


def test_any_body_or_none_unsubscribes(world):
    member = world.enroll(consent={"sms": True})
    reply = world.call("POST", _link(world, member, "sms"), b"\x00not json", {"Content-Type": "text/plain"})
    assert reply.status == 200
    assert _prefs(world, member)["consent"]["sms"] is False


def test_a_forged_or_moved_link_is_a_404_page_and_changes_nothing(world, other_world):
    member = world.enroll(consent={"sms": True})
    good = unsubscribe.token_for(world.merchant_id, member.member_id, "sms", signing_key())
    moved = unsubscribe.token_for(other_world.merchant_id, member.member_id, "sms", signing_key())
    for token in (good[:-3] + "AAA", moved, "nonsense", good.split(".")[0] + "." + "A" * 22):
        for method in ("GET", "POST"):
            reply = world.call(method, f"/v1/u/{token}")
            assert reply.status == 404, (method, token)
            assert reply.headers["content-type"].startswith("text/html")
            assert "not valid" in reply.text
    assert _prefs(world, member)["consent"]["sms"] is True


def test_a_merchant_name_cannot_inject_markup(handlers):
    from tests.support.world import create_world

    world = create_world(handlers, name="<script>alert(1)</script> Bar")
    member = world.enroll(consent={"sms": True})
    page = world.call("GET", _link(world, member, "sms")).text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
