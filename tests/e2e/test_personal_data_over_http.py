"""A member's personal data over real HTTP: join, visit, download her data, erase (the erase sent several times at
once, as a double tap does), and join again with the same phone as a new member."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.personal_data import join, new_person, traces_of

pytestmark = pytest.mark.e2e


def test_join_visit_export_erase_and_join_again(shop):
    person = new_person()
    member, _ = join(shop, person)
    assert shop.scan(member).status == 200
    assert shop.staff_scan(member, amount=2_500, receipt_id="r-e2e").status == 200
    balance = shop.card(member)["points"]["balance"]

    export = shop.call("GET", "/v1/me/export", headers=member.headers)
    assert export.status == 200
    assert export.headers["content-disposition"].startswith("attachment;")
    assert (export.json["profile"]["phone"], export.json["profile"]["email"]) == (person.phone_e164, person.email)
    assert sum(entry["points"] for entry in export.json["ledger"]) == balance

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: shop.call("DELETE", "/v1/me", headers=member.headers).status, range(4)))

    assert 204 in statuses and set(statuses) <= {204, 401}
    assert shop.call("GET", "/v1/me", headers=member.headers).status == 401
    assert traces_of(person.strings) == []
    owners_copy = shop.call("GET", f"/v1/merchants/{shop.merchant_id}/members/{member.member_id}/export",
                            headers=shop.owner)
    assert owners_copy.status == 404
    assert shop.call("DELETE", f"/v1/merchants/{shop.merchant_id}/members/{member.member_id}",
                     headers=shop.owner).status == 204

    again, _ = join(shop, person)
    assert again.member_id != member.member_id
    assert shop.card(again)["history"] == []
