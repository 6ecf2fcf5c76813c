"""One validated settings object, read from the environment once per container."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class RateLimit:
    """At most ``per_address`` requests from one client address and ``per_merchant`` in total, per merchant
    and fixed window of ``window_seconds``."""

    window_seconds: int
    per_address: int
    per_merchant: int


@dataclass(frozen=True)
class Settings:
    table_name: str
    region: str
    dynamodb_endpoint: str | None
    # How long one DynamoDB request may wait for its answer (the benchmark's embedded DynamoDB needs longer).
    dynamodb_read_timeout_seconds: int
    # Secrets: a direct value (local run, tests) wins over the SSM parameter name (AWS).
    admin_token: str | None
    admin_token_parameter: str | None
    signing_key: str | None
    signing_key_parameter: str | None
    public_base_url: str | None
    cache_ttl_seconds: float
    # API keys are re-read this often, so a revoked key stops working everywhere within it.
    api_key_cache_ttl_seconds: float
    # An API key's lastUsedAt is written at most this often per key and container.
    api_key_last_used_interval_seconds: int
    counter_code_window_seconds: int
    idempotency_ttl_seconds: int
    # A scheduled sweep stops starting new work when less than this is left of its Lambda time.
    expiry_time_margin_seconds: int
    max_body_bytes: int
    # A member import's CSV file (its own route): under the 6 MB a synchronous Lambda invocation takes.
    max_import_bytes: int
    # The queue of member imports (the file to split, then its chunks of rows); none: imports wait queued.
    import_queue_url: str | None
    metrics_namespace: str
    metrics_enabled: bool
    # Public joins and member scans. A cafe's shared Wi-Fi stays far below the per-address figures (a few joins
    # and scans a minute); the per-merchant figures are about 3x a 500-location chain's busiest legitimate rate.
    join_limit: RateLimit
    scan_limit: RateLimit
    # "Lost your card?" requests: a person asks a few times at most; each contact gets a few links an hour,
    # so the route cannot be used to flood someone's phone or inbox.
    card_link_limit: RateLimit
    card_link_per_contact: int
    # A merchant's counter is spread over this many items, so none of them is a hot key.
    rate_limit_shards: int
    # Referrals rewarded per referrer and local day before more are held for the owner's review.
    referrals_rewarded_per_day: int
    # Messages: the queue the sender reads (none: messages wait in the outbox), the verified SES identity
    # emails come from, how long a message may stay undelivered before the sweep dispatches it again, and how
    # many receives the queue allows before a message goes to its dead-letter queue (the template's figure).
    message_queue_url: str | None
    sender_email: str | None
    outbox_sweep_after_seconds: int
    message_max_receives: int
    # Segment counts: stored counts are answered while younger than this; an older answer is refreshed by a
    # walk through the roster that a request runs for at most the budget (the campaign tick finishes longer ones).
    segment_counts_max_age_seconds: int
    segment_count_budget_seconds: float


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be an integer, got {raw!r}") from exc


@cache
def get_settings() -> Settings:
    return Settings(
        table_name=os.environ.get("TABLE_NAME", "bywalec"),
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1",
        dynamodb_endpoint=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or None,
        dynamodb_read_timeout_seconds=_int("DYNAMODB_READ_TIMEOUT_SECONDS", 5),
        admin_token=os.environ.get("LOYALTY_ADMIN_TOKEN") or None,
        admin_token_parameter=os.environ.get("ADMIN_TOKEN_PARAMETER") or None,
        signing_key=os.environ.get("LOYALTY_SIGNING_KEY") or None,
        signing_key_parameter=os.environ.get("SIGNING_KEY_PARAMETER") or None,
        public_base_url=(os.environ.get("PUBLIC_BASE_URL") or "").rstrip("/") or None,
        cache_ttl_seconds=float(os.environ.get("CACHE_TTL_SECONDS", "30")),
        api_key_cache_ttl_seconds=float(os.environ.get("API_KEY_CACHE_TTL_SECONDS", "5")),
        api_key_last_used_interval_seconds=_int("API_KEY_LAST_USED_INTERVAL_SECONDS", 600),
        counter_code_window_seconds=_int("COUNTER_CODE_WINDOW_SECONDS", 60),
        idempotency_ttl_seconds=_int("IDEMPOTENCY_TTL_SECONDS", 24 * 3600),
        expiry_time_margin_seconds=_int("EXPIRY_TIME_MARGIN_SECONDS", 20),
        max_body_bytes=_int("MAX_BODY_BYTES", 64 * 1024),
        max_import_bytes=_int("MAX_IMPORT_BYTES", 5 * 1024 * 1024),
        import_queue_url=os.environ.get("IMPORT_QUEUE_URL") or None,
        metrics_namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Bywalec",
        metrics_enabled=os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() not in ("1", "true", "yes"),
        join_limit=RateLimit(_int("JOIN_LIMIT_WINDOW_SECONDS", 600), _int("JOIN_LIMIT_PER_ADDRESS", 10),
                             _int("JOIN_LIMIT_PER_MERCHANT", 6000)),
        scan_limit=RateLimit(_int("SCAN_LIMIT_WINDOW_SECONDS", 60), _int("SCAN_LIMIT_PER_ADDRESS", 60),
                             _int("SCAN_LIMIT_PER_MERCHANT", 18000)),
        card_link_limit=RateLimit(_int("CARD_LINK_LIMIT_WINDOW_SECONDS", 3600), _int("CARD_LINK_LIMIT_PER_ADDRESS", 10),
                                  _int("CARD_LINK_LIMIT_PER_MERCHANT", 3000)),
        card_link_per_contact=_int("CARD_LINK_LIMIT_PER_CONTACT", 3),
        rate_limit_shards=_int("RATE_LIMIT_SHARDS", 32),
        referrals_rewarded_per_day=_int("REFERRALS_REWARDED_PER_DAY", 3),
        message_queue_url=os.environ.get("MESSAGE_QUEUE_URL") or None,
        sender_email=os.environ.get("SENDER_EMAIL") or None,
        outbox_sweep_after_seconds=_int("OUTBOX_SWEEP_AFTER_SECONDS", 300),
        message_max_receives=_int("MESSAGE_MAX_RECEIVES", 5),
        segment_counts_max_age_seconds=_int("SEGMENT_COUNTS_MAX_AGE_SECONDS", 3600),
        segment_count_budget_seconds=float(os.environ.get("SEGMENT_COUNT_BUDGET_SECONDS") or "2"),
    )
