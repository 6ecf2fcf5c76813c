"""Demo data for the local run: a café with two locations, a 5-stamp card, points and a small catalog."""

from __future__ import annotations

import json
import urllib.request
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


def _call(base_url: str, method: str, path: str, token: str | None = None, body: Any = None) -> dict:
    request = urllib.request.Request(f"{base_url}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def seed_demo(base_url: str, admin_token: str) -> dict[str, Any]:
    """Creates the demo merchant over the API itself, exactly as a merchant's developer would."""
    merchant = _call(base_url, "POST", "/v1/merchants", admin_token, {
        "name": "Kawiarnia Bywalec", "timezone": "Europe/Warsaw", "currency": "PLN", "program": DEMO_PROGRAM})
    merchant_id, owner_key = merchant["merchantId"], merchant["apiKey"]
    locations = [
        _call(base_url, "POST", f"/v1/merchants/{merchant_id}/locations", owner_key, {"name": name})
        for name in ("Old Town", "Riverside")
    ]
    staff = _call(base_url, "POST", f"/v1/merchants/{merchant_id}/api-keys", owner_key,
                  {"role": "staff", "locationIds": [locations[0]["locationId"]]})
    counter = _call(base_url, "GET",
                    f"/v1/merchants/{merchant_id}/locations/{locations[0]['locationId']}/counter-code", owner_key)
    return {
        "adminToken": admin_token,
        "merchantId": merchant_id,
        "ownerApiKey": owner_key,
        "staffApiKey": staff["apiKey"],
        "cardPageUrl": f"{base_url}/v1/m/{merchant_id}",
        "counterCodeUrl": counter["url"],
        "lines": [
            f"locations:    {locations[0]['locationId']} (Old Town, staff key), "
            f"{locations[1]['locationId']} (Riverside)",
            "counter code rotates every 60 s: GET "
            f"/v1/merchants/{merchant_id}/locations/{locations[0]['locationId']}/counter-code?format=svg",
        ],
    }
