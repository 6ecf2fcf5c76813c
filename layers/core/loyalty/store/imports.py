"""Member imports: the import item and its file, the per-chunk results, and each row's once-only record.

The file waits in the table, in slices under the import's partition, from the request until the worker has
split it and queued its rows, then it is deleted (a 5 MB file is 15 items; TTL is the backstop). Counters move
once per chunk, in the transaction that writes the chunk's result item, so a chunk delivered twice is counted
once; each row's own record (one partition per row) is written in the row's transaction, so a row is applied
once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from loyalty.domain.model import LedgerEntry, Member
from loyalty.domain.preferences import ConsentChange
from loyalty.store import consent, keys
from loyalty.store import members as member_store
from loyalty.store.models import GuardItem, ImportChunkItem, ImportFilePartItem, ImportItem, ImportRowItem
from loyalty.store.transaction import ConditionFailed, Transaction

PART_BYTES = 350 * 1024  # under DynamoDB's 400 KB item limit
PART_LIFETIME = timedelta(days=7)
ROW_TAG = "import_row"
FILE_TAG = "import_file"
IMPORTED, MERGED, FAILED = "imported", "merged", "failed"
QUEUED, RUNNING, DONE = "queued", "running", "done"


@dataclass(frozen=True)
class ImportJob:
    merchant_id: str
    import_id: str
    status: str
    file_sha256: str
    file_parts: int
    mapping: dict[str, str]
    rows: int
    created_at: datetime
    chunks: int | None = None
    chunks_done: int = 0
    imported: int = 0
    merged: int = 0
    failed: int = 0
    finished_at: datetime | None = None


@dataclass(frozen=True)
class RowRecord:
    import_id: str
    row: int
    outcome: str
    member_id: str | None = None
    message: str | None = None


def _job(item: ImportItem) -> ImportJob:
    return ImportJob(merchant_id=item.merchant_id, import_id=item.import_id, status=item.status,
                     file_sha256=item.file_sha256, file_parts=int(item.file_parts), mapping=dict(item.mapping or {}),
                     rows=int(item.rows or 0), created_at=item.created_at,
                     chunks=int(item.chunks) if item.chunks is not None else None,
                     chunks_done=int(item.chunks_done or 0), imported=int(item.imported or 0),
                     merged=int(item.merged or 0), failed=int(item.failed or 0), finished_at=item.finished_at)


def create(job: ImportJob, data: bytes) -> str:
    """Keeps the file and creates the import; returns its id, or the id of the import this merchant already
    made from the same file (nothing new is then kept)."""
    existing = import_of_file(job.merchant_id, job.file_sha256)
    if existing:
        return existing
    expires = job.created_at + PART_LIFETIME
    with ImportFilePartItem.batch_write() as batch:
        for part in range(job.file_parts):
            item = ImportFilePartItem(*keys.import_file_part(job.merchant_id, job.import_id, part),
                                      data=data[part * PART_BYTES:(part + 1) * PART_BYTES])
            item.ttl = expires
            batch.save(item)
    item = ImportItem(*keys.import_job(job.merchant_id, job.import_id), merchant_id=job.merchant_id,
                      import_id=job.import_id, status=job.status, file_sha256=job.file_sha256,
                      file_parts=job.file_parts, mapping=job.mapping or None, rows=job.rows,
                      created_at=job.created_at)
    guard = GuardItem(*keys.import_file_guard(job.merchant_id, job.file_sha256), owner_id=job.import_id,
                      merchant_id=job.merchant_id)
    try:
        (Transaction().put(item, "import", condition=ImportItem.pk.does_not_exist())
         .put(guard, FILE_TAG, condition=GuardItem.pk.does_not_exist()).commit())
    except ConditionFailed as lost:
        if FILE_TAG in lost.failed:  # the same file at the same moment: the other request's import stands
            return import_of_file(job.merchant_id, job.file_sha256) or job.import_id
        raise
    return job.import_id


def import_of_file(merchant_id: str, file_sha256: str) -> str | None:
    try:
        return GuardItem.get(*keys.import_file_guard(merchant_id, file_sha256), consistent_read=True).owner_id
    except DoesNotExist:
        return None


def get(merchant_id: str, import_id: str) -> ImportJob | None:
    try:
        return _job(ImportItem.get(*keys.import_job(merchant_id, import_id), consistent_read=True))
    except DoesNotExist:
        return None


def file_data(job: ImportJob) -> bytes | None:
    """The kept file; None once it was dropped (its rows are all queued)."""
    pk, prefix = keys.import_file_parts(job.merchant_id, job.import_id)
    parts = list(ImportFilePartItem.query(pk, ImportFilePartItem.sk.startswith(prefix), consistent_read=True))
    if not parts:
        return None
    if len(parts) != job.file_parts:
        raise RuntimeError(f"import {job.import_id}: {len(parts)} of {job.file_parts} file parts found")
    return b"".join(bytes(part.data) for part in parts)


def drop_file(job: ImportJob) -> None:
    """The file's personal data goes as soon as its rows are queued (TTL would take a week)."""
    with ImportFilePartItem.batch_write() as batch:
        for part in range(job.file_parts):
            batch.delete(ImportFilePartItem(*keys.import_file_part(job.merchant_id, job.import_id, part)))


