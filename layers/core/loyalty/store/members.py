"""Members, their ledger, vouchers and the guard items that keep identities and codes unique."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from loyalty.domain.calendar import birthday_month_day, local_day
from loyalty.domain.messages import Message
from loyalty.domain.model import (
    VOUCHER_REDEEMED,
    Favourite,
    LedgerEntry,
    LedgerLine,
    Member,
    Referral,
    Voucher,
)
from loyalty.domain.preferences import ConsentChange
from loyalty.domain.referral import HELD as REFERRAL_HELD
from loyalty.store import consent, keys, outbox, replies
from loyalty.store.models import (
    ConsentItem,
    CounterItem,
    GuardItem,
    LedgerItem,
    LoyaltyItem,
    MemberItem,
    ReferralItem,
)
from loyalty.store.transaction import ConditionalUpdate, ConditionFailed, Transaction

_MEMBER_FIELDS = (
    "member_id", "merchant_id", "token_hash", "rev", "phone", "email", "name", "birthday", "language", "consent_sms",
    "consent_email", "balance", "lifetime_points", "stamps", "visit_count", "total_spend", "spend_count", "erased_at",
    "first_visit_at", "last_visit_at", "referral_code", "referred_by", "referral_status", "referrals_pending",
    "referrals_rewarded", "created_at", "device_hash", "language", "last_location_id", "favourite_counts_month",
    "tier_id", "tier_qualified_until", "promotion_day", "nps_answered_at",
)
_INT_MAPS = ("tier_earned", "point_batches", "promotion_uses")
# Member fields a profile change may set (``preferences_update``); the birthday also moves the member in GSI2.
PREFERENCE_FIELDS = frozenset({"name", "phone", "email", "birthday", "language", "consent_sms", "consent_email"})
_KEEP = object()  # "leave the expiry index as it is"


# --- conversions ------------------------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z") if value else None


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def voucher_to_map(voucher: Voucher) -> dict[str, Any]:
    data = {
        "rewardId": voucher.reward_id, "name": voucher.name, "code": voucher.code, "status": voucher.status,
        "pointsLocked": voucher.points_locked, "issuedAt": _iso(voucher.issued_at),
        "expiresAt": _iso(voucher.expires_at), "source": voucher.source, "closedAt": _iso(voucher.closed_at),
        "redemptionId": voucher.redemption_id, "locationId": voucher.location_id,
        "campaignId": voucher.campaign_id, "runId": voucher.run_id,
    }
    return {key: value for key, value in data.items() if value is not None}


def _voucher_from_map(issued_id: str, data: dict[str, Any]) -> Voucher:
    return Voucher(
        issued_reward_id=issued_id, reward_id=data["rewardId"], name=data["name"], code=data["code"],
        status=data["status"], points_locked=int(data.get("pointsLocked", 0)),
        issued_at=_from_iso(data["issuedAt"]), expires_at=_from_iso(data["expiresAt"]),
        source=data.get("source", "points"),
        closed_at=_from_iso(data.get("closedAt")), redemption_id=data.get("redemptionId"),
        location_id=data.get("locationId"), campaign_id=data.get("campaignId"), run_id=data.get("runId"),
    )


def favourites_from_list(stored: list | None) -> tuple[Favourite, ...]:
    favourites = []
    for entry in stored or ():
        data = entry.as_dict() if hasattr(entry, "as_dict") else dict(entry)
        kind = "sku" if "sku" in data else "category"
        favourites.append(Favourite(kind=kind, name=str(data[kind]), count=int(data.get("count", 0))))
    return tuple(favourites)


def _stored(name: str, value: Any) -> Any:
    """A member field as the item keeps it."""
    if name == "favourites":
        return [favourite.wire() for favourite in value] or None
    if name in ("favourite_categories", "recent_visits", "tier_rewarded"):
        return list(value) or None
    if name == "favourite_counts" or name in _INT_MAPS:
        return dict(value) or None
    return value


def _int_map(stored) -> dict[str, int]:
    """A stored map of counts (DynamoDB numbers) as plain ints."""
    raw = stored.as_dict() if hasattr(stored, "as_dict") else dict(stored or {})
    return {key: int(value) for key, value in raw.items()}


def _to_member(item: MemberItem) -> Member:
    values = {name: getattr(item, name) for name in _MEMBER_FIELDS}
    for number in ("rev", "balance", "lifetime_points", "stamps", "visit_count", "total_spend", "spend_count",
                   "referrals_pending", "referrals_rewarded"):
        values[number] = int(values[number] or 0)
    raw = item.vouchers.as_dict() if item.vouchers else {}
    values["vouchers"] = {issued_id: _voucher_from_map(issued_id, data) for issued_id, data in raw.items()}
    values["referral_reasons"] = tuple(item.referral_reasons or ())
    values["favourites"] = favourites_from_list(item.favourites)
    values["favourite_categories"] = tuple(item.favourite_categories or ())
    values["recent_visits"] = tuple(item.recent_visits or ())
    values["tier_rewarded"] = tuple(item.tier_rewarded or ())
    for name in _INT_MAPS:
        values[name] = _int_map(getattr(item, name))
    counts = item.favourite_counts.as_dict() if item.favourite_counts else {}
    values["favourite_counts"] = {name: float(count) for name, count in counts.items()}
    return Member(**values)


def _to_item(member: Member) -> MemberItem:
    item = MemberItem(*keys.member(member.member_id), **{name: getattr(member, name) for name in _MEMBER_FIELDS})
    item.vouchers = {issued_id: voucher_to_map(v) for issued_id, v in member.vouchers.items()}
    item.referral_reasons = list(member.referral_reasons) or None
    for name in ("favourites", "favourite_categories", "favourite_counts", "recent_visits", "tier_rewarded",
                 *_INT_MAPS):
        setattr(item, name, _stored(name, getattr(member, name)))
    return item


def with_index_keys(item: MemberItem, timezone: str) -> MemberItem:
    """The member item with its member index keys, derived from its own fields: birthday (if any), the local day
    of the last visit (or "never") and of joining. ``timezone`` is the merchant's."""
    month_day = birthday_month_day(item.birthday)
    if month_day:
        item.gsi2pk, item.gsi2sk = keys.birthday_index(item.merchant_id, item.member_id, month_day)
    last_visit = local_day(item.last_visit_at, timezone).isoformat() if item.last_visit_at else None
    item.gsi3pk, item.gsi3sk = keys.roster_index(item.merchant_id, item.member_id, last_visit)
    joined = local_day(item.created_at or datetime.now(UTC), timezone).isoformat()
    item.gsi4pk, item.gsi4sk = keys.joined_index(item.merchant_id, item.member_id, joined)
    return item


