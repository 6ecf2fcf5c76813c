"""The import worker's use cases: split a kept file into chunks of rows, and apply one chunk.

Splitting reads the file, checks and normalises every row (phones in the merchant's country: a Polish
merchant's ``600 100 200`` is ``+48600100200``; the country comes from the merchant's timezone), fails rows
that repeat an earlier row's phone or email, queues the rows in chunks small enough for one Lambda invocation,
then deletes the kept file. Splitting again (a redelivered message) queues the same chunks again while the file
is still there, which is harmless, and does nothing once it is gone.

Applying a chunk takes each row once: a row whose phone or email belongs to a member merges into her (the
row's points, stamps and visits are added, her last visit moves to the row's if later, blanks of her profile
are filled, consents the row grants are given); any other row creates a member with the same guards and
indexes a joining member gets. Balances arrive as ``import`` ledger entries (never ``scan`` entries: imported
visits are the member's visit count and last visit, and a line of the entry). Each row's transaction writes
the row's record, so a redelivered chunk applies no row twice; the chunk's counts are added to the import once.
An imported member has a card token nobody holds: she opens her card with "Lost your card?" on the card page
(a link by SMS or email to her imported phone or email) or staff reissue her card at the till.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from loyalty import telemetry
from loyalty.domain import ids, tokens
from loyalty.domain import imports as rules
from loyalty.domain.calendar import local_day
from loyalty.domain.errors import ConcurrentUpdate
from loyalty.domain.identity import country_of_timezone
from loyalty.domain.model import LedgerLine, Member, Merchant
from loyalty.domain.preferences import CHANNELS, IMPORT
from loyalty.services import clock, preferences
from loyalty.services.imports import send
from loyalty.services.member_plan import MemberPlan
from loyalty.services.merchants import load_merchant
from loyalty.store import imports as store
from loyalty.store import keys
from loyalty.store import members as member_store
from loyalty.store.transaction import ConditionFailed, TransientConflict

_log = logging.getLogger(__name__)
CHUNK_ROWS = 250  # about 10 s of row transactions on Lambda, far below the worker's timeout
CHUNK_BYTES = 200 * 1024  # under SQS's 256 KB message limit
ROW_ATTEMPTS = 6
_CONSENT_ATTRIBUTE = {"sms": "consent_sms", "email": "consent_email"}


def handle(body: dict, *, receive_count: int = 1) -> dict:
    if body.get("kind") == "split":
        return split(body["merchantId"], body["importId"])
    return apply_chunk(body, receive_count=receive_count)


def split(merchant_id: str, import_id: str) -> dict:
    job = store.get(merchant_id, import_id)
    if job is None or job.status == store.DONE:
        return {"chunks": 0}
    merchant = load_merchant(merchant_id)
    data = store.file_data(job)
    if data is None:
        return {"chunks": 0}  # split before, every chunk queued and the file dropped: a redelivered message
    text = rules.decode(data)
    rows = rules.checked_rows(text, job.mapping, region=country_of_timezone(merchant.timezone),
                              timezone=merchant.timezone, today=local_day(clock.now(), merchant.timezone))
    chunks = list(rules.chunks(rows, max_rows=CHUNK_ROWS, max_bytes=CHUNK_BYTES))
    store.start_running(job, len(chunks))
    send([{"kind": "chunk", "merchantId": merchant_id, "importId": import_id, "chunk": n,
           "rows": [row.wire() for row in chunk]} for n, chunk in enumerate(chunks)])
    store.drop_file(job)
    return {"chunks": len(chunks)}


def _from_wire(data: dict) -> rules.ImportRow | rules.RowFailure:
    if "error" in data:
        return rules.RowFailure(int(data["row"]), data["error"])
    return rules.ImportRow.from_wire(data)


def apply_chunk(body: dict, *, receive_count: int = 1) -> dict:
    job = store.get(body["merchantId"], body["importId"])
    if job is None:
        _log.warning("import %s is gone; its chunk is dropped", body["importId"])
        return {}
    merchant = load_merchant(job.merchant_id)
    rows = [_from_wire(data) for data in body["rows"]]
    # A chunk received before may have applied some rows: their records say how (a first delivery reads none).
    records = store.row_records(job.import_id, [row.row for row in rows if isinstance(row, rules.ImportRow)]) \
        if receive_count > 1 else {}
    for row in rows:
        if isinstance(row, rules.RowFailure):
            records[row.row] = store.RowRecord(job.import_id, row.row, store.FAILED, message=row.message)
    pending = [row for row in rows if row.row not in records]
    records.update(_apply_rows(job.import_id, merchant, pending, clock.now()))
    counts = Counter(record.outcome for record in records.values())
    errors = [{"row": record.row, "message": record.message}
              for record in sorted(records.values(), key=lambda r: r.row) if record.outcome == store.FAILED]
    if store.record_chunk(job, int(body["chunk"]), dict(counts), errors):
        telemetry.count("MembersImported", counts[store.IMPORTED])
        telemetry.count("MembersMerged", counts[store.MERGED])
        telemetry.count("ImportRowsFailed", counts[store.FAILED])
    store.finish_if_complete(job, clock.now())
    return dict(counts)


def _apply_rows(import_id: str, merchant: Merchant, rows: list[rules.ImportRow],
                now: datetime) -> dict[int, store.RowRecord]:
    """The chunk's rows, read together: the members their phones and emails belong to in one batch read, new
    members written several to a transaction. Whatever changed meanwhile (a batch that lost a condition, a
    member that moved) is done again row by row, reading afresh."""
    owners = _owners_of(merchant.merchant_id, rows)
    members = member_store.get_members([owner for found in owners.values() for owner in found])
    records: dict[int, store.RowRecord] = {}
    batch: list[store.NewMember] = []
    batch_items = 0

    def flush() -> None:
        nonlocal batch, batch_items
        if not batch:
            return
        try:
            store.add_members(batch, timezone=merchant.timezone)
            records.update({new.record.row: new.record for new in batch})
        except (ConditionFailed, TransientConflict):
            for new in batch:  # one of them lost (joined meanwhile, a code collided): each on its own
                records[new.record.row] = apply_row(import_id, merchant, row_of[new.record.row], now)
        batch, batch_items = [], 0

    row_of = {row.row: row for row in rows}
    for row in rows:
        found = owners[row.row]
        if len(found) == 1 and next(iter(found)) in members:
            records[row.row] = _with_retries(import_id, merchant, row, now, first=lambda row=row, found=found: _merge(
                import_id, merchant, row, members[next(iter(found))], now))
        elif found:
            records[row.row] = apply_row(import_id, merchant, row, now)
        else:
            new = _new_member(import_id, merchant, row, now)
            items = len(new.transaction(merchant.timezone))
            if batch_items + items > store.MAX_TRANSACTION_ITEMS:
                flush()
            batch.append(new)
            batch_items += items
    flush()
    return records


def apply_row(import_id: str, merchant: Merchant, row: rules.ImportRow, now: datetime) -> store.RowRecord:
    """One row applied (or refused) once, reading what it needs; returns its record, this call's or an earlier
    delivery's."""
    return _with_retries(import_id, merchant, row, now)


