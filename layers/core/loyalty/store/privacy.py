"""A member's personal data: everything kept about her (export), and the erase that strips it.

Everything of a member is under her own partition (member item, consent log, ledger, feedback, counters), read
here page by page. What lies elsewhere and holds her contact data: the phone and email guards (their keys ARE
the contact), the member indexes (GSI2/3/4 project name, phone, email and birthday), and outbox messages: the
campaign messages written to her (rendered with her name), found through the campaigns' per-member guards, and the
owner's notes about her low ratings (her first name and comment), one per feedback item.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pynamodb.expressions.operand import Path

from loyalty.domain.campaigns import message_id_for
from loyalty.domain.model import LedgerEntry, Member
from loyalty.domain.preferences import ConsentChange
from loyalty.store import consent, keys
from loyalty.store import members as member_store
from loyalty.store.campaigns import list_for as campaigns_of
from loyalty.store.models import ConsentItem, GuardItem, LedgerItem, LoyaltyItem, MemberItem, OutboxItem
from loyalty.store.transaction import Transaction

TRANSACTION_ITEMS = 100  # TransactWriteItems' limit
PAGE_ITEMS = 500  # items per Query page of a member's partition
FEEDBACK_KIND = "feedback"
# Attributes of the member item that say who she is or how to reach her; an erase removes them all.
PERSONAL_ATTRIBUTES = ("phone", "email", "name", "birthday", "device_hash", "language", "marketing_sends")
_INDEX_KEYS = ("gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk", "gsi4pk", "gsi4sk")  # birthdays, roster, joined


@dataclass
class MemberRecords:
    """Everything under a member's partition, as one paged read found it."""

    member: Member | None = None
    consent_log: list[ConsentChange] = field(default_factory=list)  # newest first
    ledger: list[LedgerEntry] = field(default_factory=list)  # oldest first
    feedback: list[dict[str, Any]] = field(default_factory=list)  # feedback items' attributes, oldest first


def _partition_pages(member_id: str) -> Iterator[list[dict]]:
    start = None
    while True:
        # The model's own table connection, for raw items: a feedback item is read whatever model it has.
        page = LoyaltyItem._get_connection().query(keys.member_partition(member_id), consistent_read=True,
                                                   exclusive_start_key=start, limit=PAGE_ITEMS)
        yield page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start:
            return


def _plain(raw: dict) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer  # deferred: only exports read raw items

    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in raw.items()}


def member_records(member_id: str) -> MemberRecords:
    """The member, her whole consent log, her whole ledger and her feedback, from consistent reads of her
    partition page by page. Feedback items are kept as stored (the item kind is read generically)."""
    records = MemberRecords()
    for page in _partition_pages(member_id):
        for raw in page:
            kind = raw.get("kind", {}).get("S")
            if kind == FEEDBACK_KIND:
                records.feedback.append(_plain(raw))
            elif kind in ("member", "consent", "ledger"):
                item = LoyaltyItem.from_raw_data(raw)
                if isinstance(item, MemberItem):
                    records.member = member_store._to_member(item)
                elif isinstance(item, ConsentItem):
                    records.consent_log.append(consent.to_change(item))
                elif isinstance(item, LedgerItem):
                    records.ledger.append(member_store._to_ledger_entry(item))
    return records


def campaign_message_ids(merchant_id: str, member_id: str) -> list[str]:
    """Every campaign message written for the member: one per campaign and occasion that reached her (each
    reach wrote a guard under a partition of its own per campaign and member)."""
    found = []
    for campaign in campaigns_of(merchant_id):
        pk, prefix = keys.campaign_guards_of_member(merchant_id, campaign.campaign_id, member_id)
        for guard in GuardItem.query(pk, GuardItem.sk.startswith(prefix), consistent_read=True):
            occasion = keys.occasion_of_campaign_guard(guard.sk)
            found.append(message_id_for(campaign.campaign_id, member_id, occasion))
    return found


def ledger_entries_naming(owner_id: str, kind: str, ref: str) -> list[LedgerEntry]:
    """Another member's ledger entries of ``kind`` about ``ref`` (a referrer's entry paid for a friend's first
    visit names the friend), read page by page through that member's ledger."""
    pk, prefix = keys.ledger_prefix(owner_id)
    found = LedgerItem.query(pk, LedgerItem.sk.startswith(prefix), consistent_read=True,
                             filter_condition=(LedgerItem.entry_kind == kind) & (LedgerItem.ref == ref))
    return [member_store._to_ledger_entry(item) for item in found]


