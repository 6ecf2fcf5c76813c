"""Messages on the local stack: the outbox goes through the template's queue to the sender (in its own
execution environments), out through moto's SES and SNS, and shows in `GET /_local/outbox`."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.messages import delivery_event, write_message
from tests.support.world import new_phone

pytestmark = pytest.mark.e2e


def _outbox(http, to: str) -> list[dict]:
    reply = http.request("GET", "/_local/outbox")
    assert reply.status == 200, reply.raw
    return [message for message in reply.json["messages"] if message["to"] == to]


def _run_schedules(http) -> dict:
    reply = http.request("POST", "/_local/schedules/run")
    assert reply.status == 200, reply.raw
    return reply.json


def _joined(shop, *, email: bool = True, phone: bool = True, consent: dict | None = None):
    address = f"guest-{uuid.uuid4().hex[:10]}@example.com" if email else None
    number = new_phone() if phone else None
    member = shop.enroll(phone=number, email=address, consent=consent or {"sms": True, "email": True})
    return member, address, number


def test_a_card_link_message_reaches_the_local_outbox_after_the_schedules_run(http, shop):
    from loyalty.services import outbox

    member, address, _ = _joined(shop, consent={"sms": False, "email": False})
    message = write_message(shop.merchant_id, member.member_id, purpose="transactional", channels=("email",))
    assert outbox.dispatch([message.message_id]) == 1

    drained = _run_schedules(http)
    (queue,) = [q for q in drained["queues"] if q["queue"] == "MessageQueue"]
    assert (queue["function"], queue["visible"]) == ("SenderFunction", 0)

    (sent,) = _outbox(http, address)
    assert (sent["channel"], sent["subject"]) == ("email", "A treat for you")
    link = sent["headers"]["List-Unsubscribe"].strip("<>")
    assert "/v1/u/" in link
    assert sent["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in sent["body"]
    assert sent["sentAt"].endswith("Z")
    assert outbox_state(message) == ("done", "sent_email")


def test_the_outbox_lists_messages_oldest_first(http, shop):
    from loyalty.services import outbox

    member, address, phone = _joined(shop)
    first = write_message(shop.merchant_id, member.member_id, purpose="transactional", channels=("email",))
    outbox.dispatch([first.message_id])
    _run_schedules(http)
    second = write_message(shop.merchant_id, member.member_id, purpose="transactional", channels=("sms",))
    outbox.dispatch([second.message_id])
    _run_schedules(http)
    everything = http.request("GET", "/_local/outbox").json["messages"]
    mine = [m for m in everything if m["to"] in (address, phone)]
    assert [m["channel"] for m in mine] == ["email", "sms"]
    assert [m["sentAt"] for m in everything] == sorted(m["sentAt"] for m in everything)


def test_deliveries_of_one_message_in_separate_environments_send_it_once(http, shop, server):
    member, address, _ = _joined(shop)
    message = write_message(shop.merchant_id, member.member_id, channels=("email",))
    event, _ = delivery_event(message.message_id)
    barrier = threading.Barrier(6)

    def deliver(_):
        barrier.wait()
        return server.invoke("SenderFunction", event)

    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(deliver, range(6)))
    assert all(reply == {"batchItemFailures": []} for reply in replies)
    assert len(_outbox(http, address)) == 1
    assert outbox_state(message) == ("done", "sent_email")


def test_a_night_time_sms_waits_for_the_morning_on_the_local_clock(http, shop):
    from loyalty.services import outbox

    member, _, phone = _joined(shop, email=False)
    warsaw = ZoneInfo("Europe/Warsaw")
    now = datetime.now(UTC)
    evening = datetime.combine(now.astimezone(warsaw).date() + timedelta(days=1), datetime.min.time(),
                               tzinfo=warsaw).replace(hour=22)
    try:
        http.request("POST", "/_local/clock", {"offsetSeconds": (evening - now).total_seconds()})
        message = write_message(shop.merchant_id, member.member_id, channels=("sms",), created_at=evening)
        outbox.dispatch([message.message_id])
        _run_schedules(http)
        assert _outbox(http, phone) == []
        assert outbox_state(message) == ("held", None)

        morning = evening + timedelta(hours=11, minutes=5)  # 09:05 local
        http.request("POST", "/_local/clock", {"offsetSeconds": (morning - now).total_seconds()})
        runs = _run_schedules(http)["runs"]
        (sweep,) = [run for run in runs if run["schedule"] == "SweepOutbox"]
        assert sweep["status"] == "succeeded" and sweep["result"]["dispatched"] >= 1
        (sms,) = _outbox(http, phone)
        assert sms["body"].startswith("Cafe: a treat for you. Stop: ")
        assert outbox_state(message) == ("done", "sent_sms")
    finally:
        http.request("POST", "/_local/clock", {"offsetSeconds": 0})


def test_messaging_settings_over_http(http, shop):
    path = f"/v1/merchants/{shop.merchant_id}/messaging"
    assert http.request("GET", path, headers=shop.owner).json["quietHours"] == {"from": "20:00", "to": "09:00"}
    saved = http.request("PUT", path, {"senderName": "Kawiarnia", "maxPerMemberPer7Days": 3}, shop.owner)
    assert saved.status == 200 and saved.json["senderName"] == "Kawiarnia"


def outbox_state(message) -> tuple[str, str | None]:
    from loyalty.store import outbox

    delivery = outbox.get(message.message_id)
    return delivery.status, delivery.outcome


def test_a_lost_card_request_over_http_reaches_the_member_by_sms_with_her_card_link(http, shop):
    _, _, number = _joined(shop, email=False, consent={"sms": False, "email": False})
    reply = http.request("POST", f"/v1/merchants/{shop.merchant_id}/card-link", {"phone": number})
    assert reply.status == 202, reply.raw

    _run_schedules(http)

    (sent,) = _outbox(http, number)  # transactional: no marketing consent needed, only her own number
    assert sent["channel"] == "sms"
    assert f"/v1/m/{shop.merchant_id}#card=" in sent["body"]