def _with_retries(import_id: str, merchant: Merchant, row: rules.ImportRow, now: datetime,
                  first: Callable[[], store.RowRecord] | None = None) -> store.RowRecord:
    for attempt in range(ROW_ATTEMPTS):
        try:
            if attempt == 0 and first is not None:
                return first()
            return _apply_one(import_id, merchant, row, now)
        except TransientConflict:
            continue
        except ConditionFailed as lost:
            if store.ROW_TAG in lost.failed:
                earlier = store.get_row(import_id, row.row)
                if earlier is not None:
                    return earlier
            if lost.failed & {"member", "phone", "email", "referral_code", "reward_code", store.ROW_TAG}:
                continue  # the member changed, or joined meanwhile: read again
            raise
    raise ConcurrentUpdate(f"import {import_id} row {row.row}: the member kept changing")


def _apply_one(import_id: str, merchant: Merchant, row: rules.ImportRow, now: datetime) -> store.RowRecord:
    owners = _owners_of(merchant.merchant_id, [row])[row.row]
    if len(owners) > 1:
        record = store.RowRecord(import_id, row.row, store.FAILED, message=(
            "The phone belongs to one member and the email to another; fix the row or the members."))
        store.refuse_row(record)
        return record
    if owners:
        member = member_store.get_member(next(iter(owners)))
        if member is None or member.merchant_id != merchant.merchant_id:
            raise TransientConflict()  # a guard of a member being created or removed: read again
        return _merge(import_id, merchant, row, member, now)
    new = _new_member(import_id, merchant, row, now)
    store.add_members([new], timezone=merchant.timezone)
    return new.record


_GUARD_KEYS = {"phone": keys.phone_guard, "email": keys.email_guard}


