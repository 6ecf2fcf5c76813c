"""Rate limits on public joins, member scans and card links, as counters that ride in the request's own transaction.

Each request adds one to two fixed-window counters: one randomly chosen shard of the merchant's, and
its client address's at this merchant (when the address is known). A counter at its limit fails the
whole transaction, so a refused request writes nothing, and counting costs no extra round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from loyalty.domain import limits, tokens
from loyalty.domain.errors import RateLimited
from loyalty.server_keys import signing_key
from loyalty.settings import RateLimit, get_settings
from loyalty.store import keys
from loyalty.store import members as store
from loyalty.store.transaction import ConditionFailed

JOIN = "join"
SCAN = "scan"
CARD_LINK = "card_link"
_ADDRESS_TAG = "rate_address"
_MERCHANT_TAG = "rate_merchant"
_CONTACT_TAG = "rate_contact"
_TAGS = frozenset({_ADDRESS_TAG, _MERCHANT_TAG, _CONTACT_TAG})
_MESSAGES = {
    (JOIN, _ADDRESS_TAG): "Too many cards were opened from this network just now. Please try again later.",
    (SCAN, _ADDRESS_TAG): "Too many scans from this network just now. Please try again in a moment.",
    (JOIN, _MERCHANT_TAG): "Too many people are joining right now. Please try again in a moment.",
    (SCAN, _MERCHANT_TAG): "Too many scans here right now. Please try again in a moment.",
    (CARD_LINK, _ADDRESS_TAG): "Too many card links were asked for from this network. Please try again later.",
    (CARD_LINK, _MERCHANT_TAG): "Too many card links are being asked for right now. Please try again later.",
    (CARD_LINK, _CONTACT_TAG): "Several links went to this phone or email just now. Please try again later.",
}


@dataclass(frozen=True)
class Quota:
    """The counters one request adds to, and when their window frees."""

    action: str
    counters: list[store.CapCounter]
    window: limits.Window

    def refusal(self, lost: ConditionFailed, now: datetime) -> RateLimited | None:
        """The 429 for a transaction that lost on one of these counters, else None."""
        if not lost.failed & _TAGS:
            return None
        tag = next(tag for tag in (_CONTACT_TAG, _ADDRESS_TAG, _MERCHANT_TAG) if tag in lost.failed)
        return RateLimited(_MESSAGES[self.action, tag], retry_after=self.window.retry_after(now.timestamp()))


def quota(action: str, merchant_id: str, source_ip: str | None, now: datetime, contact: str | None = None) -> Quota:
    """``contact`` (a phone or email a message would go to) adds a counter of its own: card links only."""
    settings = get_settings()
    rule: RateLimit = {JOIN: settings.join_limit, SCAN: settings.scan_limit,
                       CARD_LINK: settings.card_link_limit}[action]
    window = limits.window_at(now.timestamp(), rule.window_seconds)
    # Kept a window longer than needed: TTL deletion lags, and the counter is checked by its window key anyway.
    expires = datetime.fromtimestamp(window.end, UTC) + timedelta(seconds=rule.window_seconds)
    shards = settings.rate_limit_shards
    shard = limits.pick_shard(shards)
    counters = [store.CapCounter(keys.rate_counter_for_merchant(action, merchant_id, shard, window.start),
                                 limits.shard_limit(rule.per_merchant, shards), _MERCHANT_TAG, expires)]
    if source_ip:
        digest = tokens.keyed_digest(signing_key(), "client-address", merchant_id, source_ip)
        counters.append(store.CapCounter(keys.rate_counter_for_address(action, merchant_id, digest, window.start),
                                         rule.per_address, _ADDRESS_TAG, expires))
    if contact:
        digest = tokens.keyed_digest(signing_key(), "contact", merchant_id, contact)
        counters.append(store.CapCounter(keys.rate_counter_for_contact(action, merchant_id, digest, window.start),
                                         settings.card_link_per_contact, _CONTACT_TAG, expires))
    return Quota(action, counters, window)
