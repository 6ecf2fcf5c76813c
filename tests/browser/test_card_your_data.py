"""The web card's "Your data": downloading everything kept about her, and deleting the card after a confirmation
that says what is lost; afterwards the phone forgets the card and shows the join form."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.support.personal_data import join, new_person

pytestmark = pytest.mark.browser


def _open_card(page: Page, site, shop, member) -> None:
    page.goto(f"{site}/v1/m/{shop.merchant_id}")
    page.evaluate("([key, token]) => localStorage.setItem(key, token)",
                  [f"bywalec:token:{shop.merchant_id}", member.token])
    page.reload()
    expect(page.get_by_role("heading", name="Your card")).to_be_visible()
    expect(page.get_by_role("heading", name="Your data")).to_be_visible()


def test_download_my_data_saves_a_file_with_everything_kept_about_her(phone: Page, site, shop, tmp_path):
    person = new_person()
    member, _ = join(shop, person)
    assert shop.scan(member).status == 200
    _open_card(phone, site, shop, member)

    with phone.expect_download() as download:
        phone.get_by_role("button", name="Download my data").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    data = json.loads(saved.read_text(encoding="utf-8"))

    assert saved.name.startswith("my-data-") and saved.suffix == ".json"
    assert (data["memberId"], data["profile"]["name"], data["profile"]["phone"], data["profile"]["email"]) == (
        member.member_id, person.name, person.phone_e164, person.email)
    assert len(data["ledger"]) == 1
    expect(phone.get_by_text("Your data is saved to your downloads.")).to_be_visible()
    phone.get_by_role("heading", name="Your data").scroll_into_view_if_needed()
    phone.screenshot(path=tmp_path / "1-your-data.png", full_page=True)


def test_delete_my_card_asks_first_then_the_card_is_gone_and_the_join_form_is_back(phone: Page, site, shop,
                                                                                   tmp_path):
    person = new_person()
    member, _ = join(shop, person)
    assert shop.scan(member).status == 200
    _open_card(phone, site, shop, member)

    phone.get_by_role("button", name="Delete my card").click()
    confirmation = phone.get_by_role("alertdialog", name="Delete your card?")
    expect(confirmation).to_contain_text("You lose your 30 points and 1 stamp.")
    expect(confirmation).to_contain_text("This card stops working")
    phone.screenshot(path=tmp_path / "2-confirm-delete.png", full_page=True)
    confirmation.get_by_role("button", name="Keep my card").click()
    expect(confirmation).to_be_hidden()
    assert shop.call("GET", "/v1/me", headers=member.headers).status == 200  # kept: nothing was sent

    phone.get_by_role("button", name="Delete my card").click()
    phone.get_by_role("button", name="Yes, delete my card").click()

    expect(phone.get_by_text("Your card is deleted and your details are erased.")).to_be_visible()
    expect(phone.get_by_role("button", name="Join")).to_be_visible()
    stored = phone.evaluate("key => localStorage.getItem(key)", f"bywalec:token:{shop.merchant_id}")
    assert stored is None
    assert shop.call("GET", "/v1/me", headers=member.headers).status == 401
    phone.screenshot(path=tmp_path / "3-deleted.png", full_page=True)

    # The same phone joins again, as a new member.
    phone.get_by_label("Phone").fill(person.phone)
    phone.get_by_role("button", name="Join").click()
    expect(phone.get_by_text("Welcome! Your card is ready.")).to_be_visible()
    token = phone.evaluate("key => localStorage.getItem(key)", f"bywalec:token:{shop.merchant_id}")
    assert token and not token.startswith(member.member_id)