def ledger_key(entry: LedgerEntry) -> tuple[str, str]:
    return keys.ledger_entry(entry.member_id, _iso(entry.at), entry.entry_id)


def _ledger_item(entry: LedgerEntry) -> LedgerItem:
    pk, sk = ledger_key(entry)
    return LedgerItem(
        pk, sk, entry_id=entry.entry_id, member_id=entry.member_id, merchant_id=entry.merchant_id, at=entry.at,
        entry_kind=entry.kind, points=entry.points, stamps=entry.stamps, ref=entry.ref,
        location_id=entry.location_id, spend=entry.spend, visit=entry.visit,
        lines=[{"kind": ln.kind, "points": ln.points, "stamps": ln.stamps, "label": ln.label} for ln in entry.lines],
    )


def _to_ledger_entry(item: LedgerItem) -> LedgerEntry:
    lines = tuple(
        LedgerLine(line["kind"], int(line["points"]), int(line["stamps"]), line["label"])
        for line in (item.lines or [])
    )
    return LedgerEntry(item.entry_id, item.member_id, item.merchant_id, item.at, item.entry_kind,
                       int(item.points), int(item.stamps), lines, item.ref, item.location_id,
                       int(item.spend) if item.spend is not None else None, item.visit)


# --- write specs ------------------------------------------------------------------------------------

