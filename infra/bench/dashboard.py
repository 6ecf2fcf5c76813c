"""The owner's dashboard in headless Chromium: bytes transferred on a first load and the time until every chart is
drawn, against the local stack (real HTTP, handlers in worker processes, embedded DynamoDB).

A café is built through the API: two locations, members with names, visits at both locations, 50 members at risk
(three weekly visits seven weeks ago: the at-risk table is full) and a held referral. Each measured load is a fresh
browser context (nothing cached, as a first visit) whose tab already holds the owner key in its session storage
(as right after pasting it). Bytes are what Chromium's network layer received and sent for the page and every
request it made (headers and bodies, ``encodedDataLength`` and the request's own size); the time is the page's
``charts-drawn`` performance mark, from the start of navigation. One load warms the functions first (cold starts
are not the page's cost); the figures are medians of the measured loads.

Routes that this build's template lacks but the page reads (insights, feedback, imports: their contract is in the
API document) are answered in the browser with bodies shaped as the contract says (``contract_shaped_replies``),
and the report says so; with those routes in the template the page reads them from the stack.
"""

from __future__ import annotations

import json
import os
import statistics
import urllib.request
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from infra.bench.report import verdict
from infra.seed import http_call, open_shop
from infra.template import http_routes, load_template

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
LAPTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "en-GB", "timezone_id": "Europe/Warsaw"}
DEFAULT_LOADS = 5
AT_RISK_MEMBERS = 50
REGULARS = 30
# A first load under 100 KB reaches a phone on a slow mobile link (about 50 KB/s) in about two seconds, with
# nothing compressed (API Gateway's HTTP API does not compress); every chart drawn within 2 s here, on a shared
# two-core machine with each function in a local worker process, leaves room for the network of a real phone.
BYTES_LIMIT = 100 * 1024
DRAWN_LIMIT_MS = 2_000
# Routes the page reads that are built elsewhere: answered as the contract shapes them while the template lacks them.
ROUTES_BUILT_ELSEWHERE = {
    "insights": ("GET", "/v1/merchants/{merchantId}/insights"),
    "feedback": ("GET", "/v1/merchants/{merchantId}/feedback"),
    "imports": ("POST", "/v1/merchants/{merchantId}/imports"),
}


def missing_routes(template: dict | None = None) -> list[str]:
    """The route families the page reads that the template does not declare."""
    declared = {(route.method, route.path) for route in http_routes(template or load_template())}
    return [name for name, route in ROUTES_BUILT_ELSEWHERE.items() if route not in declared]


def contract_shaped_replies(location_ids: list[str], today: date) -> dict[str, Any]:
    """Replies of the insights, feedback and import routes, shaped field by field as the API document says."""
    months = [f"{(today.year * 12 + today.month - 1 - back) // 12}-{(today.month - 1 - back) % 12 + 1:02d}"
              for back in range(11, -1, -1)]
    cohorts = [{"month": month, "size": 40 + 7 * i,
                "retained": [round(max(0.05, 0.62 - 0.06 * k - 0.01 * i), 3) for k in range(len(months) - 1 - i)]}
               for i, month in enumerate(months)]
    insights = {
        "members": {"total": 1240, "new": 86, "active30": 410, "active90": 702},
        "visits": {"count": 2315, "perMember": 3.1, "byWeekday": [280, 301, 322, 355, 410, 398, 249],
                   "byHour": [0, 0, 0, 0, 0, 0, 12, 88, 190, 240, 205, 180, 230, 214, 160, 150, 170, 190, 140, 90,
                              40, 16, 0, 0]},
        "spend": {"total": 4_861_500, "averageBasket": 2100},
        "retention": {"returningRate": 0.64, "cohorts": cohorts},
        "churn": {"atRisk": 57, "lapsed": 212},
        "clv": {"average": 18_400},
        "points": {"issued": 48_200, "redeemed": 21_300, "expired": 3_100, "locked": 900, "outstanding": 22_900},
        "rewards": {"issued": 260, "redeemed": 213, "redemptionRate": 0.819},
        "referrals": {"joined": 31, "rewarded": 24},
        "campaigns": [
            {"campaignId": "cmp_birthday", "name": "Birthday treat", "sent": 96, "redeemed": 41,
             "visitsWithin14Days": 58},
            {"campaignId": "cmp_winback", "name": "We miss you", "sent": 120, "redeemed": 22,
             "visitsWithin14Days": 35},
        ],
        "feedback": {"averageRating": 4.4, "nps": 38, "responses": 142},
        "byLocation": [{"locationId": location_id, "visits": 1500 - 700 * i, "spend": 3_100_000 - 1_350_000 * i}
                       for i, location_id in enumerate(location_ids)],
    }
    comments = ["Lovely flat white, quick service.", None, "The croissants were stale today.",
                "Waited 15 minutes for a latte and nobody said sorry.", "Best café in the Old Town!"]
    feedback = {"feedback": [
        {"memberId": f"mem_{i:04d}", "scanId": f"scn_{i:04d}", "locationId": location_ids[i % len(location_ids)],
         "rating": (5, 4, 3, 1, 5)[i % 5], "nps": 9 if i % 5 == 0 else None, "comment": comments[i % 5],
         "createdAt": f"{(today - timedelta(days=i)).isoformat()}T10:{i % 60:02d}:00Z"}
        for i in range(20)], "nextCursor": None}
    return {"insights": insights, "feedback": feedback}


