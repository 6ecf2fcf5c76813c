"""PynamoDB models of the single table: one base with the table's keys, a discriminator per item kind."""

from __future__ import annotations

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    DiscriminatorAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from loyalty.settings import get_settings


class _TableMeta:
    @staticmethod
    def apply(meta: type) -> None:
        settings = get_settings()
        meta.table_name = settings.table_name
        meta.region = settings.region
        meta.host = settings.dynamodb_endpoint
        meta.connect_timeout_seconds = 2
        meta.read_timeout_seconds = settings.dynamodb_read_timeout_seconds
        meta.max_retry_attempts = 3


class GSI1(GlobalSecondaryIndex):
    """Generic overloaded index; sparse: only items that set GSI1PK appear in it."""

    class Meta:
        index_name = "GSI1"
        # Keys plus what scheduled readers need: balance updates then leave the index untouched.
        projection = IncludeProjection(["kind", "member_id"])

    gsi1pk = UnicodeAttribute(hash_key=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(range_key=True, attr_name="GSI1SK")


# What a message needs about a member: the member indexes all project it, so a campaign run reads only the index.
CONTACT_SNAPSHOT = [
    "kind", "member_id", "merchant_id", "name", "phone", "email", "consent_sms", "consent_email", "language",
    "birthday", "favourites", "first_visit_at", "created_at",
]
# ... plus what segments evaluate, on the roster index only (a visit rewrites the roster entry anyway).
ROSTER_SNAPSHOT = [
    *CONTACT_SNAPSHOT,
    "visit_count", "total_spend", "balance", "last_visit_at", "last_location_id", "favourite_categories",
    "recent_visits", "tier_id",
]
# What the hourly upkeep (points expiry, tier downgrades) needs to act on a member without reading the item; its
# writes are conditioned on ``rev``, so an entry that lags behind the member is simply read again.
UPKEEP_SNAPSHOT = [
    "kind", "member_id", "merchant_id", "rev", "balance", "point_batches", "tier_id", "tier_earned",
    "tier_qualified_until", "tier_rewarded",
]


class GSI2(GlobalSecondaryIndex):
    """Birthdays: per merchant (sharded), sorted by ``MM-DD``; sparse: only members with a birthday."""

    class Meta:
        index_name = "GSI2"
        projection = IncludeProjection(CONTACT_SNAPSHOT)

    gsi2pk = UnicodeAttribute(hash_key=True, attr_name="GSI2PK")
    gsi2sk = UnicodeAttribute(range_key=True, attr_name="GSI2SK")


class GSI3(GlobalSecondaryIndex):
    """Roster: every member per merchant (sharded), sorted by the local day of the last visit ("never" last)."""

    class Meta:
        index_name = "GSI3"
        projection = IncludeProjection(ROSTER_SNAPSHOT)

    gsi3pk = UnicodeAttribute(hash_key=True, attr_name="GSI3PK")
    gsi3sk = UnicodeAttribute(range_key=True, attr_name="GSI3SK")


class GSI4(GlobalSecondaryIndex):
    """Joined: every member per merchant (sharded), sorted by the local day of joining."""

    class Meta:
        index_name = "GSI4"
        projection = IncludeProjection(CONTACT_SNAPSHOT)

    gsi4pk = UnicodeAttribute(hash_key=True, attr_name="GSI4PK")
    gsi4sk = UnicodeAttribute(range_key=True, attr_name="GSI4SK")


class GSI5(GlobalSecondaryIndex):
    """Upkeep: members whose oldest points expire or whose tier grace ends, by that instant; sparse, sharded."""

    class Meta:
        index_name = "GSI5"
        projection = IncludeProjection(UPKEEP_SNAPSHOT)

    gsi5pk = UnicodeAttribute(hash_key=True, attr_name="GSI5PK")
    gsi5sk = UnicodeAttribute(range_key=True, attr_name="GSI5SK")


class LoyaltyItem(Model):
    class Meta:
        table_name = "bywalec"

    pk = UnicodeAttribute(hash_key=True, attr_name="PK")
    sk = UnicodeAttribute(range_key=True, attr_name="SK")
    kind = DiscriminatorAttribute(attr_name="kind")
    gsi1pk = UnicodeAttribute(null=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(null=True, attr_name="GSI1SK")
    ttl = TTLAttribute(null=True, attr_name="ttl")
    gsi1 = GSI1()


_TableMeta.apply(LoyaltyItem.Meta)


class MerchantItem(LoyaltyItem, discriminator="merchant"):
    merchant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    timezone = UnicodeAttribute()
    currency = UnicodeAttribute()
    program = JSONAttribute()
    locations = MapAttribute(default=dict)  # locationId -> {name, timezone}; few per merchant
    created_at = UTCDateTimeAttribute()


class ApiKeyItem(LoyaltyItem, discriminator="api_key"):
    """Found by the key's hash on every authenticated request."""

    api_key_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    role = UnicodeAttribute()
    location_ids = ListAttribute(of=UnicodeAttribute, default=list)
    created_at = UTCDateTimeAttribute()
    last_used_at = UTCDateTimeAttribute(null=True)  # approximate: written at most once per interval
    signing_secret = UnicodeAttribute(null=True)  # a POS key's HMAC secret, sealed (domain/sealing.py)


class ApiKeyListingItem(LoyaltyItem, discriminator="api_key_listing"):
    """One per key under its merchant's partition: lists the merchant's keys and finds the hash item to revoke."""

    api_key_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    role = UnicodeAttribute()
    location_ids = ListAttribute(of=UnicodeAttribute, default=list)
    created_at = UTCDateTimeAttribute()
    key_hash = UnicodeAttribute()


class MemberItem(LoyaltyItem, discriminator="member"):
    member_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    token_hash = UnicodeAttribute()
    rev = NumberAttribute(default=0)
    phone = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    birthday = UnicodeAttribute(null=True)  # "YYYY-MM-DD", or "MM-DD" when the member gave no year
    consent_sms = BooleanAttribute(default=False)
    consent_email = BooleanAttribute(default=False)
    balance = NumberAttribute(default=0)
    lifetime_points = NumberAttribute(default=0)
    stamps = NumberAttribute(default=0)
    visit_count = NumberAttribute(default=0)
    total_spend = NumberAttribute(default=0)
    spend_count = NumberAttribute(default=0)
    first_visit_at = UTCDateTimeAttribute(null=True)
    last_visit_at = UTCDateTimeAttribute(null=True)
    referral_code = UnicodeAttribute(null=True)
    referred_by = UnicodeAttribute(null=True)
    referral_status = UnicodeAttribute(null=True)
    referrals_pending = NumberAttribute(default=0)
    referrals_rewarded = NumberAttribute(default=0)
    # issuedRewardId -> voucher; open vouchers plus the most recent closed ones.
    vouchers = MapAttribute(default=dict)
    created_at = UTCDateTimeAttribute(null=True)
    device_hash = UnicodeAttribute(null=True)
    # Set when the member's personal data was erased: the item stays, pseudonymous, for the ledger's sake.
    erased_at = UTCDateTimeAttribute(null=True)
    referral_reasons = ListAttribute(of=UnicodeAttribute, null=True)
    # The id of the newest ledger entry, set in the transaction that writes it: a read of the member's partition
    # can tell whether the member item and the ledger entries it returned belong together.
    ledger_head = UnicodeAttribute(null=True)
    language = UnicodeAttribute(null=True)
    last_location_id = UnicodeAttribute(null=True)
    # Top purchases [{sku|category, count}], rewritten only when the top changes: it is in every member index.
    favourites = ListAttribute(null=True)
    favourite_categories = ListAttribute(of=UnicodeAttribute, null=True)
    # Bounded, decayed purchase counts behind the favourites ("s:<sku>" / "c:<category>" -> count); not projected.
    favourite_counts = MapAttribute(null=True)
    favourite_counts_month = UnicodeAttribute(null=True)  # YYYY-MM the counts were last decayed to
    recent_visits = ListAttribute(of=UnicodeAttribute, null=True)  # local days of the last 3 visits (segments)
    gsi2pk = UnicodeAttribute(null=True, attr_name="GSI2PK")
    gsi2sk = UnicodeAttribute(null=True, attr_name="GSI2SK")
    gsi3pk = UnicodeAttribute(null=True, attr_name="GSI3PK")
    gsi3sk = UnicodeAttribute(null=True, attr_name="GSI3SK")
    gsi4pk = UnicodeAttribute(null=True, attr_name="GSI4PK")
    gsi4sk = UnicodeAttribute(null=True, attr_name="GSI4SK")
    birthdays = GSI2()
    roster = GSI3()
    joined = GSI4()
    # Program rules (v2). Tier: the level held, points earned per local month inside the window, when the level
    # stops qualifying without new earnings, and the levels whose upgrade reward was issued (once each).
    tier_id = UnicodeAttribute(null=True)
    tier_earned = MapAttribute(null=True)
    tier_qualified_until = UTCDateTimeAttribute(null=True)
    tier_rewarded = ListAttribute(of=UnicodeAttribute, null=True)
    point_batches = MapAttribute(null=True)  # earning month -> points left, oldest spent first (expiry)
    promotion_day = UnicodeAttribute(null=True)  # the local day ``promotion_uses`` counts
    promotion_uses = MapAttribute(null=True)  # promotion id -> times applied on that day
    gsi5pk = UnicodeAttribute(null=True, attr_name="GSI5PK")
    gsi5sk = UnicodeAttribute(null=True, attr_name="GSI5SK")
    upkeep = GSI5()
    # "{sentAtIso}#{messageId}" of the marketing messages sent in the last 7 days (at most the cap's maximum):
    # the frequency cap's record, written with a condition on the value read.
    marketing_sends = ListAttribute(of=UnicodeAttribute, null=True)
    # When the member last answered the NPS question: written with her feedback, on condition that it is 90 days old.
    nps_answered_at = UTCDateTimeAttribute(null=True)


class LedgerItem(LoyaltyItem, discriminator="ledger"):
    entry_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    entry_kind = UnicodeAttribute()
    points = NumberAttribute()
    stamps = NumberAttribute()
    lines = ListAttribute(default=list)
    ref = UnicodeAttribute(null=True)
    location_id = UnicodeAttribute(null=True)
    spend = NumberAttribute(null=True)  # minor units: a sale's amount, or minus a refund's (insights)
    # A counted visit (scan entries only): what the insights rollups need to count distinct visitors, returns,
    # cohorts and churn without reading the member: {prev, first, n, joined, campaigns} (see domain/insights.py).
    visit = JSONAttribute(null=True)


class FeedbackItem(LoyaltyItem, discriminator="feedback"):
    """A member's rating of one visit, under the member's partition (see keys.feedback); written once. It is in
    GSI1 under its merchant and rating, newest first (see keys.feedback_index), for the owner's list."""

    merchant_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    scan_id = UnicodeAttribute()
    location_id = UnicodeAttribute(null=True)
    rating = NumberAttribute()
    nps = NumberAttribute(null=True)
    comment = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class ConsentItem(LoyaltyItem, discriminator="consent"):
    """One consent change of a member, under the member's partition (see keys.consent_entry); never rewritten."""

    change_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    granted = BooleanAttribute()
    at = UTCDateTimeAttribute()
    source = UnicodeAttribute()


class GuardItem(LoyaltyItem, discriminator="guard"):
    """Holds a unique value (phone, email, code, receipt) for one owner; written with attribute_not_exists."""

    owner_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    ref = UnicodeAttribute(null=True)
    # A receipt's guard keeps what a refund needs: the sale and the points it can reverse (see store/receipts.py).
    receipt = MapAttribute(null=True)


class CounterItem(LoyaltyItem, discriminator="counter"):
    count = NumberAttribute(default=0)


class ReplyItem(LoyaltyItem, discriminator="idempotency"):
    """A POST's reply kept for its Idempotency-Key, sealed; the attribute names are Powertools Idempotency's."""

    status = UnicodeAttribute()
    data = UnicodeAttribute()         # the sealed reply (see domain/sealing.py)
    validation = UnicodeAttribute()   # keyed hash of the request body


class ReferralItem(LoyaltyItem, discriminator="referral"):
    """A held referral; while held it is in GSI1 under its merchant, so the owner's list reads only those."""

    referral_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    referrer_id = UnicodeAttribute()
    member_id = UnicodeAttribute()  # the referee
    status = UnicodeAttribute()
    reasons = ListAttribute(of=UnicodeAttribute, default=list)
    held_at = UTCDateTimeAttribute()
    referrer_points = NumberAttribute(default=0)
    referee_points = NumberAttribute(default=0)
    decided_at = UTCDateTimeAttribute(null=True)


class SegmentItem(LoyaltyItem, discriminator="segment"):
    """A merchant's custom segment: its conditions; members are matched against the roster when asked."""

    merchant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    match = UnicodeAttribute()
    conditions = ListAttribute(default=list)  # [{field, op, value}]
    created_at = UTCDateTimeAttribute()


class SegmentCountsItem(LoyaltyItem, discriminator="segment_counts"):
    """A merchant's last complete segment counts; while a recount is under way, also its resumable state, and
    the item is in GSI1 (see keys.recount_index) so the tick finds it."""

    merchant_id = UnicodeAttribute()
    counts = JSONAttribute(null=True)  # {segmentName: n}
    counted_at = UTCDateTimeAttribute(null=True)
    recount = JSONAttribute(null=True)  # store/segment_counts.py writes and reads it
    version = NumberAttribute(default=0)  # each write moves it on: two walkers never both save their progress


class CampaignItem(LoyaltyItem, discriminator="campaign"):
    """A merchant's campaign; while active it is in GSI1 by its next run time (see keys.campaign_due_index)."""

    campaign_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    campaign_type = UnicodeAttribute()
    trigger = JSONAttribute()
    offer = JSONAttribute(null=True)
    channels = ListAttribute(of=UnicodeAttribute)
    message = JSONAttribute()
    send_at = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    next_run_at = UTCDateTimeAttribute(null=True)
    last_run_day = UnicodeAttribute(null=True)


class OutboxItem(LoyaltyItem, discriminator="outbox"):
    """One message to one member. Until it is delivered (or settled otherwise) it sits in GSI1, keyed by when
    the sweep should look at it again, so nothing written to the outbox is lost if a dispatch is."""

    message_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    purpose = UnicodeAttribute()
    contents = JSONAttribute()  # [{channel, subject, body}] in the order the channels are tried
    created_at = UTCDateTimeAttribute()
    campaign_id = UnicodeAttribute(null=True)
    run_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute()  # pending | held | sending | done
    outcome = UnicodeAttribute(null=True)
    channel = UnicodeAttribute(null=True)
    release_at = UTCDateTimeAttribute(null=True)  # held: when the quiet hours end
    claim_id = UnicodeAttribute(null=True)  # sending: which delivery attempt holds it, until claimed_until
    claimed_until = UTCDateTimeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    finished_at = UTCDateTimeAttribute(null=True)
    to_address = UnicodeAttribute(null=True)  # a fixed address (the owner's note on a low rating), not the member's


class MessagingSettingsItem(LoyaltyItem, discriminator="messaging_settings"):
    merchant_id = UnicodeAttribute()
    sender_name = UnicodeAttribute(null=True)
    reply_to = UnicodeAttribute(null=True)
    notify_email = UnicodeAttribute(null=True)
    max_per_member_per_7_days = NumberAttribute()
    quiet_hours_from = UnicodeAttribute()
    quiet_hours_to = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()


class CampaignRunItem(LoyaltyItem, discriminator="campaign_run"):
    """One run of a campaign; the counters are named as the message outcomes (domain/messages.py)."""

    run_id = UnicodeAttribute(null=True)
    campaign_id = UnicodeAttribute(null=True)
    merchant_id = UnicodeAttribute(null=True)
    occasion = UnicodeAttribute(null=True)  # the local day (or days) the run covered, or "broadcast"
    scheduled_at = UTCDateTimeAttribute(null=True)
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)

    targeted = NumberAttribute(default=0)
    offers_issued = NumberAttribute(default=0)
    redeemed = NumberAttribute(default=0)
    sent_email = NumberAttribute(default=0)
    sent_sms = NumberAttribute(default=0)
    skipped_no_consent = NumberAttribute(default=0)
    skipped_no_contact = NumberAttribute(default=0)
    skipped_frequency_cap = NumberAttribute(default=0)
    skipped_quiet_hours = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)


