"""Merchants, their locations and program, and API keys."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist

from loyalty.domain.model import ApiKey, Location, Merchant
from loyalty.domain.program import Program
from loyalty.settings import get_settings
from loyalty.store import keys
from loyalty.store.cache import TTLCache
from loyalty.store.models import ApiKeyItem, MerchantItem
from loyalty.store.transaction import Transaction

_merchants: TTLCache[Merchant] = TTLCache(get_settings().cache_ttl_seconds)
_api_keys: TTLCache[ApiKey] = TTLCache(get_settings().cache_ttl_seconds)


def _to_merchant(item: MerchantItem) -> Merchant:
    locations = {
        location_id: Location(location_id, data["name"], data["timezone"])
        for location_id, data in (item.locations.as_dict() if item.locations else {}).items()
    }
    return Merchant(item.merchant_id, item.name, item.timezone, item.currency,
                    Program.model_validate(item.program), locations)


def _api_key_item(key: ApiKey, key_hash: str) -> ApiKeyItem:
    pk, sk = keys.api_key(key_hash)
    return ApiKeyItem(pk, sk, api_key_id=key.api_key_id, merchant_id=key.merchant_id, role=key.role,
                      location_ids=list(key.location_ids), created_at=datetime.now(UTC))


def create_merchant(merchant: Merchant, owner_key: ApiKey, owner_key_hash: str) -> None:
    pk, sk = keys.merchant(merchant.merchant_id)
    item = MerchantItem(pk, sk, merchant_id=merchant.merchant_id, name=merchant.name, timezone=merchant.timezone,
                        currency=merchant.currency, program=merchant.program.to_json(), locations={},
                        created_at=datetime.now(UTC))
    key_item = _api_key_item(owner_key, owner_key_hash)
    (Transaction()
     .put(item, "merchant", condition=MerchantItem.pk.does_not_exist())
     .put(key_item, "api_key", condition=ApiKeyItem.pk.does_not_exist())
     .commit())


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
    _api_key_item(key, key_hash).save(condition=ApiKeyItem.pk.does_not_exist())


def get_api_key(key_hash: str) -> ApiKey | None:
    return _api_keys.get_or_load(key_hash, lambda: _load_api_key(key_hash))


def _load_api_key(key_hash: str) -> ApiKey | None:
    try:
        item = ApiKeyItem.get(*keys.api_key(key_hash))
    except DoesNotExist:
        return None
    return ApiKey(item.api_key_id, item.merchant_id, item.role, tuple(item.location_ids or ()))


def clear_caches() -> None:
    _merchants.clear()
    _api_keys.clear()