@dataclass
class Guard:
    """A unique value claimed for ``owner_id``; ``tag`` names it when the claim loses."""

    key: tuple[str, str]
    owner_id: str
    merchant_id: str
    tag: str
    ref: str | None = None
    receipt: dict[str, Any] | None = None  # a sale's facts, on a receipt's guard: what later refunds reverse


@dataclass
class MemberUpdate:
    """One member item change. With ``expected_rev`` it only applies to the state it was computed from."""

    member_id: str
    expected_rev: int | None = None
    add: dict[str, int] = field(default_factory=dict)
    set: dict[str, Any] = field(default_factory=dict)
    put_vouchers: list[Voucher] = field(default_factory=list)
    drop_vouchers: list[str] = field(default_factory=list)
    earliest_voucher_expiry: Any = _KEEP  # datetime, None (no open vouchers) or _KEEP
    tag: str = "member"
    # The member's merchant: needed when a change moves the member in a per-merchant index (birthday, visit).
    merchant_id: str | None = None
    last_visit_day: date | None = None  # merchant-local day of a visit this update records: moves it in the roster
    upkeep_due: Any = _KEEP  # datetime (points expire or tier grace ends then), None (nothing due) or _KEEP


@dataclass
class CapCounter:
    """A per-period counter that may only grow up to ``limit`` (referral rewards per month, rate limits).

    With ``expires_at`` DynamoDB's TTL deletes it once its period is over."""

    key: tuple[str, str]
    limit: int
    tag: str
    expires_at: datetime | None = None


def _counter_actions(counter: CapCounter) -> list:
    actions = [CounterItem.count.add(1)]
    if counter.expires_at is not None:
        actions.append(CounterItem.ttl.set(counter.expires_at))
    return actions


def _add_counters(txn: Transaction, counters: list[CapCounter]) -> None:
    for counter in counters:
        txn.update(CounterItem(*counter.key), _counter_actions(counter), counter.tag,
                   condition=CounterItem.count.does_not_exist() | (CounterItem.count < counter.limit))


def _update_actions(update: MemberUpdate) -> list:
    actions = [getattr(MemberItem, name).add(value) for name, value in update.add.items() if value]
    for name, value in update.set.items():
        attribute = getattr(MemberItem, name)
        value = _stored(name, value)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    actions += _member_index_actions(update)
    actions += [MemberItem.vouchers[v.issued_reward_id].set(voucher_to_map(v)) for v in update.put_vouchers]
    actions += [MemberItem.vouchers[issued_id].remove() for issued_id in update.drop_vouchers]
    if update.earliest_voucher_expiry is None:
        actions += [MemberItem.gsi1pk.remove(), MemberItem.gsi1sk.remove()]
    elif update.earliest_voucher_expiry is not _KEEP:
        gsi_pk, gsi_sk = keys.voucher_expiry_index(update.member_id, _iso(update.earliest_voucher_expiry))
        actions += [MemberItem.gsi1pk.set(gsi_pk), MemberItem.gsi1sk.set(gsi_sk)]
    if update.upkeep_due is None:
        actions += [MemberItem.gsi5pk.remove(), MemberItem.gsi5sk.remove()]
    elif update.upkeep_due is not _KEEP:
        gsi_pk, gsi_sk = keys.upkeep_index(update.member_id, _iso(update.upkeep_due))
        actions += [MemberItem.gsi5pk.set(gsi_pk), MemberItem.gsi5sk.set(gsi_sk)]
    actions.append(MemberItem.rev.add(1))
    return actions


def reward_code_guard(voucher: Voucher, member_id: str, merchant_id: str) -> Guard:
    """Keeps a voucher's counter code unique and finds the voucher when staff redeem it."""
    return Guard(keys.reward_code_guard(voucher.code), member_id, merchant_id, tag="reward_code",
                 ref=voucher.issued_reward_id)


