"""Merchants, their locations and program, and API keys."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.transactions import TransactGet

from loyalty.domain.model import ApiKey, Location, Merchant
from loyalty.domain.program import Program
from loyalty.settings import get_settings
from loyalty.store import keys
from loyalty.store.cache import TTLCache
from loyalty.store.models import ApiKeyItem, ApiKeyListingItem, LoyaltyItem, MerchantItem
from loyalty.store.transaction import ConditionFailed, Transaction, connection

_merchants: TTLCache[Merchant] = TTLCache(get_settings().cache_ttl_seconds)
_api_keys: TTLCache[ApiKey] = TTLCache(get_settings().api_key_cache_ttl_seconds)


def _to_merchant(item: MerchantItem) -> Merchant:
    locations = {
        location_id: Location(location_id=location_id, name=data["name"], timezone=data["timezone"])
        for location_id, data in (item.locations.as_dict() if item.locations else {}).items()
    }
    return Merchant(merchant_id=item.merchant_id, name=item.name, timezone=item.timezone, currency=item.currency,
                    program=Program.model_validate(item.program), locations=locations)


def _api_key_items(key: ApiKey, key_hash: str) -> tuple[ApiKeyItem, ApiKeyListingItem]:
    created_at = key.created_at or datetime.now(UTC)
    fields = {"api_key_id": key.api_key_id, "merchant_id": key.merchant_id, "role": key.role,
              "location_ids": list(key.location_ids), "created_at": created_at}
    return (ApiKeyItem(*keys.api_key(key_hash), signing_secret=key.sealed_signing_secret, **fields),
            ApiKeyListingItem(*keys.api_key_listing(key.merchant_id, key.api_key_id), key_hash=key_hash, **fields))


def _put_api_key(txn: Transaction, key: ApiKey, key_hash: str) -> Transaction:
    for item in _api_key_items(key, key_hash):
        txn.put(item, "api_key", condition=LoyaltyItem.pk.does_not_exist())
    return txn


def create_merchant(merchant: Merchant, owner_key: ApiKey, owner_key_hash: str) -> None:
    pk, sk = keys.merchant(merchant.merchant_id)
    item = MerchantItem(pk, sk, merchant_id=merchant.merchant_id, name=merchant.name, timezone=merchant.timezone,
                        currency=merchant.currency, program=merchant.program.to_json(), locations={},
                        created_at=datetime.now(UTC))
    _put_api_key(Transaction().put(item, "merchant", condition=MerchantItem.pk.does_not_exist()),
                 owner_key, owner_key_hash).commit()


def get_merchant(merchant_id: str, *, fresh: bool = False) -> Merchant | None:
    """Cached for a short TTL: program changes reach warm containers within that time."""
    if fresh:
        _merchants.invalidate(merchant_id)
    return _merchants.get_or_load(merchant_id, lambda: _load_merchant(merchant_id))


def _load_merchant(merchant_id: str) -> Merchant | None:
    try:
        return _to_merchant(MerchantItem.get(*keys.merchant(merchant_id), consistent_read=True))
    except DoesNotExist:
        return None


def add_location(merchant_id: str, location: Location) -> None:
    _update_merchant(merchant_id, MerchantItem.locations[location.location_id].set(
        {"name": location.name, "timezone": location.timezone}))


def save_program(merchant_id: str, program: Program) -> None:
    _update_merchant(merchant_id, MerchantItem.program.set(program.to_json()))


def _update_merchant(merchant_id: str, action) -> None:
    """One attribute of an existing merchant; warm containers of this one see it at once, others within the TTL."""
    MerchantItem(*keys.merchant(merchant_id)).update(
        actions=[action], condition=MerchantItem.pk.exists(), add_version_condition=False)
    _merchants.invalidate(merchant_id)


def create_api_key(key: ApiKey, key_hash: str) -> None:
    _put_api_key(Transaction(), key, key_hash).commit()


def list_api_keys(merchant_id: str) -> list[ApiKey]:
    """The merchant's keys, oldest first; lastUsedAt lives on the hash items, read in one TransactGetItems."""
    pk, prefix = keys.api_key_listing_prefix(merchant_id)
    listed = list(ApiKeyListingItem.query(pk, ApiKeyListingItem.sk.startswith(prefix), consistent_read=True))
    last_used: dict[str, datetime | None] = {}
    for chunk in (listed[i:i + 100] for i in range(0, len(listed), 100)):  # TransactGetItems takes 100 items
        with TransactGet(connection=connection()) as txn:
            futures = [(item.api_key_id, txn.get(ApiKeyItem, *keys.api_key(item.key_hash))) for item in chunk]
        for api_key_id, future in futures:
            try:
                last_used[api_key_id] = future.get().last_used_at
            except ApiKeyItem.DoesNotExist:
                last_used[api_key_id] = None
    keys_ = [_api_key(item, last_used.get(item.api_key_id)) for item in listed]
    return sorted(keys_, key=lambda key: key.created_at)


