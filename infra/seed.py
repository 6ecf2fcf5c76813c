"""Demo data for the local run: a café with two locations, a 5-stamp card, points and a small catalog."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEMO_PROGRAM = {
    "stampCard": {"stampsRequired": 5, "rewardId": "free-coffee"},
    "points": {"perVisit": 10, "perCurrencyUnit": 1, "welcomeBonus": 20},
    "rewards": [
        {"id": "free-coffee", "name": "Free coffee", "pointsCost": 100},
        {"id": "croissant", "name": "Butter croissant", "pointsCost": 60},
        {"id": "tote-bag", "name": "Café tote bag", "pointsCost": 400},
    ],
    "rewardValidityDays": 30,
    "scanCooldownMinutes": 240,
    "referral": {"referrerPoints": 50, "refereePoints": 50, "maxRewardedPerReferrerPerMonth": 10},
}


@dataclass(frozen=True)
class Shop:
    merchant_id: str
    owner_key: str
    staff_key: str          # valid at locations[0] only
    locations: list[str]    # "Old Town", "Riverside"
    program: dict


# call(method, path, body, bearer token) -> the JSON reply; it raises on any status other than 2xx.
Call = Callable[[str, str, Any, str | None], dict]


def open_shop(call: Call, admin_token: str, *, name: str, program: dict | None = None) -> Shop:
    """A merchant with two locations and a staff key for the first, made through the API itself."""
    body = {"name": name, "timezone": "Europe/Warsaw", "currency": "PLN", "program": program or DEMO_PROGRAM}
    merchant = call("POST", "/v1/merchants", body, admin_token)
    merchant_id, owner_key = merchant["merchantId"], merchant["apiKey"]
    locations = [call("POST", f"/v1/merchants/{merchant_id}/locations", {"name": location}, owner_key)["locationId"]
                 for location in ("Old Town", "Riverside")]
    staff = call("POST", f"/v1/merchants/{merchant_id}/api-keys", {"role": "staff", "locationIds": [locations[0]]},
                 owner_key)
    return Shop(merchant_id, owner_key, staff["apiKey"], locations, merchant["program"])


def http_call(base_url: str) -> Call:
    """A ``Call`` over HTTP to ``base_url``."""

    def call(method: str, path: str, body: Any = None, token: str | None = None) -> dict:
        request = urllib.request.Request(f"{base_url}{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    return call


def seed_demo(base_url: str, admin_token: str) -> dict[str, Any]:
    """Creates the demo merchant over HTTP, exactly as a merchant's developer would."""
    call = http_call(base_url)
    shop = open_shop(call, admin_token, name="Kawiarnia Bywalec")
    old_town, riverside = shop.locations
    counter_path = f"/v1/merchants/{shop.merchant_id}/locations/{old_town}/counter-code"
    counter = call("GET", counter_path, token=shop.owner_key)
    return {
        "adminToken": admin_token,
        "merchantId": shop.merchant_id,
        "ownerApiKey": shop.owner_key,
        "staffApiKey": shop.staff_key,
        "cardPageUrl": f"{base_url}/v1/m/{shop.merchant_id}",
        "dashboardUrl": f"{base_url}/v1/merchants/{shop.merchant_id}/dashboard",
        "counterCodeUrl": counter["url"],
        "lines": [
            f"locations:    {old_town} (Old Town, staff key), {riverside} (Riverside)",
            f"counter code rotates every 60 s: GET {counter_path}?format=svg",
        ],
    }