def _owners_of(merchant_id: str, rows: list[rules.ImportRow]) -> dict[int, set[str]]:
    """Per row, the members its phone and email belong to (one batch read for all the rows)."""
    wanted = {row.row: [_GUARD_KEYS[kind](merchant_id, value) for kind, value in row.identities()] for row in rows}
    guards = member_store.get_guards([key for row_keys in wanted.values() for key in row_keys])
    return {row: {guards[key].owner_id for key in row_keys if key in guards} for row, row_keys in wanted.items()}


def _lines(row: rules.ImportRow, timezone: str) -> list[LedgerLine]:
    lines = []
    if row.points:
        lines.append(LedgerLine("import", row.points, 0, f"Imported {row.points} points"))
    if row.stamps:
        lines.append(LedgerLine("import", 0, row.stamps, f"Imported {row.stamps} stamps"))
    if row.visits or row.last_visit_at:
        last = f", the last on {local_day(row.last_visit_at, timezone).isoformat()}" if row.last_visit_at else ""
        lines.append(LedgerLine("import_visits", 0, 0, f"Imported {row.visits} visits{last}"))
    return lines


def _new_member(import_id: str, merchant: Merchant, row: rules.ImportRow, now: datetime) -> store.NewMember:
    member_id = ids.new_id("mem")
    member = Member(
        member_id=member_id, merchant_id=merchant.merchant_id,
        token_hash=tokens.new_member_token(member_id).hash,  # nobody holds it: see the module's note
        phone=row.phone, email=row.email, name=row.name, birthday=row.birthday,
        consent_sms=bool(row.consent_sms), consent_email=bool(row.consent_email),
        referral_code=ids.new_referral_code(), created_at=now, visit_count=row.visits,
        last_visit_at=row.last_visit_at, first_visit_at=row.last_visit_at if row.visits else None)
    plan = MemberPlan(member, now, merchant)
    plan.record("import", _lines(row, merchant.timezone), ref=import_id, earned=True)
    plan.finish_rules()
    guards = [member_store.Guard(keys.referral_code_guard(merchant.merchant_id, member.referral_code), member_id,
                                 merchant.merchant_id, tag="referral_code")]
    guards += [member_store.Guard(_GUARD_KEYS[kind](merchant.merchant_id, value), member_id, merchant.merchant_id,
                                  tag=kind) for kind, value in row.identities()]
    consent_log = preferences.log_entries(member, {ch: True for ch in CHANNELS if getattr(
        member, _CONSENT_ATTRIBUTE[ch])}, now, IMPORT)
    upkeep_due = plan.update.upkeep_due if isinstance(plan.update.upkeep_due, datetime) else None
    return store.NewMember(record=store.RowRecord(import_id, row.row, store.IMPORTED, member_id=member_id),
                           member=replace(plan.member, rev=0), guards=guards, ledger=plan.ledger,
                           consent_log=consent_log, upkeep_due=upkeep_due)


def _merge(import_id: str, merchant: Merchant, row: rules.ImportRow, member: Member,
           now: datetime) -> store.RowRecord:
    member_id = member.member_id
    plan = MemberPlan(member, now, merchant)
    plan.record("import", _lines(row, merchant.timezone), ref=import_id, earned=True)
    if row.visits:
        plan.add_counter("visit_count", row.visits)
    if row.last_visit_at and (member.last_visit_at is None or row.last_visit_at > member.last_visit_at):
        plan.set("last_visit_at", row.last_visit_at)
        plan.update.last_visit_day = local_day(row.last_visit_at, merchant.timezone)
        if member.first_visit_at is None:
            plan.set("first_visit_at", row.last_visit_at)
    for name in ("name", "birthday"):
        if getattr(row, name) and not getattr(member, name):
            plan.set(name, getattr(row, name))
    guards = []
    for kind, value in row.identities():
        if getattr(member, kind) is None:  # the row adds a contact the member lacked: it is hers alone
            plan.set(kind, value)
            guards.append(member_store.Guard(_GUARD_KEYS[kind](merchant.merchant_id, value), member_id,
                                             merchant.merchant_id, tag=kind))
    # An old file's "no" never withdraws consent given since; a "yes" is given, logged as coming from the import.
    granted = {ch: True for ch in CHANNELS
               if getattr(row, _CONSENT_ATTRIBUTE[ch]) and not getattr(member, _CONSENT_ATTRIBUTE[ch])}
    for channel in granted:
        plan.set(_CONSENT_ATTRIBUTE[channel], True)
    plan.finish_rules()
    record = store.RowRecord(import_id, row.row, store.MERGED, member_id=member_id)
    store.merge_member(record, plan.update, ledger=plan.ledger, guards=plan.guards + guards,
                       consent_log=preferences.log_entries(member, granted, now, IMPORT))
    return record