def get_listed_api_key(merchant_id: str, api_key_id: str) -> ApiKey | None:
    try:
        item = ApiKeyListingItem.get(*keys.api_key_listing(merchant_id, api_key_id), consistent_read=True)
    except DoesNotExist:
        return None
    return _api_key(item, last_used_at=None)


def revoke_api_key(merchant_id: str, api_key_id: str) -> bool:
    """Delete the key's two items at once; False when the merchant has no such key (any more)."""
    try:
        item = ApiKeyListingItem.get(*keys.api_key_listing(merchant_id, api_key_id), consistent_read=True)
    except DoesNotExist:
        return False
    try:
        _delete_api_key(Transaction(), item).commit()
    except ConditionFailed:
        return False  # revoked meanwhile by another request
    _api_keys.invalidate(item.key_hash)
    return True


def replace_owner_key(merchant_id: str, new_key: ApiKey, new_key_hash: str) -> None:
    """The new owner key and the end of every previous one, in one transaction (raises ConditionFailed when
    another replacement won meanwhile, or the merchant does not exist)."""
    pk, prefix = keys.api_key_listing_prefix(merchant_id)
    owners = [item for item in ApiKeyListingItem.query(pk, ApiKeyListingItem.sk.startswith(prefix),
                                                       consistent_read=True) if item.role == new_key.role]
    txn = Transaction().check(MerchantItem, keys.merchant(merchant_id), MerchantItem.pk.exists(), "merchant")
    for item in owners:
        _delete_api_key(txn, item)
    _put_api_key(txn, new_key, new_key_hash).commit()
    for item in owners:
        _api_keys.invalidate(item.key_hash)


def _delete_api_key(txn: Transaction, listing: ApiKeyListingItem) -> Transaction:
    return (txn.delete(listing, "api_key", condition=ApiKeyListingItem.pk.exists())
            .delete(ApiKeyItem(*keys.api_key(listing.key_hash)), "api_key_hash"))


def get_api_key(key_hash: str) -> ApiKey | None:
    """Cached for a few seconds only, so a revoked key stops working everywhere within that time.

    Each re-read is one request: usually one TransactGetItems of the key and its merchant, which refreshes the
    cached merchant too (a staff scan then never pays for both); when this container has not recorded a use of
    the key for a while, one UpdateItem that stamps lastUsedAt and returns the key."""
    return _api_keys.get_or_load(key_hash, lambda: _load_api_key(key_hash))


def _load_api_key(key_hash: str) -> ApiKey | None:
    known = _api_keys.peek(key_hash)
    now = datetime.now(UTC)
    interval = timedelta(seconds=get_settings().api_key_last_used_interval_seconds)
    if known is None or known.last_used_at is None or now - known.last_used_at >= interval:
        return _touch_api_key(key_hash, now)
    with TransactGet(connection=connection()) as txn:
        key_future = txn.get(ApiKeyItem, *keys.api_key(key_hash))
        merchant_future = txn.get(MerchantItem, *keys.merchant(known.merchant_id))
    try:
        key = _to_api_key(key_future.get())
    except ApiKeyItem.DoesNotExist:
        return None
    try:
        _merchants.put(known.merchant_id, _to_merchant(merchant_future.get()))
    except MerchantItem.DoesNotExist:
        _merchants.invalidate(known.merchant_id)
    return key


def _touch_api_key(key_hash: str, now: datetime) -> ApiKey | None:
    item = ApiKeyItem(*keys.api_key(key_hash))
    try:  # returns the whole item: the stamp is also the read
        item.update(actions=[ApiKeyItem.last_used_at.set(now)], condition=ApiKeyItem.pk.exists(),
                    add_version_condition=False)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return None
        if exc.cause_response_code == "AccessDeniedException":  # a read-only function: read, leave the stamp
            return _read_api_key(key_hash)
        raise
    return _to_api_key(item)


def _read_api_key(key_hash: str) -> ApiKey | None:
    try:
        return _to_api_key(ApiKeyItem.get(*keys.api_key(key_hash)))
    except DoesNotExist:
        return None


def _to_api_key(item: ApiKeyItem) -> ApiKey:
    return dataclasses.replace(_api_key(item, item.last_used_at), sealed_signing_secret=item.signing_secret)


def _api_key(item: ApiKeyItem | ApiKeyListingItem, last_used_at: datetime | None) -> ApiKey:
    """The key as the services see it; the listing item does not carry the last use (the key's own item does)."""
    return ApiKey(api_key_id=item.api_key_id, merchant_id=item.merchant_id, role=item.role,
                  location_ids=tuple(item.location_ids or ()), created_at=item.created_at, last_used_at=last_used_at)


def clear_caches() -> None:
    _merchants.clear()
    _api_keys.clear()
