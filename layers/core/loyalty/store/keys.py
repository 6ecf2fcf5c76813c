"""Every key of the single table is derived here, and only here."""

from __future__ import annotations

import hashlib
import json

EXPIRY_SHARDS = 8  # the sparse "vouchers expiring" index is spread over this many partitions
UPKEEP_SHARDS = 16  # the sparse "points expiring or tier grace ending" index (GSI5), likewise
MEMBER_INDEX_SHARDS = 4  # each merchant's member indexes (birthdays, roster, joined) are spread over this many
NEVER_VISITED = "never"  # the roster's day for members who joined but have not visited yet


def merchant(merchant_id: str) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}", "MERCHANT"


def segment(merchant_id: str, name: str) -> tuple[str, str]:
    """A merchant's custom segment, under the merchant's partition (a merchant has few)."""
    return f"MERCHANT#{merchant_id}", f"SEGMENT#{name}"


def segment_prefix(merchant_id: str) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}", "SEGMENT#"


def api_key(key_hash: str) -> tuple[str, str]:
    return f"APIKEY#{key_hash}", "APIKEY"


def api_key_listing(merchant_id: str, api_key_id: str) -> tuple[str, str]:
    """The merchant's own record of one of its keys (listing, revoking); the key's hash item serves auth."""
    return f"MERCHANT#{merchant_id}", f"APIKEY#{api_key_id}"


def api_key_listing_prefix(merchant_id: str) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}", "APIKEY#"


def member(member_id: str) -> tuple[str, str]:
    return f"MEMBER#{member_id}", "MEMBER"


def member_partition(member_id: str) -> str:
    """Everything of one member kept under its own partition: the member item, consent log, ledger, feedback."""
    return member(member_id)[0]


# A member's consent log sorts right after its member item and newest first, so one Query of the partition
# (begins_with "MEMBER", ascending) returns the member and its latest consent changes, and no ledger entries.
_CONSENT_NEWEST_FIRST = 10**13  # milliseconds since the epoch stay below this until the year 2286


def consent_entry(member_id: str, at_epoch_ms: int, change_id: str) -> tuple[str, str]:
    return f"MEMBER#{member_id}", f"MEMBER#CONSENT#{_CONSENT_NEWEST_FIRST - at_epoch_ms:013d}#{change_id}"


def member_with_consent_log(member_id: str) -> tuple[str, str]:
    """The partition and the sort key prefix shared by the member item and its consent log."""
    return f"MEMBER#{member_id}", "MEMBER"


def ledger_prefix(member_id: str) -> tuple[str, str]:
    return f"MEMBER#{member_id}", "LEDGER#"


def ledger_entry(member_id: str, at_iso: str, entry_id: str) -> tuple[str, str]:
    return f"MEMBER#{member_id}", f"LEDGER#{at_iso}#{entry_id}"


def ledger_between(member_id: str, from_iso: str, to_iso: str) -> tuple[str, str, str]:
    """The member's partition and the sort keys bounding its ledger entries written from ``from_iso`` to
    ``to_iso`` (both ISO instants as ledger keys hold them)."""
    return f"MEMBER#{member_id}", f"LEDGER#{from_iso}", f"LEDGER#{to_iso}#~"


# --- Feedback -----------------------------------------------------------------------------------------

def feedback(member_id: str, scan_id: str) -> tuple[str, str]:
    """A member's rating of one visit, under the member's partition: one per visit."""
    return f"MEMBER#{member_id}", f"FEEDBACK#{scan_id}"


def feedback_partition(merchant_id: str, rating: int) -> str:
    """GSI1: a merchant's feedback of one rating, newest last in key order. A partition per rating lets the owner
    filter by rating with one Query; the whole list merges the five."""
    return f"MERCHANT#{merchant_id}#FEEDBACK#{rating}"


def feedback_index(merchant_id: str, rating: int, created_iso: str, scan_id: str) -> tuple[str, str]:
    return feedback_partition(merchant_id, rating), f"{created_iso}#{scan_id}"


