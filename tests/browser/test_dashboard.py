"""The owner's dashboard in a laptop's and a phone's browser, against the local stack with a world built through its
HTTP routes: pasting the key, choosing dates and a location, every chart drawn from the real insights, the members
at risk and a real win-back campaign for them, a held referral approved for real, a low rating read and filtered, a
CSV import followed to the end, and a key that is not this merchant's owner key."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, Request, expect

from tests.support.world import DEFAULT_TEST_PROGRAM, Member, MerchantWorld, create_world, new_phone

pytestmark = pytest.mark.browser

WRONG_KEY = "This key is not an owner key for this merchant."
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
LOW_RATING = "Waited 15 minutes for a latte and nobody said sorry."
# What each reward costs the café: a coffee 6.00 for 100 points (6 per point), a cake 4.50 for 30 (15 per point).
PRICED_PROGRAM = {**DEFAULT_TEST_PROGRAM,
                  "rewards": [{"id": "free-coffee", "name": "Free coffee", "pointsCost": 100, "costMinor": 600},
                              {"id": "cake", "name": "Slice of cake", "pointsCost": 30, "costMinor": 450}]}


@pytest.fixture
def shop(api) -> MerchantWorld:
    """A café whose rewards carry what they cost her, so the points on the cards have a value."""
    return create_world(api, program=PRICED_PROGRAM)


def _dashboard_url(site, shop) -> str:
    return f"{site}/v1/merchants/{shop.merchant_id}/dashboard"


def _open_with_key(page: Page, site, shop, key: str) -> None:
    page.goto(_dashboard_url(site, shop))
    page.get_by_label("Owner key").fill(key)
    page.get_by_role("button", name="Open dashboard").click()


def _drain(api) -> None:
    """The table's stream into the rollups, and the queues into their workers."""
    reply = api.request("POST", "/_local/schedules/run")
    assert reply.status == 200, reply.raw


def _member_at_risk(shop: MerchantWorld, name: str) -> str:
    """Three weekly visits, the last five weeks ago: absent far longer than her habit, so at risk."""
    clock = shop.client

    def at(days_ago: int) -> None:
        assert clock.request("POST", "/_local/clock", {"offsetSeconds": -days_ago * 86_400}).status == 200

    try:
        at(49)
        member = shop.enroll(name=name)
        for days_ago in (49, 42, 35):
            at(days_ago)
            visit = shop.call("POST", "/v1/scans", {"memberId": member.member_id, "locationId": shop.locations[0],
                                                    "amount": 2400}, shop.owner)
            assert visit.status == 200, visit.raw
    finally:
        at(0)
    return member.member_id


def _held_referral(shop: MerchantWorld):
    anna = shop.enroll(email="anna.nowak@gmail.com", name="Anna")
    code = shop.call("GET", "/v1/me/referral", headers=anna.headers).json["code"]
    twin = shop.enroll(email="Anna.Nowak+cafe@googlemail.com", referralCode=code)
    assert shop.scan(twin).status == 200
    [held] = shop.call("GET", f"/v1/merchants/{shop.merchant_id}/referrals", headers=shop.owner,
                       query={"status": "held"}).json["referrals"]
    return anna, held


def _regular_who_rates_low(shop: MerchantWorld) -> Member:
    """A visit with a 24 PLN receipt at the Old Town, a slice of cake claimed and redeemed, and a rating of 1."""
    regular = shop.enroll(name="Marta")
    visit = shop.staff_scan(regular, amount=2400, receipt_id=f"r-{regular.member_id}")
    assert visit.status == 200, visit.raw
    claim = shop.call("POST", "/v1/me/rewards", {"rewardId": "cake"}, regular.headers)
    assert claim.status == 201, claim.raw
    redeemed = shop.call("POST", "/v1/redemptions", {"code": claim.json["code"]}, shop.staff)
    assert redeemed.status == 200, redeemed.raw
    rated = shop.call("POST", "/v1/me/feedback", {"scanId": visit.json["scanId"], "rating": 1, "nps": 2,
                                                  "comment": LOW_RATING}, regular.headers)
    assert rated.status == 201, rated.raw
    return regular


