"""The loyalty program a merchant configures, with its validation rules.

Later capabilities (tiers, promotions, expiry, birthdays) add optional fields here; existing
programs stay valid because every new field has a default.
"""

from __future__ import annotations

from datetime import date, time
from functools import cache
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

_SLUG = r"^[a-z0-9][a-z0-9-]{0,39}$"
_CLOCK_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_LABEL = Field(min_length=1, max_length=80)


class _Rules(BaseModel):
    # strict: "5" or true is not a number of points; a merchant's typo must not become a rule.
    # defer_build: validators are built when a program is first read or written, not at every cold import.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True,
                              strict=True, defer_build=True)


class StampCard(_Rules):
    stamps_required: int = Field(ge=2, le=50)
    reward_id: str = Field(pattern=_SLUG)


class ItemPoints(_Rules):
    """Points per unit bought of one sku, or of any item in one category (a sku rule wins over a category rule)."""

    sku: str | None = Field(default=None, min_length=1, max_length=64)
    category: str | None = Field(default=None, min_length=1, max_length=64)
    points: int = Field(ge=1, le=100_000)

    @model_validator(mode="after")
    def _one_target(self) -> ItemPoints:
        if (self.sku is None) == (self.category is None):
            raise ValueError("an item rule names exactly one of sku or category")
        return self


class PointsRules(_Rules):
    per_visit: int = Field(default=0, ge=0, le=10_000)
    # Points per whole currency unit spent (1 PLN, 1 EUR); amounts arrive in minor units.
    per_currency_unit: int = Field(default=0, ge=0, le=1_000)
    welcome_bonus: int = Field(default=0, ge=0, le=100_000)
    per_item: list[ItemPoints] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _one_rule_per_target(self) -> PointsRules:
        targets = [("sku", rule.sku) if rule.sku else ("category", rule.category) for rule in self.per_item]
        if len(targets) != len(set(targets)):
            raise ValueError("perItem names the same sku or category twice")
        return self

    def item_points(self, sku: str, category: str | None) -> int:
        """Points per unit of an item: its sku's rule, else its category's, else none."""
        by_sku = next((rule.points for rule in self.per_item if rule.sku == sku), None)
        if by_sku is not None:
            return by_sku
        return next((rule.points for rule in self.per_item if category and rule.category == category), 0)


class RewardDefinition(_Rules):
    id: str = Field(pattern=_SLUG)
    name: str = Field(min_length=1, max_length=80)
    # None: only earned through the stamp card, not claimable with points.
    points_cost: int | None = Field(default=None, ge=1, le=10_000_000)
    # What giving the reward costs the merchant, in minor units of her currency (values the points on cards);
    # left out of the program when not set.
    cost_minor: int | None = Field(default=None, ge=1, le=100_000_000, exclude_if=lambda value: value is None)

    @property
    def cost_per_point(self) -> float | None:
        """The merchant's cost of one point spent on this reward, when both its prices are known."""
        return self.cost_minor / self.points_cost if self.cost_minor and self.points_cost else None


class ReferralRules(_Rules):
    referrer_points: int = Field(default=0, ge=0, le=100_000)
    referee_points: int = Field(default=0, ge=0, le=100_000)
    max_rewarded_per_referrer_per_month: int = Field(default=10, ge=0, le=1_000)


class TierLevel(_Rules):
    id: str = Field(pattern=_SLUG)
    name: str = _LABEL
    threshold: int = Field(ge=1, le=100_000_000, description="Points earned in the window that qualify")
    multiplier: float = Field(default=1.0, ge=1, le=10, description="Base points are multiplied by this")
    perks: list[str] = Field(default_factory=list, max_length=10)
    upgrade_reward_id: str | None = Field(default=None, pattern=_SLUG)

    @model_validator(mode="after")
    def _short_perks(self) -> TierLevel:
        if any(not perk.strip() or len(perk) > 120 for perk in self.perks):
            raise ValueError("each perk is a short line of text (1 to 120 characters)")
        return self


class Tiers(_Rules):
    window_months: int = Field(default=12, ge=1, le=24)
    grace_days: int = Field(default=30, ge=0, le=365)
    levels: list[TierLevel] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _ascending(self) -> Tiers:
        thresholds = [level.threshold for level in self.levels]
        if any(lower >= higher for lower, higher in pairwise(thresholds)):
            raise ValueError("tier thresholds must rise strictly from the first level to the last (no overlaps)")
        level_ids = [level.id for level in self.levels]
        if len(level_ids) != len(set(level_ids)):
            raise ValueError("tier ids must be unique")
        return self

    def level(self, level_id: str | None) -> TierLevel | None:
        return next((level for level in self.levels if level.id == level_id), None)

    def rank(self, level_id: str | None) -> int:
        """0 without a tier, then 1 for the first level and so on."""
        return next((i + 1 for i, level in enumerate(self.levels) if level.id == level_id), 0)


