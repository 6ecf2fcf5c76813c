"""The outbox: a message is written once, handed to the queue, and swept up again if a dispatch was lost."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from loyalty.domain.messages import MARKETING, PENDING, TRANSACTIONAL, Content, Message
from loyalty.services import outbox as service
from loyalty.store import keys
from loyalty.store import outbox as store
from loyalty.store.models import CampaignRunItem
from loyalty.store.transaction import ConditionFailed, Transaction


def new_message(**changes) -> Message:
    fields = dict(
        message_id=f"msg_{secrets.token_hex(8)}", merchant_id="mch_outboxtest000001", member_id="mem_outbox0001",
        purpose=MARKETING, created_at=datetime.now(UTC),
        contents={"sms": Content(subject=None, body="Hi {unsubscribeLink}"),
                  "email": Content(subject="Hello", body="Dear member")},
    )
    fields.update(changes)
    return Message(**fields)


@pytest.fixture
def queue(settings_env):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"messages-{secrets.token_hex(4)}")["QueueUrl"]
    settings_env(MESSAGE_QUEUE_URL=url)
    service._sqs.cache_clear()
    yield sqs, url
    sqs.delete_queue(QueueUrl=url)


def received_ids(sqs, url) -> list[str]:
    ids = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return ids
        ids += [service.message_id_of(entry["Body"]) for entry in batch]
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "ReceiptHandle": entry["ReceiptHandle"]} for n, entry in enumerate(batch)])


def test_a_message_reads_back_pending_with_its_channels_in_order():
    message = new_message()
    assert store.put(message) is True
    delivery = store.get(message.message_id)
    assert delivery.status == PENDING and delivery.outcome is None
    assert delivery.message == message
    assert list(delivery.message.contents) == ["sms", "email"]


def test_a_message_is_written_once():
    message = new_message()
    assert store.put(message) is True
    assert store.put(new_message(message_id=message.message_id, purpose=TRANSACTIONAL)) is False
    assert store.get(message.message_id).message.purpose == MARKETING
    with pytest.raises(ConditionFailed) as refused:
        store.add_to(Transaction(), message, tag="campaign_message").commit()
    assert refused.value.failed == {"campaign_message"}


def test_messages_need_known_channels_and_purposes():
    with pytest.raises(ValueError):
        new_message(contents={"fax": Content(subject=None, body="x")})
    with pytest.raises(ValueError):
        new_message(purpose="spam")
    with pytest.raises(ValueError):
        new_message(contents={})


def test_outcomes_add_up_on_the_campaign_run():
    message = new_message(campaign_id="cmp_1", run_id="run_" + secrets.token_hex(4))
    store.count_outcome(message, "sent_sms")
    store.count_outcome(message, "skipped_quiet_hours")
    store.count_outcome(message, "sent_sms", instead_of="skipped_quiet_hours")
    run = CampaignRunItem.get(*keys.campaign_run(message.merchant_id, "cmp_1", message.run_id), consistent_read=True)
    assert isinstance(run, CampaignRunItem)
    assert (run.sent_sms, run.skipped_quiet_hours, run.failed) == (2, 0, 0)


def test_a_message_of_no_campaign_counts_nowhere():
    store.count_outcome(new_message(), "sent_email")  # nothing to update, nothing raised


def test_dispatch_queues_every_id_once_in_batches_of_ten(queue):
    sqs, url = queue
    ids = [f"msg_{n:03d}" for n in range(23)]
    assert service.dispatch(ids + ids[:5]) == 23
    assert sorted(received_ids(sqs, url)) == ids


def test_dispatch_without_a_queue_leaves_messages_in_the_outbox(settings_env):
    settings_env(MESSAGE_QUEUE_URL="")
    assert service.dispatch(["msg_1"]) == 0


def test_the_sweep_dispatches_what_was_never_delivered_once_per_interval(queue):
    sqs, url = queue
    message = new_message(created_at=datetime.now(UTC) - timedelta(hours=1))
    store.put(message)
    fresh = new_message()
    store.put(fresh)
    now = datetime.now(UTC)
    found = service.sweep(now)
    assert found["dispatched"] >= 1
    swept = received_ids(sqs, url)
    assert message.message_id in swept and fresh.message_id not in swept
    # Moved on in the index: the next sweep, a minute later, leaves it alone; after the interval it tries again.
    service.sweep(now + timedelta(minutes=1))
    assert message.message_id not in received_ids(sqs, url)
    service.sweep(now + timedelta(minutes=10))
    assert message.message_id in received_ids(sqs, url)


def test_the_queue_carries_only_the_message_id():
    body = service.queue_body("msg_abc")
    assert json.loads(body) == {"messageId": "msg_abc"}


def test_links_point_at_the_public_api():
    assert service.card_link("mch_x") == "http://loyalty.test/v1/m/mch_x"
    assert service.unsubscribe_link("mch_x", "mem_y", "email").startswith("http://loyalty.test/v1/u/")
