"""The loyalty program a merchant configures, with its validation rules.

Later capabilities (tiers, promotions, expiry, birthdays) add optional fields here; existing
programs stay valid because every new field has a default.
"""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

_SLUG = r"^[a-z0-9][a-z0-9-]{0,39}$"


class _Rules(BaseModel):
    # strict: "5" or true is not a number of points; a merchant's typo must not become a rule.
    # defer_build: validators are built when a program is first read or written, not at every cold import.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True,
                              strict=True, defer_build=True)


class StampCard(_Rules):
    stamps_required: int = Field(ge=2, le=50)
    reward_id: str = Field(pattern=_SLUG)


class PointsRules(_Rules):
    per_visit: int = Field(default=0, ge=0, le=10_000)
    # Points per whole currency unit spent (1 PLN, 1 EUR); amounts arrive in minor units.
    per_currency_unit: int = Field(default=0, ge=0, le=1_000)
    welcome_bonus: int = Field(default=0, ge=0, le=100_000)


class RewardDefinition(_Rules):
    id: str = Field(pattern=_SLUG)
    name: str = Field(min_length=1, max_length=80)
    # None: only earned through the stamp card, not claimable with points.
    points_cost: int | None = Field(default=None, ge=1, le=10_000_000)


class ReferralRules(_Rules):
    referrer_points: int = Field(default=0, ge=0, le=100_000)
    referee_points: int = Field(default=0, ge=0, le=100_000)
    max_rewarded_per_referrer_per_month: int = Field(default=10, ge=0, le=1_000)


class Program(_Rules):
    stamp_card: StampCard | None = None
    points: PointsRules | None = None
    rewards: list[RewardDefinition] = Field(default_factory=list, max_length=100)
    reward_validity_days: int = Field(default=30, ge=1, le=3650)
    scan_cooldown_minutes: int = Field(default=240, ge=0, le=7 * 24 * 60)
    referral: ReferralRules | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Program:
        if self.stamp_card is None and self.points is None:
            raise ValueError("stampCard and points cannot both be null: the program must earn something")
        ids = [reward.id for reward in self.rewards]
        if len(ids) != len(set(ids)):
            raise ValueError("reward ids must be unique")
        if self.stamp_card is not None and self.stamp_card.reward_id not in ids:
            raise ValueError(f"stampCard.rewardId '{self.stamp_card.reward_id}' is not in rewards")
        return self

    def reward(self, reward_id: str) -> RewardDefinition | None:
        return next((reward for reward in self.rewards if reward.id == reward_id), None)

    def to_json(self) -> dict:
        return self.model_dump(by_alias=True, mode="json")


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