def answer_routes_built_elsewhere(context: Any, site: str, location_ids: list[str], today: date,
                                  families: list[str]) -> None:
    """Answers, in the browser, the route families named, with contract-shaped bodies."""
    replies = contract_shaped_replies(location_ids, today)

    def fulfil(body: dict) -> Callable[[Any], None]:
        return lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    for family in families:
        if family in ("insights", "feedback"):
            context.route(lambda url, family=family: url.startswith(site) and urlsplit(url).path.endswith(f"/{family}"),
                          fulfil(replies[family]))


def build_cafe(base_url: str, admin_token: str, call_clock: Callable[[float], None], log) -> tuple[Any, list[str]]:
    """A café with regulars, members at risk and a held referral, built through the API."""
    call = http_call(base_url)
    shop = open_shop(call, admin_token, name="Kawiarnia Pomiarowa")
    members = f"/v1/merchants/{shop.merchant_id}/members"

    def enroll(n: int, **extra: Any) -> dict:
        body = {"phone": f"+48601{n:06d}", "name": f"Member {n}", "consent": {"sms": True, "email": False}, **extra}
        return call("POST", members, body, shop.owner_key)

    def visit(member: dict, location: str, amount: int) -> None:
        call("POST", "/v1/scans", {"memberId": member["memberId"], "locationId": location, "amount": amount},
             shop.owner_key)

    at_risk: list[dict] = []
    try:
        for days_ago in (49, 42, 35):  # three weekly visits, then seven weeks away: at risk
            call_clock(-days_ago * 86_400)
            if not at_risk:
                at_risk = [enroll(n) for n in range(AT_RISK_MEMBERS)]
            for i, member in enumerate(at_risk):
                visit(member, shop.locations[i % 2], 1500 + 10 * i)
        call_clock(0)
        for n in range(REGULARS):
            visit(enroll(1000 + n), shop.locations[n % 2], 1800 + 25 * n)
        referrer = call("POST", members, {"email": "anna.nowak@gmail.com", "consent": {"sms": False, "email": True}},
                        shop.owner_key)
        code = _referral_code(base_url, referrer["memberToken"])
        referee = call("POST", members, {"email": "Anna.Nowak+cafe@googlemail.com", "referralCode": code,
                                         "consent": {"sms": False, "email": True}}, shop.owner_key)
        visit(referee, shop.locations[0], 900)
    finally:
        call_clock(0)
    log(f"dashboard: café {shop.merchant_id} with {AT_RISK_MEMBERS} members at risk, {REGULARS} regulars, "
        "a held referral")
    return shop, shop.locations


def _referral_code(base_url: str, member_token: str) -> str:
    request = urllib.request.Request(f"{base_url}/v1/me/referral", headers={"X-Member-Token": member_token})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["code"]


def _load(browser: Any, url: str, key_name: str, owner_key: str, answer: Callable[[Any], None]) -> dict[str, Any]:
    """One first load in a fresh context: bytes over the wire and the charts-drawn mark."""
    context = browser.new_context(**LAPTOP)
    try:
        context.add_init_script(f"sessionStorage.setItem({json.dumps(key_name)}, {json.dumps(owner_key)})")
        answer(context)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        requests: dict[str, dict[str, Any]] = {}

        def on_request(event: dict) -> None:
            request = event["request"]
            head = len(request["url"]) + sum(len(k) + len(v) + 4 for k, v in request.get("headers", {}).items())
            requests[event["requestId"]] = {"url": request["url"], "sent": head + len(request.get("postData") or ""),
                                            "received": 0}

        def on_finished(event: dict) -> None:
            if event["requestId"] in requests:
                requests[event["requestId"]]["received"] = int(event["encodedDataLength"])

        cdp.on("Network.requestWillBeSent", on_request)
        cdp.on("Network.loadingFinished", on_finished)
        page.goto(url)
        page.wait_for_selector("body[data-charts-drawn='1']", state="attached", timeout=60_000)
        drawn_ms = page.evaluate("performance.getEntriesByName('charts-drawn')[0].startTime")
        page.wait_for_load_state("networkidle")
        return {"drawn_ms": float(drawn_ms), "requests": list(requests.values())}
    finally:
        context.close()


