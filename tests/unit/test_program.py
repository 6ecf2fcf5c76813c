"""The program a merchant configures: camelCase JSON in and out, and the rules that keep it coherent."""

from __future__ import annotations

import copy

import pytest
from loyalty.domain.program import Program, default_program
from pydantic import ValidationError

CONTRACT_EXAMPLE = {
    "stampCard": {"stampsRequired": 5, "rewardId": "free-coffee"},
    "points": {"perVisit": 10, "perCurrencyUnit": 1, "welcomeBonus": 20},
    "rewards": [{"id": "free-coffee", "name": "Free coffee", "pointsCost": 100}],
    "rewardValidityDays": 30,
    "scanCooldownMinutes": 240,
    "referral": {"referrerPoints": 50, "refereePoints": 50, "maxRewardedPerReferrerPerMonth": 10},
}


def example(**changes) -> dict:
    body = copy.deepcopy(CONTRACT_EXAMPLE)
    body.update(changes)
    return body


def refusal(body: dict) -> str:
    with pytest.raises(ValidationError) as caught:
        Program.model_validate(body)
    return str(caught.value)


# --- JSON shape ------------------------------------------------------------------------------------------

def test_the_contracts_example_round_trips_unchanged():
    assert Program.model_validate(CONTRACT_EXAMPLE).to_json() == CONTRACT_EXAMPLE


def test_the_default_program_is_the_contracts_example():
    assert default_program().to_json() == CONTRACT_EXAMPLE


def test_reading_the_fields_in_python_uses_snake_case():
    program = Program.model_validate(CONTRACT_EXAMPLE)

    assert program.stamp_card.stamps_required == 5
    assert program.points.per_currency_unit == 1
    assert program.referral.max_rewarded_per_referrer_per_month == 10


def test_snake_case_input_is_accepted_too():
    program = Program.model_validate({
        "stamp_card": {"stamps_required": 8, "reward_id": "free-coffee"},
        "rewards": [{"id": "free-coffee", "name": "Free coffee"}],
    })

    assert program.to_json()["stampCard"] == {"stampsRequired": 8, "rewardId": "free-coffee"}


def test_a_minimal_points_program_gets_the_documented_defaults():
    program = Program.model_validate({"points": {"perVisit": 10}})

    assert program.to_json() == {
        "stampCard": None,
        "points": {"perVisit": 10, "perCurrencyUnit": 0, "welcomeBonus": 0},
        "rewards": [],
        "rewardValidityDays": 30,
        "scanCooldownMinutes": 240,
        "referral": None,
    }


def test_a_reward_without_a_points_cost_is_earned_only_with_stamps():
    program = Program.model_validate({
        "stampCard": {"stampsRequired": 5, "rewardId": "free-coffee"},
        "rewards": [{"id": "free-coffee", "name": "Free coffee"}],
    })

    assert program.reward("free-coffee").points_cost is None
    assert program.to_json()["rewards"] == [{"id": "free-coffee", "name": "Free coffee", "pointsCost": None}]


def test_a_program_cannot_be_changed_in_place():
    with pytest.raises(ValidationError):
        default_program().scan_cooldown_minutes = 0


# --- reward lookup ------------------------------------------------------------------------------------------

def test_rewards_are_found_by_id():
    program = Program.model_validate(example(rewards=[
        {"id": "free-coffee", "name": "Free coffee", "pointsCost": 100},
        {"id": "cake", "name": "Cake", "pointsCost": 150},
    ]))

    assert program.reward("cake").name == "Cake"
    assert program.reward("free-coffee").points_cost == 100
    assert program.reward("croissant") is None


# --- coherence rules ----------------------------------------------------------------------------------------

def test_a_program_must_earn_something():
    message = refusal(example(stampCard=None, points=None))

    assert "stampCard and points cannot both be null" in message


def test_a_stamp_card_alone_is_enough():
    program = Program.model_validate(example(points=None))

    assert program.points is None


def test_points_alone_are_enough():
    program = Program.model_validate(example(stampCard=None))

    assert program.stamp_card is None


def test_reward_ids_must_be_unique():
    message = refusal(example(rewards=[
        {"id": "free-coffee", "name": "Free coffee"},
        {"id": "free-coffee", "name": "Another coffee"},
    ]))

    assert "reward ids must be unique" in message


