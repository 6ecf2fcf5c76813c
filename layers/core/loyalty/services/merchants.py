"""Merchant administration: merchants, locations, staff and POS keys, the program, counter codes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from loyalty.domain import ids, qr, sealing, tokens
from loyalty.domain.access import OWNER, POS, STAFF, Caller, require_admin, require_location, require_merchant
from loyalty.domain.errors import NotFound, ValidationFailed
from loyalty.domain.model import ApiKey, Location, Merchant
from loyalty.domain.program import Program, default_program
from loyalty.replies.merchants import CounterCode, LocationList, MerchantCreated, StaffKey
from loyalty.replies.merchants import Location as LocationReply
from loyalty.replies.pos import PosKey
from loyalty.server_keys import signing_key
from loyalty.services import clock
from loyalty.settings import get_settings
from loyalty.store import merchants as store

if TYPE_CHECKING:  # the request models are built by the function that parses them, not at every import
    from loyalty.requests.merchants import CreateLocation, CreateMerchant


def load_merchant(merchant_id: str, *, fresh: bool = False) -> Merchant:
    merchant = store.get_merchant(merchant_id, fresh=fresh)
    if merchant is None:
        raise NotFound()
    return merchant


def location_of(merchant: Merchant, location_id: str | None) -> Location | None:
    """The merchant's location, re-reading the merchant once when a cached copy predates the location.

    A location added a moment ago works at once in every function; a known location costs no read.
    Returns None when the location really does not exist (the caller decides what that means)."""
    if location_id is None:
        return None
    if location_id not in merchant.locations:
        merchant = store.get_merchant(merchant.merchant_id, fresh=True) or merchant
    return merchant.locations.get(location_id)


def create_merchant(caller: Caller, request: CreateMerchant) -> MerchantCreated:
    require_admin(caller)
    merchant = Merchant(merchant_id=ids.new_id("mch"), name=request.name, timezone=request.timezone,
                        currency=request.currency.upper(), program=request.program or default_program())
    owner_key = tokens.new_api_key(OWNER)
    owner = ApiKey(api_key_id=ids.new_id("key"), merchant_id=merchant.merchant_id, role=OWNER)
    store.create_merchant(merchant, owner, owner_key.hash)
    return MerchantCreated(merchant_id=merchant.merchant_id, name=merchant.name, timezone=merchant.timezone,
                           currency=merchant.currency, api_key=owner_key.value, program=merchant.program)


def add_location(caller: Caller, merchant_id: str, request: CreateLocation) -> LocationReply:
    require_merchant(caller, merchant_id, OWNER)
    merchant = load_merchant(merchant_id)
    location = Location(location_id=ids.new_id("loc"), name=request.name,
                        timezone=request.timezone or merchant.timezone)
    store.add_location(merchant_id, location)
    return LocationReply.of(location)


def list_locations(caller: Caller, merchant_id: str) -> LocationList:
    require_merchant(caller, merchant_id, OWNER, STAFF)
    merchant = store.get_merchant(merchant_id, fresh=True)
    if merchant is None:
        raise NotFound()
    visible = [loc for loc in merchant.locations.values()
               if caller.role == OWNER or loc.location_id in caller.location_ids]
    return LocationList(locations=[LocationReply.of(loc) for loc in sorted(visible, key=lambda loc: loc.name)])


def create_staff_key(caller: Caller, merchant_id: str, location_ids: list[str]) -> StaffKey:
    key = _location_key(caller, merchant_id, STAFF, location_ids)
    secret = tokens.new_api_key(STAFF)
    store.create_api_key(key, secret.hash)
    return StaffKey(api_key_id=key.api_key_id, api_key=secret.value, role=STAFF, location_ids=list(key.location_ids))


def create_pos_key(caller: Caller, merchant_id: str, location_ids: list[str]) -> PosKey:
    """A till's key and the secret it signs events with. The key is stored hashed; the secret is stored sealed
    under the server's key and the POS key itself (domain/sealing.py), so it can check signatures and nothing
    at rest reveals it."""
    key = _location_key(caller, merchant_id, POS, location_ids)
    secret = tokens.new_api_key(POS)
    signing_secret = tokens.new_signing_secret()
    sealed = sealing.seal(sealing.signing_secret_key(signing_key(), secret.value), signing_secret.encode(),
                          key.api_key_id)
    store.create_api_key(dataclasses.replace(key, sealed_signing_secret=sealed), secret.hash)
    return PosKey(api_key_id=key.api_key_id, api_key=secret.value, signing_secret=signing_secret, role=POS,
                  location_ids=list(key.location_ids))


def _location_key(caller: Caller, merchant_id: str, role: str, location_ids: list[str]) -> ApiKey:
    """A new key of ``role`` valid at these locations of the merchant (the owner creates it)."""
    require_merchant(caller, merchant_id, OWNER)
    merchant = store.get_merchant(merchant_id, fresh=True)
    if merchant is None:
        raise NotFound()
    unknown = [lid for lid in location_ids if lid not in merchant.locations]
    if unknown:
        raise ValidationFailed("Unknown location ids.", details=[
            {"field": "locationIds", "message": f"No location {lid} at this merchant."} for lid in unknown])
    return ApiKey(api_key_id=ids.new_id("key"), merchant_id=merchant_id, role=role,
                  location_ids=tuple(dict.fromkeys(location_ids)))


def get_program(caller: Caller, merchant_id: str) -> Program:
    require_merchant(caller, merchant_id, OWNER, STAFF)
    return load_merchant(merchant_id).program


def put_program(caller: Caller, merchant_id: str, program: Program) -> Program:
    require_merchant(caller, merchant_id, OWNER)
    load_merchant(merchant_id)
    store.save_program(merchant_id, program)
    return program


@dataclass(frozen=True)
class CounterCodeReply:
    body: CounterCode
    url: str

    def svg(self) -> str:
        return qr.qr_svg(self.url)

    def png(self) -> bytes:
        return qr.qr_png(self.url)


def card_page_url(base_url: str, merchant_id: str) -> str:
    return f"{base_url}/v1/m/{quote(merchant_id)}"


def counter_code(caller: Caller, merchant_id: str, location_id: str, base_url: str) -> CounterCodeReply:
    require_merchant(caller, merchant_id, OWNER, STAFF)
    merchant = load_merchant(merchant_id)
    if location_of(merchant, location_id) is None:
        raise NotFound("No such location.")
    require_location(caller, location_id)
    window = get_settings().counter_code_window_seconds
    code = tokens.issue_counter_code(signing_key(), merchant_id, location_id, clock.now().timestamp(), window)
    url = f"{card_page_url(base_url, merchant_id)}?c={quote(code.code)}"
    body = CounterCode(
        code=code.code, url=url, location_id=location_id,
        valid_from=datetime.fromtimestamp(code.valid_from(window), UTC),
        valid_until=datetime.fromtimestamp(code.valid_until(window), UTC),
        refresh_after_seconds=max(1, int(code.valid_until(window) - clock.now().timestamp())),
    )
    return CounterCodeReply(body, url)
