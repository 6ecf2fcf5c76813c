"""The member's web card in a phone's browser: joining, scanning the counter code, the program's rules (tier,
expiring points, today's promotion, every award line), preferences and consent, a lost card's link, and
unsubscribing from a message."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

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


def _quiet_hours_around_now(shop) -> tuple[str, str]:
    """A promotion window on the café's clock (Warsaw) that is open now: from the last full hour to two later."""
    now = datetime.fromisoformat(shop.call("GET", "/_local/clock").json["now"].replace("Z", "+00:00"))
    local = now.astimezone(ZoneInfo("Europe/Warsaw"))
    return (local - timedelta(hours=1)).strftime("%H:00"), (local + timedelta(hours=2)).strftime("%H:00")


def _last_day_of_next_month(shop) -> re.Pattern:
    """Points earned this month (Warsaw) with ``afterMonths: 1`` can be used until the end of next month,
    shown as e.g. "31 Dec" (en-GB; some browsers write September "Sept")."""
    now = datetime.fromisoformat(shop.call("GET", "/_local/clock").json["now"].replace("Z", "+00:00"))
    local = now.astimezone(ZoneInfo("Europe/Warsaw"))
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return re.compile(rf"{calendar.monthrange(year, month)[1]} {calendar.month_abbr[month]}")


def _program_rules(quiet_from: str, quiet_to: str) -> dict:
    return {
        "points": {"perVisit": 20, "perCurrencyUnit": 1, "welcomeBonus": 0},
        "rewards": [{"id": "free-coffee", "name": "Free coffee", "pointsCost": 500},
                    {"id": "free-cake", "name": "Free cake"}, {"id": "mystery-muffin", "name": "Mystery muffin"}],
        "scanCooldownMinutes": 0,
        "tiers": {"windowMonths": 12, "graceDays": 30, "levels": [
            {"id": "silver", "name": "Silver", "threshold": 100, "multiplier": 1.5, "perks": ["Free oat milk"]},
            {"id": "gold", "name": "Gold", "threshold": 150, "multiplier": 2, "perks": ["Early access"],
             "upgradeRewardId": "free-cake"}]},
        "promotions": [{"id": "quiet-hours", "name": "Double points at quiet hours", "multiplier": 2,
                        "from": quiet_from, "to": quiet_to}],
        "expiry": {"afterMonths": 1},
        "surprise": {"rewardId": "mystery-muffin", "everyNthVisit": 2, "maxPerDay": 100},
    }


def test_the_card_shows_the_tier_expiring_points_the_promotion_and_every_line_of_a_scan(
        phone: Page, site, shop, tmp_path):
    quiet_from, quiet_to = _quiet_hours_around_now(shop)
    saved = shop.call("PUT", f"/v1/merchants/{shop.merchant_id}/program", _program_rules(quiet_from, quiet_to),
                      shop.owner)
    assert saved.status == 200, saved.raw
    member = shop.enroll()
    _open_card_as(phone, site, shop, member)
    banner = phone.get_by_role("region", name="Promotion today")
    expect(banner).to_contain_text(f"Double points at quiet hours, {quiet_from}\u2013{quiet_to}")
    expect(banner).to_contain_text("Now")
    expect(phone.get_by_text("100 points to Silver")).to_be_visible()  # below the first level
    expect(phone.locator(".expiring")).to_have_count(0)  # no points yet
    phone.screenshot(path=tmp_path / "1-no-tier-yet.png", full_page=True)

    # Visit 20 + spend 40 = 60 base, doubled by the promotion: 120 earned, Silver at once.
    assert shop.staff_scan(member, amount=4_000).status == 200
    phone.reload()
    expect(phone.locator(".tname")).to_have_text("Silver")
    expect(phone.get_by_role("list", name="Your perks")).to_have_text("Free oat milk")
    expect(phone.get_by_role("progressbar", name="Progress to Gold")).to_have_attribute("aria-valuenow", "120")
    expect(phone.get_by_text("30 more points to Gold")).to_be_visible()
    last_day = _last_day_of_next_month(shop)
    expect(phone.locator(".expiring")).to_contain_text(re.compile(r"120 points expire on " + last_day.pattern))
    phone.screenshot(path=tmp_path / "2-silver.png", full_page=True)

    # The second visit, scanned on the phone: visit 20, Silver's +10, the promotion's +20; Gold and a surprise.
    phone.goto(_card_url(site, shop, f"?c={shop.counter_code()}"))
    expect(phone.get_by_role("heading", name="+50 points")).to_be_visible()
    lines = phone.get_by_role("list", name="What you got").get_by_role("listitem")
    expect(lines).to_have_count(4)
    expect(lines.filter(has_text="Double points at quiet hours")).to_contain_text("+20 pts")
    expect(lines.filter(has_text="+10 pts")).to_have_count(1)
    expect(phone.get_by_text("You reached Gold!")).to_be_visible()
    expect(phone.get_by_text("A surprise for you: Mystery muffin")).to_be_visible()
    expect(phone.get_by_text("Your Gold reward: Free cake")).to_be_visible()
    expect(phone.locator(".tname")).to_contain_text("Top tier")
    expect(phone.locator(".expiring")).to_contain_text(re.compile(r"170 points expire on " + last_day.pattern))
    phone.screenshot(path=tmp_path / "3-scan-gold.png", full_page=True)


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
