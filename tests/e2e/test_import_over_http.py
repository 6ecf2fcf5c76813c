"""A member import on the local stack: the upload over HTTP, the template's import queue feeding the worker
(its own execution environments) when the schedules run, the progress read back, and an imported customer
getting her card through "Lost your card?"."""

from __future__ import annotations

import secrets

import pytest

from tests.support.world import new_phone

pytestmark = pytest.mark.e2e


def test_an_uploaded_file_is_imported_and_its_customer_gets_her_card_by_sms(http, shop):
    phone, regular = new_phone(), shop.enroll()
    email = f"ola-{secrets.token_hex(4)}@example.com"
    local = f"{phone[3:6]} {phone[6:9]} {phone[9:]}"  # 600 100 200, as a paper card's spreadsheet has it
    csv = (f"Telefon;E-mail;Imię;Punkty;Wizyty;Ostatnia wizyta\r\n"
           f"{local};{email};Ola;80;6;01.10.2026\r\n"
           f"{regular.phone};;;30;2;\r\n"
           f"{local};;Ola again;5;;\r\n")
    path = f"/v1/merchants/{shop.merchant_id}/imports"
    mapping = "phone:Telefon,email:E-mail,name:Imię,points:Punkty,visits:Wizyty,lastVisit:Ostatnia wizyta"
    reply = http.request("POST", path, csv.encode(), {**shop.owner, "Content-Type": "text/csv"},
                         query={"mapping": mapping})
    assert reply.status == 202, reply.raw
    import_id = reply.json["importId"]
    queued = http.request("GET", f"{path}/{import_id}", headers=shop.owner)
    assert queued.status == 200 and queued.json["rows"] == 3

    drained = http.request("POST", "/_local/schedules/run")
    assert drained.status == 200, drained.raw
    (queue,) = [q for q in drained.json["queues"] if q["queue"] == "ImportQueue"]
    assert (queue["function"], queue["visible"]) == ("ImportWorkerFunction", 0)

    done = http.request("GET", f"{path}/{import_id}", headers=shop.owner).json
    assert (done["status"], done["rows"], done["imported"], done["merged"], done["failed"]) == ("done", 3, 1, 1, 1)
    assert done["errors"] == [{"row": 3, "message": "Duplicate of row 1 (same phone)."}]
    found = http.request("POST", f"/v1/merchants/{shop.merchant_id}/members/search", {"phone": phone}, shop.owner)
    assert found.status == 200 and found.json["name"] == "Ola" and found.json["points"]["balance"] == 80
    assert shop.profile(regular)["visitCount"] == 2

    # The same file again: the same import, nothing added.
    again = http.request("POST", path, csv.encode(), {**shop.owner, "Content-Type": "text/csv"},
                         query={"mapping": mapping})
    assert again.status == 202 and again.json["importId"] == import_id

    # She holds no card yet: "Lost your card?" sends her card link to the phone she had on paper.
    asked = http.request("POST", f"/v1/merchants/{shop.merchant_id}/card-link", {"phone": phone})
    assert asked.status == 202, asked.raw
    http.request("POST", "/_local/schedules/run")
    outbox = http.request("GET", "/_local/outbox").json["messages"]
    (sent,) = [message for message in outbox if message["to"] == phone]
    assert f"/v1/m/{shop.merchant_id}#card=" in sent["body"]


def test_a_6_mb_body_is_refused_in_the_envelope(http, shop):
    body = b"phone\n" + b"+48600100200\n" * (6 * 1024 * 1024 // 13 + 1)
    reply = http.request("POST", f"/v1/merchants/{shop.merchant_id}/imports", body,
                         {**shop.owner, "Content-Type": "text/csv"})
    assert reply.status == 413 and reply.json["error"]["code"] == "payload_too_large"