def measure_dashboard(loads: int, log) -> dict[str, Any]:
    """Median bytes and time to every chart drawn over ``loads`` first loads (after one warm-up load)."""
    from playwright.sync_api import sync_playwright

    from infra.local.stack import start_local_stack

    local = {name: None for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_SESV2",
                                     "AWS_ENDPOINT_URL_SNS", "TABLE_NAME", "PUBLIC_BASE_URL", "LOYALTY_ADMIN_TOKEN",
                                     "LOYALTY_SIGNING_KEY")}
    families = missing_routes()
    with start_local_stack(port=0, env_overrides=local, run_schedules=False) as stack:
        base = stack.base_url

        def move_clock(offset_seconds: float) -> None:
            http_call(base)("POST", "/_local/clock", {"offsetSeconds": offset_seconds})

        shop, locations = build_cafe(base, stack.admin_token, move_clock, log)
        url = f"{base}/v1/merchants/{shop.merchant_id}/dashboard"
        key_name = f"bywalec:owner:{shop.merchant_id}"
        today = date.today()

        def answer(context: Any) -> None:
            answer_routes_built_elsewhere(context, base, locations, today, families)

        if not Path(CHROMIUM).exists():
            raise RuntimeError(f"the dashboard benchmark needs Chromium at {CHROMIUM}: apt-get install chromium")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                warm_up = _load(browser, url, key_name, shop.owner_key, answer)
                runs = [_load(browser, url, key_name, shop.owner_key, answer) for _ in range(loads)]
            finally:
                browser.close()
    totals = [sum(r["received"] + r["sent"] for r in run["requests"]) for run in runs]
    page_bytes = [sum(r["received"] + r["sent"] for r in run["requests"] if r["url"].split("?")[0] == url)
                  for run in runs]
    figures = {
        "loads": loads,
        "bytes_median": statistics.median(totals),
        "bytes_max": max(totals),
        "page_bytes_median": statistics.median(page_bytes),
        "requests": statistics.median(len(run["requests"]) for run in runs),
        "drawn_ms_median": statistics.median(run["drawn_ms"] for run in runs),
        "drawn_ms_max": max(run["drawn_ms"] for run in runs),
        "drawn_ms_cold": warm_up["drawn_ms"],
        "answered_in_browser": families,
        "by_request": [{"url": r["url"].replace(base, ""), "bytes": r["received"] + r["sent"]}
                       for r in runs[-1]["requests"]],
    }
    log(f"dashboard: {loads} first loads, median {figures['bytes_median'] / 1024:.1f} KB, charts drawn at "
        f"{figures['drawn_ms_median']:.0f} ms")
    return figures


def verdicts(figures: dict[str, Any] | None) -> list[dict[str, str]]:
    if not figures:
        return [verdict("dashboard first load and charts drawn", None, "skipped (--dashboard-loads 0)")]
    note = ""
    if figures["answered_in_browser"]:
        note = (f"; {', '.join(figures['answered_in_browser'])} answered in the browser with contract-shaped bodies "
                "(routes not in this build's template)")
    return [
        verdict(f"dashboard first load transfers under {BYTES_LIMIT // 1024} KB", figures["bytes_median"] < BYTES_LIMIT,
                f"median {figures['bytes_median'] / 1024:.1f} KB (max {figures['bytes_max'] / 1024:.1f} KB) over "
                f"{figures['loads']} loads, {figures['requests']:.0f} requests: the HTML "
                f"{figures['page_bytes_median'] / 1024:.1f} KB (script and style inline, no other asset), the rest "
                f"data calls; headers included, nothing compressed" + note),
        verdict(f"dashboard draws every chart within {DRAWN_LIMIT_MS / 1000:.0f} s",
                figures["drawn_ms_median"] < DRAWN_LIMIT_MS,
                f"median {figures['drawn_ms_median']:.0f} ms (max {figures['drawn_ms_max']:.0f} ms) from navigation "
                f"to the last chart, headless Chromium against the local stack; the first load after the stack "
                f"started (cold functions) took {figures['drawn_ms_cold']:.0f} ms" + note),
    ]
