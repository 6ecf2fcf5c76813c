"""Feedback over real HTTP on the local stack: a visit, its rating from several phones' retries at once, the
owner's list, and the owner's note on a low rating through the queue, the sender and `GET /_local/outbox`."""

from __future__ import annotations

import uuid

import pytest

from tests.support.concurrency import together

pytestmark = pytest.mark.e2e


def _outbox(http, to: str) -> list[dict]:
    reply = http.request("GET", "/_local/outbox")
    assert reply.status == 200, reply.raw
    return [message for message in reply.json["messages"] if message["to"] == to]


def test_a_low_rating_is_stored_once_listed_for_the_owner_and_emailed_to_her_once(http, shop):
    owner_address = f"owner-{uuid.uuid4().hex[:8]}@cafe.example"
    saved = shop.call("PUT", f"/v1/merchants/{shop.merchant_id}/messaging", {"notifyEmail": owner_address},
                      shop.owner)
    assert saved.status == 200, saved.raw
    member = shop.enroll(name="Marta Zielińska")
    scan = shop.scan(member)
    assert scan.status == 200, scan.raw
    assert shop.card(member)["npsDue"] is True

    body = {"scanId": scan.json["scanId"], "rating": 1, "comment": "The cake was stale", "nps": 2}
    replies = together(6, lambda i: shop.call("POST", "/v1/me/feedback", body, member.headers))

    assert sorted(r.status for r in replies) == [201] + [409] * 5, [r.raw for r in replies]
    assert {r.error_code for r in replies if r.status == 409} == {"feedback_already_given"}
    assert "npsDue" not in shop.card(member)

    listed = shop.call("GET", f"/v1/merchants/{shop.merchant_id}/feedback", headers=shop.owner)
    assert listed.status == 200, listed.raw
    assert [(f["scanId"], f["rating"], f["nps"], f["comment"]) for f in listed.json["feedback"]] == [
        (scan.json["scanId"], 1, 2, "The cake was stale")]
    assert listed.json["nextCursor"] is None
    good_only = shop.call("GET", f"/v1/merchants/{shop.merchant_id}/feedback", headers=shop.owner,
                          query={"rating": "5"})
    assert good_only.json == {"feedback": [], "nextCursor": None}

    for _ in range(2):  # a second run finds nothing more to send
        assert http.request("POST", "/_local/schedules/run").status == 200
    (note,) = _outbox(http, owner_address)
    assert note["channel"] == "email"
    assert "1/5" in note["subject"] and "Marta" in note["subject"]
    assert "Comment: The cake was stale" in note["body"] and "Rating: 1/5" in note["body"]
    assert "Zielińska" not in note["body"]
