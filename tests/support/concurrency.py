"""Requests fired at the same instant, as racing phones send them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def together(n: int, fn: Callable[[int], T]) -> list[T]:
    """Call ``fn(0..n-1)`` in n threads released together by a barrier; the results in order."""
    barrier = threading.Barrier(n)

    def run(i: int) -> T:
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))