def _member_index_actions(update: MemberUpdate) -> list:
    """Keep the birthday and roster indexes in step with the change (the joined day never changes)."""
    actions = []
    if ("birthday" in update.set or update.last_visit_day is not None) and update.merchant_id is None:
        raise ValueError("a change of birthday or last visit needs the member's merchant (its index keys)")
    if "birthday" in update.set:
        month_day = birthday_month_day(update.set["birthday"])
        if month_day is None:
            actions += [MemberItem.gsi2pk.remove(), MemberItem.gsi2sk.remove()]  # sparse: out of the index
        else:
            gsi_pk, gsi_sk = keys.birthday_index(update.merchant_id, update.member_id, month_day)
            actions += [MemberItem.gsi2pk.set(gsi_pk), MemberItem.gsi2sk.set(gsi_sk)]
    if update.last_visit_day is not None:
        # The partition too: a member written before the roster existed joins it on the next visit.
        gsi_pk, gsi_sk = keys.roster_index(update.merchant_id, update.member_id, update.last_visit_day.isoformat())
        actions += [MemberItem.gsi3pk.set(gsi_pk), MemberItem.gsi3sk.set(gsi_sk)]
    return actions


def preferences_update(member: Member, **changes: Any) -> MemberUpdate:
    """A change of the member's own details (name, contact, birthday, language, consent), conditioned on the
    member's revision; a birthday change moves the member in the birthday index in the same write.

    Commit it alone with ``change_preferences`` or with other items through ``member_transaction``."""
    unknown = set(changes) - PREFERENCE_FIELDS
    if unknown:
        raise ValueError(f"not a preference: {sorted(unknown)}")
    return MemberUpdate(member.member_id, expected_rev=member.rev, set=dict(changes), merchant_id=member.merchant_id,
                        tag="member")


def change_preferences(member: Member, **changes: Any) -> None:
    """One conditional write; ConditionFailed({"member"}) when the member changed since it was read."""
    member_transaction([preferences_update(member, **changes)]).commit()


def _guard_item(guard: Guard) -> GuardItem:
    return GuardItem(*guard.key, owner_id=guard.owner_id, merchant_id=guard.merchant_id, ref=guard.ref,
                     receipt=guard.receipt)


def create_member(member: Member, guards: list[Guard], referrer_id: str | None = None,
                  counters: list[CapCounter] = (), consent_log: list[ConsentChange] = (), *, timezone: str) -> None:
    """Member, its unique identities and referral code, the capped counters it counts in and the consent it
    gave: all or nothing.

    ``timezone`` is the merchant's: the member indexes are keyed by its local days."""
    create_member_transaction(member, guards, referrer_id, counters, consent_log, timezone=timezone).commit()


def create_member_transaction(member: Member, guards: list[Guard], referrer_id: str | None = None,
                              counters: list[CapCounter] = (), consent_log: list[ConsentChange] = (), *,
                              timezone: str, ledger: list[LedgerEntry] = (), upkeep_due: datetime | None = None
                              ) -> Transaction:
    """The transaction of ``create_member`` before it is sent; a member created with a balance (an import)
    brings the ledger entries that explain it, and when its points expire, the instant they are due."""
    item = with_index_keys(_to_item(member), timezone)
    if ledger:
        item.ledger_head = sorted(ledger, key=_ledger_sort_key)[-1].entry_id
    if upkeep_due is not None:
        item.gsi5pk, item.gsi5sk = keys.upkeep_index(member.member_id, _iso(upkeep_due))
    txn = Transaction().put(item, "member", condition=MemberItem.pk.does_not_exist())
    for entry in ledger:
        txn.put(_ledger_item(entry), "ledger", condition=LedgerItem.pk.does_not_exist())
    consent.add_to(txn, list(consent_log))
    for guard in guards:
        txn.put(_guard_item(guard), guard.tag, condition=GuardItem.pk.does_not_exist())
    if referrer_id:
        txn.update(MemberItem(*keys.member(referrer_id)), [MemberItem.referrals_pending.add(1)], "referrer",
                   condition=MemberItem.pk.exists())
    _add_counters(txn, counters)
    return txn