@dataclass(frozen=True, kw_only=True)
class Erasure:
    """What erasing one member writes. The member item goes last, conditioned on the revision it was planned
    from: until it commits, her card works and the same erase may run again from the start."""

    member: Member
    token_hash: str  # of a token nobody is given: the old one stops working
    erased_at: datetime
    identity_guards: list[tuple[str, str]]  # her phone and email guards: released so she may join again
    referral_code_guard: tuple[str, str] | None
    feedback_keys: list[tuple[str, str]]
    message_ids: list[str]
    relabelled: list[LedgerEntry] = field(default_factory=list)  # others' entries, their labels without her name


def _member_actions(erasure: Erasure) -> list:
    actions = [getattr(MemberItem, name).remove() for name in (*PERSONAL_ATTRIBUTES, *_INDEX_KEYS)]
    actions += [MemberItem.referral_code.remove(), MemberItem.consent_sms.set(False),
                MemberItem.consent_email.set(False), MemberItem.token_hash.set(erasure.token_hash),
                MemberItem.erased_at.set(erasure.erased_at), MemberItem.rev.add(1)]
    return actions


def _scrubs(erasure: Erasure) -> list:
    """Adds each item outside the member item to a transaction: idempotent, so a replay does them again."""
    member_id = erasure.member.member_id
    steps = []
    for key in erasure.identity_guards:
        steps.append(lambda txn, key=key: txn.delete(
            GuardItem(*key), "identity_guard",
            condition=GuardItem.pk.does_not_exist() | (GuardItem.owner_id == member_id)))
    if erasure.referral_code_guard:
        steps.append(lambda txn, key=erasure.referral_code_guard: txn.delete(
            GuardItem(*key), "referral_code_guard",
            condition=GuardItem.pk.does_not_exist() | (GuardItem.owner_id == member_id)))
    for key in erasure.feedback_keys:
        # The rating stays (insights count it); the words she wrote go.
        steps.append(lambda txn, key=key: txn.update(
            LoyaltyItem(*key), [Path("comment").remove()], "feedback", condition=LoyaltyItem.pk.exists()))
    for entry in erasure.relabelled:
        # Only the words change: the amounts, and what insights counted, stay as they were.
        lines = [{"kind": ln.kind, "points": ln.points, "stamps": ln.stamps, "label": ln.label} for ln in entry.lines]
        steps.append(lambda txn, entry=entry, lines=lines: txn.update(
            LedgerItem(*member_store.ledger_key(entry)), [LedgerItem.lines.set(lines)], "ledger_label",
            condition=LedgerItem.pk.exists()))
    for message_id in erasure.message_ids:
        steps.append(lambda txn, message_id=message_id: txn.delete(OutboxItem(*keys.outbox(message_id)), "outbox"))
    return steps


def erase(erasure: Erasure) -> int:
    """Strips the member's personal data in as few transactions as the items allow (100 per transaction): the
    other items first, page by page, then the last page with the member item. Returns the transactions sent.

    Raises ConditionFailed: "member" when the member changed since it was read (plan again)."""
    steps = _scrubs(erasure)
    room = TRANSACTION_ITEMS - 1  # the last transaction also carries the member item
    sent = 0
    while len(steps) > room:
        txn = Transaction()
        for step in steps[:TRANSACTION_ITEMS]:
            step(txn)
        txn.commit()
        sent += 1
        steps = steps[TRANSACTION_ITEMS:]
    txn = Transaction()
    for step in steps:
        step(txn)
    txn.update(MemberItem(*keys.member(erasure.member.member_id)), _member_actions(erasure), "member",
               condition=MemberItem.pk.exists() & (MemberItem.rev == erasure.member.rev))
    txn.commit()
    return sent + 1


def scrub_again(erasure: Erasure) -> int:
    """The items outside the member item, for a member erased before (an erase repeated): a message a campaign
    run wrote while the erase committed is removed too. Returns the transactions sent."""
    steps = _scrubs(erasure)
    sent = 0
    for start in range(0, len(steps), TRANSACTION_ITEMS):
        txn = Transaction()
        for step in steps[start:start + TRANSACTION_ITEMS]:
            step(txn)
        txn.commit()
        sent += 1
    return sent


__all__ = ["Erasure", "MemberRecords", "campaign_message_ids", "erase", "member_records", "scrub_again"]
