"""The sender, through its handler: each outbox message is delivered once, to the channel the member can and
agreed to receive, within the frequency cap and outside SMS quiet hours, and a provider failure is retried,
then counted failed."""

from __future__ import annotations

import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from infra.local.queues import LocalQueues
from infra.template import load_template
from tests.support import messages
from tests.support.world import new_phone

SENDER = "SenderFunction"
MIDDAY = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # 12:00 in Warsaw: no quiet hours


@pytest.fixture
def at(monkeypatch):
    """Moves the services' clock to a given instant."""
    from loyalty.services import clock

    def move(instant: datetime) -> datetime:
        monkeypatch.setattr(clock, "now", lambda: instant)
        return instant

    return move


@pytest.fixture
def queue(settings_env):
    """A message queue of this test's own: what dispatch and the sweep send lands here."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"messages-{secrets.token_hex(4)}")["QueueUrl"]
    settings_env(MESSAGE_QUEUE_URL=url)

    def queued() -> list[str]:
        from loyalty.services.outbox import message_id_of

        ids = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            ids += [message_id_of(entry["Body"]) for entry in batch]
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(n), "ReceiptHandle": entry["ReceiptHandle"]} for n, entry in enumerate(batch)])
        return ids

    yield queued
    sqs.delete_queue(QueueUrl=url)


def customer(world, *, email_consent=True, sms_consent=True, with_email=True, with_phone=True):
    from tests.support.world import Member

    address = f"guest-{uuid.uuid4().hex[:10]}@example.com" if with_email else None
    phone = new_phone() if with_phone else None
    member = world.enroll(phone=phone, email=address, consent={"sms": sms_consent, "email": email_consent})
    return Member(member.member_id, member.token, member.card, phone), address


def write_message(world, member, **options):
    return messages.write_message(world.merchant_id, member.member_id, **options)


def deliver(runtime, *message_ids, receive_count=1) -> list[str]:
    """One batch from the queue, as Lambda delivers it; returns the outbox ids whose delivery failed."""
    event, outbox_ids = messages.delivery_event(*message_ids, receive_count=receive_count)
    reply = runtime.invoke(SENDER, event)
    return [outbox_ids[failure["itemIdentifier"]] for failure in reply["batchItemFailures"]]


def outcome(message) -> str | None:
    from loyalty.store import outbox

    return outbox.get(message.message_id).outcome


def sent_to(mail, address) -> list[dict]:
    return [view for view in mail.messages() if view["to"] == address]


def run_counters(message) -> dict[str, int]:
    from loyalty.domain.messages import OUTCOMES
    from loyalty.store import keys
    from loyalty.store.models import CampaignRunItem

    run = CampaignRunItem.get(*keys.campaign_run(message.merchant_id, message.campaign_id, message.run_id),
                              consistent_read=True)
    return {name: int(getattr(run, name)) for name in OUTCOMES if getattr(run, name)}


# Channels, consent and contacts


def test_an_email_goes_out_with_a_one_click_unsubscribe_link(world, runtime, mail):
    from loyalty.domain.unsubscribe import read
    from loyalty.server_keys import signing_key

    member, address = customer(world)
    message = write_message(world, member, campaign_id="cmp_birthday", run_id=f"run_{uuid.uuid4().hex[:8]}")
    assert deliver(runtime, message.message_id) == []

    (sent,) = sent_to(mail, address)
    assert sent["channel"] == "email" and sent["subject"] == "A treat for you"
    headers = sent["headers"]
    assert headers["From"].endswith("<loyalty@bywalec.example>") and headers["From"].startswith("Café ")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = headers["List-Unsubscribe"].strip("<>")
    assert link.startswith("http://loyalty.test/v1/u/")
    assert read(link.rsplit("/", 1)[1], signing_key()) == (world.merchant_id, member.member_id, "email")
    assert f"Unsubscribe: {link}" in sent["body"]
    assert outcome(message) == "sent_email"
    assert run_counters(message) == {"sent_email": 1}


def test_the_first_channel_with_consent_and_a_contact_is_used(world, runtime, mail, at):
    at(MIDDAY)
    member, address = customer(world, email_consent=False)
    message = write_message(world, member, channels=("email", "sms"))
    deliver(runtime, message.message_id)
    assert sent_to(mail, address) == []
    (sms,) = sent_to(mail, member.phone)
    assert sms["channel"] == "sms" and sms["body"].startswith("Cafe: a treat for you. Stop: http://loyalty.test/v1/u/")
    assert outcome(message) == "sent_sms"


def test_consent_withdrawn_after_queueing_skips_the_message(world, runtime, mail):
    from loyalty.store.members import MemberUpdate, commit

    member, address = customer(world, sms_consent=False)
    message = write_message(world, member, channels=("email",), campaign_id="cmp_x", run_id="run_withdrawn")
    commit([MemberUpdate(member.member_id, set={"consent_email": False})])  # as the preferences page would
    deliver(runtime, message.message_id)
    assert sent_to(mail, address) == []
    assert outcome(message) == "skipped_no_consent"
    assert run_counters(message) == {"skipped_no_consent": 1}


def test_a_member_with_no_contact_for_the_channels_is_skipped(world, runtime, mail):
    member, _ = customer(world, with_email=False)
    message = write_message(world, member, channels=("email",))
    deliver(runtime, message.message_id)
    assert outcome(message) == "skipped_no_contact"


def test_a_transactional_message_needs_no_marketing_consent_and_counts_toward_no_cap(world, runtime, mail):
    member, address = customer(world, email_consent=False, sms_consent=False)
    messages = [write_message(world, member, purpose="transactional", channels=("email",)) for _ in range(3)]
    deliver(runtime, *(message.message_id for message in messages))
    assert len(sent_to(mail, address)) == 3
    assert {outcome(message) for message in messages} == {"sent_email"}


# Exactly once


def test_a_redelivered_message_is_not_sent_again(world, runtime, mail):
    member, address = customer(world)
    message = write_message(world, member, campaign_id="cmp_once", run_id=f"run_{uuid.uuid4().hex[:8]}")
    deliver(runtime, message.message_id)
    deliver(runtime, message.message_id, receive_count=2)
    deliver(runtime, message.message_id, message.message_id)  # the same id twice in one batch
    assert len(sent_to(mail, address)) == 1
    assert run_counters(message) == {"sent_email": 1}


@pytest.mark.parametrize("purpose", ["marketing", "transactional"])  # claimed with and without the cap record
def test_concurrent_deliveries_of_one_message_send_it_once(world, mail, purpose):
    from loyalty.services import sending

    member, address = customer(world)
    message = write_message(world, member, purpose=purpose, campaign_id="cmp_race",
                            run_id=f"run_{uuid.uuid4().hex[:8]}")
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: sending.deliver(message.message_id), range(6)))
    assert results.count("sent_email") == 1 and results.count(None) == 5
    assert len(sent_to(mail, address)) == 1
    assert run_counters(message) == {"sent_email": 1}


def test_an_unknown_message_id_is_acknowledged_not_retried(runtime):
    assert deliver(runtime, "msg_that_was_never_written") == []


# Frequency cap


def test_the_frequency_cap_counts_marketing_messages_across_campaigns(world, runtime, mail):
    member, address = customer(world)
    run = f"run_{uuid.uuid4().hex[:8]}"
    first = write_message(world, member, campaign_id="cmp_birthday", run_id=run)
    second = write_message(world, member, campaign_id="cmp_winback", run_id=run)
    third = write_message(world, member, campaign_id="cmp_birthday", run_id=f"{run}_2")
    for message in (first, second, third):
        deliver(runtime, message.message_id)
    assert [outcome(m) for m in (first, second, third)] == ["sent_email", "sent_email", "skipped_frequency_cap"]
    assert len(sent_to(mail, address)) == 2
    assert run_counters(third) == {"skipped_frequency_cap": 1}
    # A transactional message still goes.
    card_link = write_message(world, member, purpose="transactional", channels=("email",))
    deliver(runtime, card_link.message_id)
    assert outcome(card_link) == "sent_email"


def test_the_cap_window_is_seven_days(world, runtime, mail, at):
    from loyalty.services import clock

    member, _ = customer(world)
    start = at(clock.now())
    early = [write_message(world, member) for _ in range(2)]
    deliver(runtime, *(m.message_id for m in early))
    at(start + timedelta(days=6, hours=23))
    blocked = write_message(world, member)
    deliver(runtime, blocked.message_id)
    at(start + timedelta(days=7, minutes=1))
    allowed = write_message(world, member)
    deliver(runtime, allowed.message_id)
    assert (outcome(blocked), outcome(allowed)) == ("skipped_frequency_cap", "sent_email")


def test_two_messages_sent_at_once_cannot_both_pass_the_cap(world, mail, handlers):
    from loyalty.services import sending

    reply = world.call("PUT", f"/v1/merchants/{world.merchant_id}/messaging",
                       {"maxPerMemberPer7Days": 1}, world.owner)
    assert reply.status == 200, reply.raw
    member, address = customer(world)
    messages = [write_message(world, member) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda m: sending.deliver(m.message_id), messages))
    assert sorted(results) == ["sent_email"] + ["skipped_frequency_cap"] * 3
    assert len(sent_to(mail, address)) == 1


# SMS quiet hours (Europe/Warsaw, defaults 20:00-09:00)


def test_a_marketing_sms_in_quiet_hours_is_held_then_sent_when_they_end(world, runtime, mail, at, queue):
    member, _ = customer(world, email_consent=False)
    evening = at(datetime(2026, 11, 23, 21, 0, tzinfo=UTC))  # 22:00 in Warsaw
    message = write_message(world, member, channels=("sms",), campaign_id="cmp_night", run_id="run_" + uuid.uuid4().hex)
    deliver(runtime, message.message_id)
    assert sent_to(mail, member.phone) == []
    assert outcome(message) is None
    assert run_counters(message) == {"skipped_quiet_hours": 1}

    # Redelivered during the night: still held, counted once.
    at(evening + timedelta(hours=3))
    deliver(runtime, message.message_id, receive_count=2)
    assert run_counters(message) == {"skipped_quiet_hours": 1}

    # Before 09:00 local the sweep leaves it; after, it queues it again and the sender sends it.
    at(datetime(2026, 11, 24, 7, 59, tzinfo=UTC))
    runtime.invoke(SENDER, {"job": "sweep-outbox"})
    assert message.message_id not in queue()
    at(datetime(2026, 11, 24, 8, 1, tzinfo=UTC))
    assert runtime.invoke(SENDER, {"job": "sweep-outbox"})["dispatched"] >= 1
    assert message.message_id in queue()
    deliver(runtime, message.message_id)
    assert len(sent_to(mail, member.phone)) == 1
    assert outcome(message) == "sent_sms"
    assert run_counters(message) == {"sent_sms": 1}


def test_quiet_hours_hold_no_email_and_no_transactional_sms(world, runtime, mail, at):
    member, _ = customer(world)
    at(datetime(2026, 11, 23, 21, 0, tzinfo=UTC))
    marketing_email = write_message(world, member, channels=("email",))
    card_link = write_message(world, member, purpose="transactional", channels=("sms",))
    deliver(runtime, marketing_email.message_id, card_link.message_id)
    assert (outcome(marketing_email), outcome(card_link)) == ("sent_email", "sent_sms")


# Undelivered messages


def test_the_sweep_queues_messages_a_lost_dispatch_left_behind(world, runtime, queue, at):
    from loyalty.services import clock

    member, _ = customer(world)
    now = at(clock.now())
    lost = write_message(world, member, created_at=now - timedelta(minutes=10))
    recent = write_message(world, member, created_at=now)
    runtime.invoke(SENDER, {"job": "sweep-outbox"})
    queued = queue()
    assert lost.message_id in queued and recent.message_id not in queued


# Provider failures


def test_a_provider_failure_is_retried_then_counted_failed(world, runtime, mail, settings_env):
    member, address = customer(world)
    message = write_message(world, member, channels=("email",), campaign_id="cmp_fail", run_id=f"run_{uuid.uuid4()}")
    settings_env(SENDER_EMAIL="nobody@unverified.example")  # SES refuses an address it has not verified
    for receive in range(1, 5):
        assert deliver(runtime, message.message_id, receive_count=receive) == [message.message_id]
        assert outcome(message) is None
    assert run_counters_or_empty(message) == {}
    # The queue's last receive: counted failed, and left to the queue, which moves it to its dead-letter queue.
    assert deliver(runtime, message.message_id, receive_count=5) == [message.message_id]
    assert outcome(message) == "failed"
    assert run_counters(message) == {"failed": 1}
    assert sent_to(mail, address) == []


def test_a_message_that_failed_once_goes_out_on_the_retry(world, runtime, mail, settings_env):
    member, address = customer(world)
    message = write_message(world, member, channels=("email",))
    settings_env(SENDER_EMAIL="nobody@unverified.example")
    assert deliver(runtime, message.message_id) != []
    settings_env(SENDER_EMAIL="loyalty@bywalec.example")
    assert deliver(runtime, message.message_id, receive_count=2) == []
    assert outcome(message) == "sent_email"
    assert len(sent_to(mail, address)) == 1


def test_the_queue_moves_a_message_that_keeps_failing_to_its_dead_letter_queue(world, runtime, mail, settings_env):
    """The template's queue, its redrive policy and the event source mapping, in moto."""
    from loyalty.services import outbox

    queues = LocalQueues(load_template(), runtime, "eu-central-1", visibility_timeout_seconds=0,
                         name_prefix=f"test-{uuid.uuid4().hex[:6]}")
    settings_env(**queues.create())
    member, _ = customer(world)
    message = write_message(world, member, channels=("email",), campaign_id="cmp_dlq", run_id=f"run_{uuid.uuid4()}")
    settings_env(SENDER_EMAIL="nobody@unverified.example")
    assert outbox.dispatch([message.message_id]) == 1
    (drained,) = [queue for queue in queues.drain() if queue.get("queue") == "MessageQueue"]
    assert drained["processed"] == 5  # maxReceiveCount
    assert queues.depth("MessageQueue") == {"visible": 0, "inFlight": 0, "delayed": 0}
    assert queues.depth("MessageDeadLetterQueue")["visible"] == 1
    assert outcome(message) == "failed"
    assert run_counters(message) == {"failed": 1}


def run_counters_or_empty(message) -> dict[str, int]:
    from pynamodb.exceptions import DoesNotExist

    try:
        return run_counters(message)
    except DoesNotExist:
        return {}


# Privacy


def test_the_senders_logs_name_no_contact_and_no_body(world, runtime, mail, caplog, settings_env, at):
    at(MIDDAY)
    member, address = customer(world)
    failing = write_message(world, member, channels=("email",), purpose="transactional")
    by_email = write_message(world, member, channels=("email",))
    by_sms = write_message(world, member, channels=("sms",))
    caplog.set_level("INFO")  # as on AWS (POWERTOOLS_LOG_LEVEL)
    settings_env(SENDER_EMAIL="nobody@unverified.example")
    assert deliver(runtime, failing.message_id) != []
    settings_env(SENDER_EMAIL="loyalty@bywalec.example")
    deliver(runtime, by_email.message_id, by_sms.message_id)
    assert len(sent_to(mail, address)) == 1 and len(sent_to(mail, member.phone)) == 1
    text = caplog.text + " ".join(str(record.__dict__) for record in caplog.records)
    assert by_email.message_id in text
    for personal in (address, member.phone, "nobody@unverified.example", "treat", "Unsubscribe"):
        assert personal not in text
