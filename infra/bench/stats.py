"""Percentiles, medians and ratios, and the summary of one operation's measured requests."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

from infra.bench.driver import Operation


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("inf")


def median_ratio(pairs: Sequence[tuple[float, float]]) -> float:
    """The median of the ratios of paired runs (each measured next to its own baseline run)."""
    return median([ratio(a, b) for a, b in pairs])


def summarize(op: Operation) -> dict[str, Any]:
    samples = op.samples
    n = len(samples) or 1
    warm = [s for s in samples if not s.cache_refill]
    by_api: Counter[str] = Counter()
    shapes: Counter[str] = Counter()
    for sample in samples:
        for call in sample.calls:
            by_api[call.operation] += 1
            shapes[call.shape] += 1
    total = {name: sum(getattr(c, name) for s in samples for c in s.calls)
             for name in ("items_written", "wcu", "index_wcu", "rcu")}
    mismatched = sum(1 for s in samples if sum(s.server.values()) != s.round_trips)
    notes = sorted({c.size_note for s in samples for c in s.calls if c.size_note})
    times = [s.ms for s in samples]
    return {
        "name": op.name, "group": op.group, "note": op.note, "limit": op.limit, "requests": len(samples),
        "failures": len(op.failures), "failure_examples": op.failures[:3],
        "round_trips": {
            "mean": sum(s.round_trips for s in samples) / n,
            "max": max((s.round_trips for s in samples), default=0),
            "warm_requests": len(warm),
            "warm_max": max((s.round_trips for s in warm), default=0),
            "warm_values": sorted({s.round_trips for s in warm}),
            "warm_transact_writes": sorted({sum(c.operation == "TransactWriteItems" for c in s.calls) for s in warm}),
            "cache_refill_requests": len(samples) - len(warm),
        },
        "requests_by_api_per_request": {api: count / n for api, count in sorted(by_api.items())},
        "call_shapes_per_request": {shape: count / n for shape, count in shapes.most_common()},
        "per_request": {name: value / n for name, value in total.items()},
        "totals": total,
        "handler_ms": {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95),
                       "mean": statistics.fmean(times) if times else float("nan"),
                       "max": max(times, default=float("nan"))},
        "server_cross_check_mismatches": mismatched,
        "size_notes": notes,
    }