def referral_counter(member_id: str, month: str) -> tuple[str, str]:
    return f"MEMBER#{member_id}", f"REFERRALS#{month}"


def phone_guard(merchant_id: str, phone: str) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}#PHONE#{phone}", "GUARD"


def email_guard(merchant_id: str, email: str) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}#EMAIL#{email}", "GUARD"


def referral_code_guard(merchant_id: str, code: str) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}#REFCODE#{code}", "GUARD"


def receipt_guard(merchant_id: str, receipt_id: str) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}#RECEIPT#{receipt_id}", "GUARD"


def reward_code_guard(code: str) -> tuple[str, str]:
    return f"REWARDCODE#{code}", "GUARD"


def idempotency_record_id(caller: str, route: str, key: str) -> str:
    """One record per caller, route and Idempotency-Key, whichever mechanism keeps it; only this hash is stored."""
    return hashlib.sha256(json.dumps([caller, route, key]).encode()).hexdigest()


def idempotency_record(record_id: str) -> tuple[str, str]:
    return f"IDEMPOTENCY#{record_id}", "IDEMPOTENCY"


def _shard(member_id: str, shards: int) -> int:
    return int(hashlib.sha256(member_id.encode()).hexdigest(), 16) % shards


def voucher_expiry_index(member_id: str, earliest_expiry_iso: str) -> tuple[str, str]:
    shard = _shard(member_id, EXPIRY_SHARDS)
    return voucher_expiry_partition(shard), f"{earliest_expiry_iso}#{member_id}"


def voucher_expiry_partition(shard: int) -> str:
    return f"VOUCHERS_EXPIRING#{shard}"


def upkeep_index(member_id: str, due_iso: str) -> tuple[str, str]:
    """GSI5: a member whose points expire or whose tier grace ends at ``due_iso``, the earlier of the two."""
    return upkeep_partition(_shard(member_id, UPKEEP_SHARDS)), f"{due_iso}#{member_id}"


def upkeep_partition(shard: int) -> str:
    return f"UPKEEP_DUE#{shard}"


def surprise_counter(merchant_id: str, local_day: str) -> tuple[str, str]:
    """Surprise rewards issued by a merchant on one local day; written only when a surprise is drawn."""
    return f"MERCHANT#{merchant_id}#SURPRISES#{local_day}", "COUNTER"


def referral_day_counter(member_id: str, day: str) -> tuple[str, str]:
    return f"MEMBER#{member_id}", f"REFERRALS_DAY#{day}"


def referral(referral_id: str) -> tuple[str, str]:
    return f"REFERRAL#{referral_id}", "REFERRAL"


def held_referrals(merchant_id: str) -> str:
    return f"MERCHANT#{merchant_id}#REFERRALS_HELD"


def held_referral_index(merchant_id: str, held_at_iso: str, referral_id: str) -> tuple[str, str]:
    return held_referrals(merchant_id), f"{held_at_iso}#{referral_id}"


# Rate-limit counters: one item per window, each in its own partition. The address is an HMAC digest.
def rate_counter_for_address(action: str, merchant_id: str, address_digest: str, window_start: int) -> tuple[str, str]:
    return f"RATE#{action}#{merchant_id}#ADDR#{address_digest}#{window_start}", "RATE"


def rate_counter_for_contact(action: str, merchant_id: str, contact_digest: str, window_start: int) -> tuple[str, str]:
    return f"RATE#{action}#{merchant_id}#CONTACT#{contact_digest}#{window_start}", "RATE"


def rate_counter_for_merchant(action: str, merchant_id: str, shard: int, window_start: int) -> tuple[str, str]:
    return f"RATE#{action}#{merchant_id}#SHARD#{shard}#{window_start}", "RATE"


# Per-merchant member indexes (GSI2 birthdays, GSI3 roster by last visit, GSI4 joined), each sharded by member so
# no single partition takes every scan of a large merchant. Sort keys start with a day, so one day is one Query.
def member_index_shard(member_id: str) -> int:
    return _shard(member_id, MEMBER_INDEX_SHARDS)