class Promotion(_Rules):
    id: str = Field(pattern=_SLUG)
    name: str = _LABEL
    multiplier: float | None = Field(default=None, ge=1, le=10)
    bonus_points: int | None = Field(default=None, ge=1, le=100_000)
    days: list[Weekday] | None = Field(default=None, min_length=1, max_length=7, description="null: every day")
    from_: str | None = Field(default=None, alias="from", pattern=_CLOCK_TIME, description="local time, inclusive")
    to: str | None = Field(default=None, pattern=_CLOCK_TIME, description="local time, exclusive")
    start_date: str | None = Field(default=None, pattern=_DATE, description="local date, inclusive")
    end_date: str | None = Field(default=None, pattern=_DATE, description="local date, inclusive")
    location_ids: list[str] | None = Field(default=None, min_length=1, max_length=100)
    skus: list[str] | None = Field(default=None, min_length=1, max_length=100)
    categories: list[str] | None = Field(default=None, min_length=1, max_length=100)
    min_spend: int | None = Field(default=None, ge=0, description="minor units")
    limit_per_member_per_day: int | None = Field(default=None, ge=1, le=100)

    @model_validator(mode="after")
    def _coherent(self) -> Promotion:
        if (self.multiplier is None) == (self.bonus_points is None):
            raise ValueError(f"promotion '{self.id}' needs exactly one of multiplier or bonusPoints")
        if (self.from_ is None) != (self.to is None):
            raise ValueError(f"promotion '{self.id}': give both from and to, or neither")
        if self.from_ is not None and self.from_ == self.to:
            raise ValueError(f"promotion '{self.id}': from and to are the same time (an empty window)")
        if self.days is not None and len(set(self.days)) != len(self.days):
            raise ValueError(f"promotion '{self.id}' lists a day twice")
        for name, value in (("startDate", self.start_date), ("endDate", self.end_date)):
            if value is not None:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    raise ValueError(f"promotion '{self.id}': {name} {value} is not a calendar date") from None
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError(f"promotion '{self.id}': startDate is after endDate")
        return self

    @property
    def window(self) -> tuple[time, time] | None:
        return (time.fromisoformat(self.from_), time.fromisoformat(self.to)) if self.from_ and self.to else None


class Expiry(_Rules):
    after_months: int = Field(ge=1, le=60, description="Points earned in month M expire at the end of M + afterMonths")


class Surprise(_Rules):
    reward_id: str = Field(pattern=_SLUG)
    every_nth_visit: int | None = Field(default=None, ge=2, le=1000)
    chance_percent: float | None = Field(default=None, gt=0, le=100)
    max_per_day: int = Field(default=10, ge=1, le=10_000, description="per merchant and local day")

    @model_validator(mode="after")
    def _one_trigger(self) -> Surprise:
        if (self.every_nth_visit is None) == (self.chance_percent is None):
            raise ValueError("surprise needs exactly one of everyNthVisit or chancePercent")
        return self


class Program(_Rules):
    stamp_card: StampCard | None = None
    points: PointsRules | None = None
    rewards: list[RewardDefinition] = Field(default_factory=list, max_length=100)
    reward_validity_days: int = Field(default=30, ge=1, le=3650)
    scan_cooldown_minutes: int = Field(default=240, ge=0, le=7 * 24 * 60)
    referral: ReferralRules | None = None
    tiers: Tiers | None = None
    promotions: list[Promotion] = Field(default_factory=list, max_length=20)
    expiry: Expiry | None = None
    surprise: Surprise | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Program:
        if self.stamp_card is None and self.points is None:
            raise ValueError("stampCard and points cannot both be null: the program must earn something")
        ids = [reward.id for reward in self.rewards]
        if len(ids) != len(set(ids)):
            raise ValueError("reward ids must be unique")
        if self.stamp_card is not None and self.stamp_card.reward_id not in ids:
            raise ValueError(f"stampCard.rewardId '{self.stamp_card.reward_id}' is not in rewards")
        referenced = [("surprise.rewardId", self.surprise.reward_id)] if self.surprise else []
        referenced += [(f"tiers.levels[{level.id}].upgradeRewardId", level.upgrade_reward_id)
                       for level in (self.tiers.levels if self.tiers else ()) if level.upgrade_reward_id]
        for where, reward_id in referenced:
            if reward_id not in ids:
                raise ValueError(f"{where} '{reward_id}' is not in rewards")
        promotion_ids = [promotion.id for promotion in self.promotions]
        if len(promotion_ids) != len(set(promotion_ids)):
            raise ValueError("promotion ids must be unique")
        return self

    def reward(self, reward_id: str) -> RewardDefinition | None:
        return next((reward for reward in self.rewards if reward.id == reward_id), None)

    def to_json(self) -> dict:
        """camelCase JSON; v2 fields that are not in use are left out, so a v1 program reads back as it was written."""
        data = self.model_dump(by_alias=True, mode="json")
        for key in ("tiers", "promotions", "expiry", "surprise"):
            if not data[key]:
                del data[key]
        if data["points"] and not data["points"]["perItem"]:
            del data["points"]["perItem"]
        return data


@cache
def default_program() -> Program:
    """The program a new merchant starts with (built on first use: validating it costs every cold start)."""
    return Program.model_validate({
        "stampCard": {"stampsRequired": 5, "rewardId": "free-coffee"},
        "points": {"perVisit": 10, "perCurrencyUnit": 1, "welcomeBonus": 20},
        "rewards": [{"id": "free-coffee", "name": "Free coffee", "pointsCost": 100}],
        "rewardValidityDays": 30,
        "scanCooldownMinutes": 240,
        "referral": {"referrerPoints": 50, "refereePoints": 50, "maxRewardedPerReferrerPerMonth": 10},
    })
