"""Insights: what the stream consumer counts into daily and monthly rollups, and the figures read back from them.

Pure rules: no I/O; days and months are the merchant's calendar (its timezone, also for visits at a location
with a timezone of its own), hours and weekdays are the merchant's local time.

Rollups. One item per merchant, scope and local day (scope: the whole business, or one location), and one per
merchant and local month (whole business only); every attribute is a count that only ever grows by ADD:

- ``visits``, ``h_00``..``h_23``, ``w_0``..``w_6`` (Monday = 0): counted visits, by local hour and weekday.
- ``spend``, ``sales``: spend in minor units (sales minus refunds) and the number of sales with a spend.
- ``gf`` and ``g_<k>``: counted visits that were the member's first ever, or whose previous counted visit was
  ``k`` local days earlier (``k`` capped at ``GAP_CAP``). Members who visited in ``[from, to]`` are the visits
  on days ``d`` in the range whose previous visit was before ``from``: ``gf + sum(g_<k> for k > d - from)``,
  so distinct visitors, returning members and active30/90 need no member read.
- ``j_<k>`` (whole business): first-ever visits of members who joined ``k`` days earlier (capped at 90): which
  of the members active in the last 90 days joined in that window (for ``lapsed``).
- ``r_<k>`` (whole business): the at-risk rule as a difference array over "days since this visit" for the
  visits of this day: a visit of a member with 3+ visits is at risk from ``k = max(21, floor(2 * average gap)
  + 1)`` days after it until 90 days, or until the member's next visit, which subtracts the rest of the span
  on the earlier visit's day. At-risk members as of ``to`` = the visits of days ``p`` in ``[to-89, to-21]``
  summed over ``r_<k>`` for ``k <= to - p``.
- ``joined``, ``referred``, ``referralsRewarded``; ``rewardsIssued``, ``rewardsRedeemed``.
- points by what moved them: ``pIssued`` (scans, referrals, campaign bonuses, imports), ``pClaimed``,
  ``pReturned`` (cancelled or expired vouchers), ``pRedeemed`` (points of redeemed vouchers), ``pExpired``,
  ``pRefunded``; then locked = claimed - returned - redeemed and outstanding (the sum of balances) = issued -
  claimed + returned - expired - refunded, so issued = redeemed + expired + locked + outstanding + refunded.
- ``ratings``, ``ratingSum``, ``npsAnswers``, ``promoters``, ``detractors``: feedback.
- ``c_<campaignId>`` (whole business): counted visits of members holding a voucher that campaign issued to them
  in the 14 days before the visit.
- month items: ``active`` (members who visited in the month), ``kept`` (of them, members who also visited in
  the month before), ``k_<YYYY-MM>`` (members of the cohort whose first visit was in that month, visiting in
  this month), ``spend``, ``joined`` and the points counts (cumulative figures read months, not days).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from loyalty.domain.calendar import add_months
from loyalty.domain.model import VOUCHER_REDEEMED, Member
from loyalty.domain.program import Program
from loyalty.domain.segments import AT_RISK_MIN_DAYS, AT_RISK_MIN_VISITS, LAPSED_DAYS

GAP_CAP = 732  # gaps longer than the longest range (two years) count alike
JOIN_CAP = LAPSED_DAYS
CAMPAIGN_VISIT_DAYS = 14
MAX_RANGE_DAYS = 731  # "longer than two years" is refused
ACTIVE_WINDOWS = (30, 90)
MAX_LIFETIME_MONTHS = 120  # the expected lifetime when (almost) nobody churns
ISSUING_KINDS = ("scan", "referral", "campaign_bonus", "import")
ALL = None  # the whole business's scope


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def visit_facts(member: Member, now: datetime) -> dict:
    """What a counted visit's ledger entry carries for the rollups, from the member as the scan read it (the
    previous counted visit, the first one, how many this makes, when the member joined, and the campaigns whose
    vouchers reached the member in the last 14 days)."""
    facts: dict = {"n": member.visit_count + 1, "first": _iso(member.first_visit_at or now)}
    if member.last_visit_at:
        facts["prev"] = _iso(member.last_visit_at)
    if member.created_at:
        facts["joined"] = _iso(member.created_at)
    campaigns = sorted({v.campaign_id for v in member.vouchers.values()
                        if v.campaign_id and timedelta(0) <= now - v.issued_at <= timedelta(days=CAMPAIGN_VISIT_DAYS)})
    if campaigns:
        facts["campaigns"] = campaigns
    return facts


# --- facts read from the stream ---------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerFacts:
    """An inserted ledger entry."""

    merchant_id: str
    kind: str
    at: datetime
    points: int
    location_id: str | None = None
    spend: int | None = None
    visit: Mapping | None = None  # visit_facts of a counted visit


@dataclass(frozen=True)
class VoucherState:
    status: str
    points_locked: int
    issued_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class MemberImage:
    """A member item as the stream shows it, reduced to what the rollups count."""

    merchant_id: str
    created_at: datetime | None
    referred: bool
    referral_status: str | None
    vouchers: Mapping[str, VoucherState]


@dataclass(frozen=True)
class MemberChange:
    """A member item inserted (``old`` None) or modified; ``at`` is when the change was recorded."""

    old: MemberImage | None
    new: MemberImage
    at: datetime


@dataclass(frozen=True)
class FeedbackFacts:
    merchant_id: str
    at: datetime
    location_id: str | None
    rating: int
    nps: int | None


Fact = LedgerFacts | MemberChange | FeedbackFacts


def fact_merchant(fact: Fact) -> str:
    return fact.new.merchant_id if isinstance(fact, MemberChange) else fact.merchant_id


# --- counting -----------------------------------------------------------------------------------------

RollupKey = tuple[str, str | None, str]  # (merchant, location or None for the whole business, "DAY#.." | "MONTH#..")


def day_key(merchant_id: str, location_id: str | None, day: date) -> RollupKey:
    return merchant_id, location_id, f"DAY#{day.isoformat()}"


def month_key(merchant_id: str, month: str) -> RollupKey:
    return merchant_id, ALL, f"MONTH#{month}"


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _month_before(month: str) -> str:
    return add_months(month, -1)


@dataclass
class Tally:
    """Counts of a batch of facts per rollup item, so each item is written once per batch."""

    counts: dict[RollupKey, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, key: RollupKey, name: str, value: int = 1) -> None:
        if value:
            self.counts[key][name] += value

    def items(self) -> dict[RollupKey, dict[str, int]]:
        return {key: {name: value for name, value in counts.items() if value} for key, counts in self.counts.items()
                if any(counts.values())}

    def count(self, fact: Fact, timezone: str) -> None:
        if isinstance(fact, LedgerFacts):
            self._ledger(fact, ZoneInfo(timezone))
        elif isinstance(fact, MemberChange):
            self._member(fact, ZoneInfo(timezone))
        else:
            self._feedback(fact, ZoneInfo(timezone))

    def _both(self, merchant_id: str, day: date, name: str, value: int = 1) -> None:
        """A count the day and the month both keep (cumulative figures read months)."""
        self.add(day_key(merchant_id, ALL, day), name, value)
        self.add(month_key(merchant_id, _month(day)), name, value)

    def _ledger(self, entry: LedgerFacts, zone: ZoneInfo) -> None:
        local = entry.at.astimezone(zone)
        day, merchant = local.date(), entry.merchant_id
        scopes = (ALL, entry.location_id) if entry.location_id else (ALL,)
        if entry.kind in ISSUING_KINDS:
            self._both(merchant, day, "pIssued", entry.points)
        elif entry.kind == "claim":
            self._both(merchant, day, "pClaimed", -entry.points)
        elif entry.kind in ("cancel", "reward_expired"):
            self._both(merchant, day, "pReturned", entry.points)
        elif entry.kind == "expiry":
            self._both(merchant, day, "pExpired", -entry.points)
        elif entry.kind == "refund":
            self._both(merchant, day, "pRefunded", -entry.points)
        else:  # a kind this code does not know yet: still a balance change, so outstanding stays the balances' sum
            self._both(merchant, day, "pIssued", entry.points)
        if entry.spend:
            for scope in scopes:
                self.add(day_key(merchant, scope, day), "spend", entry.spend)
                if entry.spend > 0:
                    self.add(day_key(merchant, scope, day), "sales")
            self.add(month_key(merchant, _month(day)), "spend", entry.spend)
        if entry.kind == "scan" and entry.visit:
            self._visit(entry, local, scopes, zone)

    def _visit(self, entry: LedgerFacts, local: datetime, scopes: tuple, zone: ZoneInfo) -> None:
        merchant, day, visit = entry.merchant_id, local.date(), entry.visit
        prev_at = _instant(visit.get("prev"))
        prev = prev_at.astimezone(zone).date() if prev_at else None
        first = (_instant(visit.get("first")) or entry.at).astimezone(zone).date()
        ordinal = int(visit.get("n") or 1)
        gap = f"g_{min((day - prev).days, GAP_CAP)}" if prev else "gf"
        for scope in scopes:
            key = day_key(merchant, scope, day)
            self.add(key, "visits")
            self.add(key, f"h_{local.hour:02d}")
            self.add(key, f"w_{local.weekday()}")
            self.add(key, gap)
        everywhere = day_key(merchant, ALL, day)
        if prev is None:
            joined_at = _instant(visit.get("joined"))
            joined = joined_at.astimezone(zone).date() if joined_at else day
            self.add(everywhere, f"j_{min(max((day - joined).days, 0), JOIN_CAP)}")
        # At risk: from a days after this visit until the next one (or 90 days).
        start = _at_risk_from(day, first, ordinal)
        if start is not None:
            self.add(everywhere, f"r_{start}")
        if prev is not None:
            earlier = _at_risk_from(prev, first, ordinal - 1)
            cut = max(earlier, (day - prev).days) if earlier is not None else None
            if cut is not None and cut < LAPSED_DAYS:
                self.add(day_key(merchant, ALL, prev), f"r_{cut}", -1)
        for campaign_id in visit.get("campaigns") or ():
            self.add(everywhere, f"c_{campaign_id}")
        month = _month(day)
        key = month_key(merchant, month)
        if prev is None or _month(prev) != month:  # the member's first visit in this month
            self.add(key, "active")
            self.add(key, f"k_{_month(first)}")
            if prev is not None and _month(prev) == _month_before(month):
                self.add(key, "kept")

    def _member(self, change: MemberChange, zone: ZoneInfo) -> None:
        new, old = change.new, change.old
        merchant = new.merchant_id
        if old is None:
            day = (new.created_at or change.at).astimezone(zone).date()
            self._both(merchant, day, "joined")
            if new.referred:
                self.add(day_key(merchant, ALL, day), "referred")
        if new.referral_status == "rewarded" and (old is None or old.referral_status != "rewarded"):
            self.add(day_key(merchant, ALL, change.at.astimezone(zone).date()), "referralsRewarded")
        before = old.vouchers if old else {}
        for voucher_id, voucher in new.vouchers.items():
            if voucher_id not in before:
                self.add(day_key(merchant, ALL, voucher.issued_at.astimezone(zone).date()), "rewardsIssued")
            was = before.get(voucher_id)
            if voucher.status == VOUCHER_REDEEMED and (was is None or was.status != VOUCHER_REDEEMED):
                day = (voucher.closed_at or change.at).astimezone(zone).date()
                self.add(day_key(merchant, ALL, day), "rewardsRedeemed")
                self._both(merchant, day, "pRedeemed", voucher.points_locked)

    def _feedback(self, feedback: FeedbackFacts, zone: ZoneInfo) -> None:
        day = feedback.at.astimezone(zone).date()
        scopes = (ALL, feedback.location_id) if feedback.location_id else (ALL,)
        for scope in scopes:
            key = day_key(feedback.merchant_id, scope, day)
            self.add(key, "ratings")
            self.add(key, "ratingSum", feedback.rating)
            if feedback.nps is not None:
                self.add(key, "npsAnswers")
                self.add(key, "promoters" if feedback.nps >= 9 else "detractors" if feedback.nps <= 6 else "passives")


def _at_risk_from(day: date, first: date, ordinal: int) -> int | None:
    """Days after a visit (the member's ``ordinal``-th, first visit on ``first``) from which the member counts
    at risk if nothing follows it: absent more than twice the average gap, and at least 21 days; None when the
    visit can never make the member at risk (fewer than 3 visits, or the span reaches 90 days)."""
    if ordinal < AT_RISK_MIN_VISITS:
        return None
    start = max(AT_RISK_MIN_DAYS, 2 * (day - first).days // (ordinal - 1) + 1)
    return start if start < LAPSED_DAYS else None


# --- figures ------------------------------------------------------------------------------------------

Days = Mapping[date, Mapping[str, int]]


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    name: str
    sent: int
    redeemed: int


@dataclass(frozen=True)
class Cohort:
    month: str
    size: int
    retained: list[float]


@dataclass(frozen=True)
class Figures:
    members_total: int
    members_new: int
    active30: int
    active90: int
    visits: int
    per_member: float
    by_weekday: list[int]
    by_hour: list[int]
    spend: int
    average_basket: int
    returning_rate: float
    cohorts: list[Cohort]
    at_risk: int
    lapsed: int
    clv: int
    points_issued: int
    points_redeemed: int
    points_expired: int
    points_locked: int
    points_outstanding: int
    points_refunded: int
    rewards_issued: int
    rewards_redeemed: int
    redemption_rate: float
    referrals_joined: int
    referrals_rewarded: int
    campaigns: list[tuple[Campaign, int]]  # with visits within 14 days
    average_rating: float | None
    nps: int | None
    responses: int
    by_location: list[tuple[str, int, int]]  # (location id, visits, spend)


def dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def months_between(first: str, last: str) -> list[str]:
    found, month = [], first
    while month <= last:
        found.append(month)
        month = add_months(month, 1)
    return found


def read_window(first: date, last: date) -> tuple[date, date]:
    """The days whose rollups a request for ``[first, last]`` reads: the range and the 90 days before ``last``
    (active and churn figures are as of ``last``)."""
    return min(first, last - timedelta(days=LAPSED_DAYS - 1)), last


def _sum(days: Days, span: Iterable[date], name: str) -> int:
    return sum(int(days.get(day, {}).get(name, 0)) for day in span)


def visitors(days: Days, first: date, last: date) -> int:
    """Members with a counted visit in ``[first, last]`` (each counted on its first visit there)."""
    total = 0
    for day in dates(first, last):
        counts = days.get(day, {})
        within = (day - first).days
        total += int(counts.get("gf", 0)) + sum(int(value) for name, value in counts.items()
                                               if name.startswith("g_") and int(name[2:]) > within)
    return total


def _fraction(part: float, whole: float) -> float:
    return round(min(1.0, max(0.0, part / whole)), 4) if whole else 0.0


def figures(*, first: date, last: date, days: Days, months: Mapping[str, Mapping[str, int]], scope_days: Days,
            locations: Mapping[str, Days], campaigns: list[tuple[Campaign, int]] | None = None) -> Figures:
    """Every figure of ``[first, last]`` from the rollups: ``days`` (whole business) cover ``read_window``,
    ``months`` every month up to ``last``'s, ``scope_days`` the range for the scope asked (the whole business or
    one location), ``locations`` the range per location; ``campaigns`` come with their visits counted already."""
    span = dates(first, last)
    last_month = _month(last)

    def cumulative(name: str) -> int:
        """Through ``last``: the months before its month, then its days."""
        before = sum(int(counts.get(name, 0)) for month, counts in months.items() if month < last_month)
        return before + _sum(days, dates(last.replace(day=1), last), name)

    window_start = last - timedelta(days=LAPSED_DAYS - 1)
    window = dates(window_start, last)
    total = cumulative("joined")
    active90 = visitors(days, window_start, last)
    joined_in_window_active = sum(
        int(value) for day in window for name, value in days.get(day, {}).items()
        if name.startswith("j_") and int(name[2:]) <= (day - window_start).days)
    lapsed = max(0, (total - _sum(days, window, "joined")) - (active90 - joined_in_window_active))
    at_risk = 0
    for day in dates(window_start, last - timedelta(days=AT_RISK_MIN_DAYS)):
        since = (last - day).days
        at_risk += sum(int(value) for name, value in days.get(day, {}).items()
                       if name.startswith("r_") and int(name[2:]) <= since)

    visits = _sum(scope_days, span, "visits")
    distinct = visitors(scope_days, first, last)
    newcomers = _sum(scope_days, span, "gf")
    spend = _sum(scope_days, span, "spend")
    sales = _sum(scope_days, span, "sales")

    cohorts = []
    for month in months_between(_month(first), last_month):
        size = int(months.get(month, {}).get(f"k_{month}", 0))
        if size:
            later = months_between(add_months(month, 1), last_month)
            cohorts.append(Cohort(month, size, [_fraction(int(months.get(m, {}).get(f"k_{month}", 0)), size)
                                                for m in later]))

    issued, claimed, returned = cumulative("pIssued"), cumulative("pClaimed"), cumulative("pReturned")
    redeemed, expired, refunded = cumulative("pRedeemed"), cumulative("pExpired"), cumulative("pRefunded")
    rewards_issued, rewards_redeemed = _sum(days, span, "rewardsIssued"), _sum(days, span, "rewardsRedeemed")
    ratings, rating_sum = _sum(scope_days, span, "ratings"), _sum(scope_days, span, "ratingSum")
    answers = _sum(scope_days, span, "npsAnswers")
    nps_score = _sum(scope_days, span, "promoters") - _sum(scope_days, span, "detractors")
    return Figures(
        members_total=total, members_new=_sum(days, span, "joined"),
        active30=visitors(days, last - timedelta(days=ACTIVE_WINDOWS[0] - 1), last), active90=active90,
        visits=visits, per_member=round(visits / distinct, 2) if distinct else 0.0,
        by_weekday=[_sum(scope_days, span, f"w_{n}") for n in range(7)],
        by_hour=[_sum(scope_days, span, f"h_{n:02d}") for n in range(24)],
        spend=spend, average_basket=round(spend / sales) if sales else 0,
        returning_rate=_fraction(distinct - newcomers, distinct), cohorts=cohorts,
        at_risk=at_risk, lapsed=lapsed, clv=customer_lifetime_value(months, _month(first), last_month),
        points_issued=issued, points_redeemed=redeemed, points_expired=expired,
        points_locked=claimed - returned - redeemed,
        points_outstanding=issued - claimed + returned - expired - refunded, points_refunded=refunded,
        rewards_issued=rewards_issued, rewards_redeemed=rewards_redeemed,
        redemption_rate=_fraction(rewards_redeemed, rewards_issued),
        referrals_joined=_sum(days, span, "referred"), referrals_rewarded=_sum(days, span, "referralsRewarded"),
        campaigns=list(campaigns or ()),
        average_rating=round(rating_sum / ratings, 2) if ratings else None,
        nps=round(100 * nps_score / answers) if answers else None, responses=ratings,
        by_location=[(location_id, _sum(location_days, span, "visits"), _sum(location_days, span, "spend"))
                     for location_id, location_days in locations.items()],
    )


def liability(outstanding: int, program: Program) -> int | None:
    """The points on cards in minor units: each at the cost per point of the reward that costs the merchant least
    per point (the cheapest way a member can spend them). None when no reward claimable with points has a cost."""
    rates = [rate for reward in program.rewards if (rate := reward.cost_per_point) is not None]
    return round(max(0, outstanding) * min(rates)) if rates else None


def campaign_visits(days: Days, first: date, last: date, campaign_id: str) -> int:
    return _sum(days, dates(first, last), f"c_{campaign_id}")


def customer_lifetime_value(months: Mapping[str, Mapping[str, int]], first: str, last: str) -> int:
    """Average spend per active member per month over the months ``first``..``last``, times the expected
    lifetime in months (1 / the monthly churn: the share of a month's members who do not visit the next month),
    at most ``MAX_LIFETIME_MONTHS``. In minor units; 0 without visits."""
    span = months_between(first, last)
    active = sum(int(months.get(m, {}).get("active", 0)) for m in span)
    if not active:
        return 0
    per_month = sum(int(months.get(m, {}).get("spend", 0)) for m in span) / active
    before = sum(int(months.get(_month_before(m), {}).get("active", 0)) for m in span)
    kept = sum(int(months.get(m, {}).get("kept", 0)) for m in span)
    churn = 1 - kept / before if before else 1.0
    lifetime = min(MAX_LIFETIME_MONTHS, 1 / churn) if churn > 0 else MAX_LIFETIME_MONTHS
    return round(per_month * lifetime)