def birthdays_partition(merchant_id: str, shard: int) -> str:
    return f"MERCHANT#{merchant_id}#BIRTHDAYS#{shard}"


def birthday_index(merchant_id: str, member_id: str, month_day: str) -> tuple[str, str]:
    """``month_day`` is ``MM-DD``."""
    return birthdays_partition(merchant_id, member_index_shard(member_id)), f"{month_day}#{member_id}"


def roster_partition(merchant_id: str, shard: int) -> str:
    return f"MERCHANT#{merchant_id}#ROSTER#{shard}"


def roster_index(merchant_id: str, member_id: str, last_visit_day: str | None) -> tuple[str, str]:
    """``last_visit_day`` is the merchant-local ``YYYY-MM-DD`` of the last visit, None before the first one."""
    return (roster_partition(merchant_id, member_index_shard(member_id)),
            f"{last_visit_day or NEVER_VISITED}#{member_id}")


def joined_partition(merchant_id: str, shard: int) -> str:
    return f"MERCHANT#{merchant_id}#JOINED#{shard}"


def joined_index(merchant_id: str, member_id: str, join_day: str) -> tuple[str, str]:
    """``join_day`` is the merchant-local ``YYYY-MM-DD`` of joining."""
    return joined_partition(merchant_id, member_index_shard(member_id)), f"{join_day}#{member_id}"


# Campaigns: one item per campaign under its merchant; active ones are in the sparse GSI1 by next run time,
# spread over CAMPAIGN_SHARDS partitions, so the tick reads only the campaigns that are due.
CAMPAIGN_SHARDS = 4


def campaign(merchant_id: str, campaign_id: str) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}", f"CAMPAIGN#{campaign_id}"


def campaign_prefix(merchant_id: str) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}", "CAMPAIGN#"


def campaigns_due_partition(shard: int) -> str:
    return f"CAMPAIGNS_DUE#{shard}"


def campaign_due_index(merchant_id: str, campaign_id: str, next_run_iso: str) -> tuple[str, str]:
    shard = int(hashlib.sha256(campaign_id.encode()).hexdigest(), 16) % CAMPAIGN_SHARDS
    return campaigns_due_partition(shard), f"{next_run_iso}#{merchant_id}#{campaign_id}"


def campaign_of_due_entry(gsi1sk: str) -> tuple[str, str]:
    """(merchant id, campaign id) of an entry of the due-campaigns index."""
    _, merchant_id, campaign_id = gsi1sk.rsplit("#", 2)
    return merchant_id, campaign_id


def campaign_runs_prefix(merchant_id: str, campaign_id: str) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}#CAMPAIGN#{campaign_id}", "RUN#"


def campaign_guard(merchant_id: str, campaign_id: str, member_id: str, occasion: str) -> tuple[str, str]:
    """A campaign reached a member for an occasion; one partition per member, so a run has no hot key."""
    return f"MERCHANT#{merchant_id}#CAMPAIGN#{campaign_id}#MEMBER#{member_id}", f"OCCASION#{occasion}"


def campaign_guards_of_member(merchant_id: str, campaign_id: str, member_id: str) -> tuple[str, str]:
    """The partition and sort key prefix of every occasion a campaign reached a member for."""
    return campaign_guard(merchant_id, campaign_id, member_id, "")


def occasion_of_campaign_guard(sort_key: str) -> str:
    return sort_key.removeprefix(campaign_guard("", "", "", "")[1])


# --- Messages ---------------------------------------------------------------------------------------

OUTBOX_SHARDS = 8  # the sparse "messages not yet delivered" index is spread over this many partitions


def outbox(message_id: str) -> tuple[str, str]:
    return f"OUTBOX#{message_id}", "OUTBOX"


def outbox_due_index(message_id: str, due_iso: str) -> tuple[str, str]:
    """Where an undelivered message waits in the sweep's index; the sort key ends with the message id."""
    shard = int(hashlib.sha256(message_id.encode()).hexdigest(), 16) % OUTBOX_SHARDS
    return outbox_due_partition(shard), f"{due_iso}#{message_id}"


