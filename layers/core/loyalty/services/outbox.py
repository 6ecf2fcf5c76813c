"""Hand outbox messages to the sender's queue, and sweep up those a lost dispatch left behind."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache

from botocore.exceptions import BotoCoreError, ClientError

from loyalty import server_keys
from loyalty.domain import unsubscribe
from loyalty.settings import get_settings
from loyalty.store import keys
from loyalty.store import outbox as store

_log = logging.getLogger(__name__)
SQS_BATCH = 10  # SendMessageBatch's limit
SWEEP_PAGE = 100


@cache
def _sqs():
    import boto3  # deferred: only functions that dispatch pay for it

    return boto3.client("sqs", region_name=get_settings().region)


def queue_body(message_id: str) -> str:
    """What the queue carries: only the id; the sender reads everything else from the outbox item."""
    return json.dumps({"messageId": message_id})


def message_id_of(queue_body_text: str) -> str:
    return json.loads(queue_body_text)["messageId"]


def dispatch(message_ids: Iterable[str], *, delay_seconds: int = 0) -> int:
    """Queues the messages for the sender, ten per request; returns how many the queue took.

    A message the queue did not take stays pending in the outbox and the sweep dispatches it again, so a
    caller whose transaction has committed never fails because of this."""
    queue_url = get_settings().message_queue_url
    ids = list(dict.fromkeys(message_ids))
    if not ids:
        return 0
    if not queue_url:
        _log.warning("no message queue configured: %d messages wait in the outbox", len(ids))
        return 0
    queued = 0
    for start in range(0, len(ids), SQS_BATCH):
        batch = ids[start:start + SQS_BATCH]
        entries = [{"Id": str(n), "MessageBody": queue_body(message_id), "DelaySeconds": delay_seconds}
                   for n, message_id in enumerate(batch)]
        try:
            reply = _sqs().send_message_batch(QueueUrl=queue_url, Entries=entries)
        except (BotoCoreError, ClientError):
            _log.warning("queue refused a batch of %d messages; the sweep retries them", len(batch), exc_info=True)
            continue
        queued += len(reply.get("Successful", []))
        if reply.get("Failed"):
            _log.warning("queue refused %d messages; the sweep retries them", len(reply["Failed"]))
    return queued


def sweep(now: datetime, *, page_size: int = SWEEP_PAGE) -> dict:
    """Dispatches again every message that should have been delivered by ``now``: pending ones a dispatch lost
    (or whose delivery attempt died) and held ones whose quiet hours are over. Each is moved on in the index
    first, so the next sweep looks at it only if it is still undelivered then."""
    retry_at = now + timedelta(seconds=get_settings().outbox_sweep_after_seconds)
    found = queued = 0
    for shard in range(keys.OUTBOX_SHARDS):
        start = None
        while True:
            page = store.due(shard, now, limit=page_size, start=start)
            ready = [message_id for message_id in page.message_ids if store.postpone(message_id, retry_at)]
            found += len(ready)
            queued += dispatch(ready)
            start = page.next_start
            if start is None:
                break
    return {"due": found, "dispatched": queued}


def unsubscribe_link(merchant_id: str, member_id: str, channel: str) -> str:
    token = unsubscribe.token_for(merchant_id, member_id, channel, server_keys.signing_key())
    return f"{public_base_url()}/v1/u/{token}"


def card_link(merchant_id: str) -> str:
    return f"{public_base_url()}/v1/m/{merchant_id}"


def public_base_url() -> str:
    configured = get_settings().public_base_url
    if not configured:
        raise RuntimeError("Set PUBLIC_BASE_URL: messages link back to the public API")
    return configured