def commit(updates: list[MemberUpdate], ledger: list[LedgerEntry] = (), *, guards: list[Guard] = (),
           counters: list[CapCounter] = (), held_referrals: list[Referral] = (),
           reply: replies.StoredReply | None = None, others: list[ConditionalUpdate] = ()) -> None:
    """Member changes, their ledger entries, guards, capped counters, held referrals, the request's reply and
    other items' conditional updates (a refunded receipt) in one transaction."""
    txn = member_transaction(updates, ledger, guards=guards, counters=counters)
    for other in others:
        txn.add(other)
    if reply is not None:
        txn.put(replies.to_item(reply), replies.TAG, condition=replies.put_condition(reply))
    for referral in held_referrals:
        txn.put(referral_item(referral), "held_referral", condition=ReferralItem.pk.does_not_exist())
    txn.commit()


def member_transaction(updates: list[MemberUpdate], ledger: list[LedgerEntry] = (), *, guards: list[Guard] = (),
                       counters: list[CapCounter] = ()) -> Transaction:
    """The transaction of ``commit`` before it is sent, for store modules that add their own items to it."""
    txn = Transaction()
    heads = {entry.member_id: entry for entry in sorted(ledger, key=_ledger_sort_key)}  # newest per member
    for update in updates:
        condition = MemberItem.pk.exists()
        if update.expected_rev is not None:
            condition &= MemberItem.rev == update.expected_rev
        actions = _update_actions(update)
        if update.member_id in heads:
            actions.append(MemberItem.ledger_head.set(heads[update.member_id].entry_id))
        txn.update(MemberItem(*keys.member(update.member_id)), actions, update.tag, condition)
    for entry in ledger:
        txn.put(_ledger_item(entry), "ledger", condition=LedgerItem.pk.does_not_exist())
    for guard in guards:
        txn.put(_guard_item(guard), guard.tag, condition=GuardItem.pk.does_not_exist())
    _add_counters(txn, counters)
    return txn


def change_profile(update: MemberUpdate, consent_log: list[ConsentChange], *, guards: list[Guard] = (),
                   released_guards: list[Guard] = ()) -> None:
    """A member's own details and consent, the consent log entries of the change, and its moved identities
    (new guards claimed, the old ones released only while still the member's): all or nothing."""
    txn = member_transaction([update], guards=guards)
    for guard in released_guards:
        txn.delete(GuardItem(*guard.key), f"release_{guard.tag}",
                   condition=GuardItem.pk.does_not_exist() | (GuardItem.owner_id == guard.owner_id))
    consent.add_to(txn, consent_log)
    txn.commit()


def count_with_message(counters: list[CapCounter], message: Message | None) -> None:
    """Capped counters and, when there is one, an outbox message: one transaction, so a refused request sends
    nothing and a sent message is always counted."""
    txn = member_transaction([], counters=counters)
    if message is not None:
        outbox.add_to(txn, message)
    txn.commit()


def referral_item(referral: Referral) -> ReferralItem:
    item = ReferralItem(
        *keys.referral(referral.referral_id), referral_id=referral.referral_id, merchant_id=referral.merchant_id,
        referrer_id=referral.referrer_id, member_id=referral.referee_id, status=referral.status,
        reasons=list(referral.reasons), held_at=referral.held_at, referrer_points=referral.referrer_points,
        referee_points=referral.referee_points, decided_at=referral.decided_at)
    if referral.status == REFERRAL_HELD:
        item.gsi1pk, item.gsi1sk = keys.held_referral_index(referral.merchant_id, _iso(referral.held_at),
                                                            referral.referral_id)
    return item


def redeem_voucher(member_id: str, merchant_id: str, issued_id: str, now: datetime, redemption_id: str,
                   location_id: str | None) -> Member:
    """Mark one open, unexpired voucher redeemed: a single conditional write, so one redemption wins."""
    item = MemberItem(*keys.member(member_id))
    status = MemberItem.vouchers[issued_id]["status"]
    actions = [
        status.set(VOUCHER_REDEEMED),
        MemberItem.vouchers[issued_id]["closedAt"].set(_iso(now)),
        MemberItem.vouchers[issued_id]["redemptionId"].set(redemption_id),
        MemberItem.rev.add(1),
    ]
    if location_id:
        actions.append(MemberItem.vouchers[issued_id]["locationId"].set(location_id))
    condition = ((MemberItem.merchant_id == merchant_id) & (status == "issued")
                 & (MemberItem.vouchers[issued_id]["expiresAt"] > _iso(now)))
    try:
        item.update(actions=actions, condition=condition, add_version_condition=False)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise ConditionFailed({"voucher"}) from exc
        raise
    return _to_member(item)