def outbox_due_partition(shard: int) -> str:
    return f"OUTBOX_DUE#{shard}"


def message_id_of_due_index(sort_key: str) -> str:
    return sort_key.rsplit("#", 1)[1]


def messaging_settings(merchant_id: str) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}", "MESSAGING"


def campaign_run(merchant_id: str, campaign_id: str, run_id: str) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}#CAMPAIGN#{campaign_id}", f"RUN#{run_id}"


# --- Segment counts ---------------------------------------------------------------------------------

RECOUNT_SHARDS = 4  # the sparse "segment recounts under way" index is spread over this many partitions


def segment_counts(merchant_id: str) -> tuple[str, str]:
    """A merchant's stored segment counts, and the state of a recount while one is under way."""
    return f"MERCHANT#{merchant_id}", "SEGMENT_COUNTS"


def recounts_partition(shard: int) -> str:
    return f"SEGMENT_RECOUNTS#{shard}"


def recount_index(merchant_id: str, started_iso: str) -> tuple[str, str]:
    """Where a merchant's recount under way waits for the tick, oldest first; the sort key ends with the
    merchant id."""
    shard = int(hashlib.sha256(merchant_id.encode()).hexdigest(), 16) % RECOUNT_SHARDS
    return recounts_partition(shard), f"{started_iso}#{merchant_id}"


def merchant_of_recount_entry(gsi1sk: str) -> str:
    return gsi1sk.rsplit("#", 1)[1]


# --- Insights ---------------------------------------------------------------------------------------
# Rollups kept by the stream consumer: per merchant and scope (the whole business, or one location), one item
# per local day and (whole business only) one per local month, so a range of days is one Query of one partition.
INSIGHTS_ALL = "ALL"


def insights_partition(merchant_id: str, location_id: str | None = None) -> str:
    return f"MERCHANT#{merchant_id}#INSIGHTS#{f'LOC#{location_id}' if location_id else INSIGHTS_ALL}"


def insights_day(merchant_id: str, location_id: str | None, day: str) -> tuple[str, str]:
    """``day`` is the merchant-local ``YYYY-MM-DD``."""
    return insights_partition(merchant_id, location_id), f"DAY#{day}"


def insights_month(merchant_id: str, month: str) -> tuple[str, str]:
    """``month`` is the merchant-local ``YYYY-MM``; whole-business figures only."""
    return insights_partition(merchant_id), f"MONTH#{month}"


def insights_record_seen(event_id: str) -> tuple[str, str]:
    """A stream record the rollups already count: written in the same transaction as its counts."""
    return f"INSIGHTS_SEEN#{event_id}", "SEEN"


# --- Imports ----------------------------------------------------------------------------------------

def import_job(merchant_id: str, import_id: str) -> tuple[str, str]:
    """An import's own item; its file parts and per-chunk results share the partition (a few hundred items)."""
    return f"MERCHANT#{merchant_id}#IMPORT#{import_id}", "IMPORT"


def import_file_part(merchant_id: str, import_id: str, part: int) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}#IMPORT#{import_id}", f"PART#{part:04d}"


def import_file_parts(merchant_id: str, import_id: str) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}#IMPORT#{import_id}", "PART#"


def import_chunk(merchant_id: str, import_id: str, chunk: int) -> tuple[str, str]:
    """A chunk's counted result (and its row errors): written once, with the import's counters."""
    return f"MERCHANT#{merchant_id}#IMPORT#{import_id}", f"CHUNK#{chunk:05d}"


def import_chunks(merchant_id: str, import_id: str) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}#IMPORT#{import_id}", "CHUNK#"


def import_file_guard(merchant_id: str, file_sha256: str) -> tuple[str, str]:
    """A merchant's file, by its SHA-256: the same file sent again finds its first import."""
    return f"MERCHANT#{merchant_id}#IMPORTFILE#{file_sha256}", "GUARD"


def import_row(import_id: str, row: int) -> tuple[str, str]:
    """One row of an import, applied once; a partition per row, so a large import has no hot key."""
    return f"IMPORT#{import_id}#ROW#{row}", "IMPORT_ROW"