def start_running(job: ImportJob, chunks: int) -> None:
    """The file is split: how many chunks to wait for. Idempotent (a redelivered split writes the same)."""
    item = ImportItem(*keys.import_job(job.merchant_id, job.import_id))
    try:
        item.update(actions=[ImportItem.status.set(RUNNING), ImportItem.chunks.set(chunks)],
                    condition=ImportItem.pk.exists() & (ImportItem.status == QUEUED), add_version_condition=False)
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def row_records(import_id: str, rows: list[int]) -> dict[int, RowRecord]:
    """The rows of ``rows`` that an earlier delivery already applied or refused."""
    found = {}
    for item in ImportRowItem.batch_get([keys.import_row(import_id, row) for row in rows], consistent_read=True):
        row = int(item.pk.rsplit("#", 1)[1])
        found[row] = RowRecord(import_id, row, item.outcome, item.member_id, item.message)
    return found


def _row_item(record: RowRecord) -> ImportRowItem:
    return ImportRowItem(*keys.import_row(record.import_id, record.row), outcome=record.outcome,
                         member_id=record.member_id, message=record.message)


def _with_row(txn: Transaction, record: RowRecord) -> Transaction:
    return txn.put(_row_item(record), ROW_TAG, condition=ImportRowItem.pk.does_not_exist())


def get_row(import_id: str, row: int) -> RowRecord | None:
    try:
        item = ImportRowItem.get(*keys.import_row(import_id, row), consistent_read=True)
    except DoesNotExist:
        return None
    return RowRecord(import_id, row, item.outcome, item.member_id, item.message)


MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit for one TransactWriteItems


@dataclass(frozen=True)
class NewMember:
    """A new member from a row: the member with its guards, ledger, consent log and the row's record."""

    record: RowRecord
    member: Member
    guards: list[member_store.Guard]
    ledger: list[LedgerEntry]
    consent_log: list[ConsentChange]
    upkeep_due: datetime | None

    def transaction(self, timezone: str) -> Transaction:
        txn = member_store.create_member_transaction(self.member, self.guards, consent_log=self.consent_log,
                                                     timezone=timezone, ledger=self.ledger,
                                                     upkeep_due=self.upkeep_due)
        return _with_row(txn, self.record)


def add_members(new: list[NewMember], *, timezone: str) -> None:
    """Several new members in one transaction (all or nothing; at most MAX_TRANSACTION_ITEMS items)."""
    txn = Transaction()
    for one in new:
        txn.extend(one.transaction(timezone))
    if len(txn) > MAX_TRANSACTION_ITEMS:
        raise ValueError(f"{len(txn)} items do not fit one transaction")
    txn.commit()


def merge_member(record: RowRecord, update: member_store.MemberUpdate, *, ledger: list[LedgerEntry],
                 guards: list[member_store.Guard], consent_log: list[ConsentChange]) -> None:
    """A row added to an existing member (conditioned on the member's revision) with the row's record."""
    txn = member_store.member_transaction([update], ledger, guards=guards)
    consent.add_to(txn, consent_log)
    _with_row(txn, record).commit()


def refuse_row(record: RowRecord) -> None:
    _with_row(Transaction(), record).commit()


def record_chunk(job: ImportJob, chunk: int, counts: dict[str, int], errors: list[dict[str, Any]]) -> bool:
    """Adds a chunk's counts to the import once; False when this chunk was counted before. The chunk that
    completes the import marks it done."""
    pk, sk = keys.import_chunk(job.merchant_id, job.import_id, chunk)
    result = ImportChunkItem(pk, sk, imported=counts.get(IMPORTED, 0), merged=counts.get(MERGED, 0),
                             failed=counts.get(FAILED, 0), errors=errors or None)
    job_item = ImportItem(*keys.import_job(job.merchant_id, job.import_id))
    actions = [ImportItem.chunks_done.add(1)] + [getattr(ImportItem, name).add(value)
                                                  for name, value in counts.items() if value]
    try:
        (Transaction().put(result, "import_chunk", condition=ImportChunkItem.pk.does_not_exist())
         .update(job_item, actions, "import", condition=ImportItem.pk.exists()).commit())
    except ConditionFailed as lost:
        if "import_chunk" in lost.failed:
            return False
        raise
    return True


def finish_if_complete(job: ImportJob, now: datetime) -> bool:
    item = ImportItem(*keys.import_job(job.merchant_id, job.import_id))
    try:
        item.update(actions=[ImportItem.status.set(DONE), ImportItem.finished_at.set(now)],
                    condition=(ImportItem.status == RUNNING) & (ImportItem.chunks_done == ImportItem.chunks),
                    add_version_condition=False)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def errors(job: ImportJob, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` row errors, in row order (chunks hold consecutive rows)."""
    pk, prefix = keys.import_chunks(job.merchant_id, job.import_id)
    found: list[dict[str, Any]] = []
    for item in ImportChunkItem.query(pk, ImportChunkItem.sk.startswith(prefix), consistent_read=True,
                                      filter_condition=ImportChunkItem.failed > 0):
        found += list(item.errors or [])
        if len(found) >= limit:
            break
    return found[:limit]
