"""Stamp card arithmetic, the next reward and the line a barista would say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loyalty.domain.card import NextReward, card_message, next_reward
from loyalty.domain.model import VOUCHER_CANCELLED, VOUCHER_ISSUED, VOUCHER_REDEEMED, Member, Voucher
from loyalty.domain.program import Program, default_program
from loyalty.domain.stamps import StampProgress, add_stamps

NOW = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)

STAMP_CARD = Program.model_validate({
    "stampCard": {"stampsRequired": 5, "rewardId": "free-coffee"},
    "rewards": [{"id": "free-coffee", "name": "Free coffee"}],
})
POINTS_ONLY = Program.model_validate({
    "points": {"perVisit": 10},
    "rewards": [
        {"id": "cake", "name": "Slice of cake", "pointsCost": 200},
        {"id": "free-coffee", "name": "Free coffee", "pointsCost": 100},
        {"id": "mug", "name": "Branded mug"},  # not claimable with points
    ],
})


def member(*, stamps: int = 0, balance: int = 0, vouchers: list[Voucher] = ()) -> Member:
    return Member("mem_test", "mch_test", "hash", stamps=stamps, balance=balance,
                  vouchers={v.issued_reward_id: v for v in vouchers})


def voucher(issued_id: str, name: str, code: str, *, expires_in_days: int = 30,
            status: str = VOUCHER_ISSUED) -> Voucher:
    return Voucher(issued_id, "free-coffee", name, code, status, 0, NOW, NOW + timedelta(days=expires_in_days),
                   "stamps")


# --- add_stamps -------------------------------------------------------------------------------------

def test_a_stamp_on_an_empty_card_is_the_first_stamp():
    assert add_stamps(0, 1, 5) == StampProgress(count=1, cards_completed=0)


def test_the_4th_stamp_leaves_the_card_one_short():
    assert add_stamps(3, 1, 5) == StampProgress(count=4, cards_completed=0)


def test_the_5th_stamp_completes_the_card_and_starts_a_new_one():
    assert add_stamps(4, 1, 5) == StampProgress(count=0, cards_completed=1)


def test_several_stamps_at_once_can_complete_several_cards():
    assert add_stamps(4, 7, 5) == StampProgress(count=1, cards_completed=2)


def test_no_stamps_earned_changes_nothing_on_a_card_in_progress():
    assert add_stamps(3, 0, 5) == StampProgress(count=3, cards_completed=0)


def test_a_card_over_a_lowered_requirement_completes_on_the_next_stamp():
    # The merchant lowered stampsRequired from 10 to 5 while this member had 7 stamps.
    assert add_stamps(7, 1, 5) == StampProgress(count=3, cards_completed=1)


@given(
    required=st.integers(min_value=2, max_value=50),
    data=st.data(),
)
def test_stamp_arithmetic_never_loses_or_invents_stamps(required, data):
    old = data.draw(st.integers(min_value=0, max_value=required - 1), label="old")
    earned = data.draw(st.integers(min_value=0, max_value=500), label="earned")

    progress = add_stamps(old, earned, required)

    assert 0 <= progress.count < required
    assert progress.cards_completed >= 0
    assert progress.count + progress.cards_completed * required == old + earned


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=100),
       st.integers(min_value=2, max_value=50))
def test_whatever_the_card_held_the_result_is_a_card_in_progress(old, earned, required):
    progress = add_stamps(old, earned, required)

    assert progress.count < required
    assert progress.count + progress.cards_completed * required == old + earned


@given(st.integers(min_value=2, max_value=50))
def test_one_stamp_per_visit_completes_exactly_one_card_every_required_visits(required):
    count, completed = 0, 0
    for visit in range(1, 3 * required + 1):
        progress = add_stamps(count, 1, required)
        count, completed = progress.count, completed + progress.cards_completed
        assert progress.cards_completed == (1 if visit % required == 0 else 0)
    assert (count, completed) == (0, 3)


# --- next_reward --------------------------------------------------------------------------------------

def test_with_4_of_5_stamps_the_next_reward_is_1_visit_away():
    assert next_reward(STAMP_CARD, 4, 0) == NextReward("Free coffee", 1, "visit")


def test_an_empty_stamp_card_is_all_its_visits_away():
    assert next_reward(STAMP_CARD, 0, 0) == NextReward("Free coffee", 5, "visits")


@pytest.mark.parametrize("stamps", [5, 7, 12])
def test_a_card_at_or_over_a_lowered_requirement_is_still_1_visit_away(stamps):
    upcoming = next_reward(STAMP_CARD, stamps, 0)

    assert (upcoming.remaining, upcoming.unit) == (1, "visit")


def test_next_reward_serialises_to_the_contracts_shape():
    assert next_reward(STAMP_CARD, 2, 0) == NextReward("Free coffee", 3, "visits")


def test_points_only_the_next_reward_is_the_cheapest_not_yet_affordable():
    assert next_reward(POINTS_ONLY, 0, 60) == NextReward("Free coffee", 40, "points")


def test_points_only_once_the_cheapest_is_affordable_the_next_one_is_the_goal():
    assert next_reward(POINTS_ONLY, 0, 150) == NextReward("Slice of cake", 50, "points")


def test_points_only_with_everything_affordable_there_is_no_next_reward():
    assert next_reward(POINTS_ONLY, 0, 200) is None


def test_a_points_program_without_claimable_rewards_has_no_next_reward():
    program = Program.model_validate({"points": {"perVisit": 1}, "rewards": [{"id": "mug", "name": "Mug"}]})

    assert next_reward(program, 0, 0) is None


# --- card_message ----------------------------------------------------------------------------------------

def test_the_message_says_1_more_visit_to_your_free_coffee():
    assert card_message(STAMP_CARD, member(stamps=4)) == "1 more visit to your free coffee."


def test_the_message_counts_visits_in_the_plural():
    assert card_message(STAMP_CARD, member(stamps=2)) == "3 more visits to your free coffee."


def test_an_open_voucher_is_announced_with_its_code():
    ready = member(stamps=0, vouchers=[voucher("iss_1", "Free coffee", "ABCDE-FGHJK")])

    assert card_message(STAMP_CARD, ready) == "Your free coffee is ready: show code ABCDE-FGHJK at the counter."


def test_the_voucher_expiring_first_is_announced_first():
    ready = member(vouchers=[
        voucher("iss_late", "Free coffee", "LATER-00000", expires_in_days=20),
        voucher("iss_soon", "Slice of cake", "SOON0-00000", expires_in_days=2),
    ])

    assert card_message(STAMP_CARD, ready) == "Your slice of cake is ready: show code SOON0-00000 at the counter."


def test_redeemed_and_cancelled_vouchers_are_not_announced():
    done = member(stamps=3, vouchers=[
        voucher("iss_1", "Free coffee", "DONE0-00000", status=VOUCHER_REDEEMED),
        voucher("iss_2", "Free coffee", "GONE0-00000", status=VOUCHER_CANCELLED),
    ])

    assert card_message(STAMP_CARD, done) == "2 more visits to your free coffee."


def test_points_only_the_message_counts_points_to_the_next_reward():
    assert card_message(POINTS_ONLY, member(balance=60)) == "40 more points to your free coffee."


def test_points_only_one_point_short_is_said_in_the_singular():
    assert card_message(POINTS_ONLY, member(balance=99)) == "1 more point to your free coffee."


def test_points_only_an_affordable_reward_is_announced():
    assert card_message(POINTS_ONLY, member(balance=150)) == "You have enough points for a free coffee."


def test_points_only_with_everything_affordable_a_reward_is_still_announced():
    assert card_message(POINTS_ONLY, member(balance=500)).startswith("You have enough points for a ")


def test_the_stamp_card_leads_the_message_even_when_points_could_buy_a_reward():
    # The default program has both: the stamp card's progress is what the barista says.
    assert card_message(default_program(), member(stamps=4, balance=150)) == "1 more visit to your free coffee."


def test_with_nothing_to_aim_for_the_member_is_thanked():
    program = Program.model_validate({"points": {"perVisit": 1}})

    assert card_message(program, member(balance=10)) == "Thanks for being a regular!"


@given(stamps=st.integers(min_value=0, max_value=100), balance=st.integers(min_value=0, max_value=10_000))
def test_the_message_never_counts_zero_or_negative_steps(stamps, balance):
    for program in (STAMP_CARD, POINTS_ONLY, default_program()):
        upcoming = next_reward(program, stamps, balance)
        assert upcoming is None or upcoming.remaining >= 1
        message = card_message(program, member(stamps=stamps, balance=balance))
        assert not message.startswith(("0 ", "-"))


# A full card: no room for another unused reward


@pytest.mark.parametrize(("count", "earned", "room", "expected"), [
    (4, 1, 0, StampProgress(count=5, cards_completed=0, dropped=0)),   # completes, but waits full
    (5, 1, 0, StampProgress(count=5, cards_completed=0, dropped=1)),   # already full: the stamp is not kept
    (5, 1, 1, StampProgress(count=1, cards_completed=1, dropped=0)),   # room again: the waiting card pays out
    (1, 12, 1, StampProgress(count=5, cards_completed=1, dropped=3)),  # one reward fits, the next card waits
    (7, 1, 0, StampProgress(count=7, cards_completed=0, dropped=1)),   # stamps a card already has are kept
    (3, 1, 2, StampProgress(count=4, cards_completed=0, dropped=0)),   # room does not matter below a full card
])
def test_a_card_with_no_room_for_its_reward_waits_full(count, earned, room, expected):
    assert add_stamps(count, earned, 5, room) == expected


@given(count=st.integers(0, 60), earned=st.integers(0, 60), room=st.integers(0, 20), required=st.integers(2, 50))
def test_stamps_are_conserved_and_rewards_never_exceed_the_room(count, earned, room, required):
    progress = add_stamps(count, earned, required, room)
    assert progress.cards_completed <= room
    assert progress.count + progress.cards_completed * required + progress.dropped == count + earned
    assert progress.count <= max(count, required)


def test_a_full_card_says_so():
    full = member(stamps=5, vouchers=[voucher(f"rwd_{i}", "Free coffee", f"C{i}") for i in range(20)])
    assert card_message(STAMP_CARD, full) == "Your card is full: redeem your free coffee to keep collecting."
    almost = member(stamps=4, vouchers=[voucher(f"rwd_{i}", "Free coffee", f"C{i}") for i in range(20)])
    assert "full" not in card_message(STAMP_CARD, almost)
