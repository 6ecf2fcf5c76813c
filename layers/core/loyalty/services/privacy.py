"""A member's personal data: the export she (or the owner, for her) downloads, and the erase.

An erase keeps the member item and every ledger entry (balances, visits and the insights built on them stay, now
pseudonymous) and strips what says who she is: her contact details, birthday and name, her place in the member
indexes, her phone and email guards (the same phone may join again, as a new member), the comments of her
feedback, the owner's notes about her low ratings, the campaign messages written to her and her name in her
inviter's ledger line. Her card token stops working. Replies kept for Idempotency-Keys are sealed under keys
derived from the caller's credential and Idempotency-Key, which are never stored (domain/sealing.py): nothing in
the table opens them, and they expire within a day.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from loyalty import telemetry
from loyalty.domain import tokens
from loyalty.domain.access import OWNER, Caller, require_member, require_merchant
from loyalty.domain.errors import ConcurrentUpdate, NotFound
from loyalty.domain.feedback import LOW_RATING, owner_note_id
from loyalty.domain.model import LedgerEntry, Member
from loyalty.domain.referral import referrer_line
from loyalty.replies.privacy import MemberExport
from loyalty.services import clock
from loyalty.services.members import records_by_token
from loyalty.services.merchants import load_merchant
from loyalty.store import keys
from loyalty.store import privacy as store
from loyalty.store.transaction import ConditionFailed, TransientConflict

ERASE_ATTEMPTS = 4
REFERRAL_ENTRY = "referral"  # the ledger kind (and line kind) of a referral's points


def export_mine(caller: Caller) -> MemberExport:
    return _export(records_by_token(require_member(caller)))


def export_member(caller: Caller, merchant_id: str, member_id: str) -> MemberExport:
    require_merchant(caller, merchant_id, OWNER)
    return _export(_owners_member(merchant_id, member_id, erased=False))


def erase_mine(caller: Caller) -> None:
    """Her card is dead once this returns; the same request again is 401 (the token no longer exists)."""
    token = require_member(caller)
    _erase(lambda: records_by_token(token))


def erase_member(caller: Caller, merchant_id: str, member_id: str) -> None:
    """An owner's erase; repeating it does no harm (it removes again what may have been written meanwhile)."""
    require_merchant(caller, merchant_id, OWNER)
    _erase(lambda: _owners_member(merchant_id, member_id, erased=True))


def _owners_member(merchant_id: str, member_id: str, *, erased: bool) -> store.MemberRecords:
    """The member's records; another merchant's member, or (unless ``erased``) an erased one, does not exist."""
    records = store.member_records(member_id)
    member = records.member
    if member is None or member.merchant_id != merchant_id or (member.erased_at is not None and not erased):
        raise NotFound("No such member.")
    return records


def _export(records: store.MemberRecords) -> MemberExport:
    member = records.member
    telemetry.count("MemberDataExported")
    return MemberExport.of(load_merchant(member.merchant_id), member, records.consent_log, records.ledger,
                           records.feedback, clock.now())


def _erasure(records: store.MemberRecords) -> store.Erasure:
    member = records.member
    identity_guards = ([keys.phone_guard(member.merchant_id, member.phone)] if member.phone else []) + (
        [keys.email_guard(member.merchant_id, member.email)] if member.email else [])
    return store.Erasure(
        member=member, token_hash=tokens.new_member_token(member.member_id).hash, erased_at=clock.now(),
        identity_guards=identity_guards,
        referral_code_guard=keys.referral_code_guard(member.merchant_id, member.referral_code)
        if member.referral_code else None,
        feedback_keys=[(item["PK"], item["SK"]) for item in records.feedback if item.get("comment") is not None],
        message_ids=store.campaign_message_ids(member.merchant_id, member.member_id) + [
            owner_note_id(member.member_id, item["scan_id"]) for item in records.feedback
            if item.get("scan_id") and int(item.get("rating") or 0) <= LOW_RATING],  # a low rating's note
        relabelled=_referrer_entries_without_her_name(member))


def _referrer_entries_without_her_name(member: Member) -> list[LedgerEntry]:
    """The ledger entry that paid her referrer for her first visit names her: it is told again without it."""
    if not member.referred_by:
        return []
    entries = store.ledger_entries_naming(member.referred_by, REFERRAL_ENTRY, member.member_id)
    return [dataclasses.replace(entry, lines=tuple(
        referrer_line(line.points, None) if line.kind == REFERRAL_ENTRY else line for line in entry.lines))
        for entry in entries]


def _erase(read: Callable[[], store.MemberRecords]) -> None:
    for _ in range(ERASE_ATTEMPTS):
        records = read()
        erasure = _erasure(records)
        if records.member.erased_at is not None:
            store.scrub_again(erasure)
            return
        try:
            store.erase(erasure)
        except ConditionFailed as lost:
            if "member" in lost.failed:
                continue  # she scanned or changed something meanwhile: read again and plan again
            raise
        except TransientConflict:
            continue
        telemetry.count("MembersErased")
        return
    raise ConcurrentUpdate()
