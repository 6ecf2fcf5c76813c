"""The loop of an hourly job over a sparse, sharded index: page by page until all that is due is settled, or
until the Lambda's time runs short (what is left stays in the index, and the next run picks it up)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from loyalty.domain.errors import ConcurrentUpdate
from loyalty.settings import get_settings

T = TypeVar("T")


@dataclass
class Sweep:
    settled: int = 0   # what the job changed (rewards expired, members updated)
    checked: int = 0   # index entries it acted on
    pages: int = 0
    complete: bool = True


def sweep(shards: int, fetch: Callable[[int, dict | None], tuple[Iterable[T], dict | None]],
          settle: Callable[[T], int], remaining_ms: Callable[[], int]) -> Sweep:
    """``fetch(shard, start)`` returns one page of due entries and where the next starts (None: shard done);
    ``settle(entry)`` acts on one and says how much it changed. A busy member (ConcurrentUpdate) stays due."""
    margin_ms = get_settings().expiry_time_margin_seconds * 1000
    result = Sweep()
    for shard in range(shards):
        start: Any = None
        while result.complete:
            if remaining_ms() < margin_ms:
                result.complete = False
                break
            entries, start = fetch(shard, start)
            result.pages += 1
            for entry in entries:
                if remaining_ms() < margin_ms:
                    result.complete = False
                    break
                result.checked += 1
                try:
                    result.settled += settle(entry)
                except ConcurrentUpdate:
                    continue
            if start is None:
                break
    return result
