"""A tiny per-container TTL cache: warm Lambdas skip re-reading programs and API keys."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class TTLCache(Generic[T]):
    def __init__(self, ttl_seconds: float, max_entries: int = 1024) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._entries: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get_or_load(self, key: str, load: Callable[[], T]) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit and hit[0] > now:
                return hit[1]
        value = load()
        if value is not None:  # misses are not cached: a new key works at once
            self.put(key, value)
        return value

    def peek(self, key: str) -> T | None:
        """The entry even when expired (what this container last knew), without loading anything."""
        with self._lock:
            hit = self._entries.get(key)
        return hit[1] if hit else None

    def put(self, key: str, value: T) -> None:
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self._ttl, value)

    def invalidate(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
