"""Feedback on the web card in a phone's browser: after a counted visit the card asks "How was it?" (and the NPS
question when it is due), says thank you, and never asks twice for one visit."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.world import DEFAULT_TEST_PROGRAM, create_world

pytestmark = pytest.mark.browser


@pytest.fixture
def cafe(api):
    """A café whose visits count again at once (no cooldown), so one test can make several visits."""
    return create_world(api, program={**DEFAULT_TEST_PROGRAM, "scanCooldownMinutes": 0})


def _open_card_as(page: Page, site, shop, member) -> None:
    page.goto(f"{site}/v1/m/{shop.merchant_id}")
    page.evaluate("([key, token]) => localStorage.setItem(key, token)",
                  [f"bywalec:token:{shop.merchant_id}", member.token])
    page.reload()
    expect(page.get_by_role("heading", name="Your card")).to_be_visible()


def _scan_at_the_counter(page: Page, site, shop) -> None:
    page.goto(f"{site}/v1/m/{shop.merchant_id}?c={shop.counter_code()}")
    expect(page.get_by_role("heading", name=re.compile(r"\+1 stamp"))).to_be_visible()


def _feedback(shop) -> list[dict]:
    reply = shop.call("GET", f"/v1/merchants/{shop.merchant_id}/feedback", headers=shop.owner)
    assert reply.status == 200, reply.raw
    return reply.json["feedback"]


def test_after_a_visit_the_card_asks_how_it_was_and_when_due_the_nps_question(phone: Page, site, cafe, tmp_path):
    member = cafe.enroll(name="Ola")
    _open_card_as(phone, site, cafe, member)
    expect(phone.get_by_role("heading", name="How was it?")).to_have_count(0)  # no visit yet: nothing to ask

    _scan_at_the_counter(phone, site, cafe)
    form = phone.get_by_role("form", name="How was it?")
    expect(form).to_be_visible()
    recommend = form.get_by_role("group", name="How likely are you to recommend us to a friend?")
    expect(recommend).to_be_visible()  # her first answer: due
    phone.screenshot(path=tmp_path / "1-asked.png")

    form.get_by_role("button", name="Send").click()
    expect(form.get_by_role("alert")).to_have_text("Choose from 1 to 5 stars.")
    form.get_by_role("radio", name="2 stars").check()
    form.get_by_label("Comment (optional)").fill("The music was too loud")
    recommend.get_by_role("radio", name="6", exact=True).check()
    expect(form.get_by_role("alert")).to_have_count(0)  # choosing a rating clears the reminder
    form.screenshot(path=tmp_path / "2-answered.png")
    form.get_by_role("button", name="Send").click()

    expect(phone.get_by_role("heading", name="Thank you!")).to_be_visible()
    expect(phone.get_by_role("form", name="How was it?")).to_have_count(0)
    phone.screenshot(path=tmp_path / "3-thanks.png", full_page=True)
    (given,) = _feedback(cafe)
    assert (given["rating"], given["comment"], given["nps"]) == (2, "The music was too loud", 6)

    # The same visit is never asked about again: not on a reload, not on the card.
    phone.reload()
    expect(phone.get_by_role("heading", name="Your card")).to_be_visible()
    expect(phone.get_by_role("heading", name="How was it?")).to_have_count(0)

    # The next visit is asked about, without the NPS question (answered less than 90 days ago).
    _scan_at_the_counter(phone, site, cafe)
    form = phone.get_by_role("form", name="How was it?")
    expect(form).to_be_visible()
    expect(phone.get_by_role("heading", name="Your card")).to_be_visible()  # the card (npsDue) has been read
    expect(form.get_by_role("group", name="How likely are you to recommend us to a friend?")).to_be_hidden()
    form.get_by_role("radio", name="5 stars").check()
    form.get_by_role("button", name="Send").click()
    expect(phone.get_by_text("Thanks for telling us how it went.")).to_be_visible()
    phone.screenshot(path=tmp_path / "4-second-visit.png", full_page=True)
    assert [(f["rating"], f["nps"]) for f in _feedback(cafe)] == [(5, None), (2, 6)]


def test_not_now_closes_the_question_for_that_visit(phone: Page, site, cafe):
    member = cafe.enroll()
    _open_card_as(phone, site, cafe, member)
    _scan_at_the_counter(phone, site, cafe)
    phone.get_by_role("form", name="How was it?").get_by_role("button", name="Not now").click()
    expect(phone.get_by_role("heading", name="How was it?")).to_have_count(0)
    phone.reload()
    expect(phone.get_by_role("heading", name="Your card")).to_be_visible()
    expect(phone.get_by_role("heading", name="How was it?")).to_have_count(0)
    assert _feedback(cafe) == []
