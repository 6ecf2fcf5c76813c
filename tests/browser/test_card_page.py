"""The member's web card in a phone's browser: joining, scanning the counter code, preferences and consent,
a lost card's link, and unsubscribing from a message."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from loyalty.domain import card_link, unsubscribe
from loyalty.server_keys import signing_key
from loyalty.store import members as member_store
from playwright.sync_api import Page, expect

from tests.support.world import new_phone

pytestmark = pytest.mark.browser


def _card_url(site, shop, query: str = "") -> str:
    return f"{site}/v1/m/{shop.merchant_id}{query}"


def _open_card_as(page: Page, site, shop, member) -> None:
    """The phone that joined: its card token is in the page's storage."""
    page.goto(_card_url(site, shop))
    page.evaluate("([key, token]) => localStorage.setItem(key, token)",
                  [f"bywalec:token:{shop.merchant_id}", member.token])
    page.reload()
    expect(page.get_by_role("heading", name="Your card")).to_be_visible()


def _preferences(shop, member) -> dict:
    reply = shop.call("GET", "/v1/me/preferences", headers=member.headers)
    assert reply.status == 200, reply.raw
    return reply.json


def test_joining_with_a_birthday_shows_the_card(phone: Page, site, shop):
    phone.goto(_card_url(site, shop))
    phone.get_by_label("Phone").fill(new_phone())
    phone.get_by_label("Birthday (optional)").fill("1990-05-31")
    phone.get_by_label("Text me offers").check()
    phone.get_by_role("button", name="Join").click()
    expect(phone.get_by_text("Welcome! Your card is ready.")).to_be_visible()
    expect(phone.get_by_role("img", name="Your personal card QR code")).to_be_visible()
    phone.get_by_role("button", name="Preferences").click()
    expect(phone.get_by_label("Birthday (optional)")).to_have_value("1990-05-31")
    expect(phone.locator("#consent-log")).to_contain_text("Text messages: turned on when you joined")


def test_joining_from_the_counter_code_counts_the_visit(phone: Page, site, shop):
    phone.goto(_card_url(site, shop, f"?c={shop.counter_code()}"))
    expect(phone.get_by_text("Join in a few seconds and this visit counts.")).to_be_visible()
    phone.get_by_label("Phone").fill(new_phone())
    phone.get_by_role("button", name="Join").click()
    expect(phone.get_by_role("heading", name=re.compile(r"\+1 stamp"))).to_be_visible()
    expect(phone.get_by_role("img", name="1 of 5 stamps")).to_be_visible()


def test_a_member_scanning_the_counter_code_gets_her_stamp(phone: Page, site, shop):
    member = shop.enroll()
    _open_card_as(phone, site, shop, member)
    phone.goto(_card_url(site, shop, f"?c={shop.counter_code()}"))
    expect(phone.get_by_role("heading", name=re.compile(r"\+1 stamp"))).to_be_visible()
    assert "c=" not in phone.url  # a reload does not scan again


def test_turning_sms_consent_off_shows_in_the_consent_log(phone: Page, site, shop):
    member = shop.enroll(consent={"sms": True, "email": False})
    _open_card_as(phone, site, shop, member)
    phone.get_by_role("button", name="Preferences").click()
    sms = phone.get_by_role("switch", name="Text me offers")
    expect(sms).to_be_checked()
    sms.uncheck()
    phone.get_by_label("Language of messages").select_option("pl")
    phone.get_by_role("button", name="Save").click()
    expect(phone.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(phone.locator("#consent-log li").first).to_contain_text("Text messages: turned off by you")
    saved = _preferences(shop, member)
    assert saved["consent"]["sms"] is False and saved["language"] == "pl"


def test_a_birthday_that_does_not_exist_is_refused_on_its_field(phone: Page, site, shop):
    member = shop.enroll()
    _open_card_as(phone, site, shop, member)
    phone.get_by_role("button", name="Preferences").click()
    phone.get_by_label("Birthday (optional)").fill("02-30")
    phone.get_by_role("button", name="Save").click()
    expect(phone.get_by_label("Birthday (optional)")).to_have_attribute("aria-invalid", "true")
    expect(phone.get_by_text("This day does not exist.")).to_be_visible()
    assert _preferences(shop, member)["birthday"] is None


def test_lost_card_link_gives_the_same_neutral_confirmation(phone: Page, site, shop):
    member = shop.enroll()
    for contact in (member.phone, "nobody.here@example.com"):
        phone.goto(_card_url(site, shop))
        phone.get_by_role("button", name="Lost your card?").click()
        phone.get_by_label("Phone or email").fill(contact)
        phone.get_by_role("button", name="Send me the link").click()
        expect(phone.get_by_role("heading", name="Check your messages")).to_be_visible()
        expect(phone.get_by_text("If this phone number or email has a card here")).to_be_visible()


def test_a_card_link_opens_the_card_on_a_new_phone(phone: Page, site, shop):
    member = shop.enroll()
    token_hash = member_store.get_member(member.member_id).token_hash
    code = card_link.code_for(signing_key(), shop.merchant_id, member.member_id, token_hash, datetime.now(UTC))
    phone.goto(_card_url(site, shop, f"#card={code}"))
    expect(phone.get_by_text("Welcome back! This is your card.")).to_be_visible()
    expect(phone.get_by_role("img", name="Your personal card QR code")).to_be_visible()
    assert "#card=" not in phone.url
    assert shop.call("GET", "/v1/me", headers=member.headers).status == 401  # the lost card's token


def test_the_unsubscribe_button_unsubscribes(phone: Page, site, shop):
    member = shop.enroll(consent={"sms": True, "email": False})
    token = unsubscribe.token_for(shop.merchant_id, member.member_id, "sms", signing_key())
    phone.goto(f"{site}/v1/u/{token}")
    expect(phone.get_by_role("heading", name="Stop offers by text message?")).to_be_visible()
    phone.get_by_role("button", name="Unsubscribe").click()
    expect(phone.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    log = _preferences(shop, member)["consentLog"]
    assert (log[0]["channel"], log[0]["granted"], log[0]["source"]) == ("sms", False, "unsubscribe_link")
