"""The sender's use case: deliver one outbox message, exactly once per message id.

Each delivery of a queue message (a first one, a retry, a redelivery, two at once) runs ``deliver``:
1. A settled message is left alone; one held for quiet hours waits until they end; one that another attempt
   is sending right now is left to it (should that attempt die, its claim runs out and the sweep retries).
2. The member is read now, so consent withdrawn after queueing applies; the channel, the frequency cap and
   the quiet hours are decided (domain/sending.py).
3. A skip is settled on condition that nobody settled it first; a hold likewise. A send first claims the
   message, in one transaction with the member's frequency-cap record (conditions on both), then calls the
   provider, then settles as the claim's holder. Only one attempt can hold the claim, so only one sends.
4. A provider error releases the claim and raises, so the queue delivers it again; the last receive the
   queue allows counts the message failed before it goes to the dead-letter queue.
Each outcome is counted on the campaign run once, by whichever attempt settled the message.
A note to the owner (``message.to``: a low rating) goes to that address: no member is read, no consent, frequency
cap or quiet hours apply, and it carries no unsubscribe link.
The one gap no sender can close: a crash after the provider accepted and before the settle; the claim then
runs out and the message is sent again. Logs carry message ids and outcomes, never a contact or a body.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from functools import cache

from botocore.exceptions import BotoCoreError, ClientError

from loyalty import telemetry
from loyalty.domain import sending as rules
from loyalty.domain.messages import (
    DONE,
    EMAIL,
    FAILED,
    HELD,
    MARKETING,
    SENDING,
    SENT_EMAIL,
    SENT_SMS,
    SKIPPED_NO_CONTACT,
    SKIPPED_QUIET_HOURS,
    Delivery,
)
from loyalty.services import clock
from loyalty.services import outbox as outbox_service
from loyalty.settings import get_settings
from loyalty.store import merchants as merchant_store
from loyalty.store import messaging as messaging_store
from loyalty.store import outbox as store
from loyalty.store.transaction import ConditionFailed, TransientConflict

_log = logging.getLogger(__name__)
# How long one attempt holds a message: longer than the sender's timeout, shorter than the queue's visibility.
CLAIM_SECONDS = 60
_DECIDE_ATTEMPTS = 4  # a member's cap record that keeps changing under us: give up and let the queue retry


class DeliveryFailed(Exception):
    """The provider refused or could not be reached; the queue delivers the message again."""


@cache
def _ses():
    import boto3

    return boto3.client("sesv2", region_name=get_settings().region)


@cache
def _sns():
    import boto3

    return boto3.client("sns", region_name=get_settings().region)


def deliver(message_id: str, *, receive_count: int = 1, now: datetime | None = None) -> str | None:
    """Delivers the message if it is due; returns its outcome when this attempt settled or held it."""
    for _ in range(_DECIDE_ATTEMPTS):
        delivery = store.get(message_id)
        moment = now or clock.now()
        try:
            return _attempt(delivery, moment, receive_count) if delivery else _missing(message_id)
        except (ConditionFailed, TransientConflict) as lost:
            if isinstance(lost, ConditionFailed) and "outbox" in lost.failed:
                return None  # another attempt holds or settled it
    raise DeliveryFailed(f"message {message_id}: the member's record kept changing")


def _missing(message_id: str) -> None:
    _log.warning("message %s is not in the outbox", message_id)


def _attempt(delivery: Delivery, now: datetime, receive_count: int) -> str | None:
    message = delivery.message
    if delivery.status == DONE:
        return None
    if delivery.status == HELD and delivery.release_at and delivery.release_at > now:
        return None  # the sweep dispatches it again when the quiet hours end
    if delivery.status == SENDING and not delivery.claimable(now):
        return None
    if message.to is not None:  # the owner's note: her own address, no member consent, cap or quiet hours
        recipient, channel, to = None, EMAIL, message.to
    else:
        recipient = store.recipient(message.member_id)
        if recipient is None or recipient.merchant_id != message.merchant_id:
            return _settle(delivery, SKIPPED_NO_CONTACT, now)
        channel, skipped = rules.choose_channel(message, recipient)
        if channel is None:
            return _settle(delivery, skipped, now)
        to = recipient.contact(channel)
    settings = messaging_store.get(message.merchant_id)
    merchant = merchant_store.get_merchant(message.merchant_id)
    if merchant is None:
        return _settle(delivery, SKIPPED_NO_CONTACT, now)
    release_at = rules.held_for_quiet_hours(message, channel, now, merchant.timezone, settings)
    if release_at is not None:
        return _hold(delivery, release_at, now)
    capped, cap_record = rules.cap_record(message, recipient, settings, now) if recipient else (None, None)
    if capped:
        return _settle(delivery, capped, now)
    claim_id = secrets.token_hex(8)
    store.claim(delivery, channel=channel, claim_id=claim_id, now=now, until=now + timedelta(seconds=CLAIM_SECONDS),
                recipient=recipient, cap_record=cap_record)
    try:
        _send(delivery, channel, to, merchant.name, settings)
    except DeliveryFailed:
        if receive_count >= get_settings().message_max_receives:
            _settle(delivery, FAILED, now, claim_id=claim_id, channel=channel)
        else:
            store.release_claim(delivery, claim_id=claim_id, now=now)
        raise
    return _settle(delivery, SENT_EMAIL if channel == EMAIL else SENT_SMS, now, claim_id=claim_id, channel=channel)


def _settle(delivery: Delivery, outcome: str, now: datetime, *, claim_id: str | None = None,
            channel: str | None = None) -> str | None:
    if not store.settle(delivery, outcome, now=now, channel=channel, claim_id=claim_id):
        return None
    # A message held for quiet hours was counted there; its outcome now takes that count over.
    was_held = delivery.release_at is not None
    store.count_outcome(delivery.message, outcome, instead_of=SKIPPED_QUIET_HOURS if was_held else None)
    telemetry.count(f"Messages_{outcome}")
    _log.info("message %s: %s", delivery.message.message_id, outcome,
              extra={"message_id": delivery.message.message_id, "outcome": outcome, "channel": channel})
    return outcome


def _hold(delivery: Delivery, release_at: datetime, now: datetime) -> str | None:
    if not store.hold(delivery, release_at=release_at, now=now):
        return None
    if delivery.release_at is None:  # counted once, however often it is held again
        store.count_outcome(delivery.message, SKIPPED_QUIET_HOURS)
    _log.info("message %s held for quiet hours", delivery.message.message_id,
              extra={"message_id": delivery.message.message_id, "release_at": release_at.isoformat()})
    return SKIPPED_QUIET_HOURS


def _send(delivery: Delivery, channel: str, to: str, merchant_name: str,
          settings: rules.MessagingSettings) -> None:
    message = delivery.message
    link = None if message.to else outbox_service.unsubscribe_link(message.merchant_id, message.member_id, channel)
    content = rules.fill_unsubscribe(message.contents[channel], link) if link else message.contents[channel]
    try:
        if channel == EMAIL:
            sender = get_settings().sender_email
            if not sender:
                raise DeliveryFailed("no sender address configured (SENDER_EMAIL)")
            raw = rules.email_mime(content=content, to=to, sender_name=settings.sender_name or merchant_name,
                                   sender_address=sender, reply_to=settings.reply_to, unsubscribe_link=link)
            _ses().send_email(FromEmailAddress=sender, Destination={"ToAddresses": [to]},
                              Content={"Raw": {"Data": raw}})
        else:
            sms_type = "Promotional" if message.purpose == MARKETING else "Transactional"
            _sns().publish(PhoneNumber=to, Message=content.body, MessageAttributes={
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": sms_type}})
    except ClientError as exc:
        # The provider's own message may quote the address: only its error code is kept.
        code = exc.response.get("Error", {}).get("Code", "unknown")
        _log.warning("message %s: %s provider refused (%s)", message.message_id, channel, code)
        raise DeliveryFailed(f"{channel} provider refused: {code}") from None
    except BotoCoreError as exc:
        _log.warning("message %s: %s provider unreachable (%s)", message.message_id, channel, type(exc).__name__)
        raise DeliveryFailed(f"{channel} provider unreachable: {type(exc).__name__}") from None
