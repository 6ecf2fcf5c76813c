"""A merchant's API keys: listing and revoking them (owner), replacing the owner key (admin)."""

from __future__ import annotations

from loyalty import telemetry
from loyalty.domain import ids, tokens
from loyalty.domain.access import OWNER, Caller, require_admin, require_merchant
from loyalty.domain.errors import ConcurrentUpdate, NotFound, OwnerKeyNotRevocable
from loyalty.domain.model import ApiKey
from loyalty.replies.merchants import ApiKeyInfo, ApiKeyList, OwnerKey
from loyalty.services.merchants import load_merchant
from loyalty.store import merchants as store
from loyalty.store.transaction import ConditionFailed, TransientConflict


def list_api_keys(caller: Caller, merchant_id: str) -> ApiKeyList:
    require_merchant(caller, merchant_id, OWNER)
    return ApiKeyList(api_keys=[ApiKeyInfo.of(key) for key in store.list_api_keys(merchant_id)])


def revoke_api_key(caller: Caller, merchant_id: str, api_key_id: str) -> None:
    """Staff keys are revoked here. The owner key (the one an owner calls with) is only ever replaced by the
    administrator, so a merchant can never lock itself out."""
    require_merchant(caller, merchant_id, OWNER)
    key = store.get_listed_api_key(merchant_id, api_key_id)
    if key is None:
        raise NotFound("No such API key.")
    if key.role == OWNER:
        raise OwnerKeyNotRevocable()
    if not store.revoke_api_key(merchant_id, api_key_id):
        raise NotFound("No such API key.")
    telemetry.count("ApiKeysRevoked")


def replace_owner_key(caller: Caller, merchant_id: str) -> OwnerKey:
    """A new owner key; every previous owner key is revoked in the same transaction."""
    require_admin(caller)
    load_merchant(merchant_id, fresh=True)
    for _ in range(5):
        key = ApiKey(api_key_id=ids.new_id("key"), merchant_id=merchant_id, role=OWNER)
        secret = tokens.new_api_key(OWNER)
        try:
            store.replace_owner_key(merchant_id, key, secret.hash)
        except ConditionFailed as lost:
            if "merchant" in lost.failed:
                raise NotFound() from None
            continue  # another replacement won the race: replace that one
        except TransientConflict:
            continue
        telemetry.count("OwnerKeysReplaced")
        return OwnerKey(api_key_id=key.api_key_id, api_key=secret.value, role=OWNER)
    raise ConcurrentUpdate()