def test_the_stamp_card_reward_must_be_one_of_the_rewards():
    message = refusal(example(stampCard={"stampsRequired": 5, "rewardId": "free-tea"}))

    assert "stampCard.rewardId 'free-tea' is not in rewards" in message


def test_a_stamp_card_needs_a_reward_list():
    assert "is not in rewards" in refusal(example(rewards=[]))


# --- field limits -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("required", [2, 10, 50])
def test_a_stamp_card_needs_between_2_and_50_stamps(required):
    program = Program.model_validate(example(stampCard={"stampsRequired": required, "rewardId": "free-coffee"}))

    assert program.stamp_card.stamps_required == required


@pytest.mark.parametrize("required", [0, 1, 51, -5])
def test_stamp_cards_outside_2_to_50_are_refused(required):
    refusal(example(stampCard={"stampsRequired": required, "rewardId": "free-coffee"}))


@pytest.mark.parametrize("reward_id", ["Free-Coffee", "free coffee", "-coffee", "", "x" * 41, "kawa_czarna", "café"])
def test_reward_ids_are_lower_case_slugs(reward_id):
    refusal(example(stampCard=None, rewards=[{"id": reward_id, "name": "Coffee"}]))


@pytest.mark.parametrize("reward_id", ["a", "free-coffee", "2-for-1", "x" * 40])
def test_valid_reward_slugs_are_accepted(reward_id):
    program = Program.model_validate(example(stampCard=None, rewards=[{"id": reward_id, "name": "Coffee"}]))

    assert program.reward(reward_id) is not None


@pytest.mark.parametrize("reward", [
    {"id": "coffee", "name": ""},
    {"id": "coffee", "name": "x" * 81},
    {"id": "coffee", "name": "Coffee", "pointsCost": 0},
    {"id": "coffee", "name": "Coffee", "pointsCost": -10},
])
def test_rewards_need_a_name_and_a_positive_cost(reward):
    refusal(example(stampCard=None, rewards=[reward]))


@pytest.mark.parametrize("points", [
    {"perVisit": -1},
    {"perVisit": 10_001},
    {"perCurrencyUnit": -1},
    {"perCurrencyUnit": 1_001},
    {"welcomeBonus": -1},
])
def test_point_rules_stay_within_their_limits(points):
    refusal(example(points=points))


@pytest.mark.parametrize(("field", "value"), [
    ("rewardValidityDays", 0),
    ("rewardValidityDays", 3651),
    ("scanCooldownMinutes", -1),
    ("scanCooldownMinutes", 7 * 24 * 60 + 1),
])
def test_validity_and_cooldown_stay_within_their_limits(field, value):
    refusal(example(**{field: value}))


def test_no_cooldown_at_all_is_allowed():
    assert Program.model_validate(example(scanCooldownMinutes=0)).scan_cooldown_minutes == 0


def test_at_most_100_rewards():
    rewards = [{"id": f"reward-{i}", "name": f"Reward {i}", "pointsCost": i + 1} for i in range(101)]

    refusal(example(stampCard=None, rewards=rewards))
    assert len(Program.model_validate(example(stampCard=None, rewards=rewards[:100])).rewards) == 100


def test_a_referral_cap_of_zero_is_allowed():
    program = Program.model_validate(example(referral={"maxRewardedPerReferrerPerMonth": 0}))

    assert program.referral.max_rewarded_per_referrer_per_month == 0


@pytest.mark.parametrize("body", [
    example(tier=[]),  # a typo of "tiers"
    example(points={"perVisit": 10, "perEuro": 1}),
    example(stampCard={"stampsRequired": 5, "rewardId": "free-coffee", "color": "brown"}),
    example(rewards=[{"id": "free-coffee", "name": "Free coffee", "price": 5}]),
])
def test_unknown_fields_are_refused_rather_than_silently_ignored(body):
    assert "Extra inputs are not permitted" in refusal(body)


@pytest.mark.parametrize("body", [
    example(stampCard={"stampsRequired": "five", "rewardId": "free-coffee"}),
    example(rewards="free-coffee"),
    example(points=10),
])
def test_wrongly_typed_fields_are_refused(body):
    refusal(body)


@pytest.mark.parametrize("points", [{"perVisit": "5"}, {"perVisit": True}, {"welcomeBonus": False},
                                    {"perCurrencyUnit": 1.5}])
def test_numbers_in_the_program_must_be_real_integers(points):
    from loyalty.domain.program import Program
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Program.model_validate({"points": points})