def _visit_at_riverside(shop: MerchantWorld) -> Member:
    member = shop.enroll(name="Piotr")
    assert shop.scan(member, location_index=1).status == 200
    return member


def _insights(shop: MerchantWorld, **query: str) -> dict:
    reply = shop.call("GET", f"/v1/merchants/{shop.merchant_id}/insights", headers=shop.owner, query=query)
    assert reply.status == 200, reply.raw
    return reply.json


def _insights_asked(requests: list[Request]) -> list[dict[str, str]]:
    return [{name: values[0] for name, values in parse_qs(urlsplit(r.url).query).items()}
            for r in requests if urlsplit(r.url).path.endswith("/insights")]


def test_the_owner_pastes_her_key_sees_every_chart_and_acts_on_what_she_sees(laptop: Page, site, shop, api,
                                                                             tmp_path):
    _member_at_risk(shop, "Ola Drift")
    anna, held = _held_referral(shop)
    marta = _regular_who_rates_low(shop)
    _visit_at_riverside(shop)
    _drain(api)
    figures = _insights(shop)
    requests: list[Request] = []
    laptop.on("request", lambda request: requests.append(request))

    _open_with_key(laptop, site, shop, f"Bearer {shop.owner_key} ")  # pasted with its header prefix

    # every chart, drawn from the figures the ledger gave: three visits today (the Old Town twice, Riverside once),
    # five members, a slice of cake redeemed for 30 points, one rating of 1 with an NPS answer of 2
    expect(laptop.locator("body[data-charts-drawn='1']")).to_be_attached()
    headline = laptop.locator("#headline")
    for tile in ("Members5", "New members4", "Visits3", "NPS-100", "Average rating1 / 5"):
        expect(headline).to_contain_text(tile)
    expect(laptop.locator("#more-numbers")).to_contain_text("Rewards redeemed1 of 1")
    liability = figures["points"]["liability"]
    assert liability == figures["points"]["outstanding"] * 6 > 0  # at the coffee's cost per point, the cheapest
    expect(laptop.locator("#chart-points")).to_contain_text(f"Outstanding liability: PLN {liability / 100:,.2f}")
    today = datetime.now(ZoneInfo("Europe/Warsaw")).date()
    hours = ", ".join(f"{hour:02d}:00 {count}" for hour, count in enumerate(figures["visits"]["byHour"]) if count)
    assert figures["visits"]["count"] == 3 and hours
    for chart in (rf"^Visits by weekday: .*{WEEKDAYS[today.weekday()]} 3\b", rf"^Visits by hour: .*{hours}",
                  rf"^Points: Issued {figures['points']['issued']} pts, Redeemed 30 pts, ",
                  r"^Locations compared: Old Town 2 visits and PLN 24\.00, Riverside 1 visit and PLN 0\.00$"):
        expect(laptop.get_by_role("img", name=re.compile(chart))).to_be_visible()
    cohorts = laptop.get_by_role("table", name="Cohort retention").locator("tbody tr")
    expect(cohorts).to_have_count(len(figures["retention"]["cohorts"]))
    expect(cohorts.first).to_contain_text(figures["retention"]["cohorts"][0]["month"])
    expect(laptop.locator("#campaigns")).to_contain_text("No campaign sent anything in these dates.")
    expect(laptop.locator("#status")).to_contain_text("all locations")

    # the key: in this tab's session storage, sent as a header, never in a URL or in local storage
    stored = laptop.evaluate("() => [Object.values(sessionStorage), localStorage.length]")
    assert stored == [[shop.owner_key], 0]
    [first] = [r for r in requests if urlsplit(r.url).path.endswith("/insights")][:1]
    assert first.headers["authorization"] == f"Bearer {shop.owner_key}"
    assert requests and not [r.url for r in requests if shop.owner_key in r.url]
    assert _insights_asked(requests)[-1] == {"from": (today - timedelta(days=29)).isoformat(),
                                             "to": today.isoformat()}

    # dates and location
    laptop.get_by_label("Dates", exact=True).select_option("90")
    expect(laptop.locator("#status")).to_contain_text("all locations")
    assert _insights_asked(requests)[-1]["from"] == (today - timedelta(days=89)).isoformat()
    expect(headline).to_contain_text("Visits6")  # Ola's last visit, five weeks ago, is in these dates
    laptop.get_by_label("Location", exact=True).select_option(label="Riverside")
    expect(laptop.locator("#status")).to_contain_text("Riverside")
    expect(headline).to_contain_text("Visits1")
    assert _insights_asked(requests)[-1]["locationId"] == shop.locations[1]
    laptop.get_by_label("Dates", exact=True).select_option("custom")
    laptop.get_by_label("From", exact=True).fill("2026-03-01")
    laptop.get_by_label("To", exact=True).fill("2026-02-01")
    laptop.get_by_role("button", name="Show").click()
    expect(laptop.get_by_text("The first date must not be after the last.")).to_be_visible()
    laptop.get_by_label("To", exact=True).fill("2026-05-31")
    laptop.get_by_role("button", name="Show").click()
    expect(laptop.locator("#status")).to_contain_text("1 Mar 2026 to 31 May 2026, Riverside")
    assert _insights_asked(requests)[-1] == {"from": "2026-03-01", "to": "2026-05-31",
                                             "locationId": shop.locations[1]}
    expect(laptop.locator("#chart-weekday")).to_contain_text("No visits in these dates.")
    laptop.get_by_label("Dates", exact=True).select_option("30")
    laptop.get_by_label("Location", exact=True).select_option(label="All locations")
    expect(headline).to_contain_text("Visits3")

    # the members at risk, and a real win-back campaign for them
    at_risk = laptop.get_by_role("table", name="Members at risk")
    expect(at_risk).to_contain_text("Ola Drift")
    expect(at_risk.locator("tbody tr")).to_have_count(1)
    laptop.get_by_role("button", name="Start a win-back campaign").click()
    expect(laptop.get_by_role("group", name="Confirm the win-back campaign")).to_contain_text("Slice of cake")
    laptop.get_by_role("button", name="Send the win-back").click()
    expect(laptop.get_by_text(re.compile(r"Win-back campaign “Win-back \d{4}-\d\d-\d\d” created"))).to_be_visible()
    [campaign] = shop.call("GET", f"/v1/merchants/{shop.merchant_id}/campaigns", headers=shop.owner).json["campaigns"]
    assert (campaign["type"], campaign["trigger"]["segment"], campaign["status"]) == ("broadcast", "at_risk", "active")
    assert campaign["offer"]["rewardId"] == "cake"
    preview = shop.call("POST", f"/v1/merchants/{shop.merchant_id}/campaigns/{campaign['campaignId']}/preview",
                        headers=shop.owner)
    assert preview.status == 200, preview.raw
    assert preview.json["audience"] == 1  # Ola, the one member at risk

    # a held referral, approved for real
    laptop.get_by_role("button", name=f"Approve referral {held['referralId']}").click()
    expect(laptop.get_by_text("Approved: both members got their referral points.")).to_be_visible()
    assert shop.call("GET", f"/v1/merchants/{shop.merchant_id}/referrals", headers=shop.owner,
                     query={"status": "held"}).json["referrals"] == []
    assert shop.card(anna)["points"]["balance"] == 50  # the referrer's points (she has not visited yet)

    # the low rating, read and filtered by rating
    feedback = laptop.locator("#feedback")
    expect(feedback.locator("li")).to_have_count(1)
    expect(feedback).to_contain_text(LOW_RATING)
    expect(feedback).to_contain_text("Would recommend: 2 / 10")
    expect(feedback).to_contain_text("Old Town")
    expect(feedback.get_by_role("img", name="1 of 5 stars")).to_be_visible()
    laptop.get_by_label("Rating", exact=True).select_option("5")
    expect(feedback).to_contain_text("No feedback with this rating.")
    laptop.get_by_label("Rating", exact=True).select_option("1")
    expect(feedback).to_contain_text(LOW_RATING)

    laptop.screenshot(path=tmp_path / "dashboard-laptop.png", full_page=True)

    # a CSV import: two new customers, Marta merged by her phone, a row that is not a phone; followed to the end
    ola, jan = new_phone(), new_phone()
    csv = f"phone,name,points\n{ola},Ola,40\n{marta.phone},Marta,10\nnot-a-phone,Iza,5\n{jan},Jan,0\n"
    laptop.get_by_label("CSV file").set_input_files(
        files=[{"name": "paper-cards.csv", "mimeType": "text/csv", "buffer": csv.encode()}])
    with laptop.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/imports")) as sent:
        laptop.get_by_role("button", name="Import", exact=True).click()
    assert sent.value.status == 202
    import_id = sent.value.json()["importId"]
    _drain(api)
    expect(laptop.get_by_text("Import finished: 2 new, 1 merged, 1 failed, of 4 rows.")).to_be_visible()
    status = shop.call("GET", f"/v1/merchants/{shop.merchant_id}/imports/{import_id}", headers=shop.owner).json
    assert (status["status"], status["rows"], status["imported"], status["merged"], status["failed"]) == (
        "done", 4, 2, 1, 1)
    [error] = status["errors"]
    assert error["row"] == 3
    expect(laptop.get_by_text(f"Row 3: {error['message']}")).to_be_visible()
    assert laptop.evaluate("() => [document.getElementById('import-progress').value, "
                           "document.getElementById('import-progress').max]") == [4, 4]
    found = shop.call("POST", f"/v1/merchants/{shop.merchant_id}/members/search", {"phone": ola}, shop.owner)
    assert found.status == 200 and found.json["points"]["balance"] == 40
    laptop.locator("#import-result").screenshot(path=tmp_path / "dashboard-import.png")