class InsightsRollupItem(LoyaltyItem, discriminator="insights_rollup"):
    """Counts of one merchant, scope and local day or month; its attributes are named by domain/insights.py and
    written by store/insights.py (ADD only)."""


class InsightsSeenItem(LoyaltyItem, discriminator="insights_seen"):
    """A stream record the insights rollups counted (see store/insights.py); TTL removes it after a few days."""


class ImportItem(LoyaltyItem, discriminator="import"):
    """A member import: its file (by hash), its progress counters, added once per chunk (see store/imports.py)."""

    merchant_id = UnicodeAttribute()
    import_id = UnicodeAttribute()
    status = UnicodeAttribute()  # queued | running | done
    file_sha256 = UnicodeAttribute()
    file_parts = NumberAttribute()
    mapping = JSONAttribute(null=True)
    rows = NumberAttribute(default=0)
    chunks = NumberAttribute(null=True)  # known once the worker has split the file
    chunks_done = NumberAttribute(default=0)
    imported = NumberAttribute(default=0)
    merged = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)


class ImportFilePartItem(LoyaltyItem, discriminator="import_file_part"):
    """A slice of an import's CSV file (items hold 400 KB at most); kept until TTL removes it."""

    data = BinaryAttribute(legacy_encoding=False)


class ImportChunkItem(LoyaltyItem, discriminator="import_chunk"):
    """A chunk of an import counted: written once, in the transaction that adds its counts to the import."""

    imported = NumberAttribute(default=0)
    merged = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    errors = JSONAttribute(null=True)  # [{row, message}] of this chunk's failed rows, in row order


class ImportRowItem(LoyaltyItem, discriminator="import_row"):
    """One row of an import applied (or refused), written in the row's own transaction: a redelivered chunk
    finds it and applies the row no second time."""

    outcome = UnicodeAttribute()  # imported | merged | failed
    member_id = UnicodeAttribute(null=True)
    message = UnicodeAttribute(null=True)
