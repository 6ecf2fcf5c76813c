"""A member's tier: points earned in a rolling window of calendar months, with a grace period (pure rules).

The tier is the highest level whose threshold the points earned in the current and previous
windowMonths - 1 local months meet. Upgrades are immediate. A member whose window falls below the held
threshold keeps the level for graceDays from the instant it stopped qualifying, then moves to the level
that qualifies at that moment (or none); that level qualifies when it is given, so a second downgrade needs
a new grace period. A level the program no longer has is left at once, for the level that qualifies.

`evaluate` must follow every `record_earned` (the scan and the refund do both): `qualified_until` is
projected from the earnings known when it is computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from loyalty.domain.calendar import add_months, local_month, month_start, month_totals
from loyalty.domain.model import Member
from loyalty.domain.program import TierLevel, Tiers

Earned = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class TierState:
    level_id: str | None = None
    earned: Earned = ()  # (month, points earned, >= 0), only months inside the window, oldest first
    qualified_until: datetime | None = None  # when the held level stops (or stopped) qualifying without new earnings
    rewarded: tuple[str, ...] = ()  # level ids whose upgradeRewardId was issued to this member (once each)

    def earned_map(self) -> dict[str, int]:
        """month -> points earned, for storage."""
        return dict(self.earned)

    @classmethod
    def from_stored(cls, level_id: str | None, earned: Mapping[str, int] | None,
                    qualified_until: datetime | None, rewarded: Iterable[str] | None) -> TierState:
        return cls(level_id, month_totals(earned), qualified_until, tuple(rewarded or ()))


def state_of(member: Member) -> TierState:
    """A member's tier state as its item keeps it."""
    return TierState.from_stored(member.tier_id, member.tier_earned, member.tier_qualified_until, member.tier_rewarded)


def _window(tiers: Tiers, now: datetime, timezone: str) -> tuple[str, str]:
    """The first and last month of the window that ends with now's local month."""
    last = local_month(now, timezone)
    return add_months(last, -(tiers.window_months - 1)), last


def _in_window(earned: Earned, first: str, last: str) -> Earned:
    return tuple((month, points) for month, points in earned if first <= month <= last)


def _window_sum(earned: Earned, first: str, last: str) -> int:
    return sum(points for _, points in _in_window(earned, first, last))


def record_earned(tiers: Tiers, state: TierState, points: int, month: str, now: datetime, timezone: str) -> TierState:
    """Add `points` (negative for a refund: taken from that month, never below 0) to `month`; months that
    have left the window ending at local_month(now) are dropped (the state stays bounded: <= windowMonths entries).
    A month outside the window is ignored."""
    first, last = _window(tiers, now, timezone)
    earned = dict(_in_window(state.earned, first, last))
    if first <= month <= last:
        earned[month] = max(0, earned.get(month, 0) + points)
    return replace(state, earned=month_totals(earned))


def earned_in_window(tiers: Tiers, state: TierState, now: datetime, timezone: str) -> int:
    return _window_sum(state.earned, *_window(tiers, now, timezone))


def _qualifying(tiers: Tiers, points: int) -> TierLevel | None:
    """The highest level whose threshold `points` meet (thresholds rise with the levels)."""
    return next((level for level in reversed(tiers.levels) if level.threshold <= points), None)


def _qualified_until(tiers: Tiers, earned: Earned, level: TierLevel, now: datetime, timezone: str) -> datetime:
    """The first local month start at or after `now` at which the window, with no new earnings, falls below
    `level`'s threshold. `level` qualifies now, so the search starts with next month; within windowMonths
    months every month known now has left the window."""
    month = add_months(local_month(now, timezone), 1)
    while _window_sum(earned, add_months(month, -(tiers.window_months - 1)), month) >= level.threshold:
        month = add_months(month, 1)
    return month_start(month, timezone)


@dataclass(frozen=True)
class TierDecision:
    state: TierState  # the new state (level, qualified_until, rewarded updated)
    changed_from: str | None  # set (possibly to None) only when the level changed
    changed: bool
    # levels newly reached (ranks above the old one, up to the new one) that have an upgradeRewardId not yet
    # in `rewarded`; already added to state.rewarded
    upgrade_rewards: tuple[TierLevel, ...]
    # when a scheduled job must look at this member again: the end of grace that would start at
    # qualified_until (qualified_until + graceDays); None without a level
    due_at: datetime | None


def evaluate(tiers: Tiers, state: TierState, now: datetime, timezone: str) -> TierDecision:
    """Upgrade at once when a higher level qualifies; keep the level while it qualifies (qualified_until =
    the first local month start, at or after now, at which the window sum without new earnings falls below
    the held threshold); once it does not qualify, keep it until qualified_until + graceDays (if the stored
    qualified_until is missing or in the future, it becomes `now`), then move to the level that qualifies
    at that time (which may be none) and compute that level's qualified_until."""
    first, last = _window(tiers, now, timezone)
    earned = _in_window(state.earned, first, last)
    qualifying = _qualifying(tiers, _window_sum(earned, first, last))
    held = tiers.level(state.level_id)
    held_rank, qualifying_rank = tiers.rank(state.level_id), tiers.rank(qualifying.id if qualifying else None)
    grace = timedelta(days=tiers.grace_days)

    if held is not None and qualifying_rank < held_rank:
        stopped = state.qualified_until if state.qualified_until is not None and state.qualified_until <= now else now
        if now < stopped + grace:  # in grace: the level stays, the grace end is due
            kept = replace(state, earned=earned, qualified_until=stopped)
            return TierDecision(kept, None, False, (), stopped + grace)

    # Upgrade, keep, or grace is over (or the held level is gone): the level that qualifies now.
    rewards = tuple(level for level in tiers.levels[held_rank:qualifying_rank]
                    if level.upgrade_reward_id and level.id not in state.rewarded)
    qualified_until = _qualified_until(tiers, earned, qualifying, now, timezone) if qualifying else None
    new_state = TierState(qualifying.id if qualifying else None, earned, qualified_until,
                          state.rewarded + tuple(level.id for level in rewards))
    changed = new_state.level_id != state.level_id
    return TierDecision(new_state, state.level_id if changed else None, changed, rewards,
                        qualified_until + grace if qualified_until else None)


@dataclass(frozen=True)
class TierView:  # what the card shows
    level: TierLevel | None
    earned_in_window: int
    next: TierLevel | None
    points_needed: int | None  # to reach `next`


def view(tiers: Tiers, state: TierState, now: datetime, timezone: str) -> TierView:
    """The held level, the points earned in the window, and the level above the held one with what it takes."""
    earned = earned_in_window(tiers, state, now, timezone)
    rank = tiers.rank(state.level_id)
    following = tiers.levels[rank] if rank < len(tiers.levels) else None
    return TierView(tiers.level(state.level_id), earned, following,
                    max(0, following.threshold - earned) if following else None)