def test_on_a_phone_the_dashboard_fits_the_screen(phone: Page, site, shop, api, tmp_path):
    _regular_who_rates_low(shop)
    _visit_at_riverside(shop)
    _drain(api)
    _open_with_key(phone, site, shop, shop.owner_key)

    expect(phone.locator("body[data-charts-drawn='1']")).to_be_attached()
    expect(phone.locator("#headline")).to_contain_text("Visits2")
    expect(phone.get_by_text("Nobody is at risk right now.")).to_be_visible()
    expect(phone.get_by_text("No referral is waiting for you.")).to_be_visible()
    expect(phone.locator("#feedback")).to_contain_text(LOW_RATING)
    for chart in ("chart-weekday", "chart-hour", "chart-points", "chart-locations"):
        box = phone.locator(f"#{chart} svg").bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    phone.screenshot(path=tmp_path / "dashboard-phone.png", full_page=True)


@pytest.mark.parametrize("key", ["staff", "other merchant's owner", "made up"])
def test_a_key_that_is_not_this_merchants_owner_key_is_refused(phone: Page, site, shop, api, key):
    from tests.support.world import create_world

    keys = {"staff": shop.staff_key, "made up": "bw_not_a_key_at_all"}
    wrong = keys.get(key) or create_world(api).owner_key
    _open_with_key(phone, site, shop, wrong)

    expect(phone.get_by_text(WRONG_KEY)).to_be_visible()
    expect(phone.get_by_label("Owner key")).to_be_visible()
    assert phone.evaluate("() => sessionStorage.length") == 0  # the wrong key is not kept
    # the right key opens it
    _open_with_key(phone, site, shop, shop.owner_key)
    expect(phone.get_by_role("heading", name="At risk")).to_be_visible()
