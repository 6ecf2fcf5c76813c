"""Fixed-window rate limits: which window a moment falls in, how a merchant's limit is split over shards."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    start: int  # epoch seconds
    seconds: int

    @property
    def end(self) -> int:
        return self.start + self.seconds

    def retry_after(self, now: float) -> int:
        """Whole seconds until this window is over and its counters no longer count."""
        return max(1, math.ceil(self.end - now))


def window_at(now: float, seconds: int) -> Window:
    return Window(int(now // seconds) * seconds, seconds)


def shard_limit(limit: int, shards: int) -> int:
    """Each shard's share of a limit; the shares add up to at least the limit."""
    return math.ceil(limit / shards)


def pick_shard(shards: int, rng: random.Random | None = None) -> int:
    """A random shard per write: a merchant's writes spread evenly, whatever the order of its requests."""
    return (rng or random).randrange(shards)