# --- reads ------------------------------------------------------------------------------------------

def get_member(member_id: str) -> Member | None:
    try:
        return _to_member(MemberItem.get(*keys.member(member_id), consistent_read=True))
    except DoesNotExist:
        return None


def get_member_with_reply(member_id: str, record_id: str) -> tuple[Member | None, replies.StoredReply | None]:
    """The member and an Idempotency-Key's record in one round trip."""
    item, reply = replies.batch_get_with_reply(keys.member(member_id), record_id)
    return (_to_member(item) if isinstance(item, MemberItem) else None), reply


def get_guard(key: tuple[str, str]) -> Guard | None:
    try:
        item = GuardItem.get(*key, consistent_read=True)
    except DoesNotExist:
        return None
    return Guard(key, item.owner_id, item.merchant_id, tag="existing", ref=item.ref,
                 receipt=item.receipt.as_dict() if item.receipt else None)


def get_guards(guard_keys: list[tuple[str, str]]) -> dict[tuple[str, str], Guard]:
    """Many guards at once (BatchGetItem, 100 keys a request); keys that hold no guard are left out."""
    found = {}
    for item in GuardItem.batch_get(list(dict.fromkeys(guard_keys)), consistent_read=True):
        found[(item.pk, item.sk)] = Guard((item.pk, item.sk), item.owner_id, item.merchant_id, tag="existing",
                                          ref=item.ref)
    return found


def get_members(member_ids: list[str]) -> dict[str, Member]:
    """Many members at once (BatchGetItem); ids of no member are left out."""
    items = MemberItem.batch_get([keys.member(member_id) for member_id in dict.fromkeys(member_ids)],
                                 consistent_read=True)
    return {item.member_id: _to_member(item) for item in items}


def _ledger_sort_key(entry: LedgerEntry) -> str:
    return ledger_key(entry)[1]


def member_with_history(member_id: str, limit: int, attempts: int = 4) -> tuple[Member | None, list[LedgerEntry]]:
    """The member and its newest ledger entries as one consistent view, in one Query over its partition.

    A Query is not a snapshot: a transaction committing meanwhile may show in the ledger entries and not yet
    in the member item, or the other way round. The member item names its newest entry (``ledger_head``):
    entries newer than it are not in its balance yet and are left out; when the head itself is missing, the
    ledger is behind and the partition is read again."""
    pk, member_sk = keys.member(member_id)
    extra = 3  # room for entries newer than the head, which are left out
    for attempt in range(attempts):
        items = list(LoyaltyItem.query(pk, LoyaltyItem.sk <= member_sk, scan_index_forward=False,
                                       limit=limit + 1 + extra, consistent_read=True))
        if not items or not isinstance(items[0], MemberItem):
            return None, []
        head = items[0].ledger_head
        entries = [_to_ledger_entry(item) for item in items[1:] if isinstance(item, LedgerItem)]
        position = next((i for i, entry in enumerate(entries) if entry.entry_id == head), None)
        if head is None or position is not None or attempt == attempts - 1:
            return _to_member(items[0]), entries[position or 0:][:limit]
    raise AssertionError("unreachable")


def member_with_consent_log(member_id: str, limit: int) -> tuple[Member | None, list[ConsentChange]]:
    """The member and its newest consent changes (newest first) in one Query of its partition."""
    pk, prefix = keys.member_with_consent_log(member_id)
    items = list(LoyaltyItem.query(pk, LoyaltyItem.sk.startswith(prefix), limit=limit + 1, consistent_read=True))
    if not items or not isinstance(items[0], MemberItem):
        return None, []
    return _to_member(items[0]), [consent.to_change(item) for item in items[1:] if isinstance(item, ConsentItem)]


