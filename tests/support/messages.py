"""Outbox messages for tests, written as a campaign or the card link writes them, and queue deliveries."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from infra.local.queues import lambda_event

CONTENTS = {
    "email": ("A treat for you", "Hello! Unsubscribe: {unsubscribeLink}"),
    "sms": (None, "Cafe: a treat for you. Stop: {unsubscribeLink}"),
}


def write_message(merchant_id: str, member_id: str, *, purpose: str = "marketing",
                  channels: tuple[str, ...] = ("email", "sms"), campaign_id: str | None = None,
                  run_id: str | None = None, created_at: datetime | None = None) -> Any:
    from loyalty.domain.messages import Content, Message
    from loyalty.services import clock
    from loyalty.store import outbox

    message = Message(
        message_id=f"msg_{uuid.uuid4().hex}", merchant_id=merchant_id, member_id=member_id, purpose=purpose,
        contents={channel: Content(subject=CONTENTS[channel][0], body=CONTENTS[channel][1]) for channel in channels},
        created_at=created_at or clock.now(), campaign_id=campaign_id, run_id=run_id,
    )
    assert outbox.put(message)
    return message


def delivery_event(*message_ids: str, receive_count: int = 1) -> tuple[dict, dict[str, str]]:
    """An SQS batch as Lambda hands it to the sender, and the queue message id of each outbox message."""
    from loyalty.services.outbox import queue_body

    received = [{"MessageId": str(uuid.uuid4()), "ReceiptHandle": secrets.token_hex(8), "Body": queue_body(mid),
                 "Attributes": {"ApproximateReceiveCount": str(receive_count)}} for mid in message_ids]
    event = lambda_event(received, "arn:aws:sqs:eu-central-1:123456789012:messages", "eu-central-1")
    return event, {entry["MessageId"]: mid for entry, mid in zip(received, message_ids, strict=True)}
