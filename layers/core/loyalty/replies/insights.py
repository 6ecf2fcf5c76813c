"""Insights: the figures of a date range (see domain/insights.py for how each is counted)."""

from __future__ import annotations

from pydantic import Field

from loyalty.domain.insights import Figures
from loyalty.replies.base import Reply


class MemberFigures(Reply):
    total: int  # joined by the end of the range
    new: int  # joined in the range
    active30: int  # visited in the 30 days ending with the range's last day
    active90: int


class VisitFigures(Reply):
    count: int
    per_member: float  # visits per member who visited in the range
    by_weekday: list[int]  # Monday first, local time
    by_hour: list[int]  # 0..23, local time


class SpendFigures(Reply):
    total: int  # minor units, sales minus refunds
    average_basket: int  # per sale with an amount


class CohortFigures(Reply):
    month: str  # YYYY-MM of the members' first visit
    size: int
    retained: list[float]  # share of the cohort visiting in each later month up to the range's last month


class RetentionFigures(Reply):
    returning_rate: float  # share of the range's visitors who had visited before it
    cohorts: list[CohortFigures]


class ChurnFigures(Reply):
    at_risk: int  # as of the range's last day
    lapsed: int


class ClvFigures(Reply):
    average: int  # minor units


class PointFigures(Reply):
    issued: int  # all these through the range's last day: issued = redeemed + expired + locked + outstanding + refunded
    redeemed: int
    expired: int
    locked: int
    outstanding: int
    refunded: int
    liability: int | None = Field(description=(
        "The outstanding points in minor units of the merchant's currency, each valued at the cost per point "
        "(costMinor / pointsCost) of the reward that costs the merchant least per point; null when no reward "
        "claimable with points has a costMinor. Stamps are not valued."))


class RewardFigures(Reply):
    issued: int
    redeemed: int
    redemption_rate: float


class ReferralFigures(Reply):
    joined: int
    rewarded: int


class CampaignFigures(Reply):
    campaign_id: str
    name: str
    sent: int
    redeemed: int
    visits_within14_days: int


class FeedbackFigures(Reply):
    average_rating: float | None
    nps: int | None  # -100..100
    responses: int


class LocationFigures(Reply):
    location_id: str
    visits: int
    spend: int


class Insights(Reply):
    from_: str = Field(alias="from")
    to: str
    location_id: str | None
    currency: str
    members: MemberFigures
    visits: VisitFigures
    spend: SpendFigures
    retention: RetentionFigures
    churn: ChurnFigures
    clv: ClvFigures
    points: PointFigures
    rewards: RewardFigures
    referrals: ReferralFigures
    campaigns: list[CampaignFigures]
    feedback: FeedbackFigures
    by_location: list[LocationFigures]

    @classmethod
    def of(cls, figures: Figures, *, first: str, last: str, location_id: str | None, currency: str,
           liability: int | None) -> Insights:
        f = figures
        return cls(
            from_=first, to=last, location_id=location_id, currency=currency,
            members=MemberFigures(total=f.members_total, new=f.members_new, active30=f.active30,
                                  active90=f.active90),
            visits=VisitFigures(count=f.visits, per_member=f.per_member, by_weekday=f.by_weekday,
                                by_hour=f.by_hour),
            spend=SpendFigures(total=f.spend, average_basket=f.average_basket),
            retention=RetentionFigures(returning_rate=f.returning_rate, cohorts=[
                CohortFigures(month=c.month, size=c.size, retained=c.retained) for c in f.cohorts]),
            churn=ChurnFigures(at_risk=f.at_risk, lapsed=f.lapsed),
            clv=ClvFigures(average=f.clv),
            points=PointFigures(issued=f.points_issued, redeemed=f.points_redeemed, expired=f.points_expired,
                                locked=f.points_locked, outstanding=f.points_outstanding,
                                refunded=f.points_refunded, liability=liability),
            rewards=RewardFigures(issued=f.rewards_issued, redeemed=f.rewards_redeemed,
                                  redemption_rate=f.redemption_rate),
            referrals=ReferralFigures(joined=f.referrals_joined, rewarded=f.referrals_rewarded),
            campaigns=[CampaignFigures(campaign_id=c.campaign_id, name=c.name, sent=c.sent, redeemed=c.redeemed,
                                       visits_within14_days=visits) for c, visits in f.campaigns],
            feedback=FeedbackFigures(average_rating=f.average_rating, nps=f.nps, responses=f.responses),
            by_location=[LocationFigures(location_id=location_id, visits=visits, spend=spend)
                         for location_id, visits, spend in f.by_location],
        )