def recent_ledger(member_id: str, limit: int = 20) -> list[LedgerEntry]:
    pk, prefix = keys.ledger_prefix(member_id)
    items = LedgerItem.query(pk, LedgerItem.sk.startswith(prefix), scan_index_forward=False, limit=limit)
    return [_to_ledger_entry(item) for item in items]


def ledger_entry_with_ref(member_id: str, kind: str, ref: str, written_from: datetime,
                          written_to: datetime) -> LedgerEntry | None:
    """The member's entry of ``kind`` for ``ref`` (a scan id), among those written in that time range: a Query
    of a few of the member's own entries, never of anyone else's."""
    pk, low, high = keys.ledger_between(member_id, _iso(written_from), _iso(written_to))
    found = LedgerItem.query(pk, LedgerItem.sk.between(low, high), consistent_read=True,
                             filter_condition=(LedgerItem.ref == ref) & (LedgerItem.entry_kind == kind))
    return next((_to_ledger_entry(item) for item in found), None)


def full_ledger(member_id: str) -> list[LedgerEntry]:
    """Every entry, oldest first (audits, invariant checks, exports)."""
    pk, prefix = keys.ledger_prefix(member_id)
    return [_to_ledger_entry(item) for item in LedgerItem.query(pk, LedgerItem.sk.startswith(prefix))]


def referral_count(key: tuple[str, str]) -> int:
    try:
        return int(CounterItem.get(*key, consistent_read=True).count)
    except DoesNotExist:
        return 0


@dataclass(frozen=True)
class ExpiringPage:
    member_ids: list[str]
    next_start: dict | None  # where the next page starts; None when this shard has no more due members


def members_with_vouchers_expiring(shard: int, before: datetime, limit: int = 100,
                                   start: dict | None = None) -> ExpiringPage:
    """One page of the sparse index: its cost grows with the members holding open vouchers, not with all members."""
    partition = keys.voucher_expiry_partition(shard)
    items = MemberItem.gsi1.query(partition, MemberItem.gsi1sk < f"{_iso(before)}#~", limit=limit,
                                  page_size=limit, last_evaluated_key=start)
    member_ids = [item.member_id for item in items]
    return ExpiringPage(member_ids, items.last_evaluated_key if len(member_ids) >= limit else None)


@dataclass(frozen=True)
class UpkeepPage:
    members: list[Member]  # as the upkeep index projects them: enough for points expiry and tiers (and ``rev``)
    next_start: dict | None


def members_due_for_upkeep(shard: int, now: datetime, limit: int = 100, start: dict | None = None) -> UpkeepPage:
    """One page of members whose points expire or whose tier grace ends by ``now``, from the sparse index."""
    items = MemberItem.upkeep.query(keys.upkeep_partition(shard), MemberItem.gsi5sk < f"{_iso(now)}#~",
                                    limit=limit, page_size=limit, last_evaluated_key=start)
    members = [_to_member(item) for item in items]
    return UpkeepPage(members, items.last_evaluated_key if len(members) >= limit else None)


__all__ = [
    "PREFERENCE_FIELDS",
    "CapCounter",
    "ConditionFailed",
    "ExpiringPage",
    "Guard",
    "MemberUpdate",
    "UpkeepPage",
    "change_preferences",
    "change_profile",
    "commit",
    "count_with_message",
    "create_member",
    "create_member_transaction",
    "favourites_from_list",
    "full_ledger",
    "get_guard",
    "get_guards",
    "get_member",
    "get_member_with_reply",
    "get_members",
    "ledger_entry_with_ref",
    "ledger_key",
    "member_transaction",
    "member_with_consent_log",
    "member_with_history",
    "members_due_for_upkeep",
    "members_with_vouchers_expiring",
    "preferences_update",
    "recent_ledger",
    "redeem_voucher",
    "referral_count",
    "referral_item",
    "reward_code_guard",
    "with_index_keys",
]
