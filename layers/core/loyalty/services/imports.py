"""The owner's member imports: upload a CSV file, follow its progress.

The upload is checked up front (UTF-8, a header naming a phone or an email column, or a mapping that names
existing columns, at least one row) and kept in the table; the worker (services/import_worker.py) does the
rest from the import queue. The same file with the same mapping, sent again, answers with the first import.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from functools import cache

from loyalty.domain import ids
from loyalty.domain import imports as rules
from loyalty.domain.access import OWNER, Caller, require_merchant
from loyalty.domain.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from loyalty.replies.imports import ImportAccepted, ImportStatus, RowError
from loyalty.services import clock
from loyalty.services.merchants import load_merchant
from loyalty.settings import get_settings
from loyalty.store import imports as store

_log = logging.getLogger(__name__)
ERRORS_SHOWN = 100


@cache
def _sqs():
    import boto3  # deferred: only the import functions send to this queue

    return boto3.client("sqs", region_name=get_settings().region)


SQS_BATCH_MESSAGES = 10
SQS_BATCH_BYTES = 250 * 1024  # a SendMessageBatch request carries 256 KB at most, all its messages together


def send(bodies: list[dict]) -> None:
    """Queues work for the import worker, up to ten messages and 250 KB per request; raises when the queue
    refused any, so the caller's own delivery is retried (a chunk queued twice is applied once)."""
    queue_url = get_settings().import_queue_url
    if not queue_url:
        _log.warning("no import queue configured (IMPORT_QUEUE_URL): %d messages not queued", len(bodies))
        return
    batch: list[str] = []
    for text in [json.dumps(body, separators=(",", ":")) for body in bodies]:  # ASCII: one byte a character
        if batch and (len(batch) == SQS_BATCH_MESSAGES or sum(map(len, batch)) + len(text) > SQS_BATCH_BYTES):
            _send_batch(queue_url, batch)
            batch = []
        batch.append(text)
    if batch:
        _send_batch(queue_url, batch)


def _send_batch(queue_url: str, texts: list[str]) -> None:
    reply = _sqs().send_message_batch(QueueUrl=queue_url, Entries=[
        {"Id": str(n), "MessageBody": text} for n, text in enumerate(texts)])
    if reply.get("Failed"):
        raise RuntimeError(f"the import queue refused {len(reply['Failed'])} messages")


def split_message(merchant_id: str, import_id: str) -> dict:
    return {"kind": "split", "merchantId": merchant_id, "importId": import_id}


MEDIA_TYPE = "text/csv"


def start(caller: Caller, merchant_id: str, data: bytes, media_type: str, mapping_text: str | None) -> ImportAccepted:
    require_merchant(caller, merchant_id, OWNER)
    load_merchant(merchant_id)
    if media_type != MEDIA_TYPE:
        raise UnsupportedMediaType(f"Send the file as {MEDIA_TYPE} (Content-Type header), with a header row naming "
                                   f"its columns: {', '.join(rules.FIELDS)} (or use ?mapping=).")
    mapping = rules.parse_mapping(mapping_text)
    limit = get_settings().max_import_bytes
    if len(data) > limit:
        raise PayloadTooLarge(f"The file is over {limit // (1024 * 1024)} MB; split it into smaller files.")
    digest = hashlib.sha256(json.dumps(sorted(mapping.items())).encode() + b"\n" + data).hexdigest()
    existing = store.import_of_file(merchant_id, digest)
    if existing:
        return _again(merchant_id, existing)
    _table, rows = rules.count_rows(rules.decode(data), mapping)
    if rows == 0:
        raise ValidationFailed("The file has a header but no rows to import.",
                               details=[{"field": "body", "message": "No data rows."}])
    job = store.ImportJob(merchant_id=merchant_id, import_id=ids.new_id("imp"), status=store.QUEUED,
                          file_sha256=digest, file_parts=max(1, math.ceil(len(data) / store.PART_BYTES)),
                          mapping=mapping, rows=rows, created_at=clock.now())
    import_id = store.create(job, data)
    if import_id != job.import_id:
        return _again(merchant_id, import_id)
    send([split_message(merchant_id, import_id)])
    return ImportAccepted(import_id=import_id)


def _again(merchant_id: str, import_id: str) -> ImportAccepted:
    """The same file again: its import; one still waiting to be split is queued again (its first message may
    have been lost), which is harmless since splitting and every chunk are idempotent."""
    job = store.get(merchant_id, import_id)
    if job is not None and job.status == store.QUEUED:
        send([split_message(merchant_id, import_id)])
    return ImportAccepted(import_id=import_id)


def status(caller: Caller, merchant_id: str, import_id: str) -> ImportStatus:
    require_merchant(caller, merchant_id, OWNER)
    job = store.get(merchant_id, import_id)
    if job is None:
        raise NotFound("No such import.")
    errors = store.errors(job, ERRORS_SHOWN) if job.failed else []
    return ImportStatus(import_id=job.import_id, status=job.status, rows=job.rows, imported=job.imported,
                        merged=job.merged, failed=job.failed,
                        errors=[RowError(row=int(e["row"]), message=e["message"]) for e in errors],
                        created_at=job.created_at, finished_at=job.finished_at)
